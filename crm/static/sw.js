// The service worker, served at /sw.js with the whole site as its scope.
"use strict";

// ---- Web Push: begin (crm/push.py sends; My account subscribes, static/js/push.js) ----
// A push carries {"title", "body", "url", "tag"} as JSON. A notification with the tag of one
// already shown replaces it, so a message sent twice shows once.
self.addEventListener("push", function (event) {
  var message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = { body: event.data ? event.data.text() : "" };
  }
  var options = { body: message.body || "", data: { url: message.url || "/" } };
  if (message.tag) {
    options.tag = message.tag;
  }
  event.waitUntil(self.registration.showNotification(message.title || "CRM", options));
});

// A tap on the notification opens its page: in a tab of ours already open, or a new one. Only
// our own pages: an address elsewhere opens the start page instead.
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/",
    self.location.origin);
  if (target.origin !== self.location.origin) {
    target = new URL("/", self.location.origin);
  }
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (tabs) {
      for (var i = 0; i < tabs.length; i++) {
        if (new URL(tabs[i].url).origin === target.origin && "navigate" in tabs[i]) {
          // A tab the worker does not control cannot be navigated: open a new one then.
          return tabs[i].focus().then(function (tab) {
            return tab.navigate(target.href);
          }).catch(function () {
            return self.clients.openWindow(target.href);
          });
        }
      }
      return self.clients.openWindow(target.href);
    })
  );
});
// ---- Web Push: end ----
