// Administrator pages: a YAML file chosen on the deploy page is read into the text area
// (the server receives text, as when it is pasted). No inline handlers (the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var file = document.getElementById("berkas-yaml");
    var text = document.getElementById("yaml");
    if (file && text) {
      file.addEventListener("change", function () {
        if (!file.files || !file.files[0]) { return; }
        file.files[0].text().then(function (content) { text.value = content; });
      });
    }
  });
})();
