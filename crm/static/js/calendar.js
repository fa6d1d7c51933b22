// The calendar: drag a planned call to another day, and the page's state sent with each move.
// Days are only ever redrawn by the server: after a move, and to put an item back after a
// refused one (see crm/agenda/calendar.py).
(function () {
  "use strict";

  var dragging = false;

  // What the page shows, so the answer to a move redraws the days (and the day's list) it has.
  function pageState() {
    var state = {};
    var calendar = document.getElementById("calendar");
    if (calendar) {
      state.view = calendar.getAttribute("data-view");
      state.anchor = calendar.getAttribute("data-anchor");
      state.owner = calendar.getAttribute("data-owner");
      state.pipeline = calendar.getAttribute("data-pipeline") || "";
    }
    var listed = document.querySelector("#calendar-day [data-day]");
    if (listed) {
      state.listed = listed.getAttribute("data-day");
    }
    return state;
  }

  // The date field of a day's list posts through htmx: it carries the page's state too.
  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail.ctx;
    var source = ctx.sourceElement;
    var form = source && source.closest ? source.closest("form.calendar-reschedule") : null;
    if (!form || !ctx.request.body || !ctx.request.body.set) {
      return;
    }
    var state = pageState();
    Object.keys(state).forEach(function (name) {
      ctx.request.body.set(name, state[name]);
    });
  });

  function startDragging() {
    if (!window.Sortable) {
      return;
    }
    document.querySelectorAll("#calendar .calendar-items").forEach(function (list) {
      if (list.getAttribute("data-sortable")) {
        return;
      }
      list.setAttribute("data-sortable", "1");
      Sortable.create(list, {
        group: "calendar",
        // A day's items are in the order of their times: only a move to another day means anything.
        sort: false,
        draggable: ".calendar-item",
        animation: 150,
        onStart: function () {
          dragging = true;
        },
        onEnd: function (event) {
          dragging = false;
          if (event.from !== event.to) {
            reschedule(event.item, event.from, event.to);
          }
        }
      });
    });
  }

  function reschedule(item, from, to) {
    var values = pageState();
    values.date = to.getAttribute("data-day");
    values.from = from.getAttribute("data-day");
    htmx.ajax("POST", item.getAttribute("data-reschedule-url"), {
      source: item,
      target: "#messages",
      swap: "none",
      values: values
    }).catch(function () {
      // No answer at all: the page as the server has it puts the item back where it is.
      window.location.reload();
    });
  }

  // Sortable's animations leave `style` attributes on the items; htmx's settle step copies them
  // onto the redrawn items with setAttribute, which the CSP (style-src 'self') refuses.
  document.addEventListener("htmx:before:swap", function () {
    if (!dragging) {
      document.querySelectorAll("#calendar [style]").forEach(function (element) {
        element.removeAttribute("style");
      });
    }
  });

  document.addEventListener("htmx:after:settle", startDragging);
  document.addEventListener("DOMContentLoaded", startDragging);

  // The feed's address is there to be copied: focusing it selects it whole.
  document.addEventListener("focusin", function (event) {
    if (event.target.id === "calendar-feed-url") {
      event.target.select();
    }
  });
})();
