// The bell: while a page is open, reminders and new leads also show as the browser's own
// notifications, once each (across tabs), if the person allowed them with the button on the
// notifications page. The poll itself is htmx's (hx-trigger on #bell); what it answers also
// fills or empties the card of a call ringing (#call-card), which this lets the person dismiss
// and takes away once its time is up.
(function () {
  "use strict";

  var SHOWN = "crm-alerts-shown";
  var VERSION = "crm-bell-version";
  // Until when (ms) the last poll showed a call's card: a page loaded meanwhile asks for it.
  var CARD = "crm-call-card-until";
  var DISMISSED = "crm-calls-dismissed";

  function supported() {
    return "Notification" in window;
  }

  function remembered(name, fallback) {
    try {
      return JSON.parse(window.localStorage.getItem(name)) || fallback;
    } catch (error) {
      return fallback;
    }
  }

  function remember(name, value) {
    try {
      window.localStorage.setItem(name, JSON.stringify(value));
    } catch (error) {
      // Private browsing without storage: a notification may then show twice, no more.
    }
  }

  function showAlerts(bell) {
    remember(VERSION, bell.getAttribute("data-version"));
    if (!supported() || Notification.permission !== "granted") {
      return;
    }
    var alerts;
    try {
      alerts = JSON.parse(bell.getAttribute("data-alerts") || "[]");
    } catch (error) {
      return;
    }
    var shown = remembered(SHOWN, []);
    alerts.forEach(function (alert) {
      if (shown.indexOf(alert.id) !== -1) {
        return;
      }
      shown.push(alert.id);
      // The tag makes a notification another tab already showed replace, not repeat, it.
      var notice = new Notification(alert.title, {body: alert.body, tag: "crm-" + alert.id});
      notice.onclick = function () {
        window.focus();
        window.location.href = alert.url;
      };
    });
    remember(SHOWN, shown.slice(-100));
  }

  // The call card

  var cardTimer = null;

  function place() {
    return document.getElementById("call-card");
  }

  function clearCard() {
    var region = place();
    if (region) {
      region.textContent = "";
    }
  }

  // After the bell's poll (each swap settles on its own, the card's place among them): a card
  // dismissed already is not shown again; one shown stays until a poll takes it away, or its
  // time is up (the phone system may never tell of the call's end).
  var cardSeen = null;
  var bellSeen = null;

  function showCard(polled) {
    var region = place();
    var card = region && region.querySelector(".call-card");
    if (card === cardSeen) {
      if (!card && polled) {
        // The poll found no call ringing (any more): the next page need not ask.
        remember(CARD, null);
      }
      return;
    }
    cardSeen = card;
    window.clearTimeout(cardTimer);
    if (!card) {
      remember(CARD, null);
      return;
    }
    if (remembered(DISMISSED, []).indexOf(card.getAttribute("data-call")) !== -1) {
      clearCard();
      return;
    }
    var left = 1000 * (parseInt(card.getAttribute("data-seconds-left"), 10) || 0);
    remember(CARD, Date.now() + left);
    cardTimer = window.setTimeout(function () {
      remember(CARD, null);
      clearCard();
    }, left);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".call-card-dismiss");
    if (!button) {
      return;
    }
    var card = button.closest(".call-card");
    var dismissed = remembered(DISMISSED, []);
    dismissed.push(card.getAttribute("data-call"));
    remember(DISMISSED, dismissed.slice(-20));
    remember(CARD, null);
    clearCard();
    // The button is gone: the focus goes back to the page rather than nowhere.
    var main = document.getElementById("main");
    if (main) {
      main.focus();
    }
  });

  document.addEventListener("htmx:after:settle", function () {
    var bell = document.getElementById("bell");
    if (bell) {
      showAlerts(bell);
      showCard(bell !== bellSeen);
      bellSeen = bell;
    }
  });

  function askOnClick() {
    var button = document.getElementById("browser-alerts");
    var state = document.getElementById("browser-alerts-state");
    if (!button || !supported()) {
      return;
    }
    function say() {
      if (Notification.permission === "granted") {
        state.textContent = button.getAttribute("data-granted");
        button.hidden = true;
      } else if (Notification.permission === "denied") {
        state.textContent = button.getAttribute("data-denied");
        button.hidden = true;
      } else {
        button.hidden = false;
      }
    }
    button.addEventListener("click", function () {
      // Asked only on the person's click: browsers ignore, and people resent, asking unbidden.
      Notification.requestPermission().then(say);
    });
    say();
  }

  document.addEventListener("DOMContentLoaded", function () {
    askOnClick();
    var bell = document.getElementById("bell");
    bellSeen = bell;
    if (!bell || !window.htmx) {
      return;
    }
    // A page loaded since the last poll: what came meanwhile (a call ringing, a reminder) is
    // asked for once; so is a call's card that the last page showed.
    var seen = remembered(VERSION, null);
    var changed = seen !== null && seen !== bell.getAttribute("data-version");
    var ringing = remembered(CARD, 0) > Date.now();
    if (changed || ringing) {
      var url = bell.getAttribute("hx-get").replace(/version=[^&]*/, "version=" + encodeURIComponent(changed ? seen : ""));
      htmx.ajax("GET", url, {source: bell, target: "#bell", swap: "outerHTML"}).catch(function () {});
    } else {
      remember(VERSION, bell.getAttribute("data-version"));
    }
  });
})();
