"""Progress display: a live tqdm bar on a terminal or in Jupyter (``tqdm.auto`` picks the
notebook widget there), one plain line per epoch otherwise.

``verbose=0``: silent; ``1``: a bar with the running loss when stderr is a terminal or
the code runs in a Jupyter kernel, else one line per epoch; ``2``: always one line per
epoch. At the end of an epoch the bar shows the validation metrics first, so that a
narrow terminal (80 columns) cuts the learning rate and the time, not them.
"""

from __future__ import annotations

import numbers
import sys
from typing import Any, TextIO

from tqdm.auto import tqdm

from trainlab.train.callbacks import Callback
from trainlab.train.display import in_notebook
from trainlab.train.protocols import TrainerView

_SKIP = ("epoch", "epoch_time")


def format_logs(logs: dict[str, Any]) -> str:
    """``"loss 0.2314  accuracy 0.9312  lr 0.001  1.2s"`` from an epoch's row."""
    parts = [f"{key} {value:.4g}" for key, value in logs.items() if key not in _SKIP]
    if "epoch_time" in logs:
        parts.append(f"{logs['epoch_time']:.2f}s")
    return "  ".join(parts)


def compact_logs(logs: dict[str, Any]) -> str:
    """The bar's end-of-epoch text: validation metrics first, then training metrics,
    then the learning rate, 4 significant digits, one space apart."""
    keys = [k for k in logs if k not in _SKIP]
    order = ([k for k in keys if k.startswith("val_")]
             + [k for k in keys if not k.startswith("val_") and k != "lr"]
             + [k for k in keys if k == "lr"])
    return " ".join(f"{key} {logs[key]:.4g}" for key in order)


class EpochLog(Callback):
    """Print one line per epoch (and the reason training stopped early) to ``stream``."""

    order = 20

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout, flush=True)

    def on_epoch_end(self, trainer: TrainerView, epoch: int, logs: dict[str, float]) -> None:
        width = len(str(trainer.target_epochs))
        self._print(f"epoch {epoch:>{width}}/{trainer.target_epochs}  {format_logs(logs)}")

    def on_train_end(self, trainer: TrainerView) -> None:
        reason = trainer.history.stop_reason
        if reason and trainer.history.diverged is None:  # divergence is reported as a warning
            self._print(reason)


class ProgressBar(EpochLog):
    """A tqdm bar per epoch on stderr with the running mean of the training loss."""

    def __init__(self, stream: TextIO | None = None, ncols: int | None = None) -> None:
        super().__init__(stream)
        self.ncols = ncols  # None: the terminal's width, followed as it changes
        self.bar: Any = None
        self._loss_sum = 0.0
        self._count = 0

    def _print(self, text: str) -> None:
        tqdm.write(text, file=self.stream or sys.stderr)

    def on_epoch_begin(self, trainer: TrainerView, epoch: int) -> None:
        self.close()
        self.bar = tqdm(
            total=trainer.batches_per_epoch,
            desc=f"epoch {epoch}/{trainer.target_epochs}",
            unit="batch",
            leave=True,
            dynamic_ncols=self.ncols is None,
            ncols=self.ncols,
            # the bar shrinks first; the metrics after it are cut only at the very end
            bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}",
            file=self.stream or sys.stderr,
        )
        self._loss_sum, self._count = 0.0, 0

    def on_batch_end(self, trainer: TrainerView, batch: int, loss: float) -> None:
        self._loss_sum += loss
        self._count += 1
        if self.bar.update(1):  # True when tqdm redrew: refresh the loss shown too
            self.bar.set_postfix_str(f"loss {self._loss_sum / self._count:.4g}")

    def on_epoch_end(self, trainer: TrainerView, epoch: int, logs: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(compact_logs(logs), refresh=False)
        self.close()

    def on_train_end(self, trainer: TrainerView) -> None:
        self.close()
        super().on_train_end(trainer)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_callback(verbose: int, stream: TextIO | None = None) -> Callback | None:
    """The display for ``verbose`` (0, 1 or 2), or None when silent."""
    if isinstance(verbose, bool) or not isinstance(verbose, numbers.Integral):
        raise TypeError(f"verbose must be the integer 0, 1 or 2. Received: {verbose!r}.")
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2. Received: {verbose!r}.")
    if verbose == 0:
        return None
    target = stream or sys.stderr
    if verbose == 1 and ((hasattr(target, "isatty") and target.isatty())
                         or (stream is None and in_notebook())):
        return ProgressBar(stream)
    return EpochLog(stream)
