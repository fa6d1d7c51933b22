// The board: drag a card to another column, the move dialog, and the live poll.
// Columns are only ever redrawn by the server: after a move, after a colleague's change, and to
// put a card back when a move was refused or cancelled.
(function () {
  "use strict";

  var POLL_MS = 4000;
  var dragging = false;
  var polling = false;
  var resetWanted = false;
  // A poll asked for while another was on its way: that answer may predate a move just made.
  var pollWanted = false;
  // The lead whose card should take the focus once its column is redrawn.
  var focusLead = null;

  function board() {
    return document.getElementById("board");
  }

  function dialog() {
    return document.getElementById("move-dialog");
  }

  // What the page shows of each column, so the server redraws it with as many cards.
  function changesUrl(reset) {
    var element = board();
    var params = new URLSearchParams();
    var version = document.getElementById("board-version");
    params.set("version", version ? version.getAttribute("data-version") : "");
    element.querySelectorAll(".board-column").forEach(function (column) {
      var cards = column.querySelectorAll(".board-card").length;
      var shown = column.getAttribute("data-expanded") === "true" ? Math.max(cards, 25) : 0;
      params.append("col", column.getAttribute("data-stage") + ":" + shown + ":" +
        column.getAttribute("data-signature"));
    });
    if (reset) {
      params.set("reset", "1");
    }
    var url = element.getAttribute("data-changes-url");
    return url + (url.indexOf("?") === -1 ? "?" : "&") + params.toString();
  }

  function poll(reset) {
    var element = board();
    if (!element || !window.htmx) {
      return;
    }
    if (reset) {
      resetWanted = true;
    }
    if (polling) {
      pollWanted = true;
      return;
    }
    if (dragging || dialog().open || (document.hidden && !resetWanted)) {
      return;
    }
    var wantsReset = resetWanted;
    resetWanted = false;
    polling = true;
    htmx.ajax("GET", changesUrl(wantsReset), {source: element, target: "#board-version", swap: "none"})
      .catch(function () {})
      .finally(function () {
        polling = false;
        if (pollWanted || resetWanted) {
          pollWanted = false;
          poll();
        } else {
          focusMovedCard();
        }
      });
  }

  function startDragging() {
    var lists = document.querySelectorAll("#board .cards");
    lists.forEach(function (list) {
      if (list.getAttribute("data-sortable") || !window.Sortable) {
        return;
      }
      list.setAttribute("data-sortable", "1");
      Sortable.create(list, {
        group: "board",
        // A colleague's card, which the viewer may not move, has no "movable" and stays put.
        draggable: ".board-card.movable",
        animation: 150,
        onStart: function () {
          dragging = true;
        },
        onEnd: function (event) {
          dragging = false;
          if (event.from !== event.to) {
            move(event.item, event.from.getAttribute("data-stage"), event.to.getAttribute("data-stage"));
          } else {
            poll();
          }
        }
      });
    });
  }

  function move(card, fromStage, toStage) {
    focusLead = card.getAttribute("data-lead");
    htmx.ajax("POST", card.getAttribute("data-move-url"), {
      source: card,
      target: "#messages",
      swap: "none",
      values: {stage_id: toStage, from_stage_id: fromStage}
    }).catch(function () {
      poll(true);
    });
  }

  // Emptied at once, not on the dialog's "close" event, which comes later: a swap settling in
  // between would find the form still there and open the dialog again.
  function closeDialog(reason) {
    if (dialog().open) {
      document.getElementById("move-dialog-body").innerHTML = "";
      dialog().close(reason);
    }
  }

  // The server answers a move with one of these events (see crm/board/views.py).
  document.addEventListener("board-changed", function () {
    closeDialog("moved");
    poll();
  });
  document.addEventListener("board-reset", function () {
    poll(true);
  });

  // Sortable's animations leave `style` attributes on the cards; htmx's settle step copies them
  // onto the redrawn cards with setAttribute, which the CSP (style-src 'self') refuses.
  document.addEventListener("htmx:before:swap", function () {
    if (!dragging) {
      document.querySelectorAll("#board [style]").forEach(function (element) {
        element.removeAttribute("style");
      });
    }
  });

  document.addEventListener("htmx:after:settle", function () {
    startDragging();
    var body = document.getElementById("move-dialog-body");
    if (body && body.children.length && !dialog().open) {
      var form = body.querySelector("form[data-lead]");
      if (form) {
        focusLead = form.getAttribute("data-lead");
      }
      dialog().showModal();
      // `autofocus`, not `data-autofocus`: app.js takes that one away before this runs.
      var first = body.querySelector('[aria-invalid="true"], [autofocus]') ||
        body.querySelector("select, input:not([type=hidden])");
      if (first) {
        first.focus();
      }
    }
  });

  // After a move, the focus follows the card to its new column.
  function focusMovedCard() {
    var button = focusLead && document.querySelector("#card-" + focusLead + " .card-move");
    if (button && !dialog().open) {
      button.focus();
      focusLead = null;
    }
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-dialog]")) {
      closeDialog("cancelled");
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (!board()) {
      return;
    }
    startDragging();
    dialog().addEventListener("close", function () {
      document.getElementById("move-dialog-body").innerHTML = "";
      // A cancelled drop leaves its card where it was dropped: redraw, so it goes back.
      if (dialog().returnValue !== "moved") {
        poll(true);
      }
      dialog().returnValue = "";
    });
    setInterval(function () {
      // A slow answer should not make the timer queue up polls back to back.
      if (!polling) {
        poll();
      }
    }, POLL_MS);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) {
        poll();
      }
    });
  });
})();
