// Download links follow the page they sit under, at the moment they are used:
// - "Download these ..." links take the filters the list has now: htmx keeps the address bar
//   in step with the filters, so they take them from there;
// - CSV links take the separator chosen on the page (`sep` in their address).
// Without JavaScript the page reloads on every filter and every choice of separator, and the
// server writes both into the links itself.
(function () {
  "use strict";

  function chosenSeparator() {
    var choice = document.querySelector("select[data-csv-separator]");
    return choice ? choice.value : null;
  }

  function withSeparator(link) {
    var separator = chosenSeparator();
    if (!separator || !link.hasAttribute("data-csv-download")) {
      return;
    }
    var address = new URL(link.getAttribute("href"), window.location.href);
    address.searchParams.set("sep", separator);
    link.href = address.pathname + address.search;
  }

  function follow(event) {
    var link =
      event.target.closest && event.target.closest("a[data-follows-list], a[data-csv-download]");
    if (!link) {
      return;
    }
    if (link.hasAttribute("data-follows-list")) {
      link.href = link.getAttribute("data-follows-list") + window.location.search;
    }
    withSeparator(link);
  }

  function choose(event) {
    if (event.target.matches && event.target.matches("select[data-csv-separator]")) {
      document.querySelectorAll("a[data-csv-download]").forEach(withSeparator);
    }
  }

  ["click", "auxclick", "contextmenu", "focusin"].forEach(function (type) {
    document.addEventListener(type, follow, true);
  });
  document.addEventListener("change", choose);
})();
