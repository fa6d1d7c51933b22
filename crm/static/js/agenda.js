// The agenda: one log form open at a time, so the page never holds two forms with one id.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-log-slot]");
    if (!button) {
      return;
    }
    var keep = button.getAttribute("data-log-slot");
    document.querySelectorAll(".agenda-log-slot").forEach(function (slot) {
      if (slot.id !== keep) {
        slot.innerHTML = "";
      }
    });
  });
})();
