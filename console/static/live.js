// Live updates of the Now page: polls /api/now every two seconds and
// rewrites the figures of the runs in progress. The page works without it;
// a run that starts or ends reloads the page.
(function () {
  "use strict";
  var table = document.getElementById("live-runs");
  var none = document.getElementById("no-runs");
  if (!table && !none) { return; }
  var marker = document.getElementById("live");
  function fmtETA(r) {
    var rate = r.WindowSeconds > 0 ? r.SentLastMinute / r.WindowSeconds : 0;
    if (r.Pending === 0) { return "0s"; }
    if (rate <= 0) { return "—"; }
    var s = Math.round(r.Pending / rate), out = "";
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    if (h) { out += h + "h"; }
    if (h || m) { out += m + "m"; }
    return out + (s % 60) + "s";
  }
  function update(data) {
    var runs = data.Runs || [];
    var shown = table ? table.querySelectorAll("tr[data-run]").length : 0;
    if (runs.length !== shown) { location.reload(); return; }
    for (var i = 0; i < runs.length; i++) {
      var r = runs[i];
      var row = table.querySelector('tr[data-run="' + r.RunID + '"]');
      if (!row) { location.reload(); return; }
      var set = function (f, v) { var el = row.querySelector('[data-f="' + f + '"]'); if (el) { el.textContent = v; } };
      ["Total", "Sent", "Failed", "Unknown", "Pending"].forEach(function (f) { set(f, r[f]); });
      set("Rate", (r.WindowSeconds > 0 ? r.SentLastMinute / r.WindowSeconds : 0).toFixed(2));
      set("ETA", fmtETA(r));
      var bar = row.querySelector('[data-f="Progress"]');
      if (bar) { bar.max = r.Total; bar.value = r.Sent + r.Failed + r.Unknown + r.Skipped; }
    }
    if (marker) { marker.hidden = false; }
  }
  function poll() {
    fetch("/api/now", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (resp) { if (!resp.ok) { throw new Error(resp.status); } return resp.json(); })
      .then(update)
      .catch(function () { if (marker) { marker.hidden = true; } })
      .finally(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();
