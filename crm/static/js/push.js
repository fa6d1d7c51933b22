// My account → notifications on this device: subscribe this browser to Web Push through the
// service worker and hand the subscription to the server (crm/auth/devices.py).
(function () {
  "use strict";

  // A browser without network to its push service may never answer: say so rather than wait.
  var SUBSCRIBE_TIMEOUT_MS = 20000;

  var section = document.getElementById("devices");
  if (!section) {
    return;
  }
  var status = document.getElementById("push-status");
  var onButton = document.getElementById("push-on");
  var offButton = document.getElementById("push-off");

  function say(name, reason) {
    var text = status.dataset[name] || "";
    status.textContent = text.replace("{reason}", reason || "");
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () {
        return {};
      }).then(function (answer) {
        if (!response.ok) {
          throw new Error(answer.error || response.status + " " + response.statusText);
        }
        return answer;
      });
    });
  }

  function withTimeout(promise, message) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        reject(new Error(message));
      }, SUBSCRIBE_TIMEOUT_MS);
      promise.then(function (value) {
        clearTimeout(timer);
        resolve(value);
      }, function (error) {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  // The key as the browser wants it: bytes, from base64url.
  function keyBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function workerRegistration() {
    // The service worker of the installable app, or this one made for push alone: the same.
    return navigator.serviceWorker.register(section.dataset.pushWorker, { scope: "/" })
      .then(function () {
        return navigator.serviceWorker.ready;
      });
  }

  function markThisDevice(endpoint) {
    var known = false;
    section.querySelectorAll("tr[data-endpoint]").forEach(function (row) {
      var mine = row.dataset.endpoint === endpoint;
      row.querySelector(".this-device").hidden = !mine;
      known = known || mine;
    });
    return known;
  }

  function showState() {
    navigator.serviceWorker.getRegistration("/").then(function (registration) {
      return registration ? registration.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      var on = subscription && markThisDevice(subscription.endpoint);
      onButton.hidden = !!on;
      offButton.hidden = !on;
      if (!on && Notification.permission === "denied") {
        say("blocked");
      }
    }).catch(function () {
      onButton.hidden = false;
    });
  }

  function turnOn() {
    onButton.disabled = true;
    say("working");
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        say("blocked");
        return null;
      }
      var subscribing = Promise.all([
        workerRegistration(),
        fetch(section.dataset.pushKey, { credentials: "same-origin" }).then(function (r) {
          return r.json();
        }),
      ]).then(function (both) {
        return both[0].pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(both[1].applicationServerKey),
        });
      });
      return withTimeout(subscribing, "no answer from the push service")
        .catch(function (error) {
          say("failed", error.message || error.name);
          return null;
        })
        .then(function (subscription) {
          if (!subscription) {
            return;
          }
          var saving = postJSON(section.dataset.pushSubscribe, subscription.toJSON());
          return saving.then(function () {
            // The page shows the device in the list, and the server's message.
            window.location.reload();
          }, function (error) {
            say("notSaved", error.message);
          });
        });
    }).catch(function (error) {
      say("failed", error.message || error.name);
    }).then(function () {
      onButton.disabled = false;
    });
  }

  function turnOff() {
    offButton.disabled = true;
    navigator.serviceWorker.getRegistration("/").then(function (registration) {
      return registration ? registration.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      if (!subscription) {
        return null;
      }
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () {
        return postJSON(section.dataset.pushUnsubscribe, { endpoint: endpoint });
      });
    }).then(function () {
      window.location.reload();
    }, function (error) {
      say("notSaved", error.message);
      offButton.disabled = false;
    });
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) ||
      !("Notification" in window)) {
    say("unsupported");
    return;
  }
  onButton.addEventListener("click", turnOn);
  offButton.addEventListener("click", turnOff);
  showState();
})();
