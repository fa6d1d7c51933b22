// The agenda: one log form open at a time, and the reader's place kept when the sections are
// drawn again after a contact is logged or a step moved from a row.
(function () {
  "use strict";

  // One log form open at a time, so the page never holds two forms with one id.
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

  // The row acted on leaves its section once the sections are redrawn. Focus goes to the row
  // that followed it (or to the section's heading when none did), put where the row was on
  // the screen: the reader goes on down the list instead of landing back at the top. When the
  // change was refused (a date left out), the row stays, and so does the focus.
  var place = null;

  document.addEventListener("htmx:before:request", function (event) {
    var row = event.target.closest && event.target.closest(".agenda-row");
    var sections = document.getElementById("agenda-sections");
    place = null;
    if (row && sections && sections.contains(row)) {
      place = {
        sections: sections,
        top: row.getBoundingClientRect().top,
        row: row.id,
        following: followingRowIds(row),
        heading: row.closest("section").getAttribute("aria-labelledby"),
      };
    }
  });

  // htmx tells the document when the element that asked has left the page.
  document.addEventListener("htmx:after:swap", function (event) {
    if (place && document.getElementById("agenda-sections") !== place.sections) {
      var kept = place;
      var response = event.detail.ctx && event.detail.ctx.response;
      place = null;
      if (response && response.status >= 400) {
        kept.following.unshift(kept.row);
      }
      keepPlace(kept);
    }
  });

  function followingRowIds(row) {
    var ids = [];
    for (var next = row.nextElementSibling; next; next = next.nextElementSibling) {
      if (next.classList.contains("agenda-row")) {
        ids.push(next.id);
      }
    }
    return ids;
  }

  function keepPlace(place) {
    var target = null;
    for (var i = 0; i < place.following.length && !target; i++) {
      target = document.getElementById(place.following[i]);
    }
    if (!target) {
      target = document.getElementById(place.heading);
    }
    if (!target) {
      return;
    }
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: true });
    // Where the row was, but on the screen even when the row's top had scrolled out of it.
    var top = Math.min(Math.max(place.top, 8), window.innerHeight - 96);
    window.scrollBy(0, target.getBoundingClientRect().top - top);
  }
})();
