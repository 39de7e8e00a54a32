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

  // The export block of a request: the download leaves the page as it is, so once the file has been
  // produced, fetch the block again (same origin, no inline script) and put it in place: it then says
  // when the export was produced and asks how it was handed over. Without script a reload shows it.
  function watchExportBlock(block) {
    var url = block.getAttribute("data-refresh");
    var before = block.getAttribute("data-produced");
    var tries = 0;
    function poll() {
      tries += 1;
      fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}}).then(function (response) {
        return response.ok ? response.text() : "";
      }).then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-refresh]");
        if (fresh && fresh.getAttribute("data-produced") !== before) {
          var current = document.getElementById(block.id) || block;
          var imported = document.importNode(fresh, true);
          current.replaceWith(imported);
          bindExportBlock(imported);
        } else if (tries < 30) {
          window.setTimeout(poll, 700);
        }
      }).catch(function () {
        if (tries < 30) { window.setTimeout(poll, 1500); }
      });
    }
    window.setTimeout(poll, 500);
  }

  function bindExportBlock(block) {
    var form = block.querySelector("form[data-download]");
    if (form) {
      form.addEventListener("submit", function (event) {
        // "Send by email" shows a page of its own; only the downloads leave this page in place.
        var via = event.submitter && event.submitter.getAttribute("formaction");
        if (!via || /export\.(pdf|zip)$/.test(via)) { watchExportBlock(block); }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var blocks = document.querySelectorAll("section[data-refresh]");
    for (var i = 0; i < blocks.length; i += 1) { bindExportBlock(blocks[i]); }
  });
})();
