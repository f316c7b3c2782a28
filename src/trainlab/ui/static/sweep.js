// Sweep page: parallel coordinates of the swept settings and the metric, and a heatmap of
// the metric over two settings (mean over seeds), from results.csv.
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  const name = window.SWEEP_NAME;
  fetch("/api/sweep/" + name.split("/").map(encodeURIComponent).join("/")).then(r => r.json()).then(d => {
    if (d.error) { $("banner").hidden = false; $("banner").textContent = d.error; return; }
    const metric = d.metric || "metric";
    const trials = d.trials;
    const done = trials.filter(t => t.metric !== null);
    $("summary").textContent = `${trials.length} trials, ${done.length} with ${metric}`;
    // parallel coordinates
    const dims = d.params.map((p, i) => {
      const k = d.kinds[p];
      const vals = k.values.filter(v => typeof v === "number");
      const log = k.numeric && vals.length > 1 && vals[0] > 0 && vals[vals.length - 1] / vals[0] >= 100;
      return k.numeric ? { dim: i, name: p, type: log ? "log" : "value", scale: true }
                       : { dim: i, name: p, type: "category", data: k.values.map(String) };
    });
    dims.push({ dim: d.params.length, name: metric, type: "value", scale: true });
    const rows = done.map(t => d.params.map(p => d.kinds[p].numeric ? t.params[p] : String(t.params[p])).concat([t.metric]));
    const values = done.map(t => t.metric);
    const lo = Math.min(...values), hi = Math.max(...values);
    TL.chart("parallel").setOption({
      animation: false,
      parallelAxis: dims,
      parallel: { left: 60, right: 90, top: 40, bottom: 30 },
      visualMap: values.length ? { show: true, min: lo, max: hi, precision: 3, dimension: d.params.length, right: 0, top: 40,
        inRange: { color: ["#dc2626", "#facc15", "#16a34a"] }, calculable: true } : undefined,
      series: [{ type: "parallel", lineStyle: { width: 1.5, opacity: 0.7 }, data: rows }],
    });
    // heatmap
    const sx = $("hx"), sy = $("hy");
    for (const p of d.params) { sx.add(new Option(p, p)); sy.add(new Option(p, p)); }
    if (d.params.length > 1) sy.selectedIndex = 1;
    function heat() {
      const px = sx.value, py = sy.value;
      if (!px) return;
      const xs = d.kinds[px].values.map(String), ys = d.kinds[py].values.map(String);
      const sums = new Map();
      for (const t of done) {
        const key = String(t.params[px]) + "\u0000" + String(t.params[py]);
        const s = sums.get(key) || [0, 0];
        s[0] += t.metric; s[1] += 1; sums.set(key, s);
      }
      const data = [];
      sums.forEach((s, key) => { const [a, b] = key.split("\u0000"); data.push([xs.indexOf(a), ys.indexOf(b), s[0] / s[1]]); });
      TL.chart("heatmap").setOption({
        animation: false,
        tooltip: { formatter: p => `${px}=${xs[p.value[0]]}, ${py}=${ys[p.value[1]]}: ${TL.fmt(p.value[2])}` },
        grid: { left: 110, right: 90, top: 30, bottom: 50 },
        xAxis: { type: "category", data: xs, name: px, nameLocation: "middle", nameGap: 30 },
        yAxis: { type: "category", data: ys, name: py, nameLocation: "middle", nameGap: 95 },
        visualMap: { min: lo, max: hi, precision: 3, calculable: true, right: 0, top: "middle", inRange: { color: ["#dc2626", "#facc15", "#16a34a"] } },
        series: [{ type: "heatmap", data: data, label: { show: true, formatter: p => TL.fmt(p.value[2]) } }],
      }, { notMerge: true });
    }
    sx.addEventListener("change", heat); sy.addEventListener("change", heat);
    heat();
    const head = ["trial", "seed", "status", metric, ...d.params, "run"];
    $("trials").innerHTML = "<thead><tr>" + head.map(h => `<th>${TL.esc(h)}</th>`).join("") + "</tr></thead><tbody>" +
      trials.map(t => "<tr>" + [t.trial, t.seed, `<span class="badge ${TL.esc(t.status)}">${TL.esc(t.status)}</span>`, TL.fmt(t.metric)].map((v, i) => `<td>${i === 2 ? v : TL.esc(v)}</td>`).join("") +
        d.params.map(p => `<td>${TL.esc(t.params[p] === null ? "" : t.params[p])}</td>`).join("") +
        `<td>${t.run ? `<a href="/runs/${t.run.split("/").map(encodeURIComponent).join("/")}">${TL.esc(t.run)}</a>` : ""}</td></tr>`).join("") + "</tbody>";
    document.body.dataset.ready = "1";
  });
})();
