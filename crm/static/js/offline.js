// Logging without signal. A log form sent while the phone has no connection (or whose request
// never reached an answer) is kept in the browser (IndexedDB), listed as waiting to be sent,
// and sent by itself when the connection returns: on the "online" event, as a page loads, and
// every half minute. Each keeps the form's idempotency key, so a contact sent twice (an answer
// lost on the way back) is saved once. The form is cleared with a new key for the next contact.
// Also registers the service worker (static/sw.js, served at /sw.js).
(function () {
  "use strict";

  var script = document.currentScript;
  if ("serviceWorker" in navigator && script && script.dataset.serviceWorker) {
    // Without it the app still works online; nothing to tell the person.
    navigator.serviceWorker.register(script.dataset.serviceWorker).catch(function () {});
  }

  var DATABASE = "crm-offline";
  var STORE = "contacts";
  var RETRY_MS = 30000;
  var STAGE_ERRORS = "#log-stage-error, #lost_reason_id-error, #value-error";

  // The store: entries in the order they were logged.

  function openStore() {
    return new Promise(function (resolve, reject) {
      var opening = indexedDB.open(DATABASE, 1);
      opening.onupgradeneeded = function () {
        opening.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      };
      opening.onsuccess = function () { resolve(opening.result); };
      opening.onerror = function () { reject(opening.error); };
    });
  }

  function inStore(mode, act) {
    return openStore().then(function (database) {
      return new Promise(function (resolve, reject) {
        var transaction = database.transaction(STORE, mode);
        var request = act(transaction.objectStore(STORE));
        transaction.oncomplete = function () {
          database.close();
          resolve(request && request.result);
        };
        transaction.onerror = function () {
          database.close();
          reject(transaction.error);
        };
      });
    });
  }

  function allEntries() {
    return inStore("readonly", function (store) { return store.getAll(); });
  }

  function saveEntry(entry) {
    return inStore("readwrite", function (store) { return store.put(entry); });
  }

  function removeEntry(id) {
    return inStore("readwrite", function (store) { return store.delete(id); });
  }

  // The list on the page: the signed-in person's waiting contacts.

  function queueArea() {
    return document.getElementById("offline-queue");
  }

  function words(name) {
    var area = queueArea();
    return (area && area.dataset[name]) || "";
  }

  function mine(entries) {
    var area = queueArea();
    return entries.filter(function (entry) { return area && entry.owner === area.dataset.owner; });
  }

  function element(tag, className, text) {
    var made = document.createElement(tag);
    if (className) {
      made.className = className;
    }
    if (text) {
      made.textContent = text;
    }
    return made;
  }

  function entryItem(entry) {
    var item = element("li", "offline-entry" + (entry.refused ? " offline-refused" : ""));
    item.dataset.entry = entry.id;
    item.appendChild(element("strong", "", entry.label));
    item.appendChild(document.createTextNode(" · " + entry.when));
    if (entry.body) {
      item.appendChild(element("span", "offline-body", entry.body));
    }
    var state = entry.refused ? words("notSent") + " " + entry.refused : words("waiting");
    item.appendChild(element("span", "offline-state", state));
    if (entry.refused) {
      var actions = element("span", "offline-actions");
      [["retry", words("tryAgain")], ["discard", words("discard")]].forEach(function (pair) {
        var button = element("button", "link", pair[1]);
        button.type = "button";
        button.dataset.offlineAction = pair[0];
        button.setAttribute("aria-label", pair[1] + ": " + entry.label);
        actions.appendChild(button);
      });
      item.appendChild(actions);
    }
    return item;
  }

  function showQueue() {
    var area = queueArea();
    if (!area || !window.indexedDB) {
      return Promise.resolve();
    }
    return allEntries().then(function (entries) {
      entries = mine(entries);
      var shown = Array.prototype.map.call(area.querySelectorAll("[data-entry]"), function (item) {
        return item.outerHTML;
      }).join("");
      var items = entries.map(entryItem);
      // Drawn again only when something changed, so the live region says only what is new.
      if (items.map(function (item) { return item.outerHTML; }).join("") === shown) {
        return;
      }
      area.replaceChildren();
      if (!items.length) {
        return;
      }
      var heading = element("h2", "", words("heading"));
      var list = element("ul", "offline-list");
      items.forEach(function (item) { list.appendChild(item); });
      area.append(heading, list);
    });
  }

  function tell(text, kind) {
    var messages = document.getElementById("messages");
    if (messages && text) {
      messages.appendChild(element("p", "message message-" + kind, text));
    }
  }

  // Keeping a form that could not be sent.

  function isQueued(form) {
    return form && form.matches && form.matches("form[data-offline-queue]") && queueArea() &&
      window.indexedDB;
  }

  function localMinute(date) {
    // A datetime-local value ("2026-03-07T14:05") of a moment given in the same wall-clock.
    return date.toISOString().slice(0, 16);
  }

  function newKey() {
    if (crypto.randomUUID) {
      return crypto.randomUUID();
    }
    return Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(18)), function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  function fieldsOf(form, asSent) {
    var fields = [];
    new FormData(form).forEach(function (value, name) { fields.push([name, String(value)]); });
    // Left as offered, the time means "now" to the server; sent later, "now" is the moment
    // it is logged here: the offered time plus the time since the form was drawn. Not for a
    // form already sent that got no answer: the server may have it, and the same key must
    // come with the same request.
    var offered = form.querySelector("[name=offered_time]");
    var occurred = form.querySelector("[name=occurred_at]");
    if (!asSent && offered && occurred && offered.value &&
        occurred.value === offered.value.slice(0, 16)) {
      var drawn = Number(form.dataset.drawnAt || Date.now());
      var now = new Date(Date.parse(offered.value.slice(0, 19) + "Z") + Date.now() - drawn);
      fields = withField(withField(fields, "occurred_at", localMinute(now)), "offered_time", "");
    }
    return fields;
  }

  function withField(fields, name, value) {
    var found = false;
    var changed = fields.map(function (pair) {
      if (pair[0] !== name) {
        return pair;
      }
      found = true;
      return [name, value];
    });
    return found ? changed : changed.concat([[name, value]]);
  }

  function field(fields, name) {
    var pair = fields.find(function (each) { return each[0] === name; });
    return pair ? pair[1] : "";
  }

  function stageChosen(form) {
    // The status the form was drawn with is the lead's status then, not a choice of the
    // person's: if the lead moved meanwhile, that would move it back.
    var checked = form.querySelector("input[name=stage_id]:checked");
    return Boolean(checked && !checked.defaultChecked);
  }

  function keep(form, asSent) {
    var area = queueArea();
    var fields = fieldsOf(form, asSent);
    var entry = {
      owner: area.dataset.owner,
      url: form.getAttribute("action"),
      page: location.pathname,
      fresh: form.dataset.offlineFresh,
      label: form.dataset.offlineLabel,
      when: field(fields, "occurred_at").replace("T", " "),
      body: field(fields, "body").slice(0, 200),
      fields: fields,
      stageChosen: stageChosen(form),
      // Sent already, it is sent again as it was (see fieldsOf).
      stageSettled: Boolean(asSent),
    };
    form.reset();
    form.querySelector("[name=idempotency_key]").value = newKey();
    form.dataset.drawnAt = String(Date.now());
    showAsReset(form);
    return saveEntry(entry).then(showQueue);
  }

  function showAsReset(form) {
    // The status's own fields (app.js) and the day buttons' pressed state (next_step.js)
    // follow the fields as they are again. No "input" event: it would ask the server for the
    // day's preview, with no connection to ask through.
    var stage = form.querySelector("input[name=stage_id]:checked");
    if (stage) {
      stage.dispatchEvent(new Event("change", { bubbles: true }));
    }
    var day = form.querySelector("input[name=next_step_when]");
    form.querySelectorAll("[data-typed]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(day && button.dataset.typed === day.value.trim()));
    });
  }

  // Intercepted before htmx sends it when the browser knows it is offline, so nothing fails.
  document.addEventListener("htmx:before:request", function (event) {
    var form = event.detail.ctx && event.detail.ctx.sourceElement;
    if (!navigator.onLine && isQueued(form)) {
      event.preventDefault();
      keep(form);
    }
  });

  // Online in name only (a tunnel, a weak cell): the request got no answer at all.
  document.addEventListener("htmx:error", function (event) {
    var ctx = event.detail.ctx;
    var error = event.detail.error;
    var unanswered = error instanceof TypeError || (error && error.name === "AbortError");
    if (ctx && !ctx.response && unanswered && isQueued(ctx.sourceElement)) {
      keep(ctx.sourceElement, true);
    }
  });

  function noteDrawnForms() {
    document.querySelectorAll("form[data-offline-queue]:not([data-drawn-at])").forEach(function (form) {
      form.dataset.drawnAt = String(Date.now());
    });
  }

  // Sending what waits.

  class Unsent extends Error {}

  function token() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function post(entry) {
    // The page's own token: the one kept may belong to a session since renewed.
    var fields = withField(entry.fields, "csrf_token", token());
    return fetch(entry.url, {
      method: "POST",
      body: new URLSearchParams(fields),
      headers: { "HX-Request": "true", "X-CSRFToken": token() },
      credentials: "same-origin",
    });
  }

  function parse(text) {
    return new DOMParser().parseFromString(text, "text/html");
  }

  function reasons(doc) {
    return Array.prototype.map.call(
      doc.querySelectorAll(".error, .form-errors p, .message"),
      function (node) { return node.textContent.trim(); }
    ).filter(Boolean).join(" ");
  }

  function currentStage(entry) {
    // The lead's status now, as a freshly drawn log form offers it.
    return fetch(entry.fresh, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) {
        return null;
      }
      return response.text().then(function (text) {
        var checked = parse(text).querySelector("#log-form input[name=stage_id]:checked");
        return checked ? checked.value : null;
      });
    }, function () { throw new Unsent(); });
  }

  async function settleStage(entry) {
    if (entry.stageChosen || entry.stageSettled) {
      return;
    }
    var stage = await currentStage(entry);
    if (stage) {
      entry.fields = withField(entry.fields, "stage_id", stage);
    }
    entry.stageSettled = true;
    await saveEntry(entry);
  }

  async function send(entry) {
    await settleStage(entry);
    var response;
    try {
      response = await post(entry);
    } catch (error) {
      throw new Unsent();
    }
    // A server error, or a session that ended (htmx would be sent to the login page): the
    // contact waits for a later try.
    if (response.status >= 500 || response.headers.get("HX-Redirect")) {
      throw new Unsent();
    }
    if (response.ok) {
      await removeEntry(entry.id);
      if (entry.stageRefused) {
        tell(words("stageKept").replace("{lead}", entry.label) + " " + entry.stageRefused,
          "warning");
      } else {
        tell(words("sent").replace("{lead}", entry.label), "success");
      }
      return entry;
    }
    var doc = parse(await response.text());
    // The status move was refused (the lead changed meanwhile): the contact itself is kept,
    // logged with the lead's status as it is now, and the person is told.
    if (response.status === 422 && doc.querySelector(STAGE_ERRORS) && !entry.stageRefused) {
      var stage = await currentStage(entry);
      if (stage) {
        entry.stageRefused = reasons(doc);
        entry.fields = withField(entry.fields, "stage_id", stage);
        await saveEntry(entry);
        return send(entry);
      }
    }
    entry.refused = reasons(doc) || String(response.status);
    await saveEntry(entry);
    return null;
  }

  async function sendWaiting() {
    var sent = [];
    var entries = mine(await allEntries()).filter(function (entry) { return !entry.refused; });
    for (var i = 0; i < entries.length; i += 1) {
      try {
        var done = await send(entries[i]);
        if (done) {
          sent.push(done);
        }
      } catch (error) {
        if (error instanceof Unsent) {
          break; // the rest wait, in order
        }
        throw error;
      }
    }
    return sent;
  }

  var sending = false;

  function sendAll() {
    if (!navigator.onLine || sending || !queueArea() || !window.indexedDB) {
      return Promise.resolve();
    }
    sending = true;
    // One tab at a time sends (the keys would keep a second from saving twice anyway).
    var locked = navigator.locks ?
      navigator.locks.request(DATABASE, { ifAvailable: true }, function (lock) {
        return lock ? sendWaiting() : [];
      }) :
      sendWaiting();
    return locked
      .then(function (sent) {
        if (sent.some(function (entry) { return entry.page === location.pathname; })) {
          return refreshPage();
        }
      })
      .finally(function () {
        sending = false;
        return showQueue();
      });
  }

  // The page's parts a contact changes, drawn again from the server, unless the person is
  // typing in one of them.

  function beingEdited(part) {
    return Array.prototype.some.call(part.querySelectorAll("textarea, input[type=text]"), function (input) {
      return input.value !== input.defaultValue;
    });
  }

  function refreshPage() {
    var parts = document.querySelectorAll("[data-refresh-after-send][id]");
    if (!parts.length) {
      return Promise.resolve();
    }
    return fetch(location.href, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (text) {
      var doc = parse(text);
      parts.forEach(function (part) {
        var fresh = doc.getElementById(part.id);
        if (fresh && !beingEdited(part)) {
          var adopted = document.importNode(fresh, true);
          part.replaceWith(adopted);
          if (window.htmx) {
            window.htmx.process(adopted);
          }
        }
      });
    }, function () {});
  }

  // A refused contact: sent again as it is (the lead may have been put right meanwhile), or let go.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-offline-action]");
    if (!button) {
      return;
    }
    var id = Number(button.closest("[data-entry]").dataset.entry);
    allEntries().then(function (entries) {
      var entry = entries.find(function (each) { return each.id === id; });
      if (!entry) {
        return null;
      }
      if (button.dataset.offlineAction === "discard") {
        return removeEntry(id);
      }
      delete entry.refused;
      delete entry.stageRefused;
      return saveEntry(entry);
    }).then(showQueue).then(sendAll);
  });

  window.addEventListener("online", sendAll);
  document.addEventListener("htmx:after:settle", noteDrawnForms);
  document.addEventListener("DOMContentLoaded", function () {
    noteDrawnForms();
    showQueue().then(sendAll);
    setInterval(sendAll, RETRY_MS);
  });
})();
