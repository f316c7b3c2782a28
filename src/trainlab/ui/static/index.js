// Runs page: sort by a column, filter by text, pick runs to compare.
"use strict";
(function () {
  const table = document.getElementById("runs");
  const body = table.tBodies[0];
  const rows = () => Array.from(body.rows);
  const filter = document.getElementById("filter");
  const compare = document.getElementById("compare");
  const count = document.getElementById("count");

  for (const cell of document.querySelectorAll("td.time")) {
    const t = parseFloat(cell.dataset.time);
    if (!Number.isNaN(t)) cell.textContent = new Date(t * 1000).toLocaleString();
  }

  function update() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows()) {
      const text = row.textContent.toLowerCase();
      const ok = words.every(w => text.includes(w));
      row.hidden = !ok;
      if (ok) shown++;
    }
    count.textContent = `${shown} of ${rows().length} runs`;
    const picked = document.querySelectorAll("input.pick:checked");
    compare.disabled = picked.length < 1;
  }
  filter.addEventListener("input", update);
  body.addEventListener("change", update);
  compare.addEventListener("click", () => {
    const names = Array.from(document.querySelectorAll("input.pick:checked")).map(i => i.value);
    location.href = "/compare?runs=" + names.map(encodeURIComponent).join(",");
  });

  const headers = Array.from(table.tHead.rows[0].cells);
  headers.forEach((th, col) => {
    const kind = th.dataset.sort;
    if (!kind || kind === "none") return;
    th.addEventListener("click", () => {
      const asc = !th.classList.contains("asc");
      headers.forEach(h => h.classList.remove("asc", "desc"));
      th.classList.add(asc ? "asc" : "desc");
      const key = row => {
        const cell = row.cells[col];
        const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
        if (kind === "num") { const v = parseFloat(raw); return Number.isNaN(v) ? null : v; }
        return raw.toLowerCase();
      };
      const sorted = rows().sort((a, b) => {
        const x = key(a), y = key(b);
        if (x === null && y === null) return 0;
        if (x === null) return 1;
        if (y === null) return -1;
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      sorted.forEach(r => body.appendChild(r));
    });
  });
  update();

  // Keep the statuses current while runs train; say when runs appear or go.
  const known = new Set(rows().map(r => r.dataset.name));
  async function refresh() {
    try {
      const runs = await (await fetch("/api/runs")).json();
      const names = new Set(runs.map(r => r.name));
      for (const run of runs) {
        const row = body.querySelector(`tr[data-name="${CSS.escape(run.name)}"]`);
        const badge = row && row.querySelector(".badge");
        if (badge && badge.textContent !== run.status) {
          badge.textContent = run.status;
          badge.className = "badge " + run.status;
        }
      }
      const changed = names.size !== known.size || [...names].some(n => !known.has(n));
      document.getElementById("stale").hidden = !changed;
    } catch (e) { /* the server is away: try again later */ }
  }
  setInterval(refresh, 3000);
})();
