// The queue display board: announce each new call with a chime and the call spoken in
// Bahasa Indonesia (speech synthesis, id-ID); show when the event stream is down (htmx's SSE
// extension reconnects by itself). Browsers only play sound after a first click or key:
// the "sound" button is that click.
(function () {
  "use strict";
  var soundOn = false;
  var lastAt = null;
  var audio = null;

  function chime() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    audio = audio || new Ctx();
    [660, 880].forEach(function (freq, i) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      var t = audio.currentTime + i * 0.35;
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.4, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.6);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.65);
    });
  }

  // "A-014" is read letter by letter and number by number: "A, nol satu empat".
  function spoken(number) {
    return number.split("").map(function (ch) {
      return ch === "-" ? "," : ch;
    }).join(" ");
  }

  function speak(number, counter) {
    if (!("speechSynthesis" in window)) { return; }
    var body = document.body;
    var lang = body.getAttribute("data-lang") === "en" ? "en-US" : "id-ID";
    var text = (lang === "id-ID" ? "Nomor antrian " : "Number ") + spoken(number) +
      (counter ? ", " + body.getAttribute("data-to-counter") + " " + counter : "");
    var u = new SpeechSynthesisUtterance(text);
    u.lang = lang;
    u.rate = 0.9;
    window.speechSynthesis.speak(u);
  }

  function announce() {
    var call = document.querySelector("#board .now .call");
    if (!call) { return; }
    var at = call.getAttribute("data-at");
    if (at === lastAt) { return; }
    var first = lastAt === null;
    lastAt = at;
    call.classList.add("fresh");
    if (first || !soundOn) { return; }
    chime();
    var number = call.getAttribute("data-number");
    var counter = call.getAttribute("data-counter");
    window.setTimeout(function () { speak(number, counter); }, 800);
  }

  document.addEventListener("DOMContentLoaded", function () {
    announce();
    var button = document.getElementById("sound");
    if (button) {
      button.addEventListener("click", function () {
        soundOn = true;
        chime();
        button.textContent = button.getAttribute("data-on");
        button.setAttribute("aria-pressed", "true");
      });
    }
    var status = document.getElementById("connection");
    document.body.addEventListener("htmx:sseError", function () { if (status) { status.hidden = false; } });
    // How many times the stream opened: a reconnection after a restart shows as one more.
    document.body.addEventListener("htmx:sseOpen", function () {
      if (status) { status.hidden = true; }
      document.body.setAttribute("data-opened", String(Number(document.body.getAttribute("data-opened") || "0") + 1));
    });
    document.body.addEventListener("htmx:afterSettle", announce);
  });
})();
