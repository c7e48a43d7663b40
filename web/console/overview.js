/*
 * overview.js - the overview panel: counts per day and time to acknowledge
 * from GET /api/overview, drawn as SVG by hand (no library, no build
 * step), and for admins the CSV export (GET /api/export). Opened from the
 * "Overview" button this file adds to the top bar. Headers come from
 * login.js, so it works with a session or a token.
 */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var W = 420, H = 140, PAD = 24;
  var T = {
    en: { title: "Overview (last 14 days)", close: "Close", open: "Overview", now_esc: "Open escalations",
      now_prog: "Acknowledged, not resolved", now_cb: "Open call-backs", now_conv: "Active conversations",
      now_hand: "Taken over", texts_in: "Texts received per day", conversations: "New conversations per day",
      red_flags: "Red flags per day", escalations: "Escalations per day", callbacks: "Call-back requests per day",
      ack: "Time to acknowledge (s): median, p90 dashed", export: "Export CSV", full: "full numbers (audited)",
      download: "Download", failed: "Could not load the overview: " },
    es: { title: "Resumen (últimos 14 días)", close: "Cerrar", open: "Resumen", now_esc: "Escalamientos abiertos",
      now_prog: "Confirmados, sin resolver", now_cb: "Devoluciones de llamada abiertas", now_conv: "Conversaciones activas",
      now_hand: "Tomadas por un operador", texts_in: "Mensajes recibidos por día", conversations: "Conversaciones nuevas por día",
      red_flags: "Señales de alarma por día", escalations: "Escalamientos por día", callbacks: "Pedidos de llamada por día",
      ack: "Tiempo hasta confirmar (s): mediana, p90 punteado", export: "Exportar CSV", full: "números completos (auditado)",
      download: "Descargar", failed: "No se pudo cargar el resumen: " }
  };

  /* Labels from T and API messages, in the operator's language (i18n.js, loaded first). */
  var text = window.carenavI18n.panelText(T), t = text.t, said = text.said;
  var panel = window.carenavPanel, el = panel.el, call = panel.get;
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  /* A bar chart of days[i][key]. */
  function bars(days, key, red) {
    var box = el("div", "ov-chart"), s = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img" });
    box.setAttribute("data-key", key);
    var max = Math.max(1, Math.max.apply(null, days.map(function (d) { return d[key] || 0; })));
    var bw = (W - PAD) / days.length;
    box.appendChild(el("h3", null, t(key)));
    s.setAttribute("aria-label", t(key));
    s.appendChild(svg("line", { x1: PAD, y1: H - 16, x2: W, y2: H - 16, "class": "axis" }));
    days.forEach(function (d, i) {
      var v = d[key] || 0, bh = (H - 30) * v / max, x = PAD + i * bw + 2;
      var r = svg("rect", { x: x, y: H - 16 - bh, width: Math.max(1, bw - 4), height: bh, "class": red ? "bar red" : "bar" });
      var tip = svg("title", {});
      tip.textContent = d.day + ": " + v;
      r.appendChild(tip);
      s.appendChild(r);
      if (i % Math.ceil(days.length / 7) === 0) {
        var lab = svg("text", { x: x, y: H - 3 });
        lab.textContent = String(d.day).slice(5);
        s.appendChild(lab);
      }
    });
    var top = svg("text", { x: 0, y: 12 });
    top.textContent = String(max);
    s.appendChild(top);
    box.appendChild(s);
    return box;
  }

  /* Lines of the median and p90 seconds to acknowledge (gaps on days without any). */
  function ackLines(days) {
    var box = el("div", "ov-chart"), s = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img" });
    var vals = [];
    days.forEach(function (d) { if (d.ack_p90_s != null) vals.push(Number(d.ack_p90_s)); });
    var max = Math.max(1, Math.max.apply(null, vals.concat([1])));
    var step = (W - PAD) / Math.max(1, days.length - 1);
    box.appendChild(el("h3", null, t("ack")));
    s.setAttribute("aria-label", t("ack"));
    s.appendChild(svg("line", { x1: PAD, y1: H - 16, x2: W, y2: H - 16, "class": "axis" }));
    [["ack_median_s", "line"], ["ack_p90_s", "line p90"]].forEach(function (k) {
      var pts = [];
      days.forEach(function (d, i) {
        if (d[k[0]] == null) return;
        var x = (PAD + i * step).toFixed(1), y = (H - 16 - (H - 30) * Number(d[k[0]]) / max).toFixed(1);
        var dot = svg("circle", { cx: x, cy: y, r: 3, "class": "dot" });
        var tip = svg("title", {});
        tip.textContent = d.day + ": " + d[k[0]] + " s";
        dot.appendChild(tip);
        s.appendChild(dot);
        pts.push(x + "," + y);
      });
      if (pts.length) s.appendChild(svg("polyline", { points: pts.join(" "), "class": k[1] }));
    });
    var top = svg("text", { x: 0, y: 12 });
    top.textContent = String(Math.round(max));
    s.appendChild(top);
    box.appendChild(s);
    return box;
  }

  function exportForm() {
    var form = el("form", "ov-export"), kind = el("select"), from = el("input"), to = el("input"),
      full = el("input"), lab = el("label", null, " " + t("full")), btn = el("button", "btn btn-secondary", t("download"));
    ["conversations", "messages", "escalations"].forEach(function (k) {
      var o = el("option", null, k);
      o.value = k;
      kind.appendChild(o);
    });
    from.type = to.type = "date";
    full.type = "checkbox";
    lab.insertBefore(full, lab.firstChild);
    btn.type = "submit";
    form.appendChild(el("strong", null, t("export")));
    [kind, from, to, lab, btn].forEach(function (x) { form.appendChild(x); });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var q = "/api/export?kind=" + kind.value + (from.value ? "&from=" + from.value : "") +
        (to.value ? "&to=" + to.value : "") + (full.checked ? "&full=1" : "");
      call(q).then(function (res) { return res.blob(); }).then(function (blob) {
        var a = el("a");
        a.href = URL.createObjectURL(blob);
        a.download = "carenav-" + kind.value + ".csv";
        document.body.appendChild(a);
        a.click();
        setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      }).catch(function (err) { alert(said(err.message)); });
    });
    return form;
  }

  function show() {
    var body = panel.open("overview", t("title"), t("close"));
    call("/api/overview?days=14").then(function (res) { return res.json(); }).then(function (doc) {
      var tiles = el("div", "ov-tiles"), charts = el("div", "ov-charts");
      [["escalations_open", "now_esc"], ["escalations_in_progress", "now_prog"], ["callbacks_open", "now_cb"],
        ["conversations_active", "now_conv"], ["handoffs", "now_hand"]].forEach(function (k) {
        var tile = el("div", "ov-tile");
        tile.setAttribute("data-key", k[0]);
        tile.appendChild(el("div", "ov-num", String(doc.now[k[0]])));
        tile.appendChild(el("div", "ov-label", t(k[1])));
        tiles.appendChild(tile);
      });
      charts.appendChild(bars(doc.days, "texts_in"));
      charts.appendChild(bars(doc.days, "conversations"));
      charts.appendChild(bars(doc.days, "red_flags", true));
      charts.appendChild(bars(doc.days, "escalations", true));
      charts.appendChild(bars(doc.days, "callbacks"));
      charts.appendChild(ackLines(doc.days));
      body.appendChild(tiles);
      body.appendChild(charts);
      body.appendChild(exportForm());
    }).catch(function (err) { body.appendChild(el("p", "form-error", t("failed") + said(err.message))); });
  }

  panel.button("open-overview", "btn btn-ghost", t("open"), show);
})();
