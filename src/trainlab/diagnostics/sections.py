"""What the monitor saw, as text for the terminal and as sections of the run report.

- :func:`health_table`: the per-layer health table printed at the end of ``trainlab train``.
- :func:`report_sections`: ``trainlab.report.Section`` objects for ``report.html`` — the
  signal through the layers against the theory, the training health with the warnings,
  and the figures of :mod:`trainlab.diagnostics.plots`.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from typing import Any

from trainlab.diagnostics import plots
from trainlab.diagnostics.monitor import Monitor
from trainlab.diagnostics.probe import display_label
from trainlab.report.html import Section, escape, figure_html, table_html


def _num(value: float, spec: str = ".3g") -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, spec)


def _pct(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{100 * value:.0f}%"


def _status(stats: Any, warned: dict[str, set[str]]) -> str:
    kinds = warned.get(stats.label, set())
    return ", ".join(sorted(kinds)) if kinds else "ok"


def health_rows(monitor: Monitor) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the health table: one row per layer, at the last sampled step."""
    if not monitor.records:
        return ["layer"], []
    last = monitor.last_record
    warned: dict[str, set[str]] = {}
    for w in monitor.warnings:
        warned.setdefault(w.layer, set()).add(w.kind)
    by_layer = {p.name.rsplit(".", 1)[0]: p for p in last.params if p.is_weight}
    header = ["layer", "out mean", "out std", "grad std", "saturated", "dead", "‖∂L/∂W‖",
              "ΔW/W", "status"]  # ‖ΔW‖/‖W‖, the update-to-weight ratio
    rows = []
    for s in last.layers:
        weight = by_layer.get(s.name)
        rows.append([display_label(s.label), _num(s.out_mean, ".2f"), _num(s.out_std),
                     _num(s.grad_std), _pct(s.saturated), _pct(s.dead),
                     _num(weight.grad_norm) if weight else "-",
                     _num(weight.update_ratio, ".1e") if weight else "-", _status(s, warned)])
    return header, rows


def summary_lines(monitor: Monitor) -> list[str]:
    """One-line facts: steps watched, clipping, step sizes, the monitor's own cost."""
    if not monitor.records:
        return ["the monitor recorded no step"]
    last = monitor.last_record
    lines = [f"{len(monitor.records)} steps sampled (every {monitor.every}) "
             f"of {len(monitor.global_norms)}; "
             f"global gradient norm {_num(last.grad_norm)} at step {last.step}"]
    if math.isfinite(monitor.clip_fraction) and monitor.clip_fraction > 0:
        lines.append(
            f"clipping changed the gradient on {100 * monitor.clip_fraction:.1f}% of the steps"
        )
    if math.isfinite(last.step_size):
        step = f"mean step |Δθ| {last.step_size:.2e}"
        if math.isfinite(last.adam_lr):
            step += f"; Adam's median effective learning rate γ/(√v̂+ε) {last.adam_lr:.2e}"
        lines.append(step)
    for bn in last.batchnorm:
        lines.append(f"BatchNorm {bn.name}: batch mean vs running mean {bn.mean_gap:.3f} σ, "
                     f"batch/running variance {bn.var_ratio:.2f}")
    lines.append(f"the monitor's own time: {monitor.seconds:.2f} s")
    return lines


def text_table(header: Sequence[Any], rows: Sequence[Sequence[Any]], width: int = 60,
               total: int | None = None) -> str:
    """A plain-text table with aligned columns; cells longer than ``width`` are cut with '…'.

    total: the widest line allowed (default: the terminal's width, 80 when it is not a
    terminal). The longest text columns are narrowed to fit it (never below 16
    characters, so numbers are never cut); a wide terminal gets the whole text.
    """
    if total is None:
        total = shutil.get_terminal_size((80, 24)).columns
    text = [[str(c) for c in r] for r in rows]
    sizes = [min(width, max([len(str(h))] + [len(r[i]) for r in text if i < len(r)]))
             for i, h in enumerate(header)]
    floor = 16
    while sum(sizes) + 2 * (len(sizes) - 1) > total:
        widest = max(range(len(sizes)), key=lambda i: sizes[i])
        if sizes[widest] <= floor:
            break
        sizes[widest] -= 1
    cut = [[c if len(c) <= n else c[: n - 1] + "…" for c, n in zip(r, sizes, strict=False)]
           for r in text]
    lines = ["  ".join(str(h)[:n].ljust(n) for h, n in zip(header, sizes, strict=False)).rstrip(),
             "  ".join("-" * n for n in sizes)]
    lines += ["  ".join(c.ljust(n) for c, n in zip(r, sizes, strict=False)).rstrip() for r in cut]
    return "\n".join(lines)


def health_table(monitor: Monitor) -> str:
    """The per-layer health table and the warnings, as plain text for the terminal."""
    header, rows = health_rows(monitor)
    parts = [text_table(header, rows, width=40)] if rows else []
    parts += summary_lines(monitor)
    parts += [f"warning: {w}" for w in monitor.warnings]
    return "\n".join(parts)


def monitor_html(monitor: Monitor) -> str:
    """The health table, the one-line facts and the warnings, as HTML (notebooks)."""
    header, rows = health_rows(monitor)
    parts = [f"<p>Monitor: {len(monitor.records)} sampled steps</p>"]
    if rows:
        parts.append(table_html(header, rows))
    parts += [f"<p>{escape(line)}</p>" for line in summary_lines(monitor)]
    parts += [f'<p class="bad">warning: {escape(w)}</p>' for w in monitor.warnings]
    return "".join(parts)


def theory_rows(monitor: Monitor) -> tuple[list[str], list[list[str]]]:
    """Predicted against measured variance of each layer's output and gradient at initialisation."""
    header = ["layer", "Var(out) theory", "Var(out) measured", "E[g²] theory", "E[g²] measured"]
    if monitor.theory is None or not monitor.records:
        return header, []
    first = monitor.first_record
    rows = [[display_label(s.label), _num(t.out_var), _num(s.out_std ** 2),
             _num(t.grad_var), _num(s.grad_rms ** 2)]
            for t, s in zip(monitor.theory, first.layers, strict=False)]
    return header, rows


def report_sections(monitor: Monitor, model: Any = None, title_prefix: str = "") -> list[Section]:
    """Sections for the run report: signal and theory, training health, figures.

    model: unused except for its layer names (kept for callers that pass it);
    title_prefix: put before each section title (e.g. a run name).
    """
    del model  # everything needed was recorded by the monitor
    if not monitor.records:
        return [Section(f"{title_prefix}Inside training", "<p>The monitor recorded no step.</p>")]
    sections = []
    header, rows = theory_rows(monitor)
    body = ("<p>Variance of each layer's output and mean square of the gradient reaching it, at "
            "initialisation (first training step): the theory of the notes "
            "(Var(y) = k·Var(w)·E[x²] per linear layer, each activation's Gaussian expectation) "
            "for this batch's input statistics, against the measurement.</p>")
    body += table_html(header, rows) if rows else "<p>No theory for this model.</p>"
    body += figure_html(
        plots.depth_profile_figure(monitor), "output and gradient std against depth"
    )
    sections.append(Section(f"{title_prefix}Signal through the layers", body, anchor="signal"))

    header, rows = health_rows(monitor)
    body = table_html(header, rows)
    body += (
        "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in summary_lines(monitor)) + "</ul>"
    )
    body += "".join(f'<div class="warn">{escape(w)}</div>' for w in monitor.warnings) or \
        '<p class="ok">No health warning.</p>'
    sections.append(Section(f"{title_prefix}Training health", body, anchor="health"))

    figures = [
        figure_html(plots.grad_norm_figure(monitor), "gradient norm per layer over training")
    ]
    if any(
        not math.isnan(s.saturated) or not math.isnan(s.dead)
        for s in monitor.first_record.layers
    ):
        figures.append(figure_html(plots.saturation_figure(monitor), "saturated and dead units"))
    if monitor.samples.get("init"):
        figures.append(
            figure_html(plots.histogram_figure(monitor), "activation histograms per layer")
        )
    sections.append(Section(f"{title_prefix}Gradients and activations over training",
                            "".join(figures), anchor="gradients"))
    return sections
