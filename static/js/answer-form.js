/* Answer page: never lose typed text, and move focus to what needs attention after htmx swaps.
   Loaded as a static file (no inline script), so a strict Content-Security-Policy holds. */
(function () {
  "use strict";

  var FORM_ID = "answer-form";
  var dirty = false;

  function inAnswerForm(element) {
    return element && element.form && element.form.id === FORM_ID;
  }

  function markFromEditor() {
    // The server re-rendered input it did not save (refused, or a conflict): still unsaved.
    var editor = document.getElementById("answer-editor");
    dirty = Boolean(editor && editor.dataset.unsaved === "true");
  }

  document.addEventListener("input", function (event) {
    if (inAnswerForm(event.target)) { dirty = true; }
  });
  document.addEventListener("change", function (event) {
    if (inAnswerForm(event.target)) { dirty = true; }
  });
  document.addEventListener("submit", function (event) {
    if (event.target && event.target.id === FORM_ID) { dirty = false; }
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // The editor is swapped with outerHTML, so it is looked up again after every swap.
  document.addEventListener("htmx:afterSwap", function () {
    markFromEditor();
    var attention = document.querySelector("#answer-editor .error-summary, #answer-editor .missing-box");
    if (attention) { attention.focus(); }
  });

  markFromEditor();
  // After a refused post without htmx the page reloads with the errors: start there.
  var initial = document.querySelector(".error-summary, .missing-box");
  if (initial) { initial.focus(); }
}());
