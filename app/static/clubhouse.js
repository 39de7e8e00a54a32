/* Clubhouse's only script: small helps that the pages work without. */
(function () {
  "use strict";
  // A form that came back with errors: put the cursor in the first field in error, so the user
  // starts where the problem is (screen readers then read its label and message).
  document.addEventListener("DOMContentLoaded", function () {
    var first = document.querySelector(
      ".has-error input:not([type=hidden]), .has-error select, .has-error textarea, [aria-invalid=true]");
    if (first) {
      first.focus();
      if (first.scrollIntoView) { first.scrollIntoView({block: "center"}); }
    }
  });
})();
