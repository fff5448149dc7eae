// Skillstack's few enhancements. Every page works without them; the Content-Security-Policy allows
// scripts from this origin only, so there is no inline script or event handler anywhere.
(function () {
  "use strict";

  // "Copy the link" buttons: shown only where the browser can copy; the field stays selectable without them.
  function enableCopyButtons(root) {
    root.querySelectorAll("button[data-copy-target]").forEach(function (button) {
      if (!navigator.clipboard) return;
      button.hidden = false;
      if (button.dataset.copyReady) return;
      button.dataset.copyReady = "yes";
      button.addEventListener("click", function () {
        var field = document.getElementById(button.dataset.copyTarget);
        var status = document.getElementById(button.dataset.copyStatus);
        navigator.clipboard.writeText(field.value).then(function () {
          if (status) status.textContent = "Link copied.";
        }, function () {
          field.select();
          if (status) status.textContent = "Select the link and copy it.";
        });
      });
    });
  }

  // A read-only link field selects itself when focused, ready to copy.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("input[readonly][data-select-on-focus]")) event.target.select();
  });

  // After htmx swaps in a decided request or a finished import, move focus to what it announces.
  document.addEventListener("htmx:afterSettle", function () {
    var focus = document.querySelector("[data-focus-after-swap]");
    if (focus) {
      focus.removeAttribute("data-focus-after-swap");
      focus.focus();
    }
    enableCopyButtons(document);
  });

  // A fragment from another service (the start page's cards, the unread count) is an extra: when it
  // fails (the service is down, or not behind the same gateway) the page keeps what it had, its plain link.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status >= 400 && event.detail.elt.closest("[data-optional-fragment]")) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("DOMContentLoaded", function () { enableCopyButtons(document); });
})();
