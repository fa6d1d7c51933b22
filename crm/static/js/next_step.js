// The next step's fields: buttons that fill in the day with one click, and "No next step",
// which empties the day (typing a day, or picking one, unticks it). The preview under the day
// is htmx's: each change of the field asks the server what it means.
(function () {
  "use strict";

  function fieldsOf(element) {
    return element.closest("[data-next-step]");
  }

  function dayInput(fields) {
    return fields.querySelector("input[name=next_step_when]");
  }

  // The buttons are shown only here: without JavaScript they would do nothing.
  function showButtons() {
    document.querySelectorAll("[data-quick-days][hidden]").forEach(function (toolbar) {
      toolbar.hidden = false;
      var buttons = toolbar.querySelectorAll("button");
      rove(toolbar, toolbar.querySelector('[aria-pressed="true"]') || buttons[0]);
    });
  }

  // The row of buttons is one Tab stop; the arrow keys move along it, as in any toolbar.
  function rove(toolbar, current) {
    toolbar.querySelectorAll("button").forEach(function (button) {
      button.tabIndex = button === current ? 0 : -1;
    });
  }

  function markPressed(fields) {
    var typed = dayInput(fields).value.trim();
    fields.querySelectorAll("[data-typed]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-typed") === typed));
    });
  }

  function untickNone(fields) {
    var none = fields.querySelector("[data-no-next-step]");
    if (none) {
      none.checked = false;
    }
  }

  function typeDay(input, text) {
    input.value = text;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-typed]");
    if (!button) {
      return;
    }
    var fields = fieldsOf(button);
    typeDay(dayInput(fields), button.getAttribute("data-typed"));
    rove(button.parentElement, button);
    // The day is set: what to do comes next.
    var note = fields.querySelector("input[name=next_step_note]");
    if (note) {
      note.focus();
    }
  });

  var MOVES = { ArrowRight: 1, ArrowLeft: -1 };

  document.addEventListener("keydown", function (event) {
    var button = event.target.closest && event.target.closest("[data-typed]");
    if (!button || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var buttons = Array.prototype.slice.call(button.parentElement.querySelectorAll("button"));
    var index = buttons.indexOf(button);
    if (event.key in MOVES) {
      index = (index + MOVES[event.key] + buttons.length) % buttons.length;
    } else if (event.key === "Home") {
      index = 0;
    } else if (event.key === "End") {
      index = buttons.length - 1;
    } else {
      return;
    }
    event.preventDefault();
    rove(button.parentElement, buttons[index]);
    buttons[index].focus();
  });

  document.addEventListener("input", function (event) {
    if (event.target.name !== "next_step_when") {
      return;
    }
    var fields = fieldsOf(event.target);
    if (event.target.value.trim()) {
      untickNone(fields);
    }
    markPressed(fields);
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.hasAttribute && box.hasAttribute("data-no-next-step") && box.checked) {
      // No next step: no day left in the field to say otherwise.
      typeDay(dayInput(fieldsOf(box)), "");
    }
  });

  document.addEventListener("DOMContentLoaded", showButtons);
  document.addEventListener("htmx:after:settle", showButtons);
})();
