// Playground: the setup lives in the URL; the server trains with trainlab and sends frames
// over a WebSocket; this page draws them.
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  const controls = Array.from(document.querySelectorAll("[data-setting]"));
  const NEG = [245, 147, 34], POS = [8, 119, 189], MID = [232, 234, 237];
  let ws = null, setup = null, playing = false, frames = 0, fpsCount = 0, fpsStart = performance.now();
  window.PG = { frames: 0, last: null, fps: 0 };

  function settings() {
    const out = {};
    for (const c of controls) out[c.dataset.setting] = c.value.trim();
    return out;
  }
  function query(s) { return new URLSearchParams(s).toString(); }
  function banner(text) { const b = $("banner"); b.hidden = !text; b.textContent = text || ""; b.className = "banner bad"; }

  function color(v) {  // v in [-1, 1]: orange .. grey .. blue
    const t = Math.abs(v), end = v < 0 ? NEG : POS;
    return [0, 1, 2].map(i => Math.round(MID[i] + (end[i] - MID[i]) * t));
  }
  function decode(b64) {  // the 8-bit codes (0 ↔ −1, 255 ↔ +1)
    const s = atob(b64), out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const PALETTE = [];  // the colour of each 8-bit code
  for (let q = 0; q < 256; q++) PALETTE.push(color(q / 127.5 - 1));
  const offscreen = {};
  function paint(canvas, codes, n) {
    // codes: the 8-bit values from the server; a canvas of n × n pixels is written
    // directly, a larger one gets the n × n image scaled up (smoothed)
    const direct = canvas.width === n && canvas.height === n;
    let off = canvas;
    if (!direct) {
      off = offscreen[n] || (offscreen[n] = Object.assign(document.createElement("canvas"), { width: n, height: n }));
    }
    const ctx = off.getContext("2d"), img = ctx.createImageData(n, n), d = img.data;
    for (let i = 0; i < codes.length; i++) {
      const c = PALETTE[codes[i]];
      d[4 * i] = c[0]; d[4 * i + 1] = c[1]; d[4 * i + 2] = c[2]; d[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    const g = canvas.getContext("2d");
    if (!direct) {
      g.imageSmoothingEnabled = true;
      g.drawImage(off, 0, 0, canvas.width, canvas.height);
    }
    return g;
  }
  function drawPoints(g, canvas) {
    if (!setup) return;
    const e = setup.extent, W = canvas.width, H = canvas.height;
    const px = x => (x + e) / (2 * e) * W, py = y => (e - y) / (2 * e) * H;
    const reg = setup.task === "regression";
    const fill = y => { const c = color(reg ? Math.max(-1, Math.min(1, y)) : (y > 0.5 ? 1 : -1)); return `rgb(${c[0]},${c[1]},${c[2]})`; };
    for (const [part, ring] of [["train", false], ["test", true]]) {
      const pts = setup[part];
      // one path per colour: a few draw calls for hundreds of points
      const groups = new Map();
      for (let i = 0; i < pts.x.length; i++) {
        const key = fill(pts.y[i]);
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(i);
      }
      g.lineWidth = ring ? 1.6 : 0.8;
      g.strokeStyle = ring ? "#111" : "#fff";
      for (const [key, idx] of groups) {
        g.beginPath();
        for (const i of idx) {
          const x = px(pts.x[i][0]), y = py(pts.x[i][1]), r = ring ? 3.6 : 3.2;
          g.moveTo(x + r, y);
          g.arc(x, y, r, 0, 2 * Math.PI);
        }
        g.fillStyle = key;
        g.fill();
        g.stroke();
      }
    }
  }

  function drawBoundary(frame) {
    const canvas = $("boundary");
    const g = paint(canvas, decode(frame.boundary), setup.grid);
    drawPoints(g, canvas);
    canvas.dataset.step = String(frame.step);
  }

  function drawNeurons(frame) {
    const box = $("neurons");
    const n = setup.neuron_grid;
    if (box.dataset.shape !== JSON.stringify(frame.neurons.map(l => l.units.length))) {
      box.innerHTML = frame.neurons.map((l, i) => `<div class="layer"><span class="name">${TL.esc(l.layer)}</span>` +
        l.units.map((_, j) => `<canvas width="${n}" height="${n}" id="n-${i}-${j}"></canvas>`).join("") + "</div>").join("") ||
        "<span class='muted'>no hidden layer</span>";
      box.dataset.shape = JSON.stringify(frame.neurons.map(l => l.units.length));
    }
    frame.neurons.forEach((l, i) => l.units.forEach((u, j) => {
      const c = $(`n-${i}-${j}`);
      paint(c, decode(u.map), n);
      c.title = `${l.layer} unit ${j}: largest |output| ${TL.fmt(u.scale)}`;
    }));
  }

  let lossHistory = [], lastCharts = 0;
  function drawLosses(frame) {
    if (frame.history.length > 1) lossHistory = frame.history.slice();
    else if (frame.history.length === 1 && (!lossHistory.length || lossHistory[lossHistory.length - 1][0] !== frame.history[0][0])) lossHistory.push(frame.history[0]);
    if (lossHistory.length > 1200) lossHistory = lossHistory.filter((_, i) => i % 2 === 0 || i === lossHistory.length - 1);
  }
  function drawLossChart() {
    const h = lossHistory;
    TL.lines("losses", [
      { name: "train loss", data: h.map(r => [r[0], r[1]]), color: "#6b7280" },
      { name: "test loss", data: h.map(r => [r[0], r[2]]), color: "#111827" },
    ], { xName: "step" });
  }

  let spreadKey = null;
  function drawSpread(frame) {
    const L = frame.layers;
    const key = JSON.stringify(L);
    if (key === spreadKey) return;  // a new measurement every 10 steps
    const sameShape = spreadKey !== null && JSON.stringify(JSON.parse(spreadKey).map(l => l.label)) === JSON.stringify(L.map(l => l.label));
    spreadKey = key;
    const labels = L.map(l => l.label);
    const pos = v => (v === null || v <= 0 ? null : v);
    const line = (name, data, color, dashed, symbol) => ({ name, type: "line", data, color, symbol, symbolSize: 8,
      lineStyle: { width: dashed ? 1.2 : 2, type: dashed ? "dashed" : "solid" } });
    const series = [
        line("output std", L.map(l => pos(l.out_std)), "#2563eb", false, "circle"),
        line("output std, theory", L.map(l => pos(l.theory_out_std)), "#1e3a8a", true, "diamond"),
        line("gradient RMS", L.map(l => pos(l.grad_rms)), "#f59e0b", false, "circle"),
        line("gradient RMS, theory", L.map(l => pos(l.theory_grad_rms)), "#92400e", true, "diamond"),
    ];
    if (sameShape) { TL.chart("spread").setOption({ series: series.map(s => ({ data: s.data })) }); return; }
    TL.chart("spread").setOption({
      animation: false,
      legend: { top: 0, textStyle: { fontSize: 11 } },
      tooltip: { trigger: "axis", valueFormatter: v => TL.fmt(v) },
      grid: { left: 58, right: 16, top: 30, bottom: 50 },
      xAxis: { type: "category", data: labels, axisLabel: { rotate: 30, fontSize: 10 } },
      yAxis: { type: "log", axisLabel: { formatter: v => TL.fmt(v) } },
      series,
    }, { notMerge: true });
  }

  function drawWarnings(frame) {
    const items = frame.warnings.map(w => `<li><span class="kind">${TL.esc(w.kind)}</span> ${TL.esc(w.layer)} (step ${w.step}): ${TL.esc(w.message)}</li>`);
    if (frame.diverged) items.unshift(`<li><span class="kind">diverged</span> ${TL.esc(frame.diverged)}</li>`);
    $("warnings").innerHTML = items.join("") || "<li class='muted'>none</li>";
  }

  function onFrame(frame) {
    const began = performance.now();
    frames++; fpsCount++;
    window.PG.frames = frames; window.PG.last = frame;
    $("stepcount").textContent = frame.step;
    $("epochcount").textContent = frame.epoch;
    $("metric-name").textContent = frame.metric === "accuracy" ? "test accuracy" : "test R²";
    $("test-accuracy").textContent = frame.test_metric === null ? "–" : frame.test_metric.toFixed(4);
    $("test-loss").textContent = TL.fmt(frame.test_loss);
    $("train-loss").textContent = TL.fmt(frame.train_loss);
    drawBoundary(frame);
    drawNeurons(frame);
    // the charts at most 5 times a second while playing: the maps are what moves
    const t = performance.now();
    drawLosses(frame);
    if (!playing || t - lastCharts > 400 || frame.history.length > 1) {
      lastCharts = t;
      drawLossChart();
      drawSpread(frame);
      drawWarnings(frame);
    }
    if (frame.diverged && playing) setPlaying(false);
    window.PG.drawMs = (window.PG.drawMs || 0) + performance.now() - began;
    if (playing) send({ cmd: "ack" });
    const now = performance.now();
    if (now - fpsStart > 1000) {
      window.PG.fps = fpsCount * 1000 / (now - fpsStart);
      $("fps").textContent = playing ? `${window.PG.fps.toFixed(0)} frames/s` : "";
      fpsCount = 0; fpsStart = now;
    }
  }

  function send(msg) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); }
  function setPlaying(on) {
    playing = on;
    $("play").textContent = on ? "❚❚ pause" : "▶ play";
    $("play").classList.toggle("on", on);
    if (!on) $("fps").textContent = "";
  }
  function reset() {
    const s = settings();
    setPlaying(false);
    send({ cmd: "reset", settings: s });
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/ws/playground`);
    ws.onopen = () => { banner(""); reset(); };
    ws.onmessage = e => {
      const msg = JSON.parse(e.data);
      if (msg.type === "setup") {
        setup = msg; lossHistory = []; lastCharts = 0; spreadKey = null; banner("");
        // the URL holds the setup that runs (as the server read it), ready to share
        history.replaceState(null, "", "/playground?" + query(msg.settings));
        $("share").href = "/playground?" + query(msg.settings);
        $("legend").textContent = msg.task === "regression" ? "prediction, orange −1 … blue +1" : "p(blue)";
      }
      else if (msg.type === "frame") onFrame(msg);
      else if (msg.type === "error") { banner(msg.message); setPlaying(false); }
    };
    ws.onclose = () => { setPlaying(false); banner("The connection to the server closed; reload the page to continue."); };
  }

  $("play").addEventListener("click", () => { setPlaying(!playing); send({ cmd: playing ? "play" : "pause" }); });
  $("step").addEventListener("click", () => { setPlaying(false); send({ cmd: "step" }); });
  $("reset").addEventListener("click", reset);
  for (const c of controls) c.addEventListener("change", reset);
  $("share").href = location.href;
  connect();
})();
