"use strict";
// The rule builder: rules edited as rows of field → operator → value, kept in sync with the JSON
// editor beside it (the textarea the form saves). Anything the builder does not know how to show
// (an SDK condition type, a config's return value, a schedule) is kept as it is in the JSON.
(() => {
  const { el } = window.VaneDOM;
  // Fields as Statsig's console groups them. `type` is the console condition type the API takes;
  // `ops` the operators offered; `value` the input: list, text, number, version, time, pick.
  const TEXT_OPS = ["any", "none", "any_case_sensitive", "none_case_sensitive", "str_starts_with_any",
    "str_ends_with_any", "str_contains_any", "str_contains_none", "str_matches"];
  const VERSION_OPS = ["version_gt", "version_gte", "version_lt", "version_lte", "version_eq", "version_neq", "any", "none"];
  const NUMBER_OPS = ["gt", "gte", "lt", "lte"];
  const TIME_OPS = ["after", "before"];
  const ARRAY_OPS = ["array_contains_any", "array_contains_none", "array_contains_all", "not_array_contains_all"];
  const FIELDS = [
    { group: "Everyone", key: "public", type: "public", label: "Everyone", ops: [] },
    { group: "User", key: "user_id", type: "user_id", label: "User ID", ops: TEXT_OPS },
    { group: "User", key: "email", type: "email", label: "Email", ops: TEXT_OPS },
    { group: "User", key: "country", type: "country", label: "Country", ops: ["any", "none"], hint: "two-letter codes, e.g. US" },
    { group: "User", key: "ip_address", type: "ip_address", label: "IP address", ops: TEXT_OPS },
    { group: "User", key: "locale", type: "locale", label: "Locale", ops: TEXT_OPS },
    { group: "User", key: "custom_field", type: "custom_field", label: "Custom field", ops: TEXT_OPS.concat(NUMBER_OPS, VERSION_OPS.slice(0, 6), TIME_OPS, ARRAY_OPS), needsField: true },
    { group: "Device", key: "app_version", type: "app_version", label: "App version", ops: VERSION_OPS },
    { group: "Device", key: "browser_name", type: "browser_name", label: "Browser", ops: TEXT_OPS },
    { group: "Device", key: "browser_version", type: "browser_version", label: "Browser version", ops: VERSION_OPS },
    { group: "Device", key: "os_name", type: "os_name", label: "Operating system", ops: TEXT_OPS },
    { group: "Device", key: "os_version", type: "os_version", label: "OS version", ops: VERSION_OPS },
    { group: "Environment", key: "environment_tier", type: "environment_tier", label: "Environment tier", ops: ["any", "none"] },
    { group: "Environment", key: "time", type: "time", label: "Time", ops: TIME_OPS },
    { group: "Units", key: "unit_id", type: "unit_id", label: "Unit ID", ops: TEXT_OPS, idType: true },
    { group: "Units", key: "id_list", type: "unit_id", label: "ID list", ops: ["in_segment_list", "not_in_segment_list"], value: "pick", pick: "idLists", idType: true },
    { group: "Targeting", key: "passes_gate", type: "passes_gate", label: "Passes gate", ops: [], value: "pick", pick: "gates" },
    { group: "Targeting", key: "fails_gate", type: "fails_gate", label: "Fails gate", ops: [], value: "pick", pick: "gates" },
    { group: "Targeting", key: "passes_segment", type: "passes_segment", label: "In segment", ops: [], value: "pick", pick: "segments" },
    { group: "Targeting", key: "fails_segment", type: "fails_segment", label: "Not in segment", ops: [], value: "pick", pick: "segments" },
  ];
  const OP_WORDS = {
    any: "is any of", none: "is none of", any_case_sensitive: "is any of (case-sensitive)",
    none_case_sensitive: "is none of (case-sensitive)", str_starts_with_any: "starts with any of",
    str_ends_with_any: "ends with any of", str_contains_any: "contains any of", str_contains_none: "contains none of",
    str_matches: "matches the regular expression", gt: "is greater than", gte: "is at least", lt: "is less than",
    lte: "is at most", version_gt: "is a version above", version_gte: "is at least version", version_lt: "is a version below",
    version_lte: "is at most version", version_eq: "is version", version_neq: "is not version", after: "is after",
    before: "is before", in_segment_list: "is in", not_in_segment_list: "is not in",
    array_contains_any: "(a list) contains any of", array_contains_none: "(a list) contains none of",
    array_contains_all: "(a list) contains all of", not_array_contains_all: "(a list) does not contain all of",
  };

  function valueKind(field, op) {
    if (field.value) return field.value;
    if (NUMBER_OPS.includes(op)) return "number";
    if (TIME_OPS.includes(op)) return "time";
    if (op === "str_matches") return "text";
    if (op && op.startsWith("version_")) return "version";
    return "list";
  }

  // The builder's field for a stored condition, or null when it only fits the JSON editor.
  function fieldOf(c) {
    const type = String(c.type || "").toLowerCase();
    if (type === "unit_id") {
      return FIELDS.find(f => f.key === (["in_segment_list", "not_in_segment_list"].includes(c.operator) ? "id_list" : "unit_id"));
    }
    if (type === "user_field" && c.field) {
      const known = { userID: "user_id", email: "email", ip: "ip_address", locale: "locale", appVersion: "app_version", country: "country" };
      const f = FIELDS.find(x => x.key === (known[c.field] || "custom_field"));
      return f && (f.ops.length === 0 || f.ops.includes(c.operator)) ? f : null;
    }
    const f = FIELDS.find(x => x.type === type);
    if (!f) return null;
    if (f.ops.length && !f.ops.includes(c.operator)) return null;
    return f;
  }


  // Times are written and shown in UTC, as the server compares them and the results' days are,
  // whatever the editor's own time zone.
  function toUTCInput(ms) {
    const d = new Date(Number(ms));
    if (isNaN(d)) return "";
    return d.toISOString().slice(0, 16);
  }

  function bind(root) {
    const textarea = document.getElementById(root.dataset.json);
    if (!textarea) return;
    const options = JSON.parse(root.dataset.options || "{}");
    const environments = options.environments || [];
    const withReturnValue = options.kind === "dynamic_config" || options.kind === "layer";
    let rules = [];
    const status = el("p", { class: "muted small", role: "status", "data-builder-status": true });

    function read() {
      try {
        const v = JSON.parse(textarea.value.trim() || "[]");
        if (!Array.isArray(v)) throw new Error("the rules must be a JSON list");
        rules = v;
        status.textContent = "";
        return true;
      } catch (e) {
        status.textContent = "The JSON below has an error (" + e.message + "); the builder shows the last rules that parsed.";
        return false;
      }
    }
    function write() {
      textarea.value = JSON.stringify(rules, null, 2);
      textarea.removeAttribute("aria-invalid");
    }
    // Structural changes (rules or conditions added, moved, removed; a field or operator that
    // needs another input) render the builder again; edited values only update the JSON, so the
    // focus stays where the user is.
    function change(fn) { fn(); write(); render(); }
    function edit(fn) { fn(); write(); }

    function conditionRow(rule, ci) {
      const c = rule.conditions[ci];
      const field = fieldOf(c);
      const row = el("div", { class: "rb-condition", "data-condition": ci });
      const remove = el("button", { type: "button", class: "btn btn-small", "aria-label": "Remove condition " + (ci + 1), text: "×", "data-remove-condition": true });
      remove.addEventListener("click", () => change(() => rule.conditions.splice(ci, 1)));
      if (!field) {
        row.append(el("code", { class: "rb-raw", text: JSON.stringify(c) }),
          el("span", { class: "muted small", text: " (edit in JSON)" }), remove);
        return row;
      }
      const fieldSelect = el("select", { "aria-label": "Field", "data-field": true });
      let group = null;
      for (const f of FIELDS) {
        if (!group || group.label !== f.group) { group = el("optgroup", { label: f.group }); fieldSelect.append(group); }
        group.append(el("option", { value: f.key, text: f.label, selected: f === field }));
      }
      fieldSelect.addEventListener("change", () => change(() => {
        const f = FIELDS.find(x => x.key === fieldSelect.value);
        const next = { type: f.type };
        if (f.ops.length) next.operator = f.ops[0];
        if (f.ops.length || f.value === "pick") next.targetValue = valueKind(f, next.operator) === "list" ? [] : "";
        if (f.key === "public") delete next.targetValue;
        rule.conditions[ci] = next;
      }));
      row.append(fieldSelect);
      if (field.needsField) {
        const name = el("input", { type: "text", "aria-label": "Custom field name", placeholder: "field name", value: c.field || "", "data-custom-field": true, size: 12 });
        name.addEventListener("change", () => edit(() => { c.field = name.value.trim(); }));
        row.append(name);
      }
      if (field.idType) {
        const unit = el("select", { "aria-label": "Unit type", "data-id-type": true });
        for (const t of ["userID", "stableID"].concat(options.customIDTypes || [])) {
          unit.append(el("option", { value: t, text: t, selected: (c.idType || options.idType || "userID") === t }));
        }
        unit.addEventListener("change", () => edit(() => { c.idType = unit.value; }));
        row.append(unit);
      }
      if (field.ops.length) {
        const op = el("select", { "aria-label": "Operator", "data-operator": true });
        for (const o of field.ops) op.append(el("option", { value: o, text: OP_WORDS[o] || o, selected: o === c.operator }));
        op.addEventListener("change", () => change(() => {
          const before = valueKind(field, c.operator), after = valueKind(field, op.value);
          c.operator = op.value;
          if (before !== after) c.targetValue = after === "list" ? [] : "";
        }));
        row.append(op);
      }
      if (field.key !== "public") row.append(valueInput(field, c));
      row.append(remove);
      return row;
    }

    function valueInput(field, c) {
      const kind = valueKind(field, c.operator);
      if (kind === "pick") {
        const names = options[field.pick] || [];
        // Segments say which kind they are: a list of IDs, or rules of their own.
        const idListSegments = new Set(field.pick === "segments" ? options.idListSegments || [] : []);
        const labelOf = n => field.pick !== "segments" ? n : n + (idListSegments.has(n) ? " (ID list)" : " (rules)");
        const current = typeof c.targetValue === "string" ? c.targetValue.replace(/^segment:/, "") : "";
        const pick = el("select", { "aria-label": field.label, "data-value": true });
        pick.append(el("option", { value: "", text: "choose…" }));
        for (const n of names.concat(current && !names.includes(current) ? [current] : [])) {
          pick.append(el("option", { value: n, text: labelOf(n), selected: n === current }));
        }
        pick.addEventListener("change", () => edit(() => { c.targetValue = pick.value; }));
        return pick;
      }
      if (kind === "list") {
        const list = Array.isArray(c.targetValue) ? c.targetValue : (c.targetValue == null || c.targetValue === "" ? [] : [c.targetValue]);
        const box = el("textarea", { rows: Math.min(6, Math.max(1, list.length)), "aria-label": "Values, one per line", placeholder: field.hint || "one value per line", "data-value": true, class: "rb-list" });
        box.value = list.join("\n");
        box.addEventListener("change", () => edit(() => {
          // A pasted comma- or tab-separated list is split too.
          c.targetValue = box.value.split(/[\n,\t]/).map(s => s.trim()).filter(Boolean);
        }));
        return box;
      }
      if (kind === "number") {
        const n = el("input", { type: "number", step: "any", "aria-label": "Number", value: c.targetValue ?? "", "data-value": true });
        n.addEventListener("change", () => edit(() => { c.targetValue = n.value === "" ? "" : Number(n.value); }));
        return n;
      }
      if (kind === "time") {
        const t = el("input", { type: "datetime-local", "aria-label": "Date and time (UTC)", title: "UTC", value: toUTCInput(c.targetValue), "data-value": true });
        t.addEventListener("change", () => edit(() => { c.targetValue = t.value ? Date.parse(t.value + ":00Z") : ""; }));
        return el("span", { class: "inline" }, t, el("span", { class: "muted small", text: "UTC" }));
      }
      const text = el("input", { type: "text", "aria-label": kind === "version" ? "Version, e.g. 2.1.0" : "Value", placeholder: kind === "version" ? "2.1.0" : "", value: c.targetValue ?? "", "data-value": true });
      text.addEventListener("change", () => edit(() => { c.targetValue = text.value.trim(); }));
      return text;
    }

    function ruleCard(rule, i) {
      if (!Array.isArray(rule.conditions)) rule.conditions = [];
      const card = el("fieldset", { class: "rb-rule", "data-rule": i });
      card.append(el("legend", { text: "Rule " + (i + 1) }));
      const head = el("div", { class: "inline" });
      const name = el("input", { type: "text", "aria-label": "Rule name", value: rule.name || "", placeholder: "rule name", "data-rule-name": true });
      name.addEventListener("change", () => edit(() => { rule.name = name.value.trim() || "Rule " + (i + 1); }));
      head.append(el("label", { class: "small", text: "Name " }, name));
      const move = (d) => change(() => { const [r] = rules.splice(i, 1); rules.splice(i + d, 0, r); });
      const up = el("button", { type: "button", class: "btn btn-small", "aria-label": "Move rule " + (i + 1) + " up", text: "↑", disabled: i === 0 });
      const down = el("button", { type: "button", class: "btn btn-small", "aria-label": "Move rule " + (i + 1) + " down", text: "↓", disabled: i === rules.length - 1 });
      const remove = el("button", { type: "button", class: "btn btn-small btn-danger", text: "Remove rule", "data-remove-rule": true });
      up.addEventListener("click", () => move(-1));
      down.addEventListener("click", () => move(1));
      remove.addEventListener("click", () => change(() => rules.splice(i, 1)));
      head.append(up, down, remove);
      card.append(head);

      const conditions = el("div", { class: "rb-conditions" });
      if (!rule.conditions.length) conditions.append(el("p", { class: "muted small", text: "No conditions: everyone matches this rule." }));
      rule.conditions.forEach((_, ci) => {
        if (ci > 0) conditions.append(el("div", { class: "rb-and muted small", text: "and" }));
        conditions.append(conditionRow(rule, ci));
      });
      const add = el("button", { type: "button", class: "btn btn-small", text: "+ Condition", "data-add-condition": true });
      add.addEventListener("click", () => change(() => rule.conditions.push({ type: "email", operator: "str_ends_with_any", targetValue: [] })));
      conditions.append(add);
      card.append(conditions);

      const pass = rule.passPercentage ?? 100;
      const slider = el("input", { type: "range", min: 0, max: 100, step: 1, value: pass, "aria-label": "Pass percentage (slider)" });
      const number = el("input", { type: "number", step: "any", value: pass, "aria-label": "Pass percentage", "data-pass": true, class: "rb-pass" });
      slider.addEventListener("input", () => { number.value = slider.value; });
      slider.addEventListener("change", () => edit(() => { rule.passPercentage = Number(slider.value); }));
      number.addEventListener("change", () => edit(() => {
        rule.passPercentage = number.value === "" ? 100 : Number(number.value);
        slider.value = rule.passPercentage;
      }));
      const passRow = el("div", { class: "inline rb-pass-row" }, el("span", { class: "small", text: "Pass" }), slider, number, el("span", { class: "small", text: "% of matching units" }));
      card.append(passRow);

      if (environments.length) {
        const envs = el("div", { class: "inline small rb-envs" }, el("span", { text: "On in" }));
        for (const env of environments) {
          const box = el("input", { type: "checkbox", value: env, checked: !rule.environments || rule.environments.includes(env), "data-env": env });
          box.addEventListener("change", () => edit(() => {
            const on = [...envs.querySelectorAll("input[data-env]")].filter(b => b.checked).map(b => b.value);
            if (on.length === environments.length) delete rule.environments; else rule.environments = on;
          }));
          envs.append(el("label", { class: "switch", style: "font-weight:400" }, box, document.createTextNode(" " + env)));
        }
        card.append(envs);
      }
      if (withReturnValue) {
        const value = el("textarea", { rows: 3, "aria-label": "Value served (JSON object)", "data-return-value": true });
        value.value = JSON.stringify(rule.returnValue ?? {}, null, 2);
        const error = el("span", { class: "field-error" });
        value.addEventListener("change", () => {
          try { const v = JSON.parse(value.value); error.textContent = ""; edit(() => { rule.returnValue = v; }); }
          catch (e) { error.textContent = "not valid JSON: " + e.message; }
        });
        card.append(el("label", { class: "small", text: "Value served" }), value, error);
      }
      if (rule.schedule && rule.schedule.length) {
        card.append(el("p", { class: "muted small", text: "Scheduled rollout: " + rule.schedule.length + " step(s), kept as they are (edit in JSON)." }));
      }
      return card;
    }

    function render() {
      root.replaceChildren(status);
      rules.forEach((r, i) => { if (r && typeof r === "object") root.append(ruleCard(r, i)); });
      const add = el("button", { type: "button", class: "btn", text: "+ Add rule", "data-add-rule": true });
      add.addEventListener("click", () => change(() => rules.push({
        name: "Rule " + (rules.length + 1), passPercentage: 100,
        conditions: [{ type: "email", operator: "str_ends_with_any", targetValue: [] }],
      })));
      root.append(add);
      markError();
    }

    // An error the API returned for "rules[2].conditions[0]…" is shown on that rule and condition too.
    const errorSlot = textarea.form && textarea.form.querySelector('[data-error-for="' + textarea.name + '"]');
    function markError() {
      const message = (errorSlot && errorSlot.textContent) || "";
      root.querySelectorAll(".rb-invalid").forEach(x => x.classList.remove("rb-invalid"));
      root.querySelectorAll("[data-rule-error]").forEach(x => x.remove());
      const m = /^rules\[(\d+)\](?:\.conditions\[(\d+)\])?/.exec(message);
      if (!m) return;
      const card = root.querySelector('[data-rule="' + m[1] + '"]');
      if (!card) return;
      const target = (m[2] !== undefined && card.querySelector('[data-condition="' + m[2] + '"]')) || card;
      target.classList.add("rb-invalid");
      target.append(el("div", { class: "field-error", role: "alert", text: message, "data-rule-error": true }));
    }
    if (errorSlot) new MutationObserver(markError).observe(errorSlot, { childList: true, characterData: true, subtree: true });

    textarea.addEventListener("input", () => { if (read()) render(); });
    read();
    render();
  }

  const start = () => document.querySelectorAll("[data-rule-builder]").forEach(bind);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
