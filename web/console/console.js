/*
 * console.js - the operator console's behaviour, vanilla JS, no libraries.
 *
 * The operator signs in with a password (an HttpOnly session cookie) or a
 * pasted token (sessionStorage, gone when the tab closes); login.js makes
 * the headers of every /api/ call. Everything is polled:
 * every POLL_MS the open escalations, the first page of conversations, the
 * call-backs and the open conversation are fetched again. All text from the
 * API is put into the page with textContent, never as HTML.
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
  function reasonText(reason) {
    var map = {
      er_chest_breath_dizzy: "Chest pain / breathing / dizziness",
      cauda_equina: "Possible cauda equina (bladder, bowel, saddle numbness)",
      see_doctor: "Needs a doctor"
    };
    if (map[reason]) return map[reason];
    return String(reason || "Red flag").replace(/^er_/, "").replace(/_/g, " ").replace(/^./, function (c) { return c.toUpperCase(); });
  }
  function senderLabel(m) {
    if (m.direction === "in") return "Patient";
    var by = m.sent_by || "";
    if (by.indexOf("operator:") === 0) return "Operator " + by.slice(9);
    if (by === "dialogue") return "Automated reply";
    if (by === "system") return "System";
    if (by === "alert") return "Staff alert";
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
    return api("GET", "/api/escalations?open=true").then(function (doc) {
      state.escalations = doc.escalations;
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
  function renderEscalations() {
    var list = $("alerts-list");
    var n = state.escalations.length;
    clear(list);
    $("alerts-count").textContent = String(n);
    $("alerts").className = "alerts" + (n ? "" : " none");
    if (!n) {
      list.appendChild(h("div", { class: "alerts-empty", text: "No open escalations. Red-flag texts appear here at once." }));
      return;
    }
    state.escalations.forEach(function (e) {
      list.appendChild(h("article", { class: "esc-card", "data-escalation-id": e.id, "data-code": e.code },
        h("div", { class: "esc-top" },
          h("span", { class: "esc-code", text: "ESCALATION " + e.code }),
          h("span", { class: "esc-age", title: "Open for", text: "Open " + age(e.age_seconds) })),
        h("div", { class: "esc-reason", text: reasonText(e.reason) }),
        h("div", { class: "esc-meta", text: "Patient " + e.patient + " · " + (e.language || "en").toUpperCase() +
          " · " + e.alert_rounds + " alert round" + (e.alert_rounds === 1 ? "" : "s") + " sent" +
          (e.matched ? " · “" + e.matched + "”" : "") }),
        h("div", { class: "esc-actions" },
          h("button", { class: "btn btn-danger btn-sm", type: "button", "data-action": "ack", onclick: function (ev) { ack(e, ev.target); } }, "Acknowledge"),
          h("button", { class: "btn btn-light btn-sm", type: "button", "data-action": "open", onclick: function () { select(e.conversation_id); } }, "Open conversation"),
          h("button", { class: "btn btn-light btn-sm", type: "button", "data-action": "resolve", onclick: function (ev) { resolve(e, ev.target); } }, "Resolve"))));
    });
  }

  function ack(e, button) {
    if (button) button.disabled = true;
    return api("POST", "/api/escalations/" + e.id + "/ack").then(function () {
      toast("Escalation " + e.code + " acknowledged. The patient is told a nurse will call.");
      refresh();
    }).catch(function (err) {
      if (button) button.disabled = false;
      if (err.status === 401) handleError(err); else { toast(err.message, true); refresh(); }
    });
  }

  function resolve(e, button) {
    if (!window.confirm("Resolve escalation " + e.code + "? Staff alerts stop and it leaves the list.")) return;
    if (button) button.disabled = true;
    api("POST", "/api/escalations/" + e.id + "/resolve", { note: "" }).then(function () {
      toast("Escalation " + e.code + " resolved.");
      refresh();
    }).catch(function (err) {
      if (button) button.disabled = false;
      if (err.status === 401) handleError(err); else { toast(err.message, true); refresh(); }
    });
  }

  /* Conversation list */
  function statusChips(c) {
    var chips = [];
    if (c.open_escalation) chips.push(h("span", { class: "chip chip-escalated", text: "Escalated" }));
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
          last ? last.preview : "No messages")));
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
    statusChips({ open_escalation: esc && esc.status === "open", status: c.status, handoff: c.handoff, opted_out: c.opted_out })
      .forEach(function (chip) { chips.appendChild(chip); chips.appendChild(document.createTextNode(" ")); });
    if (esc && esc.status === "acknowledged") chips.appendChild(h("span", { class: "chip chip-ack", text: "Acknowledged by " + String(esc.acknowledged_by || "").replace(/^operator:/, "") }));
    chips.appendChild(h("span", { class: "chip chip-lang", text: (c.language || "en").toUpperCase() }));
    $("conv-meta").textContent = "Conversation #" + c.id + " · started " + ago(c.created_at) + " · last activity " + ago(c.last_activity_at) +
      (esc ? " · escalation " + esc.code + " (" + esc.status + ")" : "");

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
        return loadConversation(c.id).then(function () { scrollTranscript(true); });
      }).catch(function (err) { toast(err.message, true); }).then(function () { $("reply-send").disabled = false; });
    }
    $("reply").addEventListener("submit", function (ev) { ev.preventDefault(); send(); });
    $("reply-text").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); send(); }
    });
    /* Ages tick between polls. */
    setInterval(function () {
      if (!state.signedIn) return;
      state.escalations.forEach(function (e) { e.age_seconds += 1; });
      Array.prototype.forEach.call(document.querySelectorAll(".esc-card"), function (card, i) {
        var e = state.escalations[i];
        if (e) card.querySelector(".esc-age").textContent = "Open " + age(e.age_seconds);
      });
      if (state.lastOk && Date.now() - state.lastOk > 3 * POLL_MS) setLive(false, "Reconnecting…");
    }, 1000);
  }

  wire();
  /* A token from this tab, or a session cookie from an earlier sign-in: /api/me tells. */
  api("GET", "/api/me").then(function () { start(); }).catch(function () { showLogin(""); });
})();
