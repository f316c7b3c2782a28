"""Keeping a run directory's ``metrics.csv`` and ``monitor.json`` current while it trains.

:class:`RunRecorder` runs after :class:`~trainlab.train.ModelCheckpoint` (order 10) at the
end of every epoch, so the files on disk always describe complete epochs; each is
replaced atomically. ``metrics.csv`` has no ``epoch_time`` column (wall-clock time would
make two identical runs differ); the times go to ``run.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainlab.diagnostics import Monitor
from trainlab.diagnostics.serialize import monitor_to_dict
from trainlab.runs import directory
from trainlab.train import Callback, History

TIMING_COLUMNS = ("epoch_time",)
MONITOR_WRITE_EPOCHS = 10


def metrics_history(history: History, epochs: int) -> History:
    """The rows of the first ``epochs`` completed epochs, without the timing column."""
    out = History()
    for row in history.rows[:epochs]:
        out.append({k: v for k, v in row.items() if k not in TIMING_COLUMNS})
    return out


def write_metrics(path: Path, history: History, epochs: int) -> None:
    """Write ``metrics.csv`` atomically."""
    directory.atomic_write_text(path, metrics_history(history, epochs).to_csv_text())


def write_monitor(path: Path, monitor: Monitor) -> None:
    directory.atomic_write_text(path, json.dumps(monitor_to_dict(monitor), allow_nan=False))


class RunRecorder(Callback):
    """After each epoch's checkpoint: rewrite metrics.csv; every ``MONITOR_WRITE_EPOCHS``
    epochs also monitor.json (its records grow with the run, so writing it every epoch
    would cost a third of a small run's time; the end of a run, Ctrl-C and a failure
    write it too). After a SIGKILL the diagnostics resume from the last monitor.json,
    cut back to the checkpoint; the weights resume exactly either way."""

    order = 11

    def __init__(self, run_dir: Path, monitor: Monitor | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.monitor = monitor

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        write_metrics(self.run_dir / directory.METRICS, trainer.history, trainer.epoch)
        if self.monitor is not None and trainer.epoch % MONITOR_WRITE_EPOCHS == 0:
            write_monitor(self.run_dir / directory.MONITOR, self.monitor)
