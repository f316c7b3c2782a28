"""Learning curves and metric tables for notebooks: ``History.plot()``,
``History._repr_html_()`` and the :class:`LivePlot` callback.

matplotlib and IPython are imported when a figure is drawn or displayed, so that
importing trainlab stays fast.
"""

from __future__ import annotations

import html
import math
from typing import Any

from trainlab.train.callbacks import Callback
from trainlab.train.protocols import TrainerView

NAMES = {"loss": "loss", "accuracy": "accuracy", "mse": "mean squared error", "r2": "R²",
         "lr": "learning rate"}


def format_number(value: Any) -> str:
    """One format for every metric: 4 significant digits, fixed or scientific as the
    value asks (``0.9750``, ``0.001939``, ``2.739e-06``, ``3750``); integers as they are."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        if 1e-3 <= abs(value) < 1e5:
            digits = max(0, 3 - int(math.floor(math.log10(abs(value)))))
            return f"{value:.{digits}f}"
        return f"{value:.3e}"
    return str(value)


def metric_groups(columns: list[str]) -> list[str]:
    """The metrics with a curve each (``loss`` first), from a history's columns."""
    base = [c for c in columns if c not in ("epoch", "epoch_time", "lr")
            and not c.startswith("val_")]
    base += [c[4:] for c in columns if c.startswith("val_") and c[4:] not in base]
    return sorted(base, key=lambda c: (c != "loss", columns.index(c) if c in columns else 99))


def history_html(history: Any, max_rows: int = 12) -> str:
    """An HTML table of the epochs (the first and last when there are many)."""
    keys = history.keys()
    rows = history.rows
    shown: list[Any] = rows
    if len(rows) > max_rows:
        half = max_rows // 2
        shown = [*rows[:half], None, *rows[-half:]]
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = []
    for row in shown:
        if row is None:
            body.append(f'<tr><td colspan="{len(keys)}">…</td></tr>')
            continue
        body.append("<tr>" + "".join(
            f"<td>{html.escape(format_number(row.get(k, math.nan)))}</td>" for k in keys)
            + "</tr>")
    note = f"<p>History: {len(history)} epochs"
    if history.stop_reason:
        note += f"; {html.escape(history.stop_reason)}"
    note += "</p>"
    return (f'{note}<table class="trainlab-history"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def plot_history(history: Any, metrics: list[str] | None = None, figure: Any = None) -> Any:
    """A matplotlib Figure with one panel per metric: training and validation against the
    epoch, a dashed line at the best epoch (lowest validation loss), log scale for a loss
    that spans decades. Returns the Figure (drawn into ``figure`` when given)."""
    show_inline()
    if figure is None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(4.2 * max(1, len(metrics or metric_groups(history.keys()))),
                                 3.2), layout="constrained")
    figure.clear()
    keys = history.keys()
    metrics = metrics or metric_groups(keys)
    unknown = [m for m in metrics if m not in keys and f"val_{m}" not in keys]
    if unknown:
        raise ValueError(f"History.plot: no column {unknown[0]!r}. Columns: {keys}.")
    epochs = history["epoch"] if "epoch" in keys else list(range(1, len(history) + 1))
    best = None
    if "val_loss" in keys and len(history):
        values = history["val_loss"]
        finite = [(v, e) for v, e in zip(values, epochs, strict=True) if math.isfinite(v)]
        best = min(finite)[1] if finite else None
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        for label, column, style in (("training", metric, "-"), ("validation",
                                                                 f"val_{metric}", "--")):
            if column in keys:
                ax.plot(epochs, history[column], style, marker="o" if len(epochs) < 15 else None,
                        ms=3, label=label)
        if best is not None:
            ax.axvline(best, color="#7f7f7f", lw=1, ls=":", label=f"best epoch ({best})")
        values = [v for c in (metric, f"val_{metric}") if c in keys for v in history[c]
                  if math.isfinite(v)]
        if metric == "loss" and values and min(values) > 0 and max(values) / min(values) > 30:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(NAMES.get(metric, metric))
        ax.legend(fontsize=8)
    return figure


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython with a kernel attached)."""
    import sys

    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def figure_png(figure: Any) -> bytes:
    """A matplotlib Figure as PNG bytes."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def show_inline() -> None:
    """In Jupyter, let a returned matplotlib Figure display as a PNG image, whatever the
    matplotlib backend (the kernel's formatter for the Figure type is set)."""
    if not in_notebook():
        return
    from IPython import get_ipython
    from matplotlib.figure import Figure

    formatter = get_ipython().display_formatter.formatters["image/png"]
    formatter.for_type(Figure, figure_png)


class LivePlot(Callback):
    """Redraw the learning curves in place after every ``every`` epochs.

    In Jupyter the figure is one output that is updated (``IPython.display`` with a
    display id); elsewhere nothing is shown and ``figure`` holds the latest drawing.
    metrics: the panels (default: loss and the task's metric).
    """

    order = 30

    def __init__(self, metrics: list[str] | None = None, every: int = 1) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"LivePlot: every must be a positive integer. Received: {every!r}.")
        self.metrics = metrics
        self.every = every
        self.figure: Any = None
        self._handle: Any = None

    def on_epoch_end(self, trainer: TrainerView, epoch: int, logs: dict[str, float]) -> None:
        if epoch % self.every:
            return
        self.figure = plot_history(trainer.history, self.metrics, self.figure)
        if not in_notebook():
            return
        from IPython.display import display

        if self._handle is None:
            self._handle = display(self.figure, display_id=True)
        else:
            self._handle.update(self.figure)
