// The verify page's scan button inside WeChat: the JS-SDK's wx.scanQRCode, configured by
// /channels/wechat/jssdk-config (docs/channels.md). A label's Digital Link on this site is
// opened as it is; anything else is checked as typed text.
(function () {
  "use strict";
  var button = document.getElementById("wechat-scan");
  if (!button || typeof wx === "undefined" || !window.fetch) {
    return;
  }
  var page = location.href.split("#")[0];

  function open(text) {
    try {
      var url = new URL(text);
      if (url.origin === location.origin) {
        location.href = url.href;
        return;
      }
    } catch (notUrl) {
      // not a URL: a code, perhaps with spaces
    }
    var digits = (text.match(/[0-9]/g) || []).join("");
    var code = digits.length === 20 ? digits : text;
    location.href = "/verify?code=" + encodeURIComponent(code);
  }

  fetch("/channels/wechat/jssdk-config?url=" + encodeURIComponent(page))
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (config) {
      wx.config({
        appId: config.appId,
        timestamp: config.timestamp,
        nonceStr: config.nonceStr,
        signature: config.signature,
        jsApiList: ["scanQRCode"]
      });
      wx.ready(function () {
        button.hidden = false;
        button.addEventListener("click", function () {
          wx.scanQRCode({
            needResult: 1,
            scanType: ["qrCode", "barCode"],
            success: function (result) {
              open(result.resultStr || "");
            }
          });
        });
      });
    })
    .catch(function () {
      // No JS-SDK configuration: the page still takes a typed code.
    });
})();
