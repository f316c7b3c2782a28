"""Progress display: a live tqdm bar on a terminal, one plain line per epoch otherwise.

``verbose=0``: silent; ``1``: a bar with the running loss when stderr is a terminal,
else one line per epoch; ``2``: always one line per epoch.
"""

from __future__ import annotations

import numbers
import sys
from typing import Any, TextIO

from tqdm.auto import tqdm

from trainlab.train.callbacks import Callback
from trainlab.train.protocols import TrainerView

_SKIP = ("epoch", "epoch_time")


def format_logs(logs: dict[str, Any]) -> str:
    """``"loss 0.2314  accuracy 0.9312  lr 0.001  1.2s"`` from an epoch's row."""
    parts = [f"{key} {value:.4g}" for key, value in logs.items() if key not in _SKIP]
    if "epoch_time" in logs:
        parts.append(f"{logs['epoch_time']:.2f}s")
    return "  ".join(parts)


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

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
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
            dynamic_ncols=True,
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
            self.bar.set_postfix_str(format_logs(logs), refresh=False)
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
    if verbose == 1 and hasattr(target, "isatty") and target.isatty():
        return ProgressBar(stream)
    return EpochLog(stream)
