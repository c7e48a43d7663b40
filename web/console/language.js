/*
 * language.js - which language the console speaks (issue #21).
 *
 * Before sign-in the login page follows the browser's languages
 * (navigator.languages: the first of en / es it names). Once signed in,
 * the account's language rules (GET /api/me, via login.js), and the
 * operator changes it with the picker this file adds to the top bar:
 * POST /api/me/language (with the session's CSRF token), then a reload,
 * so every label is drawn in the new language from the start.
 */
(function () {
  "use strict";

  /* Each language named in itself, so it can be found whatever the console speaks. */
  var NAMES = { en: "English", es: "Español" };

  function browserLanguage() {
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
    for (var i = 0; i < langs.length; i++) {
      var l = String(langs[i]).slice(0, 2).toLowerCase();
      if (NAMES[l]) return l;
    }
    return "en";
  }

  function fail(message) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = message;
    t.className = "toast error";
    t.hidden = false;
    setTimeout(function () { t.hidden = true; }, 5000);
  }

  function change(select) {
    var auth = window.carenavAuth, token = sessionStorage.getItem("carenav.operatorToken") || "";
    var headers = auth.headers("POST", token);
    headers["Content-Type"] = "application/json";
    fetch("/api/me/language", { method: "POST", cache: "no-store", credentials: "same-origin", headers: headers,
      body: JSON.stringify({ language: select.value }) }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (doc) {
        if (!res.ok) throw new Error(doc && doc.error ? doc.error.message : "HTTP " + res.status);
        location.reload();
      });
    }).catch(function (err) {
      select.value = auth.language;
      fail(window.carenavI18n ? window.carenavI18n.message(err.message, auth.language) : err.message);
    });
  }

  function addPicker() {
    var out = document.getElementById("signout");
    if (!out || document.getElementById("console-language")) return;
    var select = document.createElement("select");
    select.id = "console-language";
    select.className = "lang-picker";
    select.setAttribute("aria-label", "Console language");
    Object.keys(NAMES).forEach(function (l) {
      var o = document.createElement("option");
      o.value = l;
      o.textContent = NAMES[l];
      o.lang = l;
      select.appendChild(o);
    });
    select.addEventListener("change", function () { change(select); });
    out.parentNode.insertBefore(select, out);
  }

  /* Shows the account's language in the picker (login.js calls it from what /api/me said). */
  function sync(lang) {
    var select = document.getElementById("console-language");
    if (select) select.value = NAMES[lang] ? lang : "en";
  }

  addPicker();
  if (window.carenavI18n) window.carenavI18n.applyLogin(browserLanguage());
  window.carenavLanguage = { sync: sync, browser: browserLanguage };
})();
