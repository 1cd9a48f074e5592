"use strict";
// Building console markup in the browser: el("button", { class: "btn", text: "Save", disabled: true }, child…).
// Attributes that are undefined, null or false are left out; true sets an empty attribute.
window.VaneDOM = {
  el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
  },
};
