// Small behaviours the server cannot do on its own. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // Every htmx request carries the page's CSRF token.
  document.addEventListener("htmx:config:request", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.ctx.request.headers["X-CSRFToken"] = meta.content;
    }
  });
})();
