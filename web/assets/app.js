// sopflow pages: the little the server cannot do. No inline handlers (the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // A refused form: take the keyboard to the list of what to fix.
    var errors = document.getElementById("form-errors");
    if (errors) { errors.focus(); }
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  });
})();
