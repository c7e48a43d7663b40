/*
 * login.js - how the console proves who the operator is (issue #21).
 *
 * Two ways in: a name and password (plus a 6-digit code when the account
 * has a second factor), which gets an HttpOnly session cookie the script
 * never sees; or an API token pasted in (kept in sessionStorage and sent
 * as a bearer token, as before). With a session, every request that
 * changes something carries the session's CSRF token (X-CSRF-Token), which
 * POST /api/login and GET /api/me return. console.js asks this file for
 * the headers of each call (window.carenavAuth.headers).
 */
(function () {
  "use strict";

  var auth = { csrf: "", session: false, role: "", language: "en" };

  /* The headers for one API call. token: the pasted token, or "" for the session. */
  auth.headers = function (method, token) {
    var h = {};
    if (token) h["Authorization"] = "Bearer " + token;
    else if (method !== "GET" && auth.csrf) h["X-CSRF-Token"] = auth.csrf;
    return h;
  };

  /* Remembers what GET /api/me said. */
  auth.learn = function (me) {
    auth.session = me.via === "session";
    auth.csrf = me.csrf_token || "";
    auth.role = me.role || "";
    auth.language = me.language || "en";
    document.documentElement.setAttribute("data-role", auth.role);
    if (window.carenavI18n) window.carenavI18n.apply(auth.language);
    if (window.carenavLanguage) window.carenavLanguage.sync(auth.language);
  };

  /* Signs in with a password; resolves, or rejects with {status, message}. */
  auth.login = function (name, password, totp) {
    var body = { name: name, password: password };
    if (totp) body.totp = totp;
    return fetch("/api/login", {
      method: "POST", cache: "no-store", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (doc) {
        if (res.ok) { auth.csrf = doc.csrf_token; auth.session = true; return doc; }
        throw { status: res.status, message: doc && doc.error ? doc.error.message : "Sign-in failed (" + res.status + ")" };
      });
    });
  };

  /* Ends the session, if there is one; always resolves. */
  auth.logout = function () {
    if (!auth.session) return Promise.resolve();
    var h = auth.headers("POST", "");
    auth.session = false;
    return fetch("/api/logout", { method: "POST", cache: "no-store", credentials: "same-origin", headers: h })
      .catch(function () { return null; }).then(function () { auth.csrf = ""; });
  };

  window.carenavAuth = auth;
})();
