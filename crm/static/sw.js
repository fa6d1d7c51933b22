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

// Web Push: the "push" and "notificationclick" listeners go below.
