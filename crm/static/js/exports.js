// "Download these ... (CSV)" links follow the list they sit under. htmx keeps the address bar
// in step with the filters, so the link takes its filters from there at the moment it is used.
// Without JavaScript the page reloads on every filter and the server writes the link itself.
(function () {
  "use strict";

  function follow(event) {
    var link = event.target.closest && event.target.closest("a[data-follows-list]");
    if (link) {
      link.href = link.getAttribute("data-follows-list") + window.location.search;
    }
  }

  ["click", "auxclick", "contextmenu", "focusin"].forEach(function (type) {
    document.addEventListener(type, follow, true);
  });
})();
