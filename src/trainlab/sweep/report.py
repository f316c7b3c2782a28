"""The sweep's report: ``report.html`` in the sweep directory, in the run report's style.

Sections (from ``results.csv``'s rows and the trials' run directories):

- Summary: trials complete, pruned and failed; the best trial; the spec.
- Best trials: the top trials by the metric, each linked to its run's ``report.html``.
- The metric against each setting: the mean over seeds at each value, with a bar of ±
  one standard deviation (the spread over seeds; none with one seed).
- Parallel coordinates: one line per complete trial through every setting, coloured by
  the metric (Inselberg 1985; TensorBoard's HParams view).
- A heatmap of the first two settings: the mean metric over seeds and other settings.
- Inside the best and the worst trial: their per-layer health tables side by side.
- Failed and pruned trials, with their reasons.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.diagnostics.sections import health_rows
from trainlab.diagnostics.serialize import monitor_from_dict
from trainlab.report.html import Section, escape, figure_html, render_page, table_html
from trainlab.runs import MONITOR, REPORT, atomic_write_text
from trainlab.runs.directory import read_json
from trainlab.sweep.results import Row, best_row
from trainlab.sweep.spec import SweepSpec

TOP = 10


def _num(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.4g}"


def _done(rows: Sequence[Row]) -> list[Row]:
    return [r for r in rows if r.status == "complete" and r.value is not None]


def _ranked(rows: Sequence[Row], goal: str) -> list[Row]:
    sign = 1.0 if goal == "minimize" else -1.0
    return sorted(_done(rows), key=lambda r: sign * float(r.value or 0.0))


def _link(row: Row) -> str:
    if not row.run_dir:
        return "-"
    href = escape(f"{row.run_dir}/{REPORT}")
    return f'<a href="{href}">{escape(row.run_dir)}</a>'


def summary_section(spec: SweepSpec, rows: Sequence[Row]) -> Section:
    counts = {s: sum(r.status == s for r in rows) for s in ("complete", "pruned", "failed")}
    best = best_row(rows, spec.goal)
    body = [f"<p>{escape(spec.method)} search over {escape(', '.join(spec.axes))}, "
            f"{len(spec.seeds)} seed(s) per point; {escape(spec.goal)} "
            f"<code>{escape(spec.metric)}</code> (its value at a trial's last epoch). "
            f"Pruning: {escape(spec.prune)}.</p>",
            f"<p>{len(rows)} trials ended: {counts['complete']} complete, {counts['pruned']} "
            f"pruned, {counts['failed']} failed.</p>"]
    if best is not None:
        body.append(f'<p>Best: trial {best.trial} (seed {best.seed}), {escape(spec.metric)} = '
                    f'<b>{_num(best.value)}</b>, {escape(_settings_text(best))}; '
                    f"{_link(best)}.</p>")
    body.append(f"<h3>Spec</h3><pre>{escape(spec.text)}</pre>")
    return Section("Summary", "".join(body), anchor="summary")


def _settings_text(row: Row) -> str:
    return ", ".join(f"{k} = {v}" for k, v in row.settings.items())


def best_section(spec: SweepSpec, rows: Sequence[Row]) -> Section:
    ranked = _ranked(rows, spec.goal)[:TOP]
    table = [[str(r.trial), str(r.seed), _num(r.value),
              *(escape(r.settings[n]) for n in spec.axes), _link(r)] for r in ranked]
    body = (f"<p>The {len(ranked)} best complete trials by {escape(spec.metric)}.</p>"
            + table_html(["trial", "seed", spec.metric, *spec.axes, "run"], table, raw=True))
    return Section("Best trials", body, anchor="best")


def _group(rows: Sequence[Row], name: str) -> tuple[list[Any], list[float], list[float]]:
    """The values of setting ``name`` in order, with the mean and std of the metric over
    the complete trials at each."""
    by: dict[str, list[float]] = {}
    keys: dict[str, Any] = {}
    for r in _done(rows):
        k = str(r.settings[name])
        by.setdefault(k, []).append(float(r.value))  # type: ignore[arg-type]
        keys[k] = r.settings[name]
    order = sorted(by, key=lambda k: (not isinstance(keys[k], (int, float)),
                                      keys[k] if isinstance(keys[k], (int, float)) else k))
    return ([keys[k] for k in order], [float(np.mean(by[k])) for k in order],
            [float(np.std(by[k])) for k in order])


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def per_setting_section(spec: SweepSpec, rows: Sequence[Row]) -> Section:
    parts = []
    for name in spec.axes:
        values, means, stds = _group(rows, name)
        if not values:
            continue
        fig, ax = new_figure(width=4.6, height=3.4)
        numeric = _numeric(values) and len(values) > 1
        xs = values if numeric else list(range(len(values)))
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, color=COLORS[0])
        if numeric and min(values) > 0 and max(values) / min(values) > 30:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in values], rotation=20)
        ax.set_xlabel(name)
        ax.set_ylabel(spec.metric)
        ax.set_title(f"{spec.metric} against {name}")
        parts.append(figure_html(fig, f"{spec.metric} against {name}: mean ± std over the "
                                 "complete trials at each value"))
    body = ("<p>Each point is the mean over the complete trials with that value (over seeds "
            "and the other settings); the bar is ± one standard deviation.</p>" + "".join(parts))
    return Section("The metric against each setting", body, anchor="per-setting")


def _position(values: Sequence[Any], value: Any) -> float:
    """Where ``value`` sits on an axis of ``values``, in [0, 1]."""
    distinct = sorted({str(v) for v in values}) if not _numeric(values) else None
    if distinct is not None:
        return distinct.index(str(value)) / max(1, len(distinct) - 1)
    nums = [float(v) for v in values]
    low, high = min(nums), max(nums)
    if high == low:
        return 0.5
    if low > 0 and high / low > 30:
        return (math.log(float(value)) - math.log(low)) / (math.log(high) - math.log(low))
    return (float(value) - low) / (high - low)


def parallel_section(spec: SweepSpec, rows: Sequence[Row]) -> Section:
    done = _done(rows)
    if not done:
        return Section("Parallel coordinates", "<p>No complete trial.</p>", anchor="parallel")
    from matplotlib import colormaps

    names = [*spec.axes, spec.metric]
    columns = {n: [r.settings[n] for r in done] for n in spec.axes}
    columns[spec.metric] = [r.value for r in done]
    metric = np.array(columns[spec.metric], dtype=float)
    span = float(metric.max() - metric.min()) or 1.0
    fig, ax = new_figure(width=max(5.0, 1.6 * len(names)), height=3.8)
    cmap = colormaps["viridis"]
    order = np.argsort(metric if spec.goal == "maximize" else -metric)  # best drawn last
    for i in order:
        ys = [_position(columns[n], columns[n][i]) for n in names]
        ax.plot(range(len(names)), ys, color=cmap((metric[i] - metric.min()) / span), lw=1.2,
                alpha=0.8)
    ax.set_xticks(range(len(names)), names)
    for j, n in enumerate(names):
        vals = columns[n]
        low = min(vals, key=str) if not _numeric(vals) else min(vals)
        high = max(vals, key=str) if not _numeric(vals) else max(vals)
        ax.annotate(_short(low), (j, 0), textcoords="offset points", xytext=(3, -10), fontsize=8)
        ax.annotate(_short(high), (j, 1), textcoords="offset points", xytext=(3, 4), fontsize=8)
    ax.set_yticks([])
    ax.set_title(f"every complete trial; colour: {spec.metric} (yellow is high)")
    body = ("<p>One line per complete trial through its settings (each axis scaled from its "
            "lowest to its highest value, log where it spans decades) and the metric.</p>"
            + figure_html(fig, "parallel coordinates of the complete trials"))
    return Section("Parallel coordinates", body, anchor="parallel")


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def heatmap_section(spec: SweepSpec, rows: Sequence[Row]) -> Section | None:
    names = list(spec.axes)[:2]
    done = _done(rows)
    if len(names) < 2 or not done:
        return None
    xs, _, _ = _group(rows, names[0])
    ys, _, _ = _group(rows, names[1])
    grid = np.full((len(ys), len(xs)), np.nan)
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            vals = [float(r.value) for r in done  # type: ignore[arg-type]
                    if str(r.settings[names[0]]) == str(x) and str(r.settings[names[1]]) == str(y)]
            if vals:
                grid[i, j] = float(np.mean(vals))
    fig, ax = new_figure(width=max(4.0, 0.9 * len(xs) + 2), height=max(3.0, 0.6 * len(ys) + 1.5))
    ax.grid(False)
    image = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
    fig.colorbar(image, ax=ax, label=spec.metric)
    ax.set_xticks(range(len(xs)), [_short(x) for x in xs], rotation=20)
    ax.set_yticks(range(len(ys)), [_short(y) for y in ys])
    for i in range(len(ys)):
        for j in range(len(xs)):
            if math.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.3g}", ha="center", va="center", fontsize=8,
                        color="white")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    body = (f"<p>The mean {escape(spec.metric)} over seeds (and any other setting) for each "
            f"pair of values of {escape(names[0])} and {escape(names[1])}; a blank cell has "
            "no complete trial (a random or TPE search fills few cells).</p>"
            + figure_html(fig, f"{spec.metric} by {names[0]} and {names[1]}"))
    return Section(f"{names[0]} × {names[1]}", body, anchor="heatmap")


def health_html(run_dir: Path) -> str:
    """The per-layer health table of a run, from its ``monitor.json``."""
    path = run_dir / MONITOR
    if not path.is_file():
        return "<p>No diagnostics (the monitor was off).</p>"
    try:
        header, rows = health_rows(monitor_from_dict(read_json(path)))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return f"<p>monitor.json is unreadable ({escape(exc)}).</p>"
    return table_html(header, rows) if rows else "<p>The monitor recorded no step.</p>"


def side_by_side(columns: Sequence[tuple[str, str]]) -> str:
    """HTML blocks next to each other, each under its title."""
    cells = "".join(f'<div style="flex:1 1 0;min-width:300px"><h3>{title}</h3>{body}</div>'
                    for title, body in columns)
    return f'<div style="display:flex;gap:1.5rem;flex-wrap:wrap">{cells}</div>'


def inside_section(spec: SweepSpec, rows: Sequence[Row], sweep_dir: Path) -> Section | None:
    ranked = _ranked(rows, spec.goal)
    if len(ranked) < 2:
        return None
    blocks = []
    for label, row in (("best", ranked[0]), ("worst", ranked[-1])):
        title = (f"{label}: trial {row.trial} ({escape(spec.metric)} {_num(row.value)}; "
                 f"{_link(row)})")
        blocks.append((title, f"<p>{escape(_settings_text(row))}</p>"
                       + health_html(sweep_dir / row.run_dir)))
    body = ("<p>The per-layer health of the best and the worst complete trial at their last "
            "sampled step: output statistics, gradients, saturation and dead units.</p>"
            + side_by_side(blocks))
    return Section("Inside the best and the worst trial", body, anchor="inside")


def ended_section(rows: Sequence[Row]) -> Section | None:
    other = [r for r in rows if r.status != "complete"]
    if not other:
        return None
    table = [[str(r.trial), str(r.seed), r.status, escape(r.reason or "-"), _link(r)]
             for r in other]
    return Section("Pruned and failed trials",
                   table_html(["trial", "seed", "status", "reason", "run"], table, raw=True),
                   anchor="ended")


def build_sweep_report(sweep_dir: Path, spec: SweepSpec, rows: Sequence[Row]) -> str:
    sections = [summary_section(spec, rows), best_section(spec, rows),
                per_setting_section(spec, rows), parallel_section(spec, rows),
                heatmap_section(spec, rows), inside_section(spec, rows, sweep_dir),
                ended_section(rows)]
    return render_page(f"trainlab sweep {spec.name}", [s for s in sections if s is not None],
                       subtitle=f"{len(rows)} trials · {spec.method} · {spec.metric}")


def write_sweep_report(sweep_dir: str | Path, spec: SweepSpec, rows: Sequence[Row]) -> Path:
    """Write ``report.html`` in the sweep directory; return its path."""
    path = Path(sweep_dir) / REPORT
    atomic_write_text(path, build_sweep_report(Path(sweep_dir), spec, rows))
    return path
