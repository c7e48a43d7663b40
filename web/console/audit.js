/*
 * audit.js - the audit view for admins (issue #21): the latest entries of
 * the audit trail from GET /api/audit (who, when, what, from where), read
 * only. Opened from the "Audit" button this file adds to the top bar,
 * which only admins see (overview.css hides it for other roles); the API
 * refuses others with 403 all the same, and the panel then shows its words.
 */
(function () {
  "use strict";

  var T = {
    en: { open: "Audit", title: "Audit trail (latest 200)", close: "Close", at: "When", operator: "Who",
      action: "What", detail: "Detail", from: "From", empty: "Nothing recorded yet.",
      failed: "Could not load the audit trail: " },
    es: { open: "Auditoría", title: "Registro de auditoría (últimos 200)", close: "Cerrar", at: "Cuándo",
      operator: "Quién", action: "Qué", detail: "Detalle", from: "Desde", empty: "Aún no hay nada registrado.",
      failed: "No se pudo cargar el registro de auditoría: " }
  };

  /* Labels from T and API messages, in the operator's language (i18n.js, loaded first). */
  var text = window.carenavI18n.panelText(T), t = text.t, said = text.said;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function table(actions) {
    var tbl = el("table", "audit-table"), head = el("tr");
    ["at", "operator", "action", "detail", "from"].forEach(function (k) { head.appendChild(el("th", null, t(k))); });
    tbl.appendChild(el("thead")).appendChild(head);
    var body = tbl.appendChild(el("tbody"));
    actions.forEach(function (a) {
      var tr = el("tr");
      tr.setAttribute("data-action", a.action);
      tr.appendChild(el("td", null, String(a.at).replace("T", " ").slice(0, 19)));
      tr.appendChild(el("td", null, a.operator));
      tr.appendChild(el("td", "audit-action", a.action));
      tr.appendChild(el("td", null, a.detail || ""));
      tr.appendChild(el("td", null, a.client_addr || ""));
      body.appendChild(tr);
    });
    return tbl;
  }

  function show() {
    var panel = document.getElementById("audit");
    if (panel) panel.remove();
    panel = el("section", "overview");
    panel.id = "audit";
    var head = el("div", "overview-head"), close = el("button", "btn btn-ghost", t("close"));
    close.type = "button";
    close.addEventListener("click", function () { panel.remove(); });
    head.appendChild(el("h2", null, t("title")));
    head.appendChild(close);
    panel.appendChild(head);
    var body = el("div", "audit-body");
    panel.appendChild(body);
    document.body.appendChild(panel);
    var token = sessionStorage.getItem("carenav.operatorToken") || "";
    fetch("/api/audit?limit=200", { cache: "no-store", credentials: "same-origin",
      headers: window.carenavAuth.headers("GET", token) }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (doc) {
        if (!res.ok) throw new Error(doc && doc.error ? doc.error.message : "HTTP " + res.status);
        body.appendChild(doc.actions.length ? table(doc.actions) : el("p", "muted", t("empty")));
      });
    }).catch(function (err) { body.appendChild(el("p", "form-error", t("failed") + said(err.message))); });
  }

  function addButton() {
    var out = document.getElementById("signout");
    if (!out || document.getElementById("open-audit")) return;
    var b = el("button", "btn btn-ghost admin-only", t("open"));
    b.type = "button";
    b.id = "open-audit";
    b.addEventListener("click", show);
    out.parentNode.insertBefore(b, out);
  }

  addButton();
  window.carenavAudit = { show: show };
})();
