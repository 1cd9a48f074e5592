"use strict";
const Vane = (() => {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  async function api(method, path, body) {
    const opts = { method, headers: { "Accept": "application/json", "X-CSRF-Token": csrf() }, credentials: "same-origin" };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    const r = await fetch(path, opts);
    let data = null;
    try { data = await r.json(); } catch (_) { data = null; }
    if (!r.ok) {
      const e = new Error((data && (data.error || data.message)) || ("HTTP " + r.status));
      e.status = r.status;
      throw e;
    }
    return data && data.data !== undefined ? data.data : data;
  }

  function showErrors(form, message) {
    form.querySelectorAll(".field-error").forEach(el => { el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(el => el.removeAttribute("aria-invalid"));
    const general = form.querySelector(".form-error");
    if (!message) { if (general) general.textContent = ""; return; }
    // The API names the field first ("passPercentage must be ..."); show it beside that field.
    let placed = false;
    form.querySelectorAll("[name]").forEach(input => {
      const n = input.name;
      if (placed || !n || n.startsWith("_")) return;
      if (message.startsWith(n + " ") || message.startsWith(n + ".") || message.startsWith(n + "[") || message.startsWith(n + ":")) {
        const slot = form.querySelector('[data-error-for="' + n + '"]');
        if (slot) { slot.textContent = message; input.setAttribute("aria-invalid", "true"); input.focus(); placed = true; }
      }
    });
    if (!placed && general) general.textContent = message;
  }

  function formBody(form) {
    const body = {};
    for (const input of form.querySelectorAll("[name]")) {
      const n = input.name;
      if (!n || n.startsWith("_") || input.disabled) continue;
      const t = input.dataset.type || "";
      if (input.type === "checkbox") { set(body, n, input.checked); continue; }
      if (input.type === "radio") { if (input.checked) set(body, n, input.value); continue; }
      let v = input.value;
      if (t === "json") {
        if (v.trim() === "") continue;
        try { v = JSON.parse(v); } catch (e) { throw Object.assign(new Error(n + " is not valid JSON: " + e.message), { field: n }); }
      } else if (t === "number") {
        if (v.trim() === "") continue;
        v = Number(v);
      } else if (t === "list") {
        v = v.split(/[\n,]/).map(s => s.trim()).filter(Boolean);
      } else if (t === "optional" && v.trim() === "") {
        continue;
      } else if (t === "nullable" && v.trim() === "") {
        v = null;  // clears the field (a PATCH keeps what a body leaves out)
      }
      set(body, n, v);
    }
    return body;
  }

  // "filters.allowEvents" sets body.filters.allowEvents.
  function set(obj, path, value) {
    const parts = path.split(".");
    let o = obj;
    for (const p of parts.slice(0, -1)) { o = o[p] = (o[p] && typeof o[p] === "object") ? o[p] : {}; }
    o[parts[parts.length - 1]] = value;
  }

  function bindApiForms(root) {
    root.querySelectorAll("form[data-api]").forEach(form => {
      form.addEventListener("submit", async ev => {
        ev.preventDefault();
        if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
        const status = form.querySelector(".form-ok");
        if (status) status.textContent = "";
        let body;
        try { body = form.dataset.nobody ? undefined : formBody(form); } catch (e) { showErrors(form, e.message); return; }
        const button = form.querySelector("button[type=submit]");
        if (button) button.disabled = true;
        try {
          const data = await api(form.dataset.method || "POST", form.dataset.api, body);
          showErrors(form, null);
          if (form.dataset.result) { Vane.results[form.dataset.result](data, form); }
          else if (form.dataset.redirect) { window.location = form.dataset.redirect.replace("{name}", encodeURIComponent((data && data.name) || "")); }
          else if (form.dataset.reloadAfterSave !== undefined && form.id) {
            // The page around the form shows what was saved (summaries, tables): render it again,
            // and say "Saved." there once it has.
            sessionStorage.setItem("vane-saved", JSON.stringify({ form: form.id, text: form.dataset.okText || "Saved.", path: location.pathname }));
            window.location.reload();
          }
          else if (status) { status.textContent = form.dataset.okText || "Saved."; }
          else { window.location.reload(); }
        } catch (e) {
          showErrors(form, e.message);
        } finally {
          if (button) button.disabled = false;
        }
      });
    });
  }

  function bindSortableTables(root) {
    root.querySelectorAll("table.data th[data-sort]").forEach(th => {
      th.tabIndex = 0;
      const sort = () => {
        const table = th.closest("table"), body = table.tBodies[0];
        const index = Array.from(th.parentNode.children).indexOf(th);
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[aria-sort]").forEach(h => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const numeric = th.dataset.sort === "number";
        const key = row => {
          const cell = row.children[index]; const raw = cell ? (cell.dataset.value || cell.textContent.trim()) : "";
          return numeric ? (parseFloat(raw) || 0) : raw.toLowerCase();
        };
        Array.from(body.rows).sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (ascending ? 1 : -1))
          .forEach(r => body.appendChild(r));
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  }

  function bindFilters(root) {
    root.querySelectorAll("input[data-filter-table]").forEach(input => {
      const table = document.getElementById(input.dataset.filterTable);
      if (!table) return;
      input.addEventListener("input", () => {
        const q = input.value.trim().toLowerCase();
        Array.from(table.tBodies[0].rows).forEach(r => { r.hidden = q !== "" && !r.textContent.toLowerCase().includes(q); });
      });
    });
  }

  function bindCopy(root) {
    root.querySelectorAll("button[data-copy]").forEach(b => b.addEventListener("click", async () => {
      const target = document.getElementById(b.dataset.copy);
      const text = target ? (target.value || target.textContent) : "";
      try { await navigator.clipboard.writeText(text); } catch (_) {
        if (target && target.select) { target.select(); document.execCommand("copy"); }
      }
      const old = b.textContent; b.textContent = "Copied"; setTimeout(() => { b.textContent = old; }, 1200);
    }));
  }

  function fmtTime(ms) { const d = new Date(ms); return d.toISOString().replace("T", " ").slice(0, 19); }
  function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }

  function showEventDetails(ev) {
    const drawer = document.getElementById("event-drawer");
    if (!drawer) return;
    drawer.querySelector("[data-slot=title]").textContent = ev.eventName;
    const dl = drawer.querySelector("[data-slot=fields]");
    dl.replaceChildren();
    const fields = [["Time", fmtTime(ev.time)], ["Source", ev.source], ["User ID", ev.userID || "—"],
      ["Environment", ev.environment || "—"], ["Value", ev.value === null || ev.value === undefined ? "—" : JSON.stringify(ev.value)]];
    for (const [k, v] of fields) { dl.appendChild(el("dt", null, k)); dl.appendChild(el("dd", null, String(v))); }
    drawer.querySelector("[data-slot=user]").textContent = JSON.stringify(ev.user, null, 2);
    drawer.querySelector("[data-slot=metadata]").textContent = JSON.stringify(ev.metadata, null, 2);
    const raw = drawer.querySelector("[data-slot=raw]");
    raw.textContent = ev.raw ? JSON.stringify(ev.raw, null, 2) : "";
    raw.closest("section").hidden = !ev.raw;
    const link = drawer.querySelector("[data-slot=link]");
    if (link && ev.id) link.href = "/console/events/" + ev.id;
    drawer.hidden = false;
    drawer.querySelector("button[data-close]").focus();
  }

  function bindDrawer() {
    const drawer = document.getElementById("event-drawer");
    if (!drawer) return;
    drawer.querySelector("button[data-close]").addEventListener("click", () => { drawer.hidden = true; });
    document.addEventListener("keydown", e => { if (e.key === "Escape") drawer.hidden = true; });
  }

  function eventRow(ev) {
    const row = el("button", "stream-row");
    row.type = "button";
    row.dataset.eventName = ev.eventName;
    row.appendChild(el("span", "mono", fmtTime(ev.time).slice(11)));
    row.appendChild(el("span", null, ev.source));
    row.appendChild(el("span", "name", ev.eventName));
    row.appendChild(el("span", "hide-narrow muted", ev.userID || (ev.user && ev.user.customIDs ? JSON.stringify(ev.user.customIDs) : "")));
    row.addEventListener("click", () => showEventDetails(ev));
    return row;
  }

  // The live log: Server-Sent Events from the same endpoint the API offers, with pause, filters and a rate.
  function bindStream(root) {
    const box = root.querySelector("[data-stream]");
    if (!box) return;
    const list = box.querySelector(".stream"), empty = box.querySelector(".stream-empty");
    const nameInput = box.querySelector("[data-stream-name]"), sourceInput = box.querySelector("[data-stream-source]");
    const pause = box.querySelector("[data-stream-pause]"), rate = box.querySelector("[data-stream-rate]"), count = box.querySelector("[data-stream-count]");
    const state = box.querySelector("[data-stream-state]");
    let source = null, paused = false, buffer = [], arrivals = [], total = 0;
    const max = 300;
    function connect() {
      if (source) source.close();
      const params = new URLSearchParams();
      if (nameInput && nameInput.value.trim()) params.set("eventName", nameInput.value.trim());
      const fixed = box.dataset.source || (sourceInput ? sourceInput.value : "");
      if (fixed) params.set("source", fixed);
      source = new EventSource("/console/v1/events/stream?" + params.toString());
      source.addEventListener("open", () => { box.dataset.connected = "true"; });
      source.addEventListener("event", m => {
        const ev = JSON.parse(m.data);
        arrivals.push(Date.now()); total += 1;
        if (count) count.textContent = String(total);
        if (paused) { buffer.push(ev); return; }
        add(ev);
      });
    }
    function add(ev) {
      if (empty) empty.hidden = true;
      list.insertBefore(eventRow(ev), list.firstChild);
      while (list.children.length > max) list.removeChild(list.lastChild);
    }
    if (pause) pause.addEventListener("click", () => {
      paused = !paused;
      pause.textContent = paused ? "Resume" : "Pause";
      pause.setAttribute("aria-pressed", String(paused));
      box.classList.toggle("paused", paused);
      if (state) state.textContent = paused ? "Paused" : "Live";
      if (!paused) { buffer.forEach(add); buffer = []; }
    });
    [nameInput, sourceInput].forEach(i => i && i.addEventListener("change", connect));
    setInterval(() => {
      const now = Date.now();
      arrivals = arrivals.filter(t => now - t < 5000);
      if (rate) rate.textContent = (arrivals.length / 5).toFixed(1);
    }, 1000);
    connect();
  }

  const results = {
    evaluation(data, form) {
      const out = document.getElementById(form.dataset.output);
      out.hidden = false;
      out.querySelector("[data-slot=value]").textContent = String(data.value);
      out.querySelector("[data-slot=value]").className = "badge " + (data.value ? "badge-ok" : "badge-bad");
      out.querySelector("[data-slot=rule]").textContent = data.ruleName || data.ruleID;
      out.querySelector("[data-slot=reason]").textContent = data.reason || "";
      out.querySelector("[data-slot=json]").textContent = JSON.stringify(data, null, 2);
    },
    revealKey(data, form) {
      const out = document.getElementById(form.dataset.output);
      out.hidden = false;
      out.querySelector("input").value = data.key || data.writeKey || "";
      // A new key joins the list at once (revoking it needs the page as the server renders it).
      const keys = document.querySelector("#keys-table tbody");
      if (keys && data.id) {
        const row = keys.insertRow(-1);
        const cells = [(data.prefix || "") + "…", data.kind, data.environment || "all", data.description || "",
                       new Date(data.createdTime).toISOString().slice(0, 19).replace("T", " "), "new"];
        cells.forEach((text, i) => { const c = row.insertCell(-1); c.textContent = text; if (i === 0) c.className = "mono"; });
        row.dataset.keyId = data.id;
      }
    },
    revealSecret(data, form) {
      const out = document.getElementById(form.dataset.output);
      out.hidden = false;
      out.querySelector("input").value = data.secret || "";
    },
    webhookPing(data, form) {
      document.getElementById(form.dataset.output).textContent =
        data.delivered ? "Delivered (HTTP " + data.status + ")." : "Not delivered: " + data.error;
    },
    testEvent(data, form) {
      const out = document.getElementById(form.dataset.output);
      out.hidden = false;
      out.textContent = "Sent " + (data.eventName || "a test event") + ". Watch for it in the stream below.";
    },
  };

  // Per-environment switches on a rule: rewrite that rule's `environments` and save all rules.
  function bindEnvironmentSwitches(root) {
    root.querySelectorAll("input[data-env-switch]").forEach(box => box.addEventListener("change", async () => {
      const table = box.closest("table"), status = document.getElementById("env-switch-status");
      const editor = document.getElementById("rules");
      if (!editor) return;
      const index = Number(box.dataset.rule);
      const rules = JSON.parse(editor.value);
      const all = Array.from(table.querySelectorAll('input[data-env-switch][data-rule="' + index + '"]'));
      const on = all.filter(b => b.checked).map(b => b.value);
      if (on.length === all.length) delete rules[index].environments; else rules[index].environments = on;
      try {
        await api("PATCH", table.dataset.rulesPath, { rules });
        editor.value = JSON.stringify(rules, null, 2);
        editor.dispatchEvent(new Event("input"));  // the rule builder shows the change
        if (status) status.textContent = "Saved: rule " + (index + 1) + " is on in " + (on.length ? on.join(", ") : "no environment") + ".";
      } catch (e) {
        box.checked = !box.checked;
        if (status) status.textContent = e.message;
      }
    }));
  }

  // The "Saved." of a form whose save reloaded the page (data-reload-after-save).
  function showSavedNotice() {
    const raw = sessionStorage.getItem("vane-saved");
    if (!raw) return;
    sessionStorage.removeItem("vane-saved");
    try {
      const saved = JSON.parse(raw);
      const form = saved.path === location.pathname && document.getElementById(saved.form);
      const status = form && form.querySelector(".form-ok");
      if (!status) return;
      const details = form.closest("details");
      if (details) details.open = true;
      status.textContent = saved.text;
    } catch (e) { /* a stale or foreign value: nothing to show */ }
  }

  document.addEventListener("DOMContentLoaded", () => {
    bindEnvironmentSwitches(document);
    bindApiForms(document);
    bindSortableTables(document);
    bindFilters(document);
    bindCopy(document);
    bindDrawer();
    bindStream(document);
    showSavedNotice();
    document.querySelectorAll("[data-toggle-rows]").forEach(b => b.addEventListener("click", () => {
      const rows = document.getElementById(b.dataset.toggleRows);
      rows.hidden = !rows.hidden;
      b.setAttribute("aria-expanded", String(!rows.hidden));
      b.textContent = rows.hidden ? b.dataset.showText : "Hide the other metrics";
    }));
    document.querySelectorAll("[data-event-json]").forEach(b => b.addEventListener("click", () => {
      showEventDetails(JSON.parse(document.getElementById(b.dataset.eventJson).textContent));
    }));
  });
  return { api, results, showEventDetails };
})();
