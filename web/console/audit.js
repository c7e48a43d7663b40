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
  var panel = window.carenavPanel, el = panel.el;

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
    var body = panel.open("audit", t("title"), t("close"), "audit-body");
    panel.get("/api/audit?limit=200").then(function (res) { return res.json(); }).then(function (doc) {
      body.appendChild(doc.actions.length ? table(doc.actions) : el("p", "muted", t("empty")));
    }).catch(function (err) { body.appendChild(el("p", "form-error", t("failed") + said(err.message))); });
  }

  panel.button("open-audit", "btn btn-ghost admin-only", t("open"), show);
  window.carenavAudit = { show: show };
})();
