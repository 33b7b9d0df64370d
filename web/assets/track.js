// Exchanges the magic link's token (in the URL fragment, never sent to any
// server by the browser) for a short-lived cookie: the token leaves the
// address bar and history at once and travels only in a POST body.
(function () {
  "use strict";
  var form = document.getElementById("exchange");
  if (!form || document.getElementById("problem")) {
    return;
  }
  var token = decodeURIComponent(window.location.hash.replace(/^#/, ""));
  history.replaceState(null, "", window.location.pathname);
  if (!/^pgr_[A-Za-z0-9]+$/.test(token)) {
    var p = document.getElementById("track-wait");
    if (p) {
      p.textContent = form.getAttribute("data-missing");
      p.setAttribute("role", "alert");
    }
    return;
  }
  document.getElementById("token").value = token;
  form.submit();
})();
