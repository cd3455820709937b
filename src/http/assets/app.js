// onetimeshare's only script. It moves the link key from the URL fragment (which browsers never
// send) into the claim form when OPEN is pressed, says what the button is doing, shows the end
// state once a file download has started, and copies claimed text. Without scripts the key
// field stays visible for pasting and everything else still works.
"use strict";
(function () {
  var form = document.getElementById("claim");
  var key = document.getElementById("key");
  var field = document.getElementById("key-field");
  var fragment = (location.hash || "").replace(/^#/, "");
  try { fragment = decodeURIComponent(fragment); } catch (e) { /* keys are base64url: keep as is */ }
  if (form && key) {
    if (fragment) {
      field.hidden = true;
    }
    form.addEventListener("submit", function () {
      if (fragment && !key.value) {
        key.value = fragment;
      }
      // Keep the fragment on the page the POST returns (a wrong password asks again); browsers
      // never send a fragment to the server.
      if (fragment) {
        form.setAttribute("action", form.getAttribute("action").replace(/#.*$/, "") + location.hash);
      }
      var button = document.getElementById("open");
      if (button) {
        setTimeout(function () {
          button.disabled = true;
          button.textContent = "OPENING…";
        }, 0);
      }
      watchDownload();
    });
  }

  // A file comes back as a download and the page stays: the server answers with a cookie named
  // after a random token we send (its value: when the share was opened), which is how this page
  // learns the download started. A text or an error page replaces this page instead.
  function watchDownload() {
    var ready = document.getElementById("ready");
    if (!ready || !window.crypto || !crypto.getRandomValues) { return; }
    var bytes = new Uint8Array(18);
    crypto.getRandomValues(bytes);
    var token = btoa(String.fromCharCode.apply(null, bytes))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    ready.value = token;
    var name = "ots_ready_" + token + "=";
    var started = Date.now();
    var timer = setInterval(function () {
      var cookie = document.cookie.split("; ").filter(function (c) {
        return c.indexOf(name) === 0;
      })[0];
      if (cookie) {
        clearInterval(timer);
        document.cookie = name + "; Path=/; Max-Age=0; SameSite=Strict";
        showDownloaded(Number(cookie.slice(name.length)));
      } else if (Date.now() - started > 30000) {
        clearInterval(timer);
        var button = document.getElementById("open");
        if (button) { button.textContent = "CHECK YOUR DOWNLOADS"; }
      }
    }, 200);
  }

  function showDownloaded(openedAt) {
    var card = document.getElementById("share");
    var badge = document.getElementById("badge");
    var done = document.getElementById("done");
    if (!card || !done) { return; }
    card.className = card.className.replace("tone-success", "tone-danger");
    if (badge) { badge.textContent = "OPENED"; }
    document.getElementById("done-at").textContent = utc(openedAt);
    var hide = card.querySelectorAll("h1, .facts, .problem, form, details.report");
    for (var i = 0; i < hide.length; i++) { hide[i].hidden = true; }
    done.hidden = false;
    document.title = "OPENED · ONETIMESHARE";
  }

  // "2026-11-23 10:38:03 UTC", the way every page of this service writes a time.
  function utc(ms) {
    var d = new Date(ms);
    if (isNaN(d.getTime())) { return "JUST NOW"; }
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) + " " +
      two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + ":" + two(d.getUTCSeconds()) + " UTC";
  }

  // TRY AGAIN on a "too many attempts" page: back to the share page, key fragment and all.
  var back = document.querySelector("[data-back]");
  if (back && history.length > 1) {
    back.addEventListener("click", function (event) {
      event.preventDefault();
      history.back();
    });
  }
  var copy = document.getElementById("copy");
  if (copy) {
    copy.addEventListener("click", function () {
      var target = document.getElementById(copy.getAttribute("data-target"));
      var done = function () { document.getElementById("copied").hidden = false; };
      // The synchronous copy works everywhere a click does; the async clipboard API is the
      // fallback (it can wait on a permission prompt).
      target.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      if (copied) {
        done();
      } else if (navigator.clipboard) {
        navigator.clipboard.writeText(target.value).then(done, function () {});
      }
    });
  }
})();
