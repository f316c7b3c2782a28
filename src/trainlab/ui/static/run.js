// Run page: learning curves, learning rate and layer health, live over server-sent events.
"use strict";
(function () {
  const name = window.RUN_NAME;
  const state = { metrics: {}, info: {}, monitor: null };
  const $ = id => document.getElementById(id);
  const banner = (text, bad) => { const b = $("banner"); b.hidden = !text; b.textContent = text || ""; b.className = "banner" + (bad ? " bad" : ""); };

  function drawCurves() {
    const m = state.metrics;
    const epochs = m.epoch || [];
    const cols = Object.keys(m).filter(k => k !== "epoch" && k !== "lr" && k !== "epoch_time");
    const losses = cols.filter(k => /loss|mse/.test(k));
    const others = cols.filter(k => !losses.includes(k));
    const series = losses.map(k => ({ name: k, data: TL.xy(epochs, m[k]) }));
    const other = others.map(k => ({ name: k, data: TL.xy(epochs, m[k]), dashed: true }));
    const c = TL.lines("curve", series.concat(other), { xName: "epoch" });
    if (other.length && series.length) {
      // a second axis for accuracy-like metrics
      c.setOption({
        yAxis: [{ type: "value", scale: true, name: "loss" }, { type: "value", scale: true, name: others.join(", ").slice(0, 30), position: "right" }],
        grid: { right: 50 },
        series: series.map(() => ({ yAxisIndex: 0 })).concat(other.map(() => ({ yAxisIndex: 1 }))),
      });
    }
    $("curve").dataset.points = String(epochs.length);
    if (m.lr) TL.lines("lr", [{ name: "lr", data: TL.xy(epochs, m.lr) }], { xName: "epoch" });
  }

  function byLayer(obj, log) {
    return Object.entries(obj || {}).map(([k, v]) => ({ name: k, data: log ? TL.positive(v) : v }));
  }

  function drawMonitor() {
    const mon = state.monitor;
    $("health").hidden = !mon;
    if (!mon) { $("monitor-note").textContent = "(none yet: a run writes monitor.json every 10 epochs and when it ends)"; return; }
    $("monitor-note").textContent = "";
    const sig = mon.signal || {};
    const depthChart = (id, field) => {
      const s = sig[field];
      if (!s) return;
      const labels = sig.labels || [];
      const series = [];
      if (s.theory && s.theory.length) series.push({ name: "theory (init)", data: s.theory.map((v, i) => [i, v]), dashed: true, color: "#111827" });
      series.push({ name: `step ${s.first_step}`, data: s.first.map((v, i) => [i, v]), color: "#93c5fd" });
      if (s.last_step !== s.first_step) series.push({ name: `step ${s.last_step}`, data: s.last.map((v, i) => [i, v]), color: "#2563eb" });
      const c = TL.lines(id, series.map(x => ({ ...x, data: TL.positive(x.data) })), { log: true, xName: "layer" });
      c.setOption({ xAxis: { type: "value", min: 0, max: Math.max(0, labels.length - 1), interval: 1, axisLabel: { formatter: v => labels[v] || "", fontSize: 9, rotate: 30 } } });
    };
    depthChart("signal", "out_std");
    depthChart("gradsignal", "grad_rms");
    TL.lines("outstd", byLayer(mon.layers.out_std, true), { log: true, xName: "step" });
    TL.lines("gradrms", byLayer(mon.layers.grad_rms, true), { log: true, xName: "step" });
    const ds = byLayer(mon.layers.dead).map(s => ({ ...s, name: s.name + " dead" }))
      .concat(byLayer(mon.layers.saturated).map(s => ({ ...s, name: s.name + " saturated" })));
    TL.lines("deadsat", ds, { xName: "step" });
    TL.lines("updates", byLayer(mon.params, true), { log: true, xName: "step" });
    const steps = $("steps");
    for (const [k, v] of Object.entries(mon.steps || {})) {
      const id = "step-" + k.replace(/[^a-z0-9]/gi, "_");
      TL.addCard(steps, id, k);
      TL.lines(id, [{ name: k, data: v }], { xName: "step" });
    }
    const extra = mon.extra || {};
    $("extra-title").hidden = Object.keys(extra).length === 0;
    for (const [title, fields] of Object.entries(extra)) {
      const id = "extra-" + title.replace(/[^a-z0-9]/gi, "_");
      TL.addCard($("extra"), id, title);
      TL.lines(id, Object.entries(fields).map(([f, d]) => ({ name: f, data: d })), {});
    }
    const ul = $("warnings");
    if (mon.warnings && mon.warnings.length) {
      ul.innerHTML = mon.warnings.map(w => `<li><span class="kind">${TL.esc(w.kind)}</span> ${TL.esc(w.layer)} (step ${TL.esc(w.step)}): ${TL.esc(w.message)}</li>`).join("");
    }
  }

  function drawInfo() {
    const info = state.info || {};
    const status = info.status || "unknown";
    $("status").textContent = status;
    $("status").className = "badge " + status;
    const done = info.epochs_completed, target = info.target_epochs;
    const rows = (state.metrics.epoch || []).length;
    $("progress").textContent = target ? `epoch ${Math.max(rows, done || 0)} of ${target}` : "";
    if (info.error) banner(info.error, true);
    else if (status === "diverged") banner("Training diverged: " + (info.stop_reason || ""), true);
    else if (status === "interrupted") banner("Training was interrupted" + (info.stop_reason ? ": " + info.stop_reason : "") + ".");
    const final = info.final || {};
    if (Object.keys(final).length) {
      $("final").hidden = false;
      $("final-table").innerHTML = Object.entries(final).map(([k, v]) => `<tr><th>${TL.esc(k)}</th><td>${TL.fmt(v)}</td></tr>`).join("");
    }
  }

  function apply(data) {
    if (data.info) state.info = data.info;
    if (data.metrics) state.metrics = data.metrics;
    if ("monitor" in data) state.monitor = data.monitor;
    if (data.config) $("config").textContent = data.config;
    if (data.info) drawInfo();
    if (data.metrics) drawCurves();
    if ("monitor" in data) drawMonitor();
    window.LAST_UPDATE = performance.now();
  }

  fetch("/api/run/" + name.split("/").map(encodeURIComponent).join("/")).then(r => r.json()).then(d => {
    if (d.error) { banner(d.error, true); return; }
    apply(d);
  });
  const source = new EventSource("/api/events/" + name.split("/").map(encodeURIComponent).join("/"));
  source.addEventListener("update", e => apply(JSON.parse(e.data)));
  source.addEventListener("gone", e => {
    banner(JSON.parse(e.data).message + "; what was shown is kept below.", true);
    $("status").textContent = "deleted"; $("status").className = "badge error";
    source.close();
  });
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) banner("The live connection closed.", true); };
})();
