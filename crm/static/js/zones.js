// Time zone picks (select[data-zone-picker]): a search box above the long list narrows it to
// the zones whose city, region or name holds every word typed ("влад", "new york", "asia/").
// On the setup page (select[data-browser-zone]) the browser's own zone is chosen to begin
// with. Without JavaScript the list still works, Russia's zones first.
(function () {
  "use strict";

  function words(text) {
    return text.toLocaleLowerCase().replace(/[_/]+/g, " ").split(/\s+/).filter(Boolean);
  }

  function searchableText(option) {
    var group = option.parentElement.tagName === "OPTGROUP" ? option.parentElement.label : "";
    return words([option.textContent, option.value, group].join(" ")).join(" ");
  }

  function narrow(select, typed) {
    var wanted = words(typed);
    var firstShown = null;
    Array.prototype.forEach.call(select.options, function (option) {
      var text = searchableText(option);
      var shown = wanted.every(function (word) {
        return text.indexOf(word) !== -1;
      });
      option.hidden = !shown;
      if (shown && !firstShown) {
        firstShown = option;
      }
    });
    select.querySelectorAll("optgroup").forEach(function (group) {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
    // The closed list shows the first match, so what was found is seen without opening it.
    var chosen = select.options[select.selectedIndex];
    if (firstShown && (!chosen || chosen.hidden)) {
      select.value = firstShown.value;
    }
  }

  function addSearchBox(select) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "zone-search";
    box.id = select.id + "-search";
    box.autocomplete = "off";
    box.placeholder = select.getAttribute("data-zone-picker");
    box.setAttribute("aria-label", select.getAttribute("data-zone-picker"));
    box.setAttribute("aria-controls", select.id);
    box.addEventListener("input", function () {
      narrow(select, box.value);
    });
    // Enter in the box would send the form before the person has looked at the choice.
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        select.focus();
      }
    });
    select.parentNode.insertBefore(box, select);
  }

  function chooseBrowserZone(select) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) {
      return;
    }
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === zone;
    });
    if (!known) {
      // An older name of a zone the list offers under its new one (Asia/Calcutta): the
      // server knows both.
      var option = document.createElement("option");
      option.value = zone;
      option.textContent = zone;
      select.insertBefore(option, select.firstChild);
    }
    select.value = zone;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-zone-picker]").forEach(addSearchBox);
    document.querySelectorAll("select[data-browser-zone]").forEach(chooseBrowserZone);
  });
})();
