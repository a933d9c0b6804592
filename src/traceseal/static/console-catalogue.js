// The codes file's progress page: asks the job's status once a second and shows it, until
// the file is done or has failed. Without scripts the page refreshes itself instead.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status");
  function show(s) {
    box.setAttribute("data-state", s.state);
    document.getElementById("bar").value = s.percent;
    document.getElementById("percent").textContent = s.percent + "%";
    document.getElementById("state-words").textContent = s.words;
    document.getElementById("counted").textContent = s.done.toLocaleString("en-US");
    var download = document.getElementById("download");
    if (s.download) { download.href = s.download; download.hidden = false; }
    var failed = document.getElementById("failed");
    if (s.state === "failed") { failed.textContent = s.error || ""; failed.hidden = false; }
  }
  function ask() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        show(s);
        if (s.state === "queued" || s.state === "running") { setTimeout(ask, 1000); }
      })
      .catch(function () { setTimeout(ask, 3000); });
  }
  if (box.getAttribute("data-state") === "queued" || box.getAttribute("data-state") === "running") {
    setTimeout(ask, 500);
  }
})();
