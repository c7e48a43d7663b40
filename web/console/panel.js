/*
 * panel.js - what the side panels (overview.js, audit.js) share: el() builds
 * an element, get() reads the operator API with the signed-in headers
 * (login.js), open() draws the panel with its title and Close button, and
 * button() adds the top-bar button that opens it. Loaded before the panels.
 */
(function () {
  "use strict";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  /* GET path; resolves to the response, or rejects with the API's message when it is not ok. */
  function get(path) {
    var token = sessionStorage.getItem("carenav.operatorToken") || "";
    return fetch(path, { cache: "no-store", credentials: "same-origin",
      headers: window.carenavAuth.headers("GET", token) }).then(function (res) {
      if (!res.ok) return res.json().catch(function () { return null; }).then(function (d) {
        throw new Error(d && d.error ? d.error.message : "HTTP " + res.status);
      });
      return res;
    });
  }

  /* Opens the panel #id afresh, titled title; returns the element its content goes in. */
  function open(id, title, closeLabel, bodyClass) {
    var panel = document.getElementById(id);
    if (panel) panel.remove();
    panel = el("section", "overview");
    panel.id = id;
    var head = el("div", "overview-head"), close = el("button", "btn btn-ghost", closeLabel);
    close.type = "button";
    close.addEventListener("click", function () { panel.remove(); });
    head.appendChild(el("h2", null, title));
    head.appendChild(close);
    panel.appendChild(head);
    var body = el("div", bodyClass);
    panel.appendChild(body);
    document.body.appendChild(panel);
    return body;
  }

  /* Adds the top-bar button #id, before Sign out, that calls show (once). */
  function button(id, cls, label, show) {
    var out = document.getElementById("signout");
    if (!out || document.getElementById(id)) return;
    var b = el("button", cls, label);
    b.type = "button";
    b.id = id;
    b.addEventListener("click", show);
    out.parentNode.insertBefore(b, out);
  }

  window.carenavPanel = { el: el, get: get, open: open, button: button };
})();
