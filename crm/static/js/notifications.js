// The bell: while a page is open, reminders and new leads also show as the browser's own
// notifications, once each (across tabs), if the person allowed them with the button on the
// notifications page. The poll itself is htmx's (hx-trigger on #bell).
(function () {
  "use strict";

  var SHOWN = "crm-alerts-shown";
  var VERSION = "crm-bell-version";

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

  document.addEventListener("htmx:after:settle", function () {
    var bell = document.getElementById("bell");
    if (bell) {
      showAlerts(bell);
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
    if (!bell || !window.htmx || !supported() || Notification.permission !== "granted") {
      return;
    }
    // A page loaded since the last poll: what came meanwhile is asked for once.
    var seen = remembered(VERSION, null);
    if (seen !== null && seen !== bell.getAttribute("data-version")) {
      var url = bell.getAttribute("hx-get").replace(/version=[^&]*/, "version=" + encodeURIComponent(seen));
      htmx.ajax("GET", url, {source: bell, target: "#bell", swap: "outerHTML"}).catch(function () {});
    } else {
      remember(VERSION, bell.getAttribute("data-version"));
    }
  });
})();
