// The scanning page (/scan): choose an action, scan labels (camera, hardware scanner or
// keyboard), see each confirmed, undo, submit. Submissions are queued in localStorage
// first and sent from there, so a phone that is offline keeps them and sends them when the
// connection returns; each carries an id made here, so a repeat is answered, not recorded.
"use strict";
(function () {
  var T = JSON.parse(document.getElementById("scan-text").textContent);
  var auth = window.TraceSealSignIn;
  var QUEUE = "traceseal.scanQueue";
  var $ = function (id) { return document.getElementById(id); };
  var scans = [];       // {raw, state: checking|ok|offline|error, info, detail}
  var sending = false;
  var context = null;

  // --- sign-in --------------------------------------------------------------------------
  function api(path, options) {
    options = options || {};
    options.headers = auth.headers(options.headers);
    return fetch(path, options);
  }

  function signedIn(body) {
    context = body;
    $("signin").hidden = true;
    $("work").hidden = false;
    $("scanning").hidden = false;
    $("org-name").textContent = T.signed_in_as + body.organization;
    var select = $("location");
    select.textContent = "";
    body.locations.forEach(function (site) {
      var option = document.createElement("option");
      option.value = site.gln;
      option.textContent = (site.name ? site.name + " · " : "") + site.gln;
      select.appendChild(option);
    });
    // Brands and the platform scan at sites nobody registers for them: they type a GLN.
    select.hidden = body.locations.length === 0;
    $("location-gln").hidden = body.locations.length > 0;
    $("scan-input").focus();
    flush();
  }

  function trySignIn() {
    if (!auth.key()) { return; }
    api("/api/v1/scan/context").then(function (response) {
      if (response.status === 401) {
        auth.signOut();
        $("signin-error").textContent = T.bad_key;
        $("signin-error").hidden = false;
        return null;
      }
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (!body) { return; }
      localStorage.setItem("traceseal.sites", JSON.stringify(body.locations));
      signedIn(body);
    })
      .catch(function () {
        // Offline with a key: scan anyway; the queue is sent later.
        signedIn(context || { organization: "", locations: cachedSites() });
      });
  }

  function cachedSites() {
    try { return JSON.parse(localStorage.getItem("traceseal.sites") || "[]"); } catch (e) { return []; }
  }

  $("signin-button").addEventListener("click", function () {
    var value = $("signin-key").value.trim();
    if (!value) { return; }
    auth.signIn(value);
    $("signin-key").value = "";
    trySignIn();
  });
  $("signout").addEventListener("click", function (event) {
    event.preventDefault();
    auth.signOut();
    window.location.reload();
  });

  // --- action ---------------------------------------------------------------------------
  function action() { return document.querySelector("input[name=action]:checked").value; }
  function packing() { return action() === "pack_case" || action() === "pack_pallet"; }
  function actionChanged() {
    $("destination-field").hidden = !(action() === "ship" || action() === "return");
    $("source-field").hidden = action() !== "receive";
    $("pack-hint").hidden = !packing();
    render();
  }
  document.querySelectorAll("input[name=action]").forEach(function (input) {
    input.addEventListener("change", actionChanged);
  });

  // --- scans ----------------------------------------------------------------------------
  function say(id, text, style) {
    var node = $(id);
    node.textContent = text;
    node.className = "status " + (style || "");
    node.hidden = !text;
  }

  function describe(scan) {
    if (scan.state === "error") { return T.not_readable + scan.detail; }
    if (scan.state === "checking") { return T.checking; }
    if (scan.state === "offline" || !scan.info) { return T.unconfirmed; }
    var info = scan.info;
    if (info.kind === "unit") { return T.unit + " SSCC " + info.serial; }
    return (info.name || T.unknown_product) + (info.serial ? " · " + info.serial : "");
  }

  function render() {
    var list = $("scans");
    list.textContent = "";
    scans.forEach(function (scan, index) {
      var item = document.createElement("li");
      var title = document.createElement("span");
      title.className = "what";
      title.textContent = (packing() && index === 0 ? T.parent : "") + describe(scan);
      var raw = document.createElement("small");
      raw.textContent = scan.raw;
      item.appendChild(title);
      item.appendChild(raw);
      item.className = scan.state + (packing() && index === 0 ? " parent" : "");
      list.appendChild(item);
    });
    var usable = scans.filter(function (s) { return s.state !== "error"; }).length;
    $("count").textContent = String(usable);
    $("undo").disabled = scans.length === 0;
    $("submit").disabled = usable === 0;
  }

  function addScan(raw, how) {
    raw = (raw || "").trim();
    if (!raw) { return; }
    if (scans.some(function (s) { return s.raw === raw; })) {
      say("scan-status", T.already, "warn");
      return;
    }
    var scan = { raw: raw, state: navigator.onLine ? "checking" : "offline", how: how };
    scans.push(scan);
    say("scan-status", "", "");
    render();
    if (scan.state === "offline") { return; }
    api("/api/v1/scan/lookup", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: raw }),
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (answer.ok) {
        scan.state = "ok";
        scan.info = answer.body;
      } else {
        scan.state = "error";
        scan.detail = answer.body.detail || "";
      }
      render();
    }).catch(function () { scan.state = "offline"; render(); });
  }

  $("scan-add").addEventListener("click", function () {
    addScan($("scan-input").value, "keyboard");
    $("scan-input").value = "";
    $("scan-input").focus();
  });
  // Hardware scanners type the label and press Enter.
  $("scan-input").addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      $("scan-add").click();
    }
  });
  $("undo").addEventListener("click", function () {
    scans.pop();
    render();
  });

  // --- camera ---------------------------------------------------------------------------
  var stream = null;
  var lastSeen = { text: "", at: 0 };

  function wasmDecoder() {
    var canvas = document.createElement("canvas");
    var context2d = canvas.getContext("2d", { willReadFrequently: true });
    window.ZXingWASM.prepareZXingModule({
      overrides: {
        // The vendored binary, from this site: the page works offline.
        locateFile: function (path, prefix) {
          return path.endsWith(".wasm") ? "/static/vendor/zxing-wasm/" + path : prefix + path;
        },
      },
    });
    return function (video) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      if (!canvas.width) { return Promise.resolve([]); }
      context2d.drawImage(video, 0, 0);
      var image = context2d.getImageData(0, 0, canvas.width, canvas.height);
      return window.ZXingWASM.readBarcodes(image, {
        formats: ["QRCode", "DataMatrix", "Code128"],
        tryHarder: true,
        maxNumberOfSymbols: 1,
      }).then(function (found) {
        return found.filter(function (r) { return r.isValid; }).map(function (r) { return r.text; });
      });
    };
  }

  function makeDecoder() {
    if ("BarcodeDetector" in window) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") < 0) { throw new Error("no QR"); }
        var wanted = formats.filter(function (f) {
          return ["qr_code", "data_matrix", "code_128"].indexOf(f) >= 0;
        });
        var detector = new window.BarcodeDetector({ formats: wanted });
        document.body.dataset.decoder = "barcode-detector";
        return function (video) {
          return detector.detect(video).then(function (codes) {
            return codes.map(function (c) { return c.rawValue; });
          });
        };
      }).catch(function () {
        document.body.dataset.decoder = "zxing-wasm";
        return wasmDecoder();
      });
    }
    document.body.dataset.decoder = "zxing-wasm";
    return Promise.resolve(wasmDecoder());
  }

  function loop(video, decode) {
    if (!stream) { return; }
    decode(video).then(function (texts) {
      var now = Date.now();
      texts.forEach(function (text) {
        // A label held in front of the camera is read many times a second: once is a scan.
        if (text === lastSeen.text && now - lastSeen.at < 3000) { lastSeen.at = now; return; }
        lastSeen = { text: text, at: now };
        addScan(text, "camera");
      });
    }).catch(function () { return null; }).then(function () {
      window.setTimeout(function () { loop(video, decode); }, 200);
    });
  }

  function stopCamera() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    $("video").hidden = true;
    $("camera-button").textContent = T.camera_start;
  }

  $("camera-button").addEventListener("click", function () {
    if (stream) { stopCamera(); return; }
    var video = $("video");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.hidden = false;
        $("camera-button").textContent = T.camera_off;
        say("scan-status", T.camera_on, "");
        return video.play().then(makeDecoder);
      })
      .then(function (decode) { loop(video, decode); })
      .catch(function () { stopCamera(); say("scan-status", T.camera_failed, "bad"); });
  });

  // --- submitting, through the queue ----------------------------------------------------
  function queue() {
    try { return JSON.parse(localStorage.getItem(QUEUE) || "[]"); } catch (e) { return []; }
  }
  function saveQueue(items) {
    localStorage.setItem(QUEUE, JSON.stringify(items));
    $("queue-count").textContent = String(items.length);
  }
  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }
  function offset() {
    var minutes = -new Date().getTimezoneOffset();
    var sign = minutes < 0 ? "-" : "+";
    minutes = Math.abs(minutes);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }
  function location() {
    return $("location").hidden ? $("location-gln").value.trim() : $("location").value;
  }

  $("submit").addEventListener("click", function () {
    var labels = scans.filter(function (s) { return s.state !== "error"; })
      .map(function (s) { return s.raw; });
    if (!labels.length) { say("status", T.nothing, "bad"); return; }
    if (!location()) { say("status", T.need_location, "bad"); return; }
    var body = {
      submission_id: newId(),
      action: action(),
      location: location(),
      scans: labels,
      scanned_at: new Date().toISOString(),
      time_zone: offset(),
    };
    if (packing()) {
      if (labels.length < 2) { say("status", T.need_parent, "bad"); return; }
      body.parent = labels[0];
      body.scans = labels.slice(1);
    }
    if (action() === "ship" || action() === "return") {
      var destination = $("destination").value.trim();
      if (!destination && action() === "ship") { say("status", T.need_destination, "bad"); return; }
      if (destination) { body.destination = destination; }
    }
    if (action() === "receive" && $("source").value.trim()) {
      body.source = $("source").value.trim();
    }
    saveQueue(queue().concat([body]));
    scans = [];
    render();
    flush();
  });

  function flush() {
    var items = queue();
    $("queue-count").textContent = String(items.length);
    if (sending || !items.length || !auth.key()) { return; }
    sending = true;
    var first = items[0];
    api("/api/v1/scan/submissions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(first),
    }).then(function (response) {
      return response.json().then(function (answer) {
        var rest = queue().filter(function (q) { return q.submission_id !== first.submission_id; });
        if (response.ok) {
          saveQueue(rest);
          var count = answer.scans.length + (answer.parent ? 1 : 0);
          say("status", T.sent + count + T.labels + (answer.replayed ? T.replayed : ""), "ok");
        } else if (response.status === 429 || response.status >= 500) {
          throw new Error("later");
        } else {
          // Refused for what it says (a site, a label): sending it again cannot help.
          saveQueue(rest);
          say("status", T.refused + (answer.detail || response.status), "bad");
        }
        sending = false;
        flush();
      });
    }).catch(function () {
      sending = false;
      say("status", T.queued + queue().length, "warn");
    });
  }

  window.addEventListener("online", flush);
  window.setInterval(flush, 15000);
  actionChanged();
  $("queue-count").textContent = String(queue().length);
  if (auth.key()) { trySignIn(); } else { say("signin-error", "", ""); }
})();
