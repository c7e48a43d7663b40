/*
 * i18n.js - the console in the operator's language (issue #21): English as
 * written, or Spanish when the account's language is "es" (carenav operator
 * add --language es; GET /api/me says which).
 *
 * It translates what console.js and index.html put on the page without
 * changing them: a MutationObserver looks at each new text node, title,
 * placeholder and aria-label under #app and replaces exact matches from the
 * table below (and a few "prefix + value" forms). Patient text is never
 * touched: nothing inside a transcript bubble, a list preview or a phone
 * number is looked at, and only whole, known strings are replaced.
 */
(function () {
  "use strict";

  var ES = {
    "Operator console": "Consola de operadores",
    "Sign out": "Cerrar sesión",
    "Overview": "Resumen",
    "Audit": "Auditoría",
    "Connecting…": "Conectando…",
    "Reconnecting…": "Reconectando…",
    "Live": "En vivo",
    "The console refreshes by itself": "La consola se actualiza sola",
    "Open escalations": "Escalamientos abiertos",
    "Red-flag conversations waiting for a human. Acknowledge to stop staff alerts and tell the patient a nurse will call.":
      "Conversaciones con señales de alarma esperando a una persona. Confirme para detener las alertas al personal y avisar al paciente que una enfermera llamará.",
    "No open escalations. Red-flag texts appear here at once.": "No hay escalamientos abiertos. Los mensajes con señales de alarma aparecen aquí al instante.",
    "Conversations": "Conversaciones",
    "Call-backs": "Devoluciones de llamada",
    "Search number or message text": "Buscar número o texto del mensaje",
    "Search conversations": "Buscar conversaciones",
    "Filter by status": "Filtrar por estado",
    "All": "Todas",
    "Escalated": "Escalada",
    "Emergency": "Emergencia",
    "Handoff": "Tomada por operador",
    "Active": "Activa",
    "Closed": "Cerrada",
    "Opted out": "Dado de baja",
    "Load older conversations": "Cargar conversaciones anteriores",
    "No conversations match.": "Ninguna conversación coincide.",
    "No conversations yet.": "Aún no hay conversaciones.",
    "No call-back requests waiting.": "No hay pedidos de llamada pendientes.",
    "No messages": "Sin mensajes",
    "Booking": "Cita",
    "Call back": "Devolver llamada",
    "Open": "Abrir",
    "Mark called": "Marcar como llamado",
    "Select a conversation": "Seleccione una conversación",
    "Pick a conversation on the left to read the transcript, reply to the patient or take over from the automated dialogue.":
      "Elija una conversación a la izquierda para leer el historial, responder al paciente o tomar el control del diálogo automático.",
    "Acknowledge": "Confirmar",
    "Resolve": "Resolver",
    "Open conversation": "Abrir conversación",
    "Take over": "Tomar el control",
    "Hand back to automation": "Devolver a la automatización",
    "You are talking with this patient. Automated replies are paused until you hand back.":
      "Está hablando con este paciente. Las respuestas automáticas están en pausa hasta que lo devuelva.",
    "Text the patient… (Ctrl+Enter to send)": "Escriba al paciente… (Ctrl+Enter para enviar)",
    "Reply to the patient": "Responder al paciente",
    "Send": "Enviar",
    "Sent by SMS under your operator name.": "Se envía por SMS con su nombre de operador.",
    "Tip: take over first so automated replies pause while you talk.":
      "Consejo: tome el control primero para pausar las respuestas automáticas mientras habla.",
    "The patient texted STOP: nothing can be sent until they text START.":
      "El paciente envió STOP: no se puede enviar nada hasta que envíe START.",
    "Patient": "Paciente",
    "Automated reply": "Respuesta automática",
    "System": "Sistema",
    "Staff alert": "Alerta al personal",
    "Queued": "En cola",
    "Sent": "Enviado",
    "Delivered": "Entregado",
    "Read": "Leído",
    "Failed": "Falló",
    "Not sent: the patient opted out": "No enviado: el paciente se dio de baja",
    "Open for": "Abierto desde hace",
    "just now": "ahora mismo",
    "Call-back marked done.": "Llamada marcada como hecha.",
    "You have taken over. Automated replies are paused.": "Tomó el control. Las respuestas automáticas están en pausa.",
    "Handed back: automated replies resume.": "Devuelto: las respuestas automáticas continúan.",
    "Gateway unreachable": "No se puede contactar al servidor",
    "Needs a doctor": "Necesita un médico",
    "Chest pain / breathing / dizziness": "Dolor de pecho / respiración / mareo",
    "Possible cauda equina (bladder, bowel, saddle numbness)": "Posible cauda equina (vejiga, intestino, entumecimiento en silla de montar)"
  };
  /* "prefix" + the rest: the rest is kept as it is (a number, a code, a time). */
  var ES_PREFIX = [
    ["ESCALATION ", "ESCALAMIENTO "], ["Open ", "Abierto "], ["Patient ", "Paciente "],
    ["Patient: ", "Paciente: "], ["Sent: ", "Enviado: "], ["Acknowledged by ", "Confirmado por "],
    ["Red flag · ", "Señal de alarma · "], ["Text removed ", "Texto eliminado "], ["Operator ", "Operador "],
    ["Sent by SMS as operator ", "Enviado por SMS como operador "], ["Resolve escalation ", "Resolver escalamiento "],
    ["Live · updated ", "En vivo · actualizado "]
  ];
  var ES_SUFFIX = [[" min ago", " min"], [" h ago", " h"], [" d ago", " d"]];
  /* Patient content and numbers: never translated. */
  var SKIP = ".bubble, .conv-preview, #conv-number, .esc-quote, #operator, .day";
  var ATTRS = ["title", "placeholder", "aria-label"];

  var observer = null;

  function tr(text) {
    var trimmed = text.trim(), i, p, out;
    if (!trimmed) return null;
    if (Object.prototype.hasOwnProperty.call(ES, trimmed)) return text.replace(trimmed, ES[trimmed]);
    for (i = 0; i < ES_SUFFIX.length; i++) {
      p = ES_SUFFIX[i];
      if (trimmed.length > p[0].length && trimmed.slice(-p[0].length) === p[0] && /^\d+$/.test(trimmed.slice(0, -p[0].length))) {
        return text.replace(trimmed, "hace " + trimmed.slice(0, -p[0].length) + p[1]);
      }
    }
    for (i = 0; i < ES_PREFIX.length; i++) {
      p = ES_PREFIX[i];
      if (trimmed.indexOf(p[0]) === 0 && trimmed.length > p[0].length) {
        out = p[1] + trimmed.slice(p[0].length);
        return text.replace(trimmed, out);
      }
    }
    return null;
  }

  function skip(node) {
    var el = node.nodeType === 1 ? node : node.parentElement;
    return !el || (el.closest && el.closest(SKIP));
  }

  function walk(root) {
    var w, n, t, els, i, j, v;
    if (skip(root)) return;
    if (root.nodeType === 3) {
      t = tr(root.nodeValue);
      if (t !== null && t !== root.nodeValue) root.nodeValue = t;
      return;
    }
    if (root.nodeType !== 1) return;
    w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, null);
    while ((n = w.nextNode())) {
      if (skip(n)) continue;
      t = tr(n.nodeValue);
      if (t !== null && t !== n.nodeValue) n.nodeValue = t;
    }
    els = [root].concat(Array.prototype.slice.call(root.querySelectorAll("[title], [placeholder], [aria-label]")));
    for (i = 0; i < els.length; i++) {
      if (skip(els[i])) continue;
      for (j = 0; j < ATTRS.length; j++) {
        v = els[i].getAttribute(ATTRS[j]);
        if (v && (t = tr(v)) !== null && t !== v) els[i].setAttribute(ATTRS[j], t);
      }
    }
  }

  /* Switches the page to lang ("en" leaves it as written). */
  function apply(lang) {
    var app = document.getElementById("app");
    document.documentElement.lang = lang === "es" ? "es" : "en";
    if (lang !== "es" || !app || observer) return;
    walk(app);
    observer = new MutationObserver(function (records) {
      records.forEach(function (r) {
        if (r.type === "characterData") walk(r.target);
        else if (r.type === "attributes") walk(r.target);
        else Array.prototype.forEach.call(r.addedNodes, walk);
      });
    });
    observer.observe(app, { subtree: true, childList: true, characterData: true, attributes: true,
      attributeFilter: ATTRS });
  }

  window.carenavI18n = { apply: apply, translate: tr };
})();
