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

  // After a swap, focus goes where the user expects: a field the server marked, or the first
  // field with an error.
  document.addEventListener("htmx:after:settle", function () {
    var target = document.querySelector("[data-autofocus]") ||
      document.querySelector('form [aria-invalid="true"]');
    if (target) {
      target.removeAttribute("data-autofocus");
      target.focus();
    }
    showFieldsForStage();
  });

  function isTyping(element) {
    var tag = element && element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" ||
      (element && element.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    // "n" starts a new entry in the contact log.
    if (event.key === "n" && !event.ctrlKey && !event.metaKey && !event.altKey &&
        !isTyping(event.target)) {
      var body = document.getElementById("log-body");
      if (body) {
        event.preventDefault();
        body.focus();
      }
    }
    // Ctrl+Enter (Cmd+Enter on a Mac) sends the form being typed in.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  // The phone's menu (a disclosure in the top bar) closes as menus do: with Escape, the focus
  // going back to its button, or with a tap anywhere else.
  document.addEventListener("keydown", function (event) {
    var menu = document.querySelector("details.menu[open]");
    if (event.key === "Escape" && menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });

  document.addEventListener("click", function (event) {
    var menu = document.querySelector("details.menu[open]");
    if (menu && !menu.contains(event.target)) {
      menu.open = false;
    }
  });

  // The "if lost" and "if won" fields show only when the chosen stage is of that kind (and
  // the next step only while it is open). The stage is a list, or radio buttons.
  function chosenStage(form) {
    var checked = form.querySelector("input[name=stage_id]:checked");
    if (checked) {
      return checked;
    }
    var select = form.querySelector("select[name=stage_id]");
    return select ? select.options[select.selectedIndex] : null;
  }

  function showFieldsForStage() {
    document.querySelectorAll("form").forEach(function (form) {
      var groups = form.querySelectorAll("[data-for-kind]");
      if (!groups.length || !form.querySelector("[name=stage_id]")) {
        return;
      }
      var option = chosenStage(form);
      var kind = option ? option.getAttribute("data-kind") : "";
      groups.forEach(function (group) {
        group.hidden = group.getAttribute("data-for-kind") !== kind;
      });
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.name === "stage_id") {
      showFieldsForStage();
    }
  });
  document.addEventListener("DOMContentLoaded", showFieldsForStage);
})();
