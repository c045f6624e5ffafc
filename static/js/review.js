/* Review pages: small enhancements; every page works without them.
   - "select all" checkbox of the queue (shown only when this script runs);
   - the verify form marks the reason as required while the chosen level differs from the
     self-assessed one. Event delegation, because htmx replaces the queue's results. */
(function () {
  "use strict";

  function revealSelectAll(root) {
    root.querySelectorAll("input.select-all[hidden]").forEach(function (box) {
      box.hidden = false;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("input.select-all")) {
      var form = target.closest("form");
      form.querySelectorAll("input.select-row").forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.matches(".level-choice input[type=radio]")) {
      updateReasonRequirement(target.closest("form"));
    }
  });

  function updateReasonRequirement(form) {
    if (!form) { return; }
    var fieldset = form.querySelector(".level-choice");
    var reason = form.querySelector("textarea[name=reason]");
    var chosen = form.querySelector(".level-choice input[type=radio]:checked");
    if (!fieldset || !reason || !chosen) { return; }
    var differs = chosen.value !== fieldset.getAttribute("data-self-level");
    reason.required = differs;
    reason.setAttribute("aria-required", differs ? "true" : "false");
  }

  function init(root) {
    revealSelectAll(root);
    root.querySelectorAll(".level-choice").forEach(function (fieldset) {
      updateReasonRequirement(fieldset.closest("form"));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
}());
