// The service worker. It keeps the app's static files (styles, scripts, icons: the same for
// everyone), so pages start fast and a page already open keeps working without signal.
// It never keeps a page: pages are one person's, and they come from the server every time.
// The server puts `self.SHELL` before this code: the version of the static files and their
// addresses (crm/installable.py).
"use strict";

var CACHE_PREFIX = "crm-static-";
var CACHE = CACHE_PREFIX + self.SHELL.version;
var KEPT = new Set(self.SHELL.files);

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll(self.SHELL.files); })
      .then(function () { return self.skipWaiting(); })
  );
});

// A new version takes over at once and drops the files of the versions before it.
self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.startsWith(CACHE_PREFIX) && name !== CACHE;
        }).map(function (name) { return caches.delete(name); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

// Only the listed static files are answered from the cache; every other request (pages,
// fragments, posts) is left to the browser and the network, as if there were no worker.
self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.search ||
      !KEPT.has(url.pathname)) {
    return;
  }
  event.respondWith(
    caches.open(CACHE).then(function (cache) {
      return cache.match(request).then(function (kept) {
        return kept || fetch(request).then(function (response) {
          if (response.ok) {
            cache.put(request, response.clone());
          }
          return response;
        });
      });
    })
  );
});

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
