// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches && el.matches("[data-autosubmit]")) { el.form.submit(); }
  });
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var msg = form.getAttribute && form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });
  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches("[data-select]")) { e.target.select(); }
  });
  // Sync progress: refresh the numbers in place; reload once it has ended
  // (without JavaScript the page refreshes itself through <noscript>).
  var poll = document.querySelector("[data-poll]");
  if (poll && window.fetch) {
    var ended = { succeeded: 1, partial: 1, failed: 1 };
    var tick = function () {
      fetch(poll.getAttribute("data-poll"), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (run) {
          if (!run) { return; }
          if (ended[run.status]) { window.location.reload(); return; }
          ["created", "updated", "skipped", "failed", "message"].forEach(function (k) {
            var el = document.querySelector('[data-field="' + k + '"]');
            if (el && run[k] !== null && run[k] !== undefined) { el.textContent = run[k]; }
          });
          window.setTimeout(tick, 2000);
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    };
    window.setTimeout(tick, 1500);
  }
  var filter = document.querySelector("input[data-filter]");
  if (filter) {
    filter.addEventListener("input", function () {
      var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      document.querySelectorAll(filter.getAttribute("data-filter")).forEach(function (card) {
        var hay = card.getAttribute("data-search") || "";
        card.hidden = !words.every(function (w) { return hay.indexOf(w) !== -1; });
      });
    });
  }
})();
