// Keeps the "time left" of the pickup deadline current. The server renders
// the same text, so the page reads correctly without script; updates are
// once a minute and not announced, so screen readers are not interrupted.
(function () {
  "use strict";
  var el = document.getElementById("countdown");
  if (!el) {
    return;
  }
  var deadline = Date.parse(el.getAttribute("datetime"));
  function fill(tpl, a, b) {
    return tpl.replace("{1}", String(a)).replace("{2}", String(b));
  }
  function tick() {
    var ms = deadline - Date.now();
    if (ms <= 0) {
      el.textContent = el.getAttribute("data-over");
      return;
    }
    var mins = Math.floor(ms / 60000);
    var days = Math.floor(mins / 1440);
    var hours = Math.floor((mins % 1440) / 60);
    el.textContent = days > 0
      ? fill(el.getAttribute("data-days"), days, hours)
      : fill(el.getAttribute("data-hours"), hours, mins % 60);
  }
  tick();
  setInterval(tick, 60000);
})();
