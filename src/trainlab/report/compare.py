"""Comparing runs: their curves overlaid, their settings' differences, their health tables.

    page = compare_page(["runs/a", "runs/b"])   # HTML, one self-contained file
    text = compare_text(["runs/a", "runs/b"])   # the same facts for the terminal

Built only from the run directories' files (``config.toml``, ``run.json``,
``metrics.csv``, ``monitor.json``); the settings' differences are
:func:`trainlab.recipe.differences` between the first run and each other one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainlab import runs
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.diagnostics.sections import health_rows, text_table
from trainlab.diagnostics.serialize import monitor_from_dict
from trainlab.recipe import RunConfig, SettingError, differences, from_flat, read_toml
from trainlab.report.html import Section, escape, figure_html, render_page, table_html
from trainlab.report.run_report import read_metrics
from trainlab.runs.directory import read_json

OUTPUT_KEYS = ("out", "name")


@dataclass
class RunFiles:
    """What comparing needs of one run."""

    path: Path
    config: RunConfig
    info: dict[str, Any]
    metrics: dict[str, list[float]]
    health: tuple[list[str], list[list[str]]] | None

    @property
    def name(self) -> str:
        return self.path.name


def load_run(path: str | Path) -> RunFiles:
    """A run directory's files; :class:`SettingError` naming the run when it is not one."""
    path = Path(path)
    try:
        info = runs.read_run_info(path)
    except runs.NotARunError as exc:
        raise SettingError(f"trainlab compare: {exc}.") from None
    try:
        raw = read_toml(path / runs.CONFIG)
        config = from_flat({k: v for k, v in raw.items() if k not in OUTPUT_KEYS},
                           validate=False)
    except SettingError as exc:
        raise SettingError(f"trainlab compare: run {str(path)!r} has an invalid "
                           f"{runs.CONFIG}: {exc}") from None
    health = None
    if (path / runs.MONITOR).is_file():
        try:
            health = health_rows(monitor_from_dict(read_json(path / runs.MONITOR)))
        except (OSError, ValueError, TypeError, KeyError):
            health = None
    return RunFiles(path, config, info, read_metrics(path / runs.METRICS), health)


def config_diff(loaded: Sequence[RunFiles]) -> list[tuple[str, list[str]]]:
    """The settings that differ anywhere among the runs, with each run's value."""
    first = loaded[0].config
    names: list[str] = []
    for other in loaded[1:]:
        for line in differences(first, other.config):
            name = line.split(":", 1)[0]
            if name not in names:
                names.append(name)
    return [(n, [_value(r.config.get(n)) for r in loaded]) for n in names]


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "(none)"
    if isinstance(value, float):
        return f"{value:.6g}"
    return "none" if value is None else str(value)


def _final(run: RunFiles) -> dict[str, float]:
    final = run.info.get("final") or {}
    return {f"{split} {k}": v for split in ("val", "test") for k, v in final.get(split, {}).items()}


def final_rows(loaded: Sequence[RunFiles]) -> tuple[list[str], list[list[str]]]:
    keys: list[str] = []
    for r in loaded:
        keys += [k for k in _final(r) if k not in keys]
    rows = [[r.name, str(r.info.get("status", "?")), str(r.info.get("epochs_completed", "?")),
             *(_fmt(_final(r).get(k)) for k in keys)] for r in loaded]
    return ["run", "status", "epochs", *keys], rows


def _fmt(value: Any) -> str:
    return "-" if value is None or not math.isfinite(float(value)) else f"{float(value):.4g}"


def _curves(loaded: Sequence[RunFiles], column: str) -> Any | None:
    if not any(r.metrics.get(column) for r in loaded):
        return None
    fig, ax = new_figure(width=6.0, height=3.8)
    for i, r in enumerate(loaded):
        values = r.metrics.get(column)
        if values:
            ax.plot(r.metrics["epoch"][:len(values)], values, color=COLORS[i % len(COLORS)],
                    marker="o" if len(values) < 15 else None, ms=3, label=r.name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(column)
    ax.set_title(f"{column} per epoch")
    ax.legend(fontsize=9)
    return fig


def compare_page(paths: Sequence[str | Path]) -> str:
    """The HTML page comparing the runs at ``paths``."""
    loaded = [load_run(p) for p in paths]
    header, rows = final_rows(loaded)
    sections = [Section("Runs", table_html(header, rows), anchor="runs")]
    diff = config_diff(loaded)
    body = ("<p>The settings that differ (every other setting is the same).</p>"
            + table_html(["setting", *(r.name for r in loaded)], [[n, *v] for n, v in diff])
            if diff else "<p>The runs have the same settings.</p>")
    sections.append(Section("Settings", body, anchor="settings"))
    figures = []
    for column in ("loss", "val_loss", "val_accuracy", "val_r2", "lr"):
        fig = _curves(loaded, column)
        if fig is not None:
            figures.append(figure_html(fig, f"{column} of each run per epoch"))
    sections.append(Section("Learning curves", "".join(figures) or "<p>No epoch recorded.</p>",
                            anchor="curves"))
    cells = []
    for r in loaded:
        table = (table_html(*r.health) if r.health and r.health[1]
                 else "<p>No diagnostics recorded.</p>")
        cells.append(f'<div style="flex:1 1 0;min-width:300px"><h3>{escape(r.name)}</h3>'
                     f"{table}</div>")
    sections.append(Section("Training health", '<div style="display:flex;gap:1.5rem;'
                            f'flex-wrap:wrap">{"".join(cells)}</div>', anchor="health"))
    return render_page("trainlab compare", sections,
                       subtitle=" · ".join(str(Path(p)) for p in paths))


def compare_text(paths: Sequence[str | Path]) -> str:
    """The comparison for the terminal: final metrics, settings that differ, health."""
    loaded = [load_run(p) for p in paths]
    header, rows = final_rows(loaded)
    parts = [text_table(header, rows)]
    diff = config_diff(loaded)
    parts.append("")
    if diff:
        parts.append("settings that differ:")
        parts.append(text_table(["setting", *(r.name for r in loaded)],
                                [[n, *v] for n, v in diff]))
    else:
        parts.append("the runs have the same settings")
    for r in loaded:
        if r.health and r.health[1]:
            parts += ["", f"layer health of {r.name} (last sampled step):",
                      text_table(*r.health, width=40)]
    return "\n".join(parts)
