"use strict";
// An experiment's groups as a table: a column per group (name, size) and a row per parameter with
// its type and a typed value per group. Kept in sync with the JSON editor beside it (the textarea
// the form saves); group IDs and anything else in the JSON are kept as they are.
(() => {
  const { el } = window.VaneDOM;
  const TYPES = { string: "Text", number: "Number", boolean: "Boolean", json: "JSON" };

  function typeOf(v) {
    if (typeof v === "string") return "string";
    if (typeof v === "number") return "number";
    if (typeof v === "boolean") return "boolean";
    return "json";
  }

  function defaultOf(type) {
    return { string: "", number: 0, boolean: false, json: {} }[type];
  }

  // A value of one type read as another, where that makes sense.
  function convert(v, type) {
    if (type === typeOf(v)) return v;
    if (type === "string") return typeof v === "object" ? JSON.stringify(v) : String(v);
    if (type === "number") { const n = Number(v); return isFinite(n) ? n : 0; }
    if (type === "boolean") return v === true || v === "true";
    return defaultOf("json");
  }


  function bind(root) {
    const textarea = document.getElementById(root.dataset.json);
    if (!textarea) return;
    let groups = [];
    let params = [];  // [{name, type}] in display order
    const status = el("p", { class: "muted small", role: "status" });

    function read() {
      try {
        const v = JSON.parse(textarea.value.trim() || "[]");
        if (!Array.isArray(v)) throw new Error("the groups must be a JSON list");
        groups = v.filter(g => g && typeof g === "object");
        for (const g of groups) if (!g.parameterValues || typeof g.parameterValues !== "object") g.parameterValues = {};
        const seen = new Map(params.map(p => [p.name, p.type]));
        params = [];
        for (const g of groups) for (const [k, val] of Object.entries(g.parameterValues)) {
          if (!params.some(p => p.name === k)) params.push({ name: k, type: seen.get(k) || typeOf(val) });
        }
        status.textContent = "";
        return true;
      } catch (e) {
        status.textContent = "The JSON below has an error (" + e.message + "); the table shows the last groups that parsed.";
        return false;
      }
    }
    function write() { textarea.value = JSON.stringify(groups, null, 2); }
    function change(fn) { fn(); write(); render(); }
    function edit(fn) { fn(); write(); renderTotal(); }

    const total = el("p", { class: "small", "data-groups-total": true });
    function renderTotal() {
      const sum = groups.reduce((s, g) => s + (Number(g.size) || 0), 0);
      const ok = Math.abs(sum - 100) < 1e-9;
      total.textContent = ok ? "Sizes add up to 100 %." : "Sizes add up to " + +sum.toFixed(4) + " %; they must add up to 100 %.";
      total.className = ok ? "small muted" : "small field-error";
    }

    function valueInput(p, g, gi) {
      const label = p.name + " for " + (g.name || "group " + (gi + 1));
      const v = g.parameterValues[p.name] ?? defaultOf(p.type);
      if (p.type === "boolean") {
        const box = el("input", { type: "checkbox", checked: v === true, "aria-label": label, "data-param-value": p.name });
        box.addEventListener("change", () => edit(() => { g.parameterValues[p.name] = box.checked; }));
        return box;
      }
      if (p.type === "json") {
        const area = el("textarea", { rows: 2, "aria-label": label + " (JSON)", "data-param-value": p.name });
        area.value = JSON.stringify(v);
        const error = el("span", { class: "field-error" });
        area.addEventListener("change", () => {
          try { const parsed = JSON.parse(area.value); error.textContent = ""; edit(() => { g.parameterValues[p.name] = parsed; }); }
          catch (e) { error.textContent = "not valid JSON: " + e.message; }
        });
        return el("div", {}, area, error);
      }
      const input = el("input", { type: p.type === "number" ? "number" : "text", step: p.type === "number" ? "any" : undefined,
        value: v, "aria-label": label, "data-param-value": p.name });
      input.addEventListener("change", () => edit(() => {
        g.parameterValues[p.name] = p.type === "number" ? (input.value === "" ? 0 : Number(input.value)) : input.value;
      }));
      return input;
    }

    function render() {
      const table = el("table", { class: "data ge-table" });
      const head = el("tr", {}, el("th", { text: "Parameter" }), el("th", { text: "Type" }));
      groups.forEach((g, gi) => {
        const name = el("input", { type: "text", value: g.name || "", "aria-label": "Name of group " + (gi + 1), "data-group-name": gi });
        name.addEventListener("change", () => edit(() => { g.name = name.value.trim(); }));
        const size = el("input", { type: "number", step: "any", value: g.size ?? 0, "aria-label": "Size of group " + (gi + 1) + " (%)", "data-group-size": gi, class: "ge-size" });
        size.addEventListener("change", () => edit(() => { g.size = size.value === "" ? 0 : Number(size.value); }));
        const remove = el("button", { type: "button", class: "btn btn-small", text: "×", "aria-label": "Remove group " + (gi + 1), disabled: groups.length <= 1 });
        remove.addEventListener("click", () => change(() => groups.splice(gi, 1)));
        head.append(el("th", {}, el("div", { class: "inline" }, name, remove), el("div", { class: "inline small" }, size, document.createTextNode(" %"))));
      });
      table.append(el("thead", {}, head));
      const body = el("tbody");
      params.forEach((p, pi) => {
        const name = el("input", { type: "text", value: p.name, "aria-label": "Parameter " + (pi + 1) + " name", "data-param-name": pi });
        name.addEventListener("change", () => change(() => {
          const next = name.value.trim();
          if (!next || next === p.name || params.some(x => x.name === next)) return;
          for (const g of groups) if (p.name in g.parameterValues) {
            g.parameterValues[next] = g.parameterValues[p.name];
            delete g.parameterValues[p.name];
          }
          p.name = next;
        }));
        const type = el("select", { "aria-label": "Type of " + p.name, "data-param-type": p.name });
        for (const [k, label] of Object.entries(TYPES)) type.append(el("option", { value: k, text: label, selected: k === p.type }));
        type.addEventListener("change", () => change(() => {
          p.type = type.value;
          for (const g of groups) g.parameterValues[p.name] = convert(g.parameterValues[p.name] ?? defaultOf(p.type), p.type);
        }));
        const remove = el("button", { type: "button", class: "btn btn-small", text: "×", "aria-label": "Remove parameter " + p.name });
        remove.addEventListener("click", () => change(() => {
          for (const g of groups) delete g.parameterValues[p.name];
          params.splice(pi, 1);
        }));
        const row = el("tr", {}, el("td", {}, el("div", { class: "inline" }, name, remove)), el("td", {}, type));
        groups.forEach((g, gi) => row.append(el("td", {}, valueInput(p, g, gi))));
        body.append(row);
      });
      table.append(body);

      const addGroup = el("button", { type: "button", class: "btn btn-small", text: "+ Group", "data-add-group": true });
      addGroup.addEventListener("click", () => change(() => {
        const values = {};
        for (const p of params) values[p.name] = defaultOf(p.type);
        groups.push({ name: "Group " + (groups.length + 1), size: 0, parameterValues: values });
      }));
      const addParam = el("button", { type: "button", class: "btn btn-small", text: "+ Parameter", "data-add-param": true });
      addParam.addEventListener("click", () => change(() => {
        let n = params.length + 1;
        while (params.some(p => p.name === "param" + n)) n++;
        params.push({ name: "param" + n, type: "string" });
        for (const g of groups) g.parameterValues["param" + n] = "";
      }));
      root.replaceChildren(status, el("div", { class: "table-wrap" }, table), el("div", { class: "inline" }, addGroup, addParam), total);
      renderTotal();
    }

    textarea.addEventListener("input", () => { if (read()) render(); });
    read();
    render();
  }

  const start = () => document.querySelectorAll("[data-groups-editor]").forEach(bind);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
