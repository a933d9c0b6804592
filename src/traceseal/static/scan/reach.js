// The reach section of a recall's page: read with the signed-in key (signin.js), shown as
// a table, and downloaded as CSV for the people who will call the holders.
"use strict";
(function () {
  var section = document.getElementById("reach");
  if (!section) { return; }
  var T = JSON.parse(document.getElementById("reach-text").textContent);
  var auth = window.TraceSealSignIn;
  var base = "/api/v1/recalls/" + section.dataset.recall + "/reach";
  var $ = function (id) { return document.getElementById(id); };

  function say(text, style) {
    $("reach-status").textContent = text;
    $("reach-status").className = "status " + (style || "");
    $("reach-status").hidden = !text;
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
  }

  function show(body) {
    $("reach-signin").hidden = true;
    $("reach-result").hidden = false;
    $("reach-total").textContent = T.total + body.items + T.items;
    var rows = $("reach-rows");
    rows.textContent = "";
    body.holders.forEach(function (holder) {
      var row = document.createElement("tr");
      row.className = "holder";
      cell(row, T[holder.status] || holder.status);
      cell(row, [holder.place, holder.gln].filter(Boolean).join(" · "));
      cell(row, holder.organization || "");
      cell(row, String(holder.quantity), "n");
      rows.appendChild(row);
    });
    if (!body.holders.length) { say(T.none, ""); }
  }

  function load() {
    if (!auth.key()) { return; }
    fetch(base, { headers: auth.headers() }).then(function (response) {
      if (response.ok) { return response.json().then(show); }
      if (response.status === 401) { auth.signOut(); say(T.bad_key, "bad"); return null; }
      if (response.status === 404 || response.status === 403) { say(T.forbidden, "bad"); return null; }
      say(T.failed, "bad");
      return null;
    }).catch(function () { say(T.failed, "bad"); });
  }

  $("reach-signin-button").addEventListener("click", function () {
    var value = $("reach-key").value.trim();
    if (!value) { return; }
    auth.signIn(value);
    $("reach-key").value = "";
    load();
  });

  $("reach-csv").addEventListener("click", function () {
    fetch(base + ".csv", { headers: auth.headers() }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.blob();
    }).then(function (blob) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "recall-" + section.dataset.recall + "-reach.csv";
      document.body.appendChild(link);
      link.click();
      link.remove();
    }).catch(function () { say(T.failed, "bad"); });
  });

  load();
})();
