// onetimeshare's only script. It moves the link key from the URL fragment (which browsers never
// send) into the claim form when OPEN is pressed, and copies claimed text. Without scripts the
// key field stays visible for pasting.
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
        setTimeout(function () { button.disabled = true; }, 0);
      }
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
