/*
 * i18n.js - the console in the operator's language (issue #21): English as
 * written, or Spanish when the account's language is "es" (carenav operator
 * add --language es; GET /api/me says which).
 *
 * It translates what console.js and index.html put on the page without
 * changing them: a MutationObserver looks at each new text node, title,
 * placeholder and aria-label under #app and replaces exact matches from the
 * table below (and a few "prefix + value" forms). Before sign-in the
 * login page (#login) is translated the same way, in the browser's
 * language (language.js picks it). Patient text is never
 * touched: nothing inside a transcript bubble, a list preview's text or a phone
 * number is looked at, and only whole, known strings are replaced.
 */
(function () {
  "use strict";

  var ES = {
    "Operator console": "Consola de operadores",
    "carenav · Operator console": "carenav · Consola de operadores",
    "Sign in with the name and password your administrator gave you. Every action you take, and every conversation you open, is recorded under your name.":
      "Inicie sesión con el nombre y la contraseña que le dio su administrador. Cada acción que realice y cada conversación que abra se registran con su nombre.",
    "Name": "Nombre",
    "e.g. nina": "p. ej. nina",
    "Password": "Contraseña",
    "Code from your authenticator app": "Código de su aplicación de autenticación",
    "(if you have one)": "(si tiene una)",
    "Use an API token instead": "Usar un token de API",
    "Operator token": "Token de operador",
    "Paste your token": "Pegue su token",
    "Sign in": "Iniciar sesión",
    "Console language": "Idioma de la consola",
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
    "Patient:": "Paciente:",
    "Sent:": "Enviado:",
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
    "Possible cauda equina (bladder, bowel, saddle numbness)": "Posible cauda equina (vejiga, intestino, entumecimiento en silla de montar)",
    "Escalations": "Escalamientos",
    "Open or in progress": "Abiertos o en curso",
    "Show escalations": "Mostrar escalamientos",
    "Open & in progress": "Abiertos y en curso",
    "In progress": "En curso",
    "Resolved": "Resueltos",
    "Sound off": "Sonido apagado",
    "Sound on": "Sonido encendido",
    "Play a sound when a new escalation arrives": "Reproducir un sonido cuando llega un escalamiento nuevo",
    "Hide list": "Ocultar lista",
    "Show list": "Mostrar lista",
    "Back to the list": "Volver a la lista",
    "← List": "← Lista",
    "Escalated (not resolved)": "Escalada (sin resolver)",
    "Nothing resolved yet.": "Aún no se resolvió nada.",
    "Open the conversation": "Abrir la conversación",
    "Nobody paged yet": "Aún no se avisó a nadie",
    "Escalation": "Escalamiento",
    "Why": "Motivo",
    "Words": "Palabras",
    "Where, how long": "Dónde, desde cuándo",
    "See-doctor answers": "Respuestas para ver al médico",
    "Language": "Idioma",
    "English": "Inglés",
    "Spanish": "Español",
    "Red flag": "Señal de alarma",
    "Red flag: escalation opened": "Señal de alarma: escalamiento abierto",
    "Another red flag in the same conversation": "Otra señal de alarma en la misma conversación",
    "Paged": "Avisado",
    "Alert SMS sent": "SMS de alerta enviado",
    "Alert SMS delivered": "SMS de alerta entregado",
    "Alert SMS failed": "Falló el SMS de alerta",
    "Webhook posted": "Webhook enviado",
    "Webhook failed": "Falló el webhook",
    "Nobody on call": "Nadie de guardia",
    "Acknowledged": "Confirmado",
    "ACK refused": "ACK rechazado",
    "Stood down": "Retirado",
    "Stand-down": "Aviso de retiro",
    "Summary to staff": "Resumen al personal",
    "Outbound": "Saliente",
    "Reached the patient – advised the ER": "Se habló con el paciente: se le indicó ir a urgencias",
    "Reached – ER visit confirmed": "Se habló: visita a urgencias confirmada",
    "Reached – not urgent": "Se habló: no es urgente",
    "No answer": "Sin respuesta",
    "False alarm": "Falsa alarma",
    "no outcome recorded": "sin resultado registrado",
    "Resolve escalation": "Resolver escalamiento",
    "How did it end?": "¿Cómo terminó?",
    "Number of tries": "Número de intentos",
    "tries": "intentos",
    "No answer after": "Sin respuesta tras",
    "Note": "Nota",
    "(optional)": "(opcional)",
    "What was done, who was told": "Qué se hizo, a quién se avisó",
    "Cancel": "Cancelar",
    "Pick how it ended.": "Elija cómo terminó.",
    "Enter your name and password.": "Escriba su nombre y contraseña.",
    "The gateway cannot be reached": "No se puede contactar al servidor",
    /* The API's error messages the console shows (the API itself answers in English, for scripts). */
    "wrong name, password or code": "nombre, contraseña o código incorrectos",
    "too many failed sign-ins: this account is locked for a while (an admin can unlock it with carenav operator reset)":
      "demasiados intentos fallidos: esta cuenta queda bloqueada un tiempo (un administrador puede desbloquearla con carenav operator reset)",
    "name and password must be non-empty strings of at most 256 bytes": "el nombre y la contraseña deben tener entre 1 y 256 bytes",
    "the session has ended; sign in again": "la sesión terminó; vuelva a iniciar sesión",
    "the operator token is not valid (unknown, expired or revoked)": "el token de operador no es válido (desconocido, vencido o revocado)",
    "the operator token is not valid": "el token de operador no es válido",
    "sign in, or send an operator token (Authorization: Bearer TOKEN)": "inicie sesión o envíe un token de operador (Authorization: Bearer TOKEN)",
    "a signed-in request that changes something needs the session's X-CSRF-Token header (GET /api/me gives it)":
      "un pedido con sesión que cambia algo necesita el encabezado X-CSRF-Token de la sesión (lo da GET /api/me)",
    "the database is not available; try again shortly": "la base de datos no está disponible; intente de nuevo en un momento",
    "too many requests; slow down and retry later": "demasiados pedidos; espere un poco y vuelva a intentar",
    "the escalation is not open any more (already acknowledged or resolved)": "el escalamiento ya no está abierto (ya fue confirmado o resuelto)",
    "the escalation is already resolved": "el escalamiento ya está resuelto",
    "the call-back request is already done": "el pedido de llamada ya está hecho",
    "the patient texted STOP; nothing can be sent until they text START": "el paciente envió STOP; no se puede enviar nada hasta que envíe START",
    "no such conversation": "no existe esa conversación",
    "no such escalation": "no existe ese escalamiento",
    "no such call-back request": "no existe ese pedido de llamada",
    "this is a staff alert line, not a patient": "esta es una línea de alertas al personal, no un paciente",
    "language must be en or es": "el idioma debe ser en o es",
    "an OPERATOR_TOKENS name has no account to keep a language in; the console stays in English":
      "un nombre de OPERATOR_TOKENS no tiene cuenta donde guardar un idioma; la consola sigue en inglés"
  };
  /* Sentences the console composes around values (codes, names, times): each part that is a label is translated. */
  var ES_PATTERNS = [
    [/^this needs the (\w+) role; (.+) is (\w+)$/, function (m) { return "esto necesita el rol " + m[1] + "; " + m[2] + " tiene el rol " + m[3]; }],
    [/^too long for one message: (\d+) characters \/ (\d+) segments, the limit with (\S+) is (.+); shorten it or send it as two messages$/,
      function (m) {
        return "demasiado largo para un mensaje: " + m[1] + " caracteres / " + m[2] + " segmentos, el límite con " + m[3] + " es " +
          m[4].replace(/segments/g, "segmentos").replace(/characters/g, "caracteres").replace(/ or /g, " o ") +
          "; acórtelo o envíelo en dos mensajes";
      }],
    [/^Conversation #(\d+) · started (.+?) · last activity (.+?)(?: · escalation (\S+) \((\w+)\))?$/, function (m) {
      return "Conversación #" + m[1] + " · iniciada " + when(m[2]) + " · última actividad " + when(m[3]) +
        (m[4] ? " · escalamiento " + m[4] + " (" + (ES_STATUS[m[5]] || m[5]) + ")" : "");
    }],
    [/^Timeline · (.+)$/, function (m) { return "Cronología · " + (tr(m[1]) || m[1]).trim(); }],
    [/^Paged: (.+)$/, function (m) { return "Avisado: " + pages(m[1]); }],
    [/^Paged (.+) \((primary|backup|everyone on call)\)$/, function (m) { return "Avisado " + m[1] + " (" + ES_TIER[m[2]] + ")"; }],
    [/^Acknowledged by (.+) \((console|SMS)\)$/, function (m) { return "Confirmado por " + m[1] + " (" + (m[2] === "console" ? "consola" : "SMS") + ")"; }],
    [/^Stood down: (.+) told it is taken$/, function (m) { return "Retirado: se avisó a " + m[1] + " que ya está tomado"; }],
    [/^Resolved by (.+?) — (.+)$/, function (m) { return "Resuelto por " + m[1] + " — " + outcome(m[2]); }],
    [/^Resolved — (.+)$/, function (m) { return "Resuelto — " + outcome(m[1]); }],
    [/^In progress — (.+)$/, function (m) { return "En curso — " + m[1]; }],
    [/^In progress · (.+)$/, function (m) { return "En curso · " + m[1]; }],
    [/^Open since (.+)$/, function (m) { return "Abierto desde " + m[1]; }],
    [/^Open (\d+) · In progress (\d+) · Resolved today (\d+) · Median time to ACK (.+)$/, function (m) {
      return "Abiertos " + m[1] + " · En curso " + m[2] + " · Resueltos hoy " + m[3] + " · Mediana hasta confirmar " + m[4];
    }],
    [/^Patient (\S+) · ([A-Z]{2})( · .*)?$/, function (m) { return "Paciente " + m[1] + " · " + m[2] + (m[3] || ""); }],
    [/^No answer after (\d+|\?) tries$/, function (m) { return "Sin respuesta tras " + m[1] + " intentos"; }],
    [/^Escalation (\S+) acknowledged: it is yours\. The patient is told a nurse will call; the others paged are stood down\.$/,
      function (m) { return "Escalamiento " + m[1] + " confirmado: es suyo. Se avisa al paciente que una enfermera llamará y se retira a los demás avisados."; }]
  ];
  var ES_STATUS = { open: "abierto", acknowledged: "confirmado", resolved: "resuelto" };
  var ES_TIER = { primary: "principal", backup: "respaldo", "everyone on call": "todos los de guardia" };

  function when(text) { return tr(text) || text; }
  function outcome(text) { return tr(text) || text; }
  /* "Pat Primary (primary, SMS sent), ..." */
  function pages(text) {
    return text.replace(/\((primary|backup|everyone), (SMS|webhook) (\w+)\)/g, function (all, tier, ch, delivery) {
      return "(" + (ES_TIER[tier] || ES_TIER["everyone on call"]) + ", " + ch + " " +
        ({ queued: "en cola", sent: "enviado", delivered: "entregado", failed: "falló", undelivered: "no entregado", read: "leído" }[delivery] || delivery) + ")";
    });
  }
  /* "prefix" + the rest: the rest is kept as it is (a number, a code, a time). */
  var ES_PREFIX = [
    ["ESCALATION ", "ESCALAMIENTO "], ["Escalation ", "Escalamiento "], ["Open ", "Abierto "], ["Patient ", "Paciente "],
    ["Patient: ", "Paciente: "], ["Sent: ", "Enviado: "], ["Acknowledged by ", "Confirmado por "],
    ["Red flag · ", "Señal de alarma · "], ["Text removed ", "Texto eliminado "], ["Operator ", "Operador "],
    ["Sent by SMS as operator ", "Enviado por SMS como operador "], ["Resolve escalation ", "Resolver escalamiento "],
    ["Live · updated ", "En vivo · actualizado "]
  ];
  /* Where one English word has two meanings: [the element it sits in, the Spanish there]. */
  var ES_CONTEXT = [[".seg-btn[data-filter=open]", "Abiertos"]];
  var ES_SUFFIX = [[" min ago", " min"], [" h ago", " h"], [" d ago", " d"]];
  /* Patient content and numbers: never translated. */
  var SKIP = ".bubble, .conv-text, #conv-number, .esc-quote, #operator, .day";
  var ATTRS = ["title", "placeholder", "aria-label"];

  var observers = {};

  function tr(text) {
    var trimmed = text.trim(), i, p, out, flat = trimmed.replace(/\s+/g, " ");
    if (!trimmed) return null;
    if (Object.prototype.hasOwnProperty.call(ES, flat)) return text.replace(trimmed, ES[flat]);
    for (i = 0; i < ES_PATTERNS.length; i++) {
      p = ES_PATTERNS[i][0].exec(flat);
      if (p) return text.replace(trimmed, ES_PATTERNS[i][1](p));
    }
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

  function inContext(node) {
    for (var i = 0; i < ES_CONTEXT.length; i++) {
      if (node.parentElement.closest(ES_CONTEXT[i][0]) && node.nodeValue.trim()) return ES_CONTEXT[i][1];
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
      t = inContext(root) || tr(root.nodeValue);
      if (t !== null && t !== root.nodeValue) root.nodeValue = t;
      return;
    }
    if (root.nodeType !== 1) return;
    w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, null);
    while ((n = w.nextNode())) {
      if (skip(n)) continue;
      t = inContext(n) || tr(n.nodeValue);
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

  /* Translates the element with id rootId into lang, now and as it changes ("en" leaves it as written). */
  function translate(rootId, lang) {
    var root = document.getElementById(rootId);
    if (lang !== "es" || !root || observers[rootId]) return;
    walk(root);
    observers[rootId] = new MutationObserver(function (records) {
      records.forEach(function (r) {
        if (r.type === "characterData") walk(r.target);
        else if (r.type === "attributes") walk(r.target);
        else Array.prototype.forEach.call(r.addedNodes, walk);
      });
    });
    observers[rootId].observe(root, { subtree: true, childList: true, characterData: true, attributes: true,
      attributeFilter: ATTRS });
  }

  /* Switches the signed-in console to the account's language. */
  function apply(lang) {
    /* Spanish labels are not turned back: an English account signing in after a Spanish one starts afresh. */
    if (lang !== "es" && observers.app) {
      location.reload();
      return;
    }
    document.documentElement.lang = lang === "es" ? "es" : "en";
    translate("app", lang);
  }

  /* Before sign-in: the login page and the tab's title in the browser's language. */
  function applyLogin(lang) {
    var t = lang === "es" ? tr(document.title) : null;
    document.documentElement.lang = lang === "es" ? "es" : "en";
    if (t !== null) document.title = t;
    translate("login", lang);
  }

  /* text (an API's error message, say) in lang when this file knows it, else as it is. */
  function message(text, lang) {
    var t = lang === "es" ? tr(String(text)) : null;
    return t === null ? String(text) : t;
  }

  /* The English labels this file knows (tests scan a Spanish page for them). */
  function english() {
    return Object.keys(ES);
  }

  /*
   * For panels that carry their own label table T ({en: {...}, es: {...}}) and sit
   * outside what apply() watches: t(key) is T's label, said(text) an API message,
   * both in the signed-in operator's language.
   */
  function panelText(T) {
    function lang() { return (window.carenavAuth && window.carenavAuth.language) || "en"; }
    return {
      t: function (key) { return (T[lang()] || T.en)[key]; },
      said: function (text) { return message(text, lang()); }
    };
  }

  window.carenavI18n = { apply: apply, applyLogin: applyLogin, translate: tr, message: message, english: english,
    panelText: panelText };
})();
