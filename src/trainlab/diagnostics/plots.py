"""Figures of the signal inside a network (matplotlib, drawn off-screen).

Figures are built as ``matplotlib.figure.Figure`` objects, not through ``pyplot``: no
window, no global figure registry, and the same PNG on any machine. Each has labelled
axes, a legend where there is more than one line, and a log scale where the quantity
spans decades.

- :func:`depth_profile_figure`: output std and gradient std against depth, at
  initialisation and at the end, with the theory line.
- :func:`grad_norm_figure`: gradient norm reaching each layer over training.
- :func:`histogram_figure`: activation histograms per layer (Glorot & Bengio 2010, fig. 3-4).
- :func:`saturation_figure`: saturated (sigmoid/tanh) and dead (ReLU) fractions over training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from trainlab.diagnostics.probe import display_label

if TYPE_CHECKING:
    from trainlab.diagnostics.monitor import Monitor

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")


def new_figure(
    ncols: int = 1, nrows: int = 1, width: float = 6.0, height: float = 4.2
) -> tuple[Figure, Any]:
    """A figure of ``nrows × ncols`` panels of ``width × height`` inches each;
    returns (fig, axes)."""
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.grid(True, which="major", alpha=0.3)
        ax.tick_params(labelsize=10)
    return fig, (
        axes[0, 0] if nrows == ncols == 1 else axes.ravel() if min(nrows, ncols) == 1 else axes
    )


def save_figure(fig: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG at ``path`` (folders are created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def positive(values: Sequence[float], floor: float = 1e-45) -> np.ndarray:
    """Values for a log axis: non-finite become NaN (a gap), zeros become ``floor``."""
    a = np.asarray(values, dtype=np.float64)
    a = np.where(np.isfinite(a), a, np.nan)
    return np.where(a > 0, a, np.where(np.isnan(a), np.nan, floor))


def spans_decades(values: Sequence[float], decades: float = 1.5) -> bool:
    """True when the positive finite values span more than ``decades`` powers of ten."""
    a = np.asarray([v for v in values if v > 0 and math.isfinite(v)], dtype=np.float64)
    return a.size > 1 and math.log10(a.max() / a.min()) > decades


def depth_profile_figure(monitor: Monitor) -> Figure:
    """Output std and gradient std per layer at initialisation and at the end, with theory."""
    first, last = monitor.first_record, monitor.last_record
    fig, (ax_out, ax_grad) = new_figure(2, 1)
    labels = [display_label(s.label) for s in first.layers]
    depth = np.arange(1, len(labels) + 1)
    for ax, attr, what in (
        (ax_out, "out_std", "output std"), (ax_grad, "grad_std", "gradient std")
    ):
        series = [getattr(s, attr) for s in first.layers] + [getattr(s, attr) for s in last.layers]
        ax.plot(depth, positive([getattr(s, attr) for s in first.layers]), "o-",
                color=COLORS[0], label=f"measured at step {first.step} (init)")
        if last is not first:
            ax.plot(depth, positive([getattr(s, attr) for s in last.layers]), "s-",
                    color=COLORS[1], label=f"measured at step {last.step} (end)")
        if monitor.theory is not None:
            theory = [math.sqrt(max(t.out_var if attr == "out_std" else t.grad_var, 0.0))
                      if math.isfinite(t.out_var) and math.isfinite(t.grad_var) else math.nan
                      for t in monitor.theory]
            ax.plot(depth, positive(theory), "k--", label="theory at init")
            series += theory
        if spans_decades(series):
            ax.set_yscale("log")
        ax.set_xlabel("layer (input → output)")
        ax.set_ylabel(what)
        ax.set_title(f"{what} against depth")
        ax.set_xticks(depth, labels, rotation=60, fontsize=8)
        ax.legend(fontsize=9)
    return fig


def grad_norm_figure(monitor: Monitor) -> Figure:
    """Gradient norm reaching each layer with parameters, and the global norm, over training."""
    fig, ax = new_figure(1, 1, width=7.0)
    steps = [r.step for r in monitor.records]
    names = [p.name for p in monitor.records[0].params if p.is_weight]
    values: list[float] = []
    for i, name in enumerate(names):
        series = [p.grad_norm if (p := r.param(name)) else math.nan for r in monitor.records]
        values += series
        layer = name.rsplit(".", 1)[0]
        ax.plot(steps, positive(series), color=COLORS[i % len(COLORS)],
                label=f"layer {layer} · ‖∂L/∂W‖")
    ax.plot(steps, positive([r.grad_norm for r in monitor.records]), "k-", lw=2,
            label="global norm (before clipping)")
    if spans_decades(values + [r.grad_norm for r in monitor.records], 1.0):
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("gradient norm")
    ax.set_title("gradient norm per layer over training")
    ax.legend(fontsize=8, ncol=2)
    return fig


def histogram_figure(monitor: Monitor) -> Figure:
    """Normalised histograms of each activation layer's output (one line per layer), at
    initialisation and at the end, on common bins (Glorot & Bengio 2010, figures 3-7).

    A layer with 20% or more of its values exactly 0 (a ReLU's inactive units) is drawn
    without them, as fractions of all its values; its legend gives the share at 0."""
    when = [("init", "at initialisation"), ("end", "at the end of training")]
    names = list(monitor.samples.get("init", {})) or list(monitor.samples.get("end", {}))
    finite = [v[np.isfinite(v)] for key, _ in when for v in monitor.samples.get(key, {}).values()]
    finite = [v for v in finite if v.size]
    lo, hi = (min(v.min() for v in finite), max(v.max() for v in finite)) if finite else (-1.0, 1.0)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 61)
    centres = 0.5 * (edges[1:] + edges[:-1])
    fig, axes = new_figure(2, 1, width=5.5)
    for ax, (key, title) in zip(axes, when, strict=False):
        for i, name in enumerate(names):
            values = monitor.samples.get(key, {}).get(name)
            if values is None or not np.isfinite(values).any():
                continue
            values = values[np.isfinite(values)]
            label, drawn = display_label(name), values
            zeros = float(np.mean(values == 0.0))
            if zeros >= 0.2:  # a ReLU's exact zeros: one spike that would flatten the rest
                drawn = values[values != 0.0]
                label = f"{label} ({100 * zeros:.0f}% exactly 0, not drawn)"
            counts, _ = np.histogram(drawn, bins=edges)
            ax.plot(centres, counts / values.size, "-", color=COLORS[i % len(COLORS)],
                    label=label)
        ax.set_xlabel("activation value")
        ax.set_ylabel("fraction of values")
        ax.set_title(f"activation histograms {title}")
        ax.legend(fontsize=8)
    return fig


def saturation_figure(monitor: Monitor) -> Figure:
    """Fraction of saturated sigmoid/tanh units and of dead ReLU units over training."""
    fig, ax = new_figure(1, 1, width=7.0)
    steps = [r.step for r in monitor.records]
    drawn = 0
    for i, stats in enumerate(monitor.records[0].layers):
        for attr, what, style in (("saturated", "saturated", "-"), ("dead", "dead", "--")):
            if math.isnan(getattr(stats, attr)):
                continue
            series = [getattr(r.layers[i], attr) for r in monitor.records]
            ax.plot(steps, series, style, color=COLORS[drawn % len(COLORS)],
                    lw=2.5 - 0.3 * (drawn % 4), label=f"{display_label(stats.label)} {what}")
            drawn += 1
    drawn_values = [v for line in ax.get_lines() for v in line.get_ydata() if math.isfinite(v)]
    top = max(drawn_values, default=0.0)
    ax.set_ylim(-0.02 * max(top, 0.05), min(1.02, max(top, 0.05) * 1.15))  # scaled to the data
    ax.set_xlabel("training step")
    ax.set_ylabel("fraction of outputs (saturated) or units (dead)")
    ax.set_title("saturated (σ' or tanh' < 1% of max) and dead (ReLU) units")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return fig
