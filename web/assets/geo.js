// Fills the courier's position from the browser's location service when
// the courier asks for it; the typed fields stay the fallback, so the
// form works without this script or without a location.
(function () {
  "use strict";
  var button = document.getElementById("locate");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var status = document.getElementById("locate-status");
  if (!button || !lat || !lon || !status || !("geolocation" in navigator)) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.getAttribute("data-busy");
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(6);
      lon.value = pos.coords.longitude.toFixed(6);
      status.textContent = button.getAttribute("data-done");
    }, function () {
      status.textContent = button.getAttribute("data-failed");
      lat.focus();
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
})();
