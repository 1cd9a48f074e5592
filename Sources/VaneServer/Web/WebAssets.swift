// The console's one stylesheet and one script, compiled into the binary so `vane serve` needs
// no files beside it and works offline.

enum WebAssets {
    static let css = #"""
:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1d2330; --muted: #5d6678; --line: #dfe3ea; --accent: #3a5bd9;
  --accent-ink: #fff; --ok: #1f8a4c; --ok-bg: #e5f5ec; --bad: #c23b3b; --bad-bg: #fbe9e9; --warn: #9a6700;
  --warn-bg: #fff4d6; --info-bg: #eaf0ff; --radius: 8px; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); line-height: 1.45; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible {
  outline: 3px solid #9db2ff; outline-offset: 1px; }
code, pre, .mono { font-family: var(--mono); font-size: 0.9em; }
.skip { position: absolute; left: -999px; top: 0; background: var(--panel); padding: 8px; }
.skip:focus { left: 8px; z-index: 10; }

.app { display: grid; grid-template-columns: 220px 1fr; min-height: 100vh; }
.sidebar { background: #1d2330; color: #cfd5e1; padding: 16px 12px; }
.sidebar .brand { display: block; color: #fff; font-weight: 700; font-size: 1.25rem; padding: 4px 10px 14px; letter-spacing: .02em; }
.sidebar nav a { display: block; color: #cfd5e1; padding: 7px 10px; border-radius: 6px; }
.sidebar nav a:hover { background: #2b3347; text-decoration: none; }
.sidebar nav a[aria-current="page"] { background: var(--accent); color: #fff; }
.sidebar .section { font-size: .75rem; text-transform: uppercase; letter-spacing: .08em; color: #8390a8; margin: 14px 10px 4px; }
.main { min-width: 0; }
.topbar { display: flex; justify-content: flex-end; align-items: center; gap: 12px; padding: 10px 24px; border-bottom: 1px solid var(--line); background: var(--panel); }
.topbar form { margin: 0; }
.content { padding: 20px 24px 48px; max-width: 1200px; }
.page-header { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 12px; margin-bottom: 16px; }
.page-header h1 { margin: 0; font-size: 1.5rem; }
.page-header .sub { color: var(--muted); margin: 2px 0 0; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
h2 { font-size: 1.1rem; margin: 0 0 10px; }
.muted { color: var(--muted); }

.card { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 16px; margin-bottom: 16px; }
.grid-2 { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.grid-4 { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 16px; margin-bottom: 16px; }
.stat { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 14px 16px; }
.stat-value { font-size: 1.6rem; font-weight: 700; }
.stat-label { color: var(--muted); font-size: .9rem; }

table.data { width: 100%; border-collapse: collapse; background: var(--panel); }
table.data th, table.data td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.data th { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); background: #fafbfc; white-space: nowrap; }
table.data th[data-sort] { cursor: pointer; user-select: none; }
table.data th[data-sort]::after { content: " ↕"; color: #b3bac7; }
table.data th[aria-sort="ascending"]::after { content: " ↑"; color: var(--ink); }
table.data th[aria-sort="descending"]::after { content: " ↓"; color: var(--ink); }
table.data tr:hover td { background: #fafbff; }
table.data td.num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: var(--radius); margin-bottom: 16px; }
.table-wrap table.data tr:last-child td { border-bottom: 0; }

.empty { text-align: center; padding: 32px 16px; color: var(--muted); background: var(--panel); border: 1px dashed var(--line); border-radius: var(--radius); margin-bottom: 16px; }
.empty strong { display: block; color: var(--ink); font-size: 1.05rem; margin-bottom: 4px; }

.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: .8rem; font-weight: 600; background: #eef0f4; color: var(--muted); }
.badge-ok { background: var(--ok-bg); color: var(--ok); }
.badge-bad { background: var(--bad-bg); color: var(--bad); }
.badge-warn { background: var(--warn-bg); color: var(--warn); }
.badge-info { background: var(--info-bg); color: var(--accent); }

.banner { padding: 10px 14px; border-radius: var(--radius); margin-bottom: 16px; border: 1px solid transparent; }
.banner-warn { background: var(--warn-bg); border-color: #f0d58c; color: #5c4300; }
.banner-bad { background: var(--bad-bg); border-color: #efb9b9; color: #7d1f1f; }
.banner-ok { background: var(--ok-bg); border-color: #a9dcbf; color: #145c33; }
.banner-info { background: var(--info-bg); border-color: #c5d3ff; }

form.stack { display: grid; gap: 12px; max-width: 560px; }
.field { display: grid; gap: 4px; }
.field label { font-weight: 600; font-size: .9rem; }
.field .hint { color: var(--muted); font-size: .85rem; }
.field-error { color: var(--bad); font-size: .85rem; min-height: 0; }
.field-error:empty { display: none; }
.form-error { color: var(--bad); background: var(--bad-bg); padding: 8px 12px; border-radius: 6px; }
.form-error:empty { display: none; }
.form-ok { color: var(--ok); }
input[type=text], input[type=email], input[type=password], input[type=number], input[type=search], input[type=url], input[type=date], select, textarea {
  font: inherit; padding: 7px 10px; border: 1px solid #c9cfd9; border-radius: 6px; background: #fff; color: var(--ink); width: 100%; }
textarea { font-family: var(--mono); font-size: .85rem; min-height: 160px; }
input[aria-invalid=true], textarea[aria-invalid=true] { border-color: var(--bad); }
.inline { display: flex; gap: 8px; align-items: end; flex-wrap: wrap; }
.inline .field { flex: 1 1 180px; }
.btn { display: inline-flex; align-items: center; gap: 6px; font: inherit; font-weight: 600; padding: 7px 14px; border-radius: 6px; border: 1px solid #c9cfd9; background: #fff; color: var(--ink); cursor: pointer; }
.btn:hover { background: #f1f3f7; text-decoration: none; }
.btn-primary { background: var(--accent); border-color: var(--accent); color: var(--accent-ink); }
.btn-primary:hover { background: #2f4cc0; }
.btn-danger { color: var(--bad); border-color: #e3b3b3; }
.btn-small { padding: 3px 10px; font-size: .85rem; }
.btn[disabled] { opacity: .5; cursor: not-allowed; }
.switch { display: inline-flex; gap: 8px; align-items: center; font-weight: 600; }
.rb-rule { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; margin: 0 0 12px; display: grid; gap: 8px; min-width: 0; }
.rb-rule legend { font-weight: 600; padding: 0 4px; }
.rb-conditions { display: grid; gap: 6px; }
.rb-condition { display: flex; flex-wrap: wrap; gap: 6px; align-items: flex-start; }
.rb-rule input[type=text], .rb-rule input[type=number], .rb-rule select, .rb-rule textarea { width: auto; max-width: 100%; min-height: 0; }
.rb-rule input[data-rule-name] { width: 18em; }
.rb-rule textarea[data-return-value] { width: 100%; }
.rb-condition textarea.rb-list { min-width: 14em; }
.rb-pass-row input[type=range] { width: 12em; max-width: 50vw; }
.rb-rule .rb-pass { width: 6em; }
.rb-conditions > button { justify-self: start; }
.rb-invalid { outline: 2px solid var(--bad); outline-offset: 2px; border-radius: 6px; }
.rb-raw { word-break: break-all; }
.ge-table input[type=text], .ge-table input[type=number], .ge-table select, .ge-table textarea { width: auto; min-width: 6em; min-height: 0; }
.ge-table .ge-size { width: 6em; }

.tabs { display: flex; gap: 4px; border-bottom: 1px solid var(--line); margin-bottom: 16px; }
.tabs a { padding: 8px 14px; border-bottom: 2px solid transparent; color: var(--muted); }
.tabs a[aria-current="page"] { border-color: var(--accent); color: var(--ink); font-weight: 600; }

pre.json { background: #0f1420; color: #d7deea; padding: 12px; border-radius: 6px; overflow: auto; max-height: 420px; margin: 0; }
pre.snippet { background: #0f1420; color: #d7deea; padding: 12px; border-radius: 6px; overflow-x: auto; max-width: 100%; margin: 8px 0; font-size: 12.5px; }
#connect details { margin: 6px 0; } #connect summary { cursor: pointer; }
tr.total td { font-weight: 600; border-top: 2px solid var(--line, #dde3ec); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; word-break: break-word; }

.ci-chart { display: block; }
.ci-chart .axis { stroke: #9aa3b2; stroke-width: 1; }
.ci-chart .zero { stroke: #1d2330; stroke-width: 1.5; }
.ci-chart .bar { fill: #b7bfcc; }
.ci-chart .bar.sig-pos { fill: var(--ok); }
.ci-chart .bar.sig-neg { fill: var(--bad); }
.ci-chart .point { fill: #1d2330; }
.ci-chart text { font-size: 9px; fill: var(--muted); }
tr.section-row th { background: var(--bg); text-align: left; font-size: .8rem; }
.spark line.grid { stroke: var(--line); stroke-width: 1; }
.lift.sig-pos { color: var(--ok); font-weight: 700; }
.lift.sig-neg { color: var(--bad); font-weight: 700; }
.spark rect { fill: var(--accent); }
.spark rect.alt { fill: #f0a35e; }
.spark text { font-size: 10px; fill: var(--muted); }
.legend { display: flex; gap: 14px; color: var(--muted); font-size: .85rem; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }

.stream-toolbar { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 10px; }
.stream { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); max-height: 460px; overflow: auto; }
.stream-row { display: grid; grid-template-columns: 92px 110px minmax(0, 1.3fr) minmax(0, 1fr); gap: 8px; padding: 6px 10px; border-bottom: 1px solid var(--line); cursor: pointer; font-size: .9rem; width: 100%; text-align: left; background: none; border-left: 0; border-right: 0; border-top: 0; font-family: inherit; color: inherit; }
.stream-row:hover, .stream-row:focus { background: #f4f6ff; }
.stream-row .name { font-family: var(--mono); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.stream-empty { padding: 24px; text-align: center; color: var(--muted); }
.live-dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--ok); margin-right: 6px; }
.paused .live-dot { background: var(--warn); }
.drawer { position: fixed; top: 0; right: 0; bottom: 0; width: min(560px, 100%); background: var(--panel); box-shadow: -8px 0 24px rgba(0,0,0,.12); padding: 18px; overflow: auto; z-index: 20; }
.drawer[hidden] { display: none; }

@media (max-width: 900px) {
  .grid-4 { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .grid-2 { grid-template-columns: 1fr; }
}
@media (max-width: 720px) {
  .app { grid-template-columns: 1fr; }
  .sidebar { padding: 8px; }
  .sidebar nav { display: flex; flex-wrap: wrap; gap: 2px; }
  .sidebar .section { display: none; }
  .sidebar .brand { padding: 4px 8px 8px; }
  .content { padding: 14px 12px 40px; }
  .topbar { padding: 8px 12px; }
  .stream-row { grid-template-columns: 80px minmax(0, 1fr); }
  .stream-row .hide-narrow { display: none; }
  .grid-4 { grid-template-columns: 1fr 1fr; }
}
"""#

    static let js = #"""
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
"""#
}
