// How a person signs in to the trade pages, in one place: for now an organisation's API
// key, kept in this browser's localStorage and sent as a bearer token. People's accounts
// (sessions) will replace what is behind these four functions, and nothing else.
"use strict";
window.TraceSealSignIn = (function () {
  var KEY = "traceseal.apiKey";
  function key() {
    try { return window.localStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }
  function signIn(value) { window.localStorage.setItem(KEY, value.trim()); }
  function signOut() { window.localStorage.removeItem(KEY); }
  function headers(extra) {
    var all = Object.assign({}, extra || {});
    if (key()) { all.Authorization = "Bearer " + key(); }
    return all;
  }
  return { key: key, signIn: signIn, signOut: signOut, headers: headers };
})();
