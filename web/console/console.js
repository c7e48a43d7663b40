/*
 * console.js - the operator console's behaviour, vanilla JS, no libraries.
 *
 * The operator signs in with a password (an HttpOnly session cookie) or a
 * pasted token (sessionStorage, gone when the tab closes); login.js makes
 * the headers of every /api/ call. Everything is polled:
 * every POLL_MS the open escalations, the first page of conversations, the
 * call-backs and the open conversation are fetched again. All text from the
 * API is put into the page with textContent, never as HTML.
 *
 * Escalations stay in the band until resolved: open (nobody has it yet) or
 * in progress (with its owner); a new open one changes the page title and,
 * if the operator turned the sound on, plays a short tone. On a phone the
 * band is a count and a compact list that folds away while a conversation
 * is open, so the transcript keeps most of the screen.
 */
(function () {
  "use strict";

  var POLL_MS = 4000;
  var PAGE = 50;
  var TOKEN_KEY = "carenav.operatorToken";

  var state = {
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    operator: "",
    selected: 0,
    status: "",
    q: "",
    conversations: [],
    cursor: null,
    olderLoaded: false,
    escalations: [],
    escFilter: "active",
    escSig: "",
    today: null,
    seenOpen: null,
    fresh: 0,
    sound: localStorage.getItem("carenav.sound") === "on",
    bandOpen: null,
    callbacks: [],
    conversation: null,
    timer: 0,
    busy: false,
    lastOk: 0,
    tab: "conversations"
  };

  function $(id) { return document.getElementById(id); }

  /* h("div", {class: "x", onclick: f}, child, "text", ...) */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    var k, i, c;
    for (k in attrs || {}) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null) continue;
      if (k.indexOf("on") === 0) el.addEventListener(k.slice(2), attrs[k]);
      else if (k === "class") el.className = attrs[k];
      else if (k === "text") el.textContent = attrs[k];
      else el.setAttribute(k, attrs[k]);
    }
    for (i = 2; i < arguments.length; i++) {
      c = arguments[i];
      if (c == null || c === false) continue;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function toast(text, isError) {
    var t = $("toast");
    t.textContent = text;
    t.className = "toast" + (isError ? " error" : "");
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, 3500);
  }

  function ApiError(status, code, message) {
    this.status = status;
    this.code = code;
    this.message = message;
  }

  function api(method, path, body) {
    var opts = { method: method, headers: window.carenavAuth.headers(method, state.token), cache: "no-store",
      credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (res) {
      return res.text().then(function (text) {
        var doc = null;
        try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
        if (res.ok) return doc;
        var err = doc && doc.error ? doc.error : { code: "http_" + res.status, message: "The gateway answered " + res.status };
        throw new ApiError(res.status, err.code, err.message);
      });
    });
  }

  /*
   * SMS length, counted as the gateway counts it (gateway/segment.c): GSM-7
   * when every character is in the GSM 03.38 tables (the extension ones
   * cost two), else UCS-2 (UTF-16 units); 160 / 153 a segment for GSM-7,
   * 70 / 67 for UCS-2. With SMS_ALPHABET=gsm7 the text is first folded as
   * the gateway folds it (á -> a, — -> -).
   */
  var SMS_GSM_BASIC = "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà";
  var SMS_GSM_EXT = "^{}\\[~]|€\f";
  var SMS_FOLDS = { "á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u", "Á": "A", "É": "E", "Í": "I", "Ó": "O",
    "Ú": "U", "â": "a", "ê": "e", "î": "i", "ô": "o", "û": "u", "ã": "a", "õ": "o", "ç": "c", "ï": "i", "ë": "e",
    "\u00a0": " ", "\u2018": "'", "\u2019": "'", "\u201c": "\"", "\u201d": "\"", "\u2013": "-", "\u2014": "-",
    "\u2022": "-", "\u2026": "..." };
  function smsGsmCost(ch) {
    if (ch === "\n" || ch === "\r") return 1;
    if (SMS_GSM_EXT.indexOf(ch) >= 0) return 2;
    var cp = ch.codePointAt(0);
    if (cp >= 0x20 && cp < 0x7f) return ch === "`" ? 0 : 1;
    return SMS_GSM_BASIC.indexOf(ch) >= 0 ? 1 : 0;
  }
  function smsCount(text, alphabet) {
    var chars = Array.from(text), gsm = true, cost = 0;
    if (alphabet === "gsm7") {
      chars = Array.from(chars.map(function (ch) { return SMS_FOLDS.hasOwnProperty(ch) ? SMS_FOLDS[ch] : ch; }).join(""));
    }
    chars.forEach(function (ch) { if (smsGsmCost(ch) === 0) gsm = false; });
    chars.forEach(function (ch) { cost += gsm ? smsGsmCost(ch) : (ch.codePointAt(0) >= 0x10000 ? 2 : 1); });
    var single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    var segments = cost === 0 ? 0 : cost <= single ? 1 : Math.ceil(cost / part);
    return { chars: chars.length, cost: cost, gsm: gsm, segments: segments, single: single, part: part };
  }
  /* The message the API answers (400 too_long) when a text is over the provider's limit, or "". */
  function smsOverLimit(n, sms) {
    if (!sms) return "";
    var cap = 0, max;
    if (sms.max_segments > 0) {
      cap = sms.max_segments === 1 ? n.single : sms.max_segments * n.part;
      max = sms.max_segments + " segments (" + (sms.max_segments === 1 ? 160 : sms.max_segments * 153) + " GSM-7 or " +
        (sms.max_segments === 1 ? 70 : sms.max_segments * 67) + " Unicode characters)";
    }
    if (sms.max_chars > 0 && (cap === 0 || sms.max_chars < cap)) cap = sms.max_chars;
    if (!max) max = sms.max_chars + " characters";
    if (cap === 0 || n.cost <= cap) return "";
    return "too long for one message: " + n.chars + " characters / " + n.segments + " segments, the limit with " +
      sms.provider + " is " + max + "; shorten it or send it as two messages";
  }
  function updateReplyCount() {
    var text = $("reply-text").value, el = $("reply-count");
    var n = smsCount(text, state.sms ? state.sms.alphabet : "gsm7");
    var over = smsOverLimit(n, state.sms);
    el.className = "reply-count small" + (over ? " over" : "");
    el.textContent = over || (text ? n.chars + " characters · " + n.segments + " SMS segment" + (n.segments === 1 ? "" : "s") +
      " (" + (n.gsm ? "GSM-7: " + (n.segments > 1 ? "153" : "160") : "Unicode: " + (n.segments > 1 ? "67" : "70")) +
      " a segment)" : "");
    return over;
  }

  /* Times */
  function ago(iso) {
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 45) return "just now";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }
  function age(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m >= 120) return Math.floor(m / 60) + " h " + (m % 60) + " min";
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function clock(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  function day(iso) {
    return new Date(iso).toLocaleDateString([], { weekday: "long", month: "short", day: "numeric" });
  }
  function reasonText(e) {
    return e.reason_text || String(e.reason || "Red flag").replace(/_/g, " ");
  }
  var OUTCOMES = {
    advised_er: "Reached the patient – advised the ER",
    er_confirmed: "Reached – ER visit confirmed",
    not_urgent: "Reached – not urgent",
    no_answer: "No answer",
    false_alarm: "False alarm"
  };
  function outcomeText(e) {
    if (!e.outcome) return "no outcome recorded";
    if (e.outcome === "no_answer") return "No answer after " + (e.outcome_tries || "?") + " tries";
    return OUTCOMES[e.outcome] || e.outcome;
  }
  function minutes(seconds) {
    var m = Math.max(0, Math.floor((seconds || 0) / 60));
    if (m >= 120) return Math.floor(m / 60) + " h";
    return m + " min";
  }
  /* "Open 3:12", "In progress — Ben, 4 min", "Resolved — False alarm" */
  function stateText(e) {
    if (e.state === "open") return "Open " + age(e.age_seconds);
    if (e.state === "in_progress") return "In progress — " + (e.owner || "?") + ", " + minutes(e.owned_seconds);
    return "Resolved — " + outcomeText(e);
  }
  function senderLabel(m) {
    if (m.direction === "in") return "Patient";
    var by = m.sent_by || "";
    if (by.indexOf("operator:") === 0) return "Operator " + by.slice(9);
    if (by === "dialogue") return "Automated reply";
    if (by === "system") return "System";
    if (by === "alert") return "Staff alert";
    if (by === "stand_down") return "Stand-down";
    if (by === "brief") return "Summary to staff";
    return by || "Outbound";
  }

  /* Session */
  function showLogin(message) {
    clearInterval(state.timer);
    state.timer = 0;
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").hidden = !message;
    $("login-error").textContent = message || "";
    $("login-name").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    window.carenavAuth.logout();
    state.token = "";
    state.signedIn = false;
    state.selected = 0;
    state.conversation = null;
    showLogin(message);
  }

  function handleError(err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut(err.message);
      return;
    }
    setLive(false, err instanceof ApiError ? err.message : "Gateway unreachable");
  }

  function start() {
    api("GET", "/api/me").then(function (me) {
      window.carenavAuth.learn(me);
      state.signedIn = true;
      state.operator = me.operator;
      state.sms = me.sms || null;
      updateReplyCount();
      $("operator").textContent = me.operator;
      $("operator").hidden = false;
      $("login").hidden = true;
      $("app").hidden = false;
      refresh();
      state.timer = setInterval(refresh, POLL_MS);
    }).catch(function (err) {
      if (err instanceof ApiError && err.status === 401) signOut(err.message);
      else showLogin(err.message || "The gateway cannot be reached");
    });
  }

  function setLive(ok, text) {
    var live = $("live");
    live.className = "live " + (ok ? "ok" : "down");
    $("live-text").textContent = text;
  }

  /* Polling */
  function refresh() {
    if (state.busy || !state.signedIn) return;
    state.busy = true;
    var jobs = [loadEscalations(), loadConversations(false), loadCallbacks()];
    if (state.selected) jobs.push(loadConversation(state.selected));
    Promise.all(jobs).then(function () {
      state.lastOk = Date.now();
      setLive(true, "Live · updated " + new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }));
    }).catch(handleError).then(function () { state.busy = false; });
  }

  function loadEscalations() {
    var filter = state.escFilter;
    var jobs = [api("GET", "/api/escalations?status=" + filter + "&limit=100")];
    /* New ones are noticed whatever the filter shows. */
    if (filter !== "active" && filter !== "open") jobs.push(api("GET", "/api/escalations?status=open&limit=100"));
    return Promise.all(jobs).then(function (docs) {
      if (filter !== state.escFilter) return;
      state.escalations = docs[0].escalations;
      state.today = docs[0].today;
      noticeNew((docs[1] || docs[0]).escalations.filter(function (e) { return e.state === "open"; }));
      renderEscalations();
    });
  }

  function listQuery(cursor) {
    var p = ["limit=" + PAGE];
    if (state.status) p.push("status=" + encodeURIComponent(state.status));
    if (state.q) p.push("q=" + encodeURIComponent(state.q));
    if (cursor) p.push("cursor=" + encodeURIComponent(cursor));
    return "/api/conversations?" + p.join("&");
  }

  /* First page (older: false) or the next page after the cursor (older: true). */
  function loadConversations(older) {
    return api("GET", listQuery(older ? state.cursor : null)).then(function (doc) {
      if (older) {
        state.conversations = state.conversations.concat(doc.conversations);
        state.cursor = doc.next_cursor;
        state.olderLoaded = true;
      } else {
        var seen = {};
        doc.conversations.forEach(function (c) { seen[c.id] = true; });
        var kept = state.olderLoaded ? state.conversations.filter(function (c) { return !seen[c.id]; }).slice(Math.max(0, doc.conversations.length - PAGE)) : [];
        if (!state.olderLoaded) state.cursor = doc.next_cursor;
        state.conversations = doc.conversations.concat(state.olderLoaded ? kept : []);
      }
      renderConversations();
    });
  }

  function loadCallbacks() {
    return api("GET", "/api/callbacks?status=open").then(function (doc) {
      state.callbacks = doc.callbacks;
      renderCallbacks();
    });
  }

  function loadConversation(id) {
    return api("GET", "/api/conversations/" + id).then(function (doc) {
      if (state.selected !== id) return;
      state.conversation = doc;
      renderConversation();
    });
  }

  /* Escalations */
  var BASE_TITLE = document.title;

  function updateTitle() {
    var t = state.today;
    var n = t ? t.open + t.in_progress : 0;
    document.title = (state.fresh ? "(" + state.fresh + " new) New escalation · " : n ? "(" + n + ") " : "") + BASE_TITLE;
  }

  function beep() {
    var btn = $("sound");
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      state.audio = state.audio || new Ctx();
      var o = state.audio.createOscillator(), g = state.audio.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.001, state.audio.currentTime);
      g.gain.exponentialRampToValueAtTime(0.3, state.audio.currentTime + 0.02);
      g.gain.exponentialRampToValueAtTime(0.001, state.audio.currentTime + 0.6);
      o.connect(g); g.connect(state.audio.destination);
      o.start(); o.stop(state.audio.currentTime + 0.65);
      btn.setAttribute("data-played", String(Number(btn.getAttribute("data-played") || 0) + 1));
    } catch (err) { /* no audio here: the title still changes */ }
  }

  /* Open escalations not seen before (none on the first load) change the title and may beep. */
  function noticeNew(open) {
    var fresh = [];
    if (state.seenOpen === null) state.seenOpen = {};
    else open.forEach(function (e) { if (!state.seenOpen[e.id]) fresh.push(e); });
    open.forEach(function (e) { state.seenOpen[e.id] = true; });
    if (fresh.length) {
      state.fresh += fresh.length;
      toast("New escalation " + fresh.map(function (e) { return e.code; }).join(", ") + ": " + reasonText(fresh[0]), true);
      if (state.sound) beep();
    }
    updateTitle();
  }

  function pagesText(e) {
    var last = {};
    var order = [];
    (e.pages || []).forEach(function (p) {
      var key = (p.staff || p.phone || "?") + "/" + p.channel;
      if (!last[key]) order.push(key);
      last[key] = p;
    });
    if (!order.length) return "Nobody paged yet";
    return "Paged: " + order.map(function (k) {
      var p = last[k];
      return (p.staff || p.phone || "fallback number") + " (" + p.tier + ", " + (p.channel === "sms" ? "SMS" : "webhook") + " " + p.delivery + ")";
    }).join(", ");
  }

  function isMobile() { return window.matchMedia("(max-width: 700px)").matches; }

  function renderBand() {
    var open = state.bandOpen === null ? !(isMobile() && state.selected) : state.bandOpen;
    $("alerts").classList.toggle("folded", !open);
    $("alerts-toggle").setAttribute("aria-expanded", open ? "true" : "false");
    $("alerts-toggle").textContent = open ? "Hide list" : "Show list";
  }

  function renderEscalations() {
    var list = $("alerts-list");
    var t = state.today || { open: 0, in_progress: 0, resolved: 0 };
    var active = t.open + t.in_progress;
    var sig = JSON.stringify([state.escFilter, state.escalations.map(function (e) {
      return [e.id, e.state, e.owner, e.outcome, e.pages, e.reason_text, e.alert_rounds];
    })]);
    $("alerts-count").textContent = String(active);
    $("alerts").className = "alerts" + (t.open ? "" : active ? " progress" : " none");
    $("esc-stats").textContent = "Open " + t.open + " · In progress " + t.in_progress + " · Resolved today " + t.resolved +
      " · Median time to ACK " + (t.median_ack_seconds == null ? "–" : age(t.median_ack_seconds));
    renderBand();
    Array.prototype.forEach.call(document.querySelectorAll(".seg-btn"), function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-filter") === state.escFilter ? "true" : "false");
    });
    if (sig === state.escSig) { tickAges(); return; }
    state.escSig = sig;
    clear(list);
    if (!state.escalations.length) {
      list.appendChild(h("div", { class: "alerts-empty", text: state.escFilter === "resolved" ? "Nothing resolved yet." :
        "No open escalations. Red-flag texts appear here at once." }));
      return;
    }
    state.escalations.forEach(function (e) {
      list.appendChild(h("article", { class: "esc-card state-" + e.state, "data-escalation-id": e.id, "data-code": e.code, "data-state": e.state },
        h("div", { class: "esc-top" },
          h("button", { class: "esc-code", type: "button", "data-action": "open", title: "Open the conversation",
            onclick: function () { select(e.conversation_id); } }, "ESCALATION " + e.code),
          h("span", { class: "esc-age", "aria-hidden": "true", text: stateText(e) }),
          h("span", { class: "sr-only", text: e.state === "open" ? "Open since " + clock(e.created_at) : stateText(e) })),
        h("div", { class: "esc-reason", text: reasonText(e) }),
        h("div", { class: "esc-meta", text: "Patient " + e.patient + " · " + (e.language || "en").toUpperCase() +
          (e.matched ? " · “" + e.matched + "”" : "") }),
        h("div", { class: "esc-pages", text: pagesText(e) }),
        problems(e),
        e.state === "resolved" ? null : h("div", { class: "esc-actions" },
          e.state === "open" ? h("button", { class: "btn btn-danger btn-sm", type: "button", "data-action": "ack", onclick: function (ev) { ack(e, ev.target); } }, "Acknowledge") : null,
          h("button", { class: "btn btn-light btn-sm esc-open", type: "button", onclick: function () { select(e.conversation_id); } }, "Open conversation"),
          h("button", { class: "btn btn-light btn-sm", type: "button", "data-action": "resolve", onclick: function (ev) { resolve(e, ev.target); } }, "Resolve"))));
    });
  }

  function tickAges() {
    Array.prototype.forEach.call(document.querySelectorAll(".esc-card"), function (card) {
      var id = Number(card.getAttribute("data-escalation-id"));
      state.escalations.forEach(function (e) {
        if (e.id === id) card.querySelector(".esc-age").textContent = stateText(e);
      });
    });
  }

  /* What staff must see at once (sql/017): a dead staff number, a 911 text that did not arrive. */
  function problems(e) {
    if (!e.problems || !e.problems.length) return null;
    var box = h("div", { class: "esc-problems" });
    e.problems.forEach(function (p) {
      box.appendChild(h("div", { class: "esc-problem", "data-event": p.event,
        text: (p.event === "patient_unreachable" ? "911 text NOT delivered: " : "Staff number refused a page: ") +
          (p.detail || "") }));
    });
    return box;
  }

  function ack(e, button) {
    if (button) button.disabled = true;
    return api("POST", "/api/escalations/" + e.id + "/ack").then(function () {
      toast("Escalation " + e.code + " acknowledged: it is yours. The patient is told a nurse will call; the others paged are stood down.");
      state.fresh = 0;
      refresh();
    }).catch(function (err) {
      if (button) button.disabled = false;
      if (err.status === 401) handleError(err); else { toast(err.message, true); refresh(); }
    });
  }

  function resolve(e, button) {
    var dlg = $("resolve-dialog");
    state.resolving = e;
    state.resolveButton = button || null;
    $("resolve-code").textContent = e.code;
    $("resolve-form").reset();
    $("resolve-error").hidden = true;
    dlg.hidden = false;
    dlg.querySelector("input[name=outcome]").focus();
  }

  function submitResolve() {
    var e = state.resolving;
    var picked = document.querySelector("#resolve-form input[name=outcome]:checked");
    var body;
    if (!e) return;
    if (!picked) {
      $("resolve-error").textContent = "Pick how it ended.";
      $("resolve-error").hidden = false;
      return;
    }
    body = { outcome: picked.value, note: $("resolve-note").value.trim() };
    if (picked.value === "no_answer") body.tries = Math.max(1, Math.min(99, parseInt($("resolve-tries").value, 10) || 1));
    api("POST", "/api/escalations/" + e.id + "/resolve", body).then(function () {
      $("resolve-dialog").hidden = true;
      state.resolving = null;
      toast("Escalation " + e.code + " resolved: " + outcomeText(body.outcome === "no_answer" ? { outcome: "no_answer", outcome_tries: body.tries } : body) + ".");
      refresh();
    }).catch(function (err) {
      if (err.status === 401) { handleError(err); return; }
      $("resolve-error").textContent = err.message;
      $("resolve-error").hidden = false;
    });
  }

  /* Conversation list */
  function statusChips(c) {
    var chips = [];
    if (c.open_escalation && c.open_escalation.status === "acknowledged") chips.push(h("span", { class: "chip chip-ack", text: "In progress" + (c.open_escalation.owner ? " · " + c.open_escalation.owner : "") }));
    else if (c.open_escalation) chips.push(h("span", { class: "chip chip-escalated", text: "Escalated" }));
    else if (c.status === "emergency") chips.push(h("span", { class: "chip chip-emergency", text: "Emergency" }));
    else if (c.status === "closed") chips.push(h("span", { class: "chip chip-closed", text: "Closed" }));
    if (c.handoff) chips.push(h("span", { class: "chip chip-handoff", text: "Handoff" }));
    if (c.opted_out) chips.push(h("span", { class: "chip chip-optout", text: "Opted out" }));
    return chips;
  }

  function renderConversations() {
    var list = $("conversation-list");
    clear(list);
    if (!state.conversations.length) {
      list.appendChild(h("li", { class: "list-empty", text: state.q || state.status ? "No conversations match." : "No conversations yet." }));
    }
    state.conversations.forEach(function (c) {
      var last = c.last_message;
      var num = h("span", { class: "conv-num" }, c.patient);
      statusChips(c).forEach(function (chip) { num.appendChild(chip); });
      list.appendChild(h("li", {
        class: "conv-item" + (c.id === state.selected ? " selected" : "") + (c.open_escalation ? " escalated" : ""),
        "data-conversation-id": c.id, tabindex: "0",
        onclick: function () { select(c.id); },
        onkeydown: function (ev) { if (ev.key === "Enter") select(c.id); }
      },
        num,
        h("span", { class: "conv-time", text: ago(c.last_activity_at) }),
        h("span", { class: "conv-preview" },
          last ? h("span", { class: "dir", text: last.direction === "in" ? "Patient: " : "Sent: " }) : null,
          last ? h("span", { class: "conv-text", text: last.preview }) : "No messages")));
    });
    $("more").hidden = !state.cursor;
  }

  function renderCallbacks() {
    var list = $("callback-list");
    var n = state.callbacks.length;
    $("callbacks-count").textContent = String(n);
    $("callbacks-count").className = "count count-muted" + (n ? " hot" : "");
    clear(list);
    if (!n) list.appendChild(h("li", { class: "list-empty", text: "No call-back requests waiting." }));
    state.callbacks.forEach(function (b) {
      list.appendChild(h("li", { class: "conv-item", "data-callback-id": b.id },
        h("span", { class: "conv-num" }, b.patient, h("span", { class: "chip chip-ack", text: b.reason === "booking" ? "Booking" : "Call back" })),
        h("span", { class: "conv-time", text: ago(b.created_at) }),
        h("span", { class: "conv-preview" },
          h("button", { class: "btn btn-secondary btn-sm", type: "button", onclick: function () { select(b.conversation_id); } }, "Open"), " ",
          h("button", { class: "btn btn-primary btn-sm", type: "button", "data-action": "done", onclick: function (ev) {
            ev.target.disabled = true;
            api("POST", "/api/callbacks/" + b.id + "/done").then(function () { toast("Call-back marked done."); refresh(); })
              .catch(function (err) { ev.target.disabled = false; toast(err.message, true); });
          } }, "Mark called"))));
    });
  }

  /* One conversation */
  function select(id) {
    state.selected = id;
    state.conversation = null;
    state.escDoc = null;
    state.bandOpen = null;
    $("app").classList.add("has-selection");
    renderBand();
    $("esc-panel").hidden = true;
    $("empty").hidden = true;
    $("conversation").hidden = false;
    clear($("transcript"));
    renderConversations();
    loadConversation(id).then(function () { scrollTranscript(true); }).catch(handleError);
  }

  function ticks(m) {
    switch (m.status) {
    case "queued": case "accepted": case "scheduled": case "sending":
      return h("span", { class: "ticks", title: "Queued", text: "◷" });
    case "sent": return h("span", { class: "ticks", title: "Sent", text: "✓" });
    case "delivered": return h("span", { class: "ticks delivered", title: "Delivered", text: "✓✓" });
    case "read": return h("span", { class: "ticks read", title: "Read", text: "✓✓" });
    case "suppressed": return h("span", { class: "ticks failed", title: "Not sent: the patient opted out", text: "⊘ not sent" });
    case "failed": case "undelivered":
      return h("span", { class: "ticks failed", title: m.error || "Failed", text: "! " + m.status });
    default: return null;
    }
  }

  function openEscalation(doc) {
    var open = null;
    (doc.escalations || []).forEach(function (e) { if (e.status !== "resolved") open = e; });
    return open;
  }

  function renderConversation() {
    var c = state.conversation;
    var esc = openEscalation(c);
    var flagged = {};
    var chips = $("conv-chips");
    (c.escalations || []).forEach(function (e) { if (e.message_id) flagged[e.message_id] = e; });

    $("conv-number").textContent = c.patient;
    clear(chips);
    statusChips({ open_escalation: esc && esc.status === "open" ? esc : null, status: c.status, handoff: c.handoff, opted_out: c.opted_out })
      .forEach(function (chip) { chips.appendChild(chip); chips.appendChild(document.createTextNode(" ")); });
    if (esc && esc.status === "acknowledged") chips.appendChild(h("span", { class: "chip chip-ack", text: "Acknowledged by " + String(esc.acknowledged_by || "").replace(/^operator:/, "") }));
    chips.appendChild(h("span", { class: "chip chip-lang", text: (c.language || "en").toUpperCase() }));
    $("conv-meta").textContent = "Conversation #" + c.id + " · started " + ago(c.created_at) + " · last activity " + ago(c.last_activity_at) +
      (esc ? " · escalation " + esc.code + " (" + esc.status + ")" : "");
    loadEscPanel(c);

    $("btn-ack").hidden = !(esc && esc.status === "open");
    $("btn-resolve").hidden = !esc;
    $("btn-handoff").textContent = c.handoff ? "Hand back to automation" : "Take over";
    $("btn-handoff").className = "btn " + (c.handoff ? "btn-primary" : "btn-secondary");
    $("handoff-banner").hidden = !c.handoff;
    $("reply-hint").textContent = c.opted_out ? "The patient texted STOP: nothing can be sent until they text START." :
      c.handoff ? "Sent by SMS as operator " + state.operator + "." : "Tip: take over first so automated replies pause while you talk.";
    $("reply-send").disabled = c.opted_out;

    var box = $("transcript");
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    clear(box);
    var lastDay = "";
    c.messages.forEach(function (m) {
      var d = day(m.created_at);
      if (d !== lastDay) { box.appendChild(h("div", { class: "day", text: d })); lastDay = d; }
      var by = m.sent_by || "";
      var cls = "msg " + m.direction + (by.indexOf("operator:") === 0 ? " operator" : "") +
        (by === "system" || by === "alert" ? " system" : "") +
        (m.status === "failed" || m.status === "undelivered" ? " failed" : "") + (flagged[m.id] ? " flagged" : "");
      box.appendChild(h("div", { class: cls, "data-message-id": m.id },
        m.purged_at ? h("div", { class: "bubble purged", text: "Text removed " + day(m.purged_at) +
          " (retention period)" }) : h("div", { class: "bubble", text: m.body }),
        h("div", { class: "msg-meta" },
          flagged[m.id] ? h("span", { class: "flag-note", text: "Red flag · " + flagged[m.id].code }) : null,
          h("span", { text: senderLabel(m) }),
          h("span", { text: "· " + clock(m.created_at) }),
          m.direction === "out" ? ticks(m) : null)));
    });
    if (atBottom) scrollTranscript(true);
  }

  /* The newest escalation of the open conversation: its summary heads the transcript, its timeline folds under it. */
  function loadEscPanel(c) {
    var last = (c.escalations || [])[(c.escalations || []).length - 1];
    if (!last) { $("esc-panel").hidden = true; return; }
    api("GET", "/api/escalations/" + last.id).then(function (e) {
      if (!state.conversation || state.conversation.id !== c.id) return;
      renderEscPanel(e);
    }).catch(handleError);
  }

  var EVENT_TEXT = {
    created: "Red flag: escalation opened",
    reflagged: "Another red flag in the same conversation",
    alert_queued: "Paged",
    alert_sent: "Alert SMS sent",
    alert_delivered: "Alert SMS delivered",
    alert_failed: "Alert SMS failed",
    webhook_sent: "Webhook posted",
    webhook_failed: "Webhook failed",
    no_oncall: "Nobody on call",
    acknowledged: "Acknowledged",
    ack_refused: "ACK refused",
    stood_down: "Stood down",
    resolved: "Resolved"
  };

  function eventText(ev, e) {
    var t = EVENT_TEXT[ev.event] || ev.event.replace(/_/g, " ");
    if (ev.event === "alert_queued") t += " " + (ev.staff || "fallback number") + " (" + (ev.step === 1 ? "primary" : ev.step === 2 ? "backup" : "everyone on call") + ")";
    else if (ev.event === "acknowledged") t += " by " + (ev.actor || "?") + " (" + (ev.via === "console" ? "console" : "SMS") + ")";
    else if (ev.event === "stood_down") t += ": " + (ev.staff || "?") + " told it is taken";
    else if (ev.event === "resolved") t += " by " + (ev.actor || "?") + " — " + outcomeText(e) + (e.resolution_note ? ": " + e.resolution_note : "");
    else if (ev.staff) t += " (" + ev.staff + ")";
    return t;
  }

  function renderEscPanel(e) {
    var panel = $("esc-panel");
    var s = e.summary || {};
    var rows = [["Why", reasonText(e)]];
    if (s.red_flag) rows.push(["Words", "“" + s.red_flag + "”", "esc-quote"]);  /* the patient's words */
    if (s.region || s.duration) rows.push(["Where, how long", [s.region, s.duration ? "for " + s.duration : ""].filter(Boolean).join(", ")]);
    if (s.answers && s.answers.length) rows.push(["See-doctor answers", s.answers.map(function (a) { return a.label + ": " + a.value; }).join(" · ")]);
    rows.push(["Language", (s.language || e.language || "en") === "es" ? "Spanish" : "English"]);
    clear(panel);
    panel.className = "esc-panel state-" + e.state;
    panel.appendChild(h("div", { class: "esc-panel-head" },
      h("strong", { text: "Escalation " + e.code }),
      h("span", { class: "esc-panel-state", text: stateText(e) })));
    var dl = h("dl", { class: "esc-summary" });
    rows.forEach(function (r) { dl.appendChild(h("dt", { text: r[0] })); dl.appendChild(h("dd", { text: r[1], class: r[2] || "" })); });
    panel.appendChild(dl);
    /* On a phone the same in one short paragraph. */
    panel.appendChild(h("p", { class: "esc-oneline", text: s.text || reasonText(e) }));
    var ol = h("ol", { class: "timeline" });
    (e.timeline || []).forEach(function (ev) {
      if (ev.event === "alert_sent") return;  /* the page line says it */
      ol.appendChild(h("li", { "data-event": ev.event }, h("time", { text: clock(ev.at) }), " ", eventText(ev, e)));
    });
    var det = h("details", { class: "esc-timeline" }, h("summary", { text: "Timeline · " + pagesText(e) }), ol);
    if (state.timelineOpen) det.open = true;
    det.addEventListener("toggle", function () { state.timelineOpen = det.open; });
    panel.appendChild(det);
    panel.hidden = false;
  }

  function scrollTranscript() {
    var box = $("transcript");
    box.scrollTop = box.scrollHeight;
  }

  /* Wiring */
  function wire() {
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var name = $("login-name").value.trim(), password = $("login-password").value;
      state.token = $("token").value.trim();
      $("token").value = "";
      $("login-password").value = "";
      if (state.token) {
        sessionStorage.setItem(TOKEN_KEY, state.token);
        start();
        return;
      }
      if (!name || !password) { showLogin("Enter your name and password."); return; }
      window.carenavAuth.login(name, password, $("login-totp").value.trim()).then(function () {
        $("login-totp").value = "";
        start();
      }).catch(function (err) { showLogin(err.message); });
    });
    $("signout").addEventListener("click", function () { signOut(""); });
    $("more").addEventListener("click", function () { loadConversations(true).catch(handleError); });
    var debounce = 0;
    $("search").addEventListener("input", function () {
      clearTimeout(debounce);
      debounce = setTimeout(function () {
        state.q = $("search").value.trim();
        state.olderLoaded = false;
        loadConversations(false).catch(handleError);
      }, 300);
    });
    $("status-filter").addEventListener("change", function () {
      state.status = $("status-filter").value;
      state.olderLoaded = false;
      loadConversations(false).catch(handleError);
    });
    Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (tab) {
      tab.addEventListener("click", function () {
        state.tab = tab.getAttribute("data-tab");
        Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (t) { t.classList.toggle("active", t === tab); });
        $("pane-conversations").hidden = state.tab !== "conversations";
        $("pane-callbacks").hidden = state.tab !== "callbacks";
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".seg-btn"), function (b) {
      b.addEventListener("click", function () {
        state.escFilter = b.getAttribute("data-filter");
        state.escSig = "";
        state.bandOpen = true;
        loadEscalations().catch(handleError);
      });
    });
    function renderSound() {
      $("sound").setAttribute("aria-pressed", state.sound ? "true" : "false");
      $("sound").textContent = state.sound ? "Sound on" : "Sound off";
    }
    renderSound();
    $("sound").addEventListener("click", function () {
      state.sound = !state.sound;
      localStorage.setItem("carenav.sound", state.sound ? "on" : "off");
      renderSound();
      if (state.sound) beep();  /* unlocks audio now, while the click counts as a gesture */
    });
    $("alerts-toggle").addEventListener("click", function () {
      state.bandOpen = $("alerts-toggle").getAttribute("aria-expanded") !== "true";
      renderBand();
    });
    $("btn-back").addEventListener("click", function () {
      state.selected = 0;
      state.conversation = null;
      state.bandOpen = null;
      $("app").classList.remove("has-selection");
      $("conversation").hidden = true;
      $("empty").hidden = false;
      renderBand();
      renderConversations();
    });
    $("resolve-form").addEventListener("submit", function (ev) { ev.preventDefault(); submitResolve(); });
    $("resolve-cancel").addEventListener("click", function () { $("resolve-dialog").hidden = true; state.resolving = null; });
    $("resolve-dialog").addEventListener("keydown", function (ev) { if (ev.key === "Escape") { $("resolve-dialog").hidden = true; state.resolving = null; } });
    $("resolve-tries").addEventListener("focus", function () { document.querySelector("#resolve-form input[value=no_answer]").checked = true; });
    function seen() { if (state.fresh && document.visibilityState === "visible" && document.hasFocus()) { state.fresh = 0; updateTitle(); } }
    window.addEventListener("focus", seen);
    document.addEventListener("click", seen);
    $("btn-ack").addEventListener("click", function (ev) {
      var e = state.conversation && openEscalation(state.conversation);
      if (e) ack(e, ev.target).then(function () { ev.target.disabled = false; });
    });
    $("btn-resolve").addEventListener("click", function (ev) {
      var e = state.conversation && openEscalation(state.conversation);
      if (e) resolve(e, ev.target);
    });
    $("btn-handoff").addEventListener("click", function (ev) {
      var c = state.conversation;
      if (!c) return;
      ev.target.disabled = true;
      api("POST", "/api/conversations/" + c.id + "/handoff", { active: !c.handoff }).then(function (r) {
        toast(r.handoff ? "You have taken over. Automated replies are paused." : "Handed back: automated replies resume.");
        return loadConversation(c.id);
      }).catch(function (err) { toast(err.message, true); }).then(function () { ev.target.disabled = false; refresh(); });
    });
    function send() {
      var c = state.conversation;
      var text = $("reply-text").value;
      if (!c || !text.trim()) return;
      $("reply-send").disabled = true;
      api("POST", "/api/conversations/" + c.id + "/messages", { body: text }).then(function () {
        $("reply-text").value = "";
        updateReplyCount();
        return loadConversation(c.id).then(function () { scrollTranscript(true); });
      }).catch(function (err) {
        /* A text too long for one message is refused whole: say why under the box, keep the text. */
        if (err instanceof ApiError && err.code === "too_long") {
          $("reply-count").className = "reply-count small over";
          $("reply-count").textContent = err.message;
        }
        toast(err.message, true);
      }).then(function () { $("reply-send").disabled = false; });
    }
    $("reply-text").addEventListener("input", updateReplyCount);
    $("reply").addEventListener("submit", function (ev) { ev.preventDefault(); send(); });
    $("reply-text").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); send(); }
    });
    /* Ages tick between polls. */
    setInterval(function () {
      if (!state.signedIn) return;
      state.escalations.forEach(function (e) {
        e.age_seconds += 1;
        if (e.owned_seconds != null) e.owned_seconds += 1;
      });
      tickAges();
      if (state.lastOk && Date.now() - state.lastOk > 3 * POLL_MS) setLive(false, "Reconnecting…");
    }, 1000);
  }

  wire();
  /* A token from this tab, or a session cookie from an earlier sign-in: /api/me tells. */
  api("GET", "/api/me").then(function () { start(); }).catch(function () { showLogin(""); });
})();
