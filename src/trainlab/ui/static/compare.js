// Compare page: every metric column overlaid across the selected runs.
"use strict";
(function () {
  const names = window.RUN_NAMES;
  const $ = id => document.getElementById(id);
  const path = n => "/api/run/" + n.split("/").map(encodeURIComponent).join("/");
  Promise.all(names.map(n => fetch(path(n)).then(r => r.json()))).then(runs => {
    const bad = runs.filter(r => r.error);
    if (bad.length) { $("banner").hidden = false; $("banner").textContent = bad.map(r => r.error).join("; "); }
    const ok = runs.filter(r => !r.error);
    const columns = [];
    for (const r of ok) for (const k of Object.keys(r.metrics || {})) if (k !== "epoch" && !columns.includes(k)) columns.push(k);
    columns.sort((a, b) => (a === "lr") - (b === "lr") || (!/loss/.test(a)) - (!/loss/.test(b)) || a.localeCompare(b));
    for (const col of columns) {
      const id = "cmp-" + col.replace(/[^a-z0-9]/gi, "_");
      TL.addCard($("charts"), id, col);
      const series = ok.filter(r => r.metrics[col]).map(r => ({ name: r.name, data: TL.xy(r.metrics.epoch, r.metrics[col]) }));
      TL.lines(id, series, { xName: "epoch" });
    }
    // settings that differ
    const settings = ok.map(r => (r.info && r.info.settings) || {});
    const keys = Array.from(new Set(settings.flatMap(s => Object.keys(s)))).sort();
    const differ = keys.filter(k => new Set(settings.map(s => JSON.stringify(s[k]))).size > 1);
    const head = "<tr><th></th>" + ok.map(r => `<th>${TL.esc(r.name)}</th>`).join("") + "</tr>";
    $("diff").innerHTML = differ.length ? head + differ.map(k => `<tr><th>${TL.esc(k)}</th>` + settings.map(s => `<td>${TL.esc(JSON.stringify(s[k]))}</td>`).join("") + "</tr>").join("")
      : "<tr><td class='muted'>the runs' settings are the same</td></tr>";
    const finals = ok.map(r => (r.info && r.info.final) || {});
    const fk = Array.from(new Set(finals.flatMap(f => Object.keys(f)))).sort();
    $("finals").innerHTML = fk.length ? head + fk.map(k => `<tr><th>${TL.esc(k)}</th>` + finals.map(f => `<td>${TL.fmt(f[k])}</td>`).join("") + "</tr>").join("") : "<tr><td class='muted'>no final metrics yet</td></tr>";
    document.body.dataset.ready = "1";
  });
})();
