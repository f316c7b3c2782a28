// Shared chart helpers on Apache ECharts (served from /static, no CDN).
"use strict";
const TL = {
  palette: ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777",
            "#65a30d", "#4b5563", "#ea580c", "#0d9488", "#9333ea"],
  charts: new Map(),
  chart(id) {
    let c = TL.charts.get(id);
    if (!c) {
      const el = document.getElementById(id);
      c = echarts.init(el, null, { renderer: "canvas" });
      TL.charts.set(id, c);
    }
    return c;
  },
  // Line chart: series = [{name, data: [[x, y], ...], dashed?, color?}]
  lines(id, series, opts = {}) {
    const c = TL.chart(id);
    // Same series and options as last time: only the data changes (much cheaper than
    // rebuilding the chart, which matters for charts redrawn while training).
    const shape = JSON.stringify([series.map(s => [s.name, !!s.dashed, s.color || ""]), opts]);
    if (c.__shape === shape) {
      c.setOption({ series: series.map(s => ({ data: s.data, showSymbol: s.data.length < 40 })) });
      return c;
    }
    c.__shape = shape;
    c.setOption({
      animation: false,
      color: TL.palette,
      grid: { left: 58, right: 16, top: 30, bottom: opts.xName ? 40 : 28 },
      legend: { type: "scroll", top: 0, textStyle: { fontSize: 11 } },
      tooltip: { trigger: "axis", valueFormatter: v => TL.fmt(v) },
      xAxis: { type: "value", name: opts.xName || "", nameLocation: "middle", nameGap: 24,
               min: "dataMin", max: "dataMax", minInterval: opts.xName ? 1 : 0 },
      yAxis: { type: opts.log ? "log" : "value", scale: true, axisLabel: { formatter: v => TL.axis(v) } },
      series: series.map(s => ({
        name: s.name, type: "line", showSymbol: s.data.length < 40, symbolSize: 4,
        connectNulls: false, data: s.data,
        lineStyle: { width: 1.6, type: s.dashed ? "dashed" : "solid" },
        color: s.color,
      })),
    }, { notMerge: true });
    return c;
  },
  fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    return Number(v.toPrecision(4)).toString();
  },
  axis(v) {  // axis labels: enough digits to tell neighbouring ticks apart
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(2);
    return Number(v.toPrecision(6)).toString();
  },
  positive(data) { return data.filter(p => p[1] !== null && p[1] > 0); },
  esc(s) {
    return String(s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  },
  addCard(parent, id, title) {
    let el = document.getElementById(id);
    if (el) return el;
    const card = document.createElement("div");
    card.className = "card";
    card.innerHTML = `<h3>${TL.esc(title)}</h3><div class="chart" id="${TL.esc(id)}"></div>`;
    parent.appendChild(card);
    return card.querySelector(".chart");
  },
  xy(xs, ys) {
    const out = [];
    for (let i = 0; i < ys.length; i++) out.push([xs ? xs[i] : i + 1, ys[i]]);
    return out;
  },
};
window.addEventListener("resize", () => TL.charts.forEach(c => c.resize()));
