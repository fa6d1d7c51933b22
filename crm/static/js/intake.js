// Settings → Intake forms: a "Copy" button next to each form's HTML. Without JavaScript the
// button stays hidden and the text is selected and copied by hand.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    if (!navigator.clipboard) {
      return;
    }
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy"));
    navigator.clipboard.writeText(source.value).then(function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied");
      setTimeout(function () {
        button.textContent = label;
      }, 2000);
    });
  });
})();
