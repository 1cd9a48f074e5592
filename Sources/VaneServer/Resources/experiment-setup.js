"use strict";
// The experiment page's metric pickers (add a catalogue metric to a comma-separated field) and its
// power calculator (GET …/power with the form's fields, drawn as a table of durations).
(() => {
  const { el } = window.VaneDOM;
  // null: a figure too large to compute (a baseline mean near zero).
  const percent = x => (typeof x === "number" && isFinite(x) ? (100 * x).toPrecision(3).replace(/\.?0+$/, "") + " %" : "—");
  const whole = x => Math.round(x).toLocaleString("en-US");
  const decimal = x => Number(x.toPrecision(4)).toLocaleString("en-US", { maximumFractionDigits: 4 });

  function bindPickers(root) {
    root.querySelectorAll("[data-metric-picker]").forEach(picker => {
      const target = document.getElementById(picker.dataset.metricPicker);
      const select = picker.querySelector("select");
      picker.querySelector("button").addEventListener("click", () => {
        const chosen = select.value;
        if (!chosen || !target) return;
        const current = target.value.split(",").map(s => s.trim()).filter(Boolean);
        if (!current.includes(chosen)) current.push(chosen);
        target.value = current.join(", ");
        target.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
  }

  // Adds {"metric", "harmfulDirection", "tolerance"} to the guardrails' JSON (a guardrail on the
  // same metric is replaced).
  function bindGuardrailPickers(root) {
    root.querySelectorAll("[data-guardrail-picker]").forEach(picker => {
      const target = document.getElementById(picker.dataset.guardrailPicker);
      picker.querySelector("button").addEventListener("click", () => {
        const metric = picker.querySelector("#guardrail-metric").value;
        if (!metric) return;
        let list = [];
        try { list = JSON.parse(target.value.trim() || "[]"); } catch (_) { list = null; }
        if (!Array.isArray(list)) {
          const error = target.closest("form").querySelector(".form-error");
          if (error) error.textContent = "guardrails: the JSON below is not a list; fix it or clear it to add one";
          return;
        }
        const guardrail = { metric, harmfulDirection: picker.querySelector("#guardrail-direction").value,
          tolerance: Number(picker.querySelector("#guardrail-tolerance").value || 0) / 100 };
        list = list.filter(g => !(g && g.metric === metric)).concat([guardrail]);
        target.value = JSON.stringify(list, null, 2);
      });
    });
  }

  function render(out, r) {
    const rows = r.durations.map(d => el("tr", {},
      el("td", { class: "num", text: d.days + " days" }),
      el("td", { class: "num", text: whole(d.units) }),
      el("td", { class: "num", text: percent(d.minimumDetectableEffect) })));
    const b = r.baseline;
    const lines = [
      el("p", { id: "power-baseline", text: `Baseline of ${r.metric}: mean ${decimal(b.mean)}, standard deviation ${decimal(b.standardDeviation)} (from ${b.source}).` }),
      el("p", { id: "power-traffic", text: r.unitsPerDay != null
        ? `About ${whole(r.unitsPerDay)} units a day (from ${r.unitsPerDaySource}).` : `Units per day: ${r.unitsPerDaySource}.` }),
    ];
    if (r.target) {
      const t = r.target;
      lines.push(el("p", { id: "power-target", class: "strong", text: t.units == null
        ? `A ${percent(t.minimumDetectableEffect)} change of a baseline this close to zero is too small to detect.`
        : `To detect a ${percent(t.minimumDetectableEffect)} change: ${whole(t.units)} units in all`
          + (t.days != null ? `, about ${Math.ceil(t.days)} days.` : ".") }));
    }
    const table = rows.length ? el("div", { class: "table-wrap" }, el("table", { class: "data", id: "power-table" },
      el("thead", {}, el("tr", {}, el("th", { class: "num", text: "Run for" }), el("th", { class: "num", text: "Units" }),
        el("th", { class: "num", text: "Smallest detectable change" }))),
      el("tbody", {}, ...rows))) : null;
    const note = el("p", { class: "muted small", text: `Two-sided test at α = ${r.alpha}, power ${percent(r.power)}; groups ${r.groups.map((g, i) => g + " " + r.weights[i] + "%").join(", ")}. The smallest group decides.` });
    out.replaceChildren(...lines, table, note);
  }

  function bindPower(root) {
    root.querySelectorAll("form[data-power-api]").forEach(form => {
      form.addEventListener("submit", async ev => {
        ev.preventDefault();
        const out = document.getElementById(form.dataset.output);
        const error = form.querySelector(".form-error");
        const params = new URLSearchParams();
        for (const input of form.querySelectorAll("[name]")) {
          let v = input.value.trim();
          if (!v) continue;
          if (input.dataset.percent !== undefined) v = String(Number(v) / 100);
          params.set(input.name, v);
        }
        error.textContent = "";
        try {
          render(out, await Vane.api("GET", form.dataset.powerApi + "?" + params.toString()));
        } catch (e) {
          error.textContent = e.message;
          out.replaceChildren();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => { bindPickers(document); bindGuardrailPickers(document); bindPower(document); });
})();
