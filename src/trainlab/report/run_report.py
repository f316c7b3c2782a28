"""The report of one training run: ``report.html`` in the run directory.

Built only from the files of the run directory (``config.toml``, ``run.json``,
``metrics.csv``, the model checkpoint and ``monitor.json``), so ``trainlab report RUN``
rebuilds it at any time. The page is one self-contained HTML file: every figure is
embedded as a ``data:image/png`` URI, and also written to ``figures/NAME.png``.

The report is a list of sections; :data:`SECTIONS` holds the functions that make them,
each ``(RunContext) -> list[Section]``. Add a function to add a section.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import runs
from trainlab.report.html import Section, escape, figure_html, render_page, table_html
from trainlab.runs.directory import make_figures_dir, read_json
from trainlab.train import load_model


@dataclass
class RunContext:
    """What the section functions read. ``figures`` collects (file name, PNG bytes)."""

    path: Path
    config: dict[str, Any]
    info: dict[str, Any]
    metrics: dict[str, list[float]]
    model: Any = None
    monitor: Any = None
    figures: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def task(self) -> str:
        return self.info.get("dataset", {}).get("task", "classification")

    def figure(self, fig: Any, name: str, caption: str) -> str:
        """Embed ``fig`` (a matplotlib Figure) and keep its PNG for ``figures/name.png``."""
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        png = buffer.getvalue()
        self.figures.append((f"{name}.png", png))
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        return (f'<figure><img src="{uri}" alt="{escape(caption)}">'
                f"<figcaption>{escape(caption)}</figcaption></figure>")


# -- reading the run directory ------------------------------------------------------------


def read_metrics(path: Path) -> dict[str, list[float]]:
    """``metrics.csv`` as columns of floats (empty when the file is missing)."""
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    columns: dict[str, list[float]] = {h: [] for h in header}
    for row in body:
        for h, cell in zip(header, row, strict=False):  # a short row fills fewer columns
            try:
                columns[h].append(float(cell))
            except ValueError:
                columns[h].append(math.nan)
    return columns


def load_context(run_dir: str | Path, monitor: Any = None, model: Any = None) -> RunContext:
    """Everything the report needs from ``run_dir`` (the model and the monitor are loaded
    from their files unless given)."""
    run_dir = Path(run_dir)
    info = runs.read_run_info(run_dir)
    with open(run_dir / runs.CONFIG, "rb") as f:
        config = tomllib.load(f)
    if model is None:
        for name in (runs.MODEL, runs.CHECKPOINT):
            if (run_dir / name).is_file():
                model = load_model(run_dir / name)
                break
    if monitor is None and (run_dir / runs.MONITOR).is_file():
        # imported here: trainlab.diagnostics imports matplotlib
        from trainlab.diagnostics.serialize import monitor_from_dict

        monitor = monitor_from_dict(read_json(run_dir / runs.MONITOR))
    return RunContext(run_dir, config, info, read_metrics(run_dir / runs.METRICS), model, monitor)


# -- the sections -------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    return str(value)


def summary_section(ctx: RunContext) -> list[Section]:
    info, ds = ctx.info, ctx.info.get("dataset", {})
    status = info.get("status", "?")
    css = "ok" if status == "completed" else "bad"
    lines = [
        f'<p>Status: <span class="{css}">{escape(status)}</span>; '
        f"{escape(info.get('epochs_completed', 0))} of {escape(info.get('target_epochs', '?'))} "
        f"epochs, {escape(info.get('global_step', 0))} steps, "
        f"{escape(round(float(info.get('seconds', 0.0)), 2))} s of training.</p>",
        f"<p>Data: <code>{escape(ds.get('name'))}</code>, {escape(ds.get('task'))}, "
        f"{escape(ds.get('n_samples'))} examples × {escape(ds.get('n_features'))} features; "
        f"split {escape(', '.join(f'{k} {v}' for k, v in (ds.get('split') or {}).items()))}.</p>",
    ]
    if info.get("stop_reason"):
        lines.append(f"<p>{escape(info['stop_reason'])}</p>")
    final = info.get("final")
    if final:
        keys = list(final.get("test", {}))
        rows = [[split, *(_fmt(final[split].get(k, math.nan)) for k in keys)]
                for split in ("train", "val", "test") if split in final]
        lines.append("<h3>Final metrics</h3>" + table_html(["split", *keys], rows))
        if "accuracy" in final.get("test", {}):
            lines.append(f"<p>Test accuracy: <b>{100 * final['test']['accuracy']:.2f}%</b></p>")
    else:
        lines.append("<p>No final metrics: the run did not complete (resume it with "
                     f"<code>trainlab train --resume {escape(ctx.path)}</code>).</p>")
    return [Section("Summary", "".join(lines), anchor="summary")]


def config_section(ctx: RunContext) -> list[Section]:
    rows = [[key, _fmt(value)] for key, value in ctx.config.items()]
    body = ("<p>The fully resolved settings (<code>config.toml</code>; settings not listed are "
            "off). Rerun with <code>trainlab train --config "
            f"{escape(ctx.path / runs.CONFIG)}</code>.</p>"
            + table_html(["setting", "value"], rows))
    return [Section("Configuration", body, anchor="configuration")]


def _curve_figure(epochs: list[float], series: list[tuple[str, list[float]]], ylabel: str,
                  title: str, best: int | None = None, log: bool = False) -> Any:
    from trainlab.diagnostics.plots import COLORS, new_figure, spans_decades  # (matplotlib)

    fig, ax = new_figure(width=6.0, height=3.8)
    for i, (label, values) in enumerate(series):
        ax.plot(epochs, values, marker="o" if len(epochs) < 15 else None, ms=3,
                color=COLORS[i % len(COLORS)], label=label)
    if best:
        ax.axvline(best, color="#7f7f7f", ls="--", lw=1, label=f"best epoch ({best})")
    values = [v for _, vs in series for v in vs]
    if log or spans_decades(values):
        if all(v > 0 for v in values if math.isfinite(v)):
            ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=9)
    return fig


def curves_section(ctx: RunContext) -> list[Section]:
    m = ctx.metrics
    if not m.get("epoch"):
        return [Section("Learning curves", "<p>No epoch was completed.</p>", anchor="curves")]
    epochs = m["epoch"]
    best = ctx.info.get("best_epoch") if ctx.info.get("restored_best") else None
    metrics = ["accuracy"] if ctx.task == "classification" else ["mse", "r2"]
    names = {"loss": "loss", "accuracy": "accuracy", "mse": "mean squared error", "r2": "R²"}
    parts = []
    for key in ["loss", *metrics]:
        series = [(f"{label} {names[key]}", m[col]) for label, col in
                  (("training", key), ("validation", f"val_{key}")) if col in m]
        if series:
            parts.append(ctx.figure(
                _curve_figure(epochs, series, names[key], f"{names[key]} per epoch", best),
                f"curve_{key}", f"{names[key]} on the training and validation sets per epoch"))
    body = ("<p>Training metrics are the means over each epoch of the training-mode "
            "predictions made before each step; validation metrics are computed in evaluation "
            "mode after the epoch.</p>" + "".join(parts))
    sections = [Section("Learning curves", body, anchor="curves")]
    if "lr" in m:
        fig = _curve_figure(epochs, [("learning rate", m["lr"])], "learning rate",
                            "learning rate per epoch")
        schedule = ctx.config.get("schedule", "none")
        sections.append(Section("Learning rate", f"<p>Schedule: <code>{escape(schedule)}</code>; "
                                "the rate used during each epoch.</p>"
                                + ctx.figure(fig, "learning_rate", "learning rate over training"),
                                anchor="learning-rate"))
    return sections


def model_rows(model: Any, in_features: int) -> list[list[str]]:
    """(layer, type, output shape, parameters) for each layer, from a forward pass of a
    zero batch of 2 rows in evaluation mode (the model is left in evaluation mode)."""
    from trainlab.diagnostics.probe import layer_chain  # diagnostics imports matplotlib

    params = model.parameters()
    dtype = params[0].data.dtype if params else np.float32
    x = np.zeros((2, in_features), dtype=dtype)
    model.eval()
    rows, total = [], 0
    with np.errstate(all="ignore"):
        for name, layer in layer_chain(model):
            x = layer.forward(x)
            count = sum(p.data.size for p in layer.parameters())
            total += count
            extra = ""
            if hasattr(layer, "p") and isinstance(layer.p, float):
                extra = f" (p={layer.p:g})"
            shape = f"(batch, {', '.join(map(str, x.shape[1:]))})"
            rows.append([name, type(layer).__name__ + extra, shape, f"{count:,}"])
    rows.append(["total", "", "", f"{total:,}"])
    return rows


def model_section(ctx: RunContext) -> list[Section]:
    if ctx.model is None:
        return [Section("Model", "<p>No checkpoint: the model is not available.</p>",
                        anchor="model")]
    in_features = int(ctx.info.get("dataset", {}).get("n_features", 0))
    body = table_html(["layer", "type", "output shape", "parameters"],
                      model_rows(ctx.model, in_features))
    return [Section("Model", body, anchor="model")]


def diagnostics_sections(ctx: RunContext) -> list[Section]:
    if ctx.monitor is None:
        return [Section("Inside training", "<p>The diagnostics monitor was off "
                        "(<code>--no-monitor</code>).</p>", anchor="inside")]
    from trainlab.diagnostics.sections import report_sections  # diagnostics imports matplotlib

    sections = report_sections(ctx.monitor, ctx.model)
    for section in sections:  # keep the embedded figures as files as well
        for i, (data, alt) in enumerate(re.findall(
                r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"', section.body)):
            slug = re.sub(r"[^a-z0-9]+", "_", alt.lower()).strip("_") or f"figure{i}"
            ctx.figures.append((f"diag_{section.anchor}_{slug}.png", base64.b64decode(data)))
    return sections


def curvature_section(ctx: RunContext) -> list[Section]:
    """The curvature instrument's records (``curvature.json``, with ``--curvature``)."""
    path = ctx.path / runs.CURVATURE
    if not path.is_file():
        return []
    from trainlab.diagnostics.curvature.sections import (  # diagnostics imports matplotlib
        HEADER,
        curvature_figure,
        curvature_rows,
        records_from_json,
    )
    try:
        records = records_from_json(read_json(path))
    except ValueError as exc:
        return [Section("Curvature", f"<p>{escape(str(exc))}</p>", anchor="curvature")]
    if not records:
        return [Section("Curvature", "<p>No step was measured.</p>", anchor="curvature")]
    body = ("<p>Sharpness against the optimizer's stability threshold (Cohen et al. 2021, "
            "2022), the smallest Hessian eigenvalue, the Hessian's trace, the gradient noise "
            "scale B_simple (McCandlish et al. 2018) and the distance from initialisation, on "
            "64 training rows.</p>" + figure_html(curvature_figure(records),
                                                   alt="curvature during training")
            + table_html(HEADER, curvature_rows(records)))
    return [Section("Curvature", body, anchor="curvature")]


def files_section(ctx: RunContext) -> list[Section]:
    names = [runs.CONFIG, runs.RUN_INFO, runs.METRICS, runs.CHECKPOINT, runs.MODEL, runs.MONITOR,
             runs.CURVATURE]
    rows = [[n, f"{(ctx.path / n).stat().st_size:,} bytes"] for n in names
            if (ctx.path / n).is_file()]
    rows += [[f"{runs.FIGURES}/{name}", f"{len(data):,} bytes"] for name, data in ctx.figures]
    body = ("<p>Continue the run with <code>trainlab train --resume "
            f"{escape(ctx.path)} --epochs N</code>; evaluate it with <code>trainlab evaluate "
            f"{escape(ctx.path)}</code>.</p>" + table_html(["file", "size"], rows))
    return [Section("Files", body, anchor="files")]


SECTIONS: list[Callable[[RunContext], list[Section]]] = [
    summary_section,
    config_section,
    curves_section,
    model_section,
    diagnostics_sections,
    curvature_section,
    files_section,
]


def build_run_report(ctx: RunContext) -> str:
    """The HTML page of the run."""
    sections: list[Section] = []
    for make in SECTIONS:
        sections.extend(make(ctx))
    name = ctx.path.name
    subtitle = (f"{ctx.info.get('dataset', {}).get('name', '?')} · "
                f"trainlab {ctx.info.get('trainlab_version', '?')}")
    return render_page(f"trainlab run {name}", sections, subtitle=subtitle)


def write_run_report(run_dir: str | Path, monitor: Any = None, model: Any = None,
                     output: str | Path | None = None) -> Path:
    """Write ``report.html`` (or ``output``) and ``figures/*.png``; return the page's path."""
    ctx = load_context(run_dir, monitor=monitor, model=model)
    page = build_run_report(ctx)
    figures = make_figures_dir(ctx.path)  # a link there is refused, never followed
    for name, png in ctx.figures:
        runs.atomic_write_bytes(figures / name, png)
    path = Path(output) if output is not None else ctx.path / runs.REPORT
    runs.atomic_write_text(path, page)
    return path
