"""Callbacks: code the :class:`~trainlab.train.Trainer` runs at fixed points of training.

Every hook receives the trainer first; through it a callback sees ``model``,
``loss``, ``optimizer``, ``schedule``, ``history``, the counters ``epoch`` (epochs
completed), ``current_epoch`` (the one running, 1-based), ``global_step`` (optimizer
steps taken) and ``batch_index``, and the current batch ``x_batch``, ``y_batch``,
``output`` and ``batch_loss``. One training step runs

    on_batch_begin -> forward, loss -> backward -> on_after_backward (gradients present)
    -> NaN guard -> clipping -> on_after_clip(norm_before, norm_after)
    -> optimizer.step() -> on_batch_end

A callback that only reads these and draws nothing from ``trainer.rng`` leaves the
run's numbers unchanged. ``trainer.stop(reason)`` ends training after the current
batch (the epoch is then finished with the batches done: validation and
``on_epoch_end`` still run). Callbacks run in the order given, after sorting by
their ``order`` (schedules first at -10, checkpoints last at 10: ModelCheckpoint lives
with the checkpoint format, in :mod:`trainlab.train.checkpoint`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from trainlab._checks import all_finite, check_int, check_number
from trainlab.nn.module import Module
from trainlab.optim import ReduceLROnPlateau
from trainlab.train.protocols import Schedule, TrainerView

HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_begin",
    "on_after_backward",
    "on_after_clip",
    "on_batch_end",
    "on_epoch_end",
    "on_train_end",
)


class Callback:
    """Base class: every hook does nothing. Override the ones you need."""

    order: int = 0

    def on_train_begin(self, trainer: TrainerView) -> None:
        """Once per ``fit`` call, before the first epoch."""

    def on_epoch_begin(self, trainer: TrainerView, epoch: int) -> None:
        """Before epoch ``epoch`` (1-based)."""

    def on_batch_begin(self, trainer: TrainerView, batch: int) -> None:
        """Before the forward pass of batch ``batch`` (0-based within the epoch)."""

    def on_after_backward(self, trainer: TrainerView) -> None:
        """After backward: every ``p.grad`` holds this batch's gradient, not yet clipped."""

    def on_after_clip(self, trainer: TrainerView, norm_before: float, norm_after: float) -> None:
        """After clipping: the global L2 norm of the gradients before and after it."""

    def on_batch_end(self, trainer: TrainerView, batch: int, loss: float) -> None:
        """After ``optimizer.step()``; ``loss`` is the batch's loss before the step."""

    def on_epoch_end(self, trainer: TrainerView, epoch: int, logs: dict[str, float]) -> None:
        """After validation; ``logs`` is the epoch's row of the history (keys may be added)."""

    def on_train_end(self, trainer: TrainerView) -> None:
        """Once per ``fit`` call, after the last epoch, early stop or divergence."""

    def state_dict(self) -> dict[str, Any] | None:
        """State a checkpoint must keep to resume exactly (None: nothing)."""
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


def overrides(callback: Callback, hook: str) -> bool:
    """True when ``callback`` defines ``hook`` itself (the trainer calls only those)."""
    return hook in vars(callback) or getattr(type(callback), hook) is not getattr(Callback, hook)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_batch_end=f, ...)``.

    Each function takes the same arguments as the hook of that name.
    """

    def __init__(self, **hooks: Callable[..., None]) -> None:
        for name, fn in hooks.items():
            if name not in HOOKS:
                raise ValueError(
                    f"LambdaCallback: unknown hook {name!r}; expected one of {list(HOOKS)}."
                )
            if not callable(fn):
                raise TypeError(
                    f"LambdaCallback: {name} must be callable. Received: {type(fn).__name__}."
                )
            setattr(self, name, fn)


# -- monitoring a metric ----------------------------------------------------------------


def resolve_mode(monitor: str, mode: str, owner: str) -> str:
    """``"min"`` or ``"max"``; ``"auto"`` is max for accuracy, r2 and the scores (precision,
    recall, f1, roc_auc, and their per-class columns), min otherwise."""
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"{owner}: monitor must be a metric name. Received: {monitor!r}.")
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max'. Received: {mode!r}.")
    if mode == "auto":
        scores = ("precision", "recall", "f1", "roc_auc")
        name = monitor[4:] if monitor.startswith("val_") else monitor
        higher = monitor.endswith(("accuracy", "r2")) or name.split("_")[0] in scores or \
            name.startswith("roc_auc")
        return "max" if higher else "min"
    return mode


def improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` (NaN never does)."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def monitored(logs: dict[str, float], monitor: str, owner: str) -> float:
    """``logs[monitor]``, or a ValueError listing the available names."""
    if monitor not in logs:
        raise ValueError(
            f"{owner}: the monitored metric {monitor!r} is not in the epoch's logs. "
            f"Available: {sorted(logs)}."
        )
    return float(logs[monitor])


def check_monitor_available(trainer: TrainerView, monitor: str, owner: str) -> None:
    """A ``val_`` metric needs validation data: say so before the first epoch."""
    if monitor.startswith("val_") and not trainer.has_validation:
        raise ValueError(
            f"{owner}: monitor={monitor!r} needs validation data. Pass validation_data=(X, y) "
            f"to fit, or monitor a training metric such as {monitor[4:]!r}."
        )


def check_state(state: Any, keys: tuple[str, ...], owner: str) -> None:
    """A callback's saved state: a dict with exactly ``keys``."""
    if not isinstance(state, dict) or set(state) != set(keys):
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"{owner}.load_state_dict: expected the keys {list(keys)}. Received: {got}."
        )


def check_best(value: Any, owner: str) -> float | None:
    """The best monitored value so far: None or a real number (NaN never is one)."""
    if value is None:
        return None
    return check_number(value, f"{owner}: best")


def weights_finite(model: Module) -> bool:
    """True when every parameter and float buffer of ``model`` is finite."""
    return all(all_finite(p.data) for p in model.parameters()) and all(
        all_finite(b) for b in model.buffers() if b.dtype.kind == "f"
    )


# -- the callbacks --------------------------------------------------------------------


class LRScheduler(Callback):
    """Step a learning-rate schedule once per epoch, after validation, or after every
    optimizer step when the schedule's ``interval`` is ``"step"`` (OneCycleLR,
    CosineAnnealingWarmRestarts).

    ``ReduceLROnPlateau`` gets the monitored metric (``val_loss`` by default);
    every other schedule is stepped without arguments. The ``lr`` column of the
    history is the rate at the start of the epoch.
    """

    order = -10

    def __init__(self, schedule: Schedule, monitor: str = "val_loss") -> None:
        if isinstance(schedule, type) or not callable(getattr(schedule, "step", None)):
            raise TypeError(
                "LRScheduler: schedule must be a trainlab.optim schedule with step(). "
                f"Received: {type(schedule).__name__}."
            )
        self.schedule = schedule
        self.monitor = monitor
        resolve_mode(monitor, "auto", "LRScheduler")
        self.per_step = getattr(schedule, "interval", "epoch") == "step"
        """Whether the schedule is stepped after every optimizer step (read once: the
        batch hook is on the training step's path)."""

    @property
    def needs_metric(self) -> bool:
        return isinstance(self.schedule, ReduceLROnPlateau)

    def on_batch_end(self, trainer: TrainerView, batch: int, loss: float) -> None:
        if self.per_step:
            self.schedule.step()

    def on_train_begin(self, trainer: TrainerView) -> None:
        if self.needs_metric:
            check_monitor_available(trainer, self.monitor, "LRScheduler(ReduceLROnPlateau)")

    def on_epoch_end(self, trainer: TrainerView, epoch: int, logs: dict[str, float]) -> None:
        if self.needs_metric:
            self.schedule.step(monitored(logs, self.monitor, "LRScheduler(ReduceLROnPlateau)"))
        elif not self.per_step:
            self.schedule.step()


class EarlyStopping(Callback):
    """Stop when the monitored metric has not improved for ``patience`` epochs.

    An epoch improves when its value beats the best so far by more than
    ``min_delta`` (lower for ``mode="min"``, higher for ``"max"``; ``"auto"`` picks
    max for accuracy and r2). With a ``baseline``, an improvement that does not also
    beat the baseline counts as an epoch without improvement, so training stops after
    ``patience`` epochs unless the metric gets past the baseline. The first
    ``start_from_epoch`` epochs are not watched (a warmup). With ``restore_best=True``
    the model gets back the weights of its best epoch when training ends, whether this
    callback stopped it or not (as Keras 3's ``restore_best_weights``).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best: bool = True,
        baseline: float | None = None,
        start_from_epoch: int = 0,
    ) -> None:
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode, "EarlyStopping")
        self.patience = check_int(patience, "EarlyStopping: patience", low=0)
        self.min_delta = abs(check_number(min_delta, "EarlyStopping: min_delta"))
        self.restore_best = bool(restore_best)
        self.baseline = None if baseline is None else check_number(baseline,
                                                                   "EarlyStopping: baseline")
        self.start_from_epoch = check_int(start_from_epoch, "EarlyStopping: start_from_epoch",
                                          low=0)
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0
        self.restored_epoch = 0
        self.best_state: dict[str, Any] | None = None

    def on_train_begin(self, trainer: TrainerView) -> None:
        check_monitor_available(trainer, self.monitor, "EarlyStopping")
        if trainer.epoch == 0:
            self._reset()
        self.stopped_epoch = 0
        self.restored_epoch = 0

    def on_epoch_end(self, trainer: TrainerView, epoch: int, logs: dict[str, float]) -> None:
        if epoch <= self.start_from_epoch:
            return
        value = monitored(logs, self.monitor, "EarlyStopping")
        if improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch = value, epoch
            if self.restore_best:
                self.best_state = trainer.model.state_dict()
            if self.baseline is None or improved(value, self.baseline, self.mode, self.min_delta):
                self.wait = 0
                return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            restored = (
                f"; the weights of epoch {self.best_epoch} are restored"
                if self.restore_best and self.best_state is not None
                else ""
            )
            baseline = "" if self.baseline is None else f" or on the baseline {self.baseline:.6g}"
            trainer.stop(
                f"Early stopping at epoch {epoch}: {self.monitor} has not improved on "
                f"{self.best:.6g} (epoch {self.best_epoch}){baseline} for {self.wait} "
                f"epochs{restored}."
                if self.best is not None
                else f"Early stopping at epoch {epoch}: {self.monitor} is not finite."
            )

    def on_train_end(self, trainer: TrainerView) -> None:
        if self.restore_best and self.best_state is not None:
            if self.best_epoch != trainer.epoch:
                self.restored_epoch = self.best_epoch
            trainer.model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "best_state": self.best_state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state(state, ("best", "best_epoch", "wait", "best_state"), "EarlyStopping")
        if state["best_state"] is not None and not isinstance(state["best_state"], dict):
            raise ValueError("EarlyStopping.load_state_dict: best_state must be a dict or None.")
        self.best = check_best(state["best"], "EarlyStopping")
        self.best_epoch = check_int(state["best_epoch"], "EarlyStopping: best_epoch", low=0)
        self.wait = check_int(state["wait"], "EarlyStopping: wait", low=0)
        self.best_state = state["best_state"]
