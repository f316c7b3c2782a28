"""One trial, as a worker runs it: a RunConfig and a seed trained into a run directory.

:func:`run_trial` is what every executor calls (a local worker process, a Ray task). It
takes a :class:`TrialTask` (plain data, so it pickles) and returns a
:class:`TrialResult`; it never raises, so a trial that crashes or diverges is recorded as
``failed`` with its reason and the sweep goes on.

The trial's run directory is ``TRIALS/trial-NNNN`` (NNNN: the trial's slot in the plan).
When the directory already exists (the sweep was killed while the trial ran), the run is
continued from its last complete checkpoint (:meth:`Run.resume`), and a run that had
already finished is read back, never trained again.

Pruning: after each epoch :class:`PruningCallback` reports the metric's value to the
trial in the study (``trial.report(value, epoch)``) and stops training when the pruner
says so (``trial.should_prune()``); the run is then complete, at fewer epochs.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from trainlab.recipe import from_flat
from trainlab.report.run_report import read_metrics
from trainlab.runs import METRICS, NotARunError, read_run_info
from trainlab.runs.run import Run, RunError
from trainlab.train import Callback

PRUNED = "pruned at epoch"
LOCK_WAIT = 30.0  # seconds to wait for a run directory that a dying process still holds


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs to run one trial.

    settings: the trial's settings by name (the base and the point), without the seed.
    storage / study / prune: where to report per-epoch values for pruning (``prune`` is
        ``"none"`` when nothing is reported).
    """

    slot: int
    trial_id: int
    settings: dict[str, Any]
    seed: int
    trials_dir: str
    metric: str
    storage: str
    study: str
    prune: str = "none"


@dataclass(frozen=True)
class TrialResult:
    """How a trial ended: ``status`` is ``complete``, ``pruned`` or ``failed``; ``value``
    the metric at the last epoch (None when there is none); ``reason`` why it was pruned
    or failed."""

    slot: int
    status: str
    value: float | None
    reason: str | None
    run_dir: str
    epochs: int
    seconds: float


def trial_name(slot: int) -> str:
    return f"trial-{slot:04d}"


class PruningCallback(Callback):
    """Report ``metric`` after each epoch; stop the run when ``should_stop(epoch, value)``
    says so. Runs after the checkpoint and metrics.csv of the epoch are written."""

    order = 12

    def __init__(self, metric: str, should_stop: Callable[[int, float], bool]) -> None:
        self.metric = metric
        self.should_stop = should_stop
        self.pruned_at: int | None = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        value = logs.get(self.metric)
        if value is None or not math.isfinite(value):
            return
        if self.should_stop(int(trainer.epoch), float(value)):
            self.pruned_at = int(trainer.epoch)
            trainer.stop(f"{PRUNED} {trainer.epoch}: {self.metric} = {value:.4g} was not "
                         "promising against the other trials")


def optuna_reporter(task: TrialTask) -> Callable[[int, float], bool]:
    """``(epoch, value) -> prune?`` through the trial in the study (opened on first use)."""
    import optuna  # (the worker's own connection; the sweep package requires optuna)

    from trainlab.sweep.space import pruner
    from trainlab.sweep.storage import load_study

    state: dict[str, Any] = {}

    def report(epoch: int, value: float) -> bool:
        if "trial" not in state:
            study = load_study(task.storage, task.study, pruner=pruner(task.prune))
            state["trial"] = optuna.trial.Trial(study, task.trial_id)
        trial = state["trial"]
        trial.report(value, epoch)
        return bool(trial.should_prune())

    return report


def run_trial(task: TrialTask) -> TrialResult:
    """Train the trial (single-threaded BLAS) and say how it ended; never raises."""
    started = time.perf_counter()
    run_dir = Path(task.trials_dir) / trial_name(task.slot)
    callbacks: list[Callback] = []
    if task.prune != "none":
        callbacks.append(PruningCallback(task.metric, optuna_reporter(task)))
    try:
        with threadpool_limits(limits=1):
            status, reason = _train(task, run_dir, callbacks)
    except Exception as exc:  # noqa: BLE001 - recorded, and the sweep goes on
        status, reason = "failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    value, epochs = _last_value(run_dir, task.metric)
    if status == "complete" and value is None:
        status, reason = "failed", f"the run recorded no finite {task.metric}"
    return TrialResult(task.slot, status, value, reason, str(run_dir), epochs,
                       time.perf_counter() - started)


def _train(task: TrialTask, run_dir: Path, callbacks: Iterable[Callback]) -> tuple[str, str | None]:
    if run_dir.exists():
        try:
            info = read_run_info(run_dir)
        except NotARunError:  # killed while the directory was being created
            shutil.rmtree(run_dir)
        else:
            if info.get("status") in ("completed", "diverged"):
                return _ended(info.get("status"), info.get("stop_reason"))
            outcome = _resume(run_dir, callbacks).train()
            return _ended(_status(outcome.status), outcome.message)
    config = from_flat({**task.settings, "seed": task.seed}, where="trial: ")
    run = Run.create(config, out=task.trials_dir, name=run_dir.name, callbacks=callbacks)
    if run.run_dir != run_dir:
        raise RunError(f"trial {task.slot}: its run directory {run_dir} was created by "
                       "another process at the same time")
    return _ended(_status(run.train().status), run.trainer.history.stop_reason)


def _status(outcome: str) -> str:
    return {"completed": "completed", "diverged": "diverged"}.get(outcome, outcome)


def _ended(status: Any, message: Any) -> tuple[str, str | None]:
    """(sweep status, reason) from a run's status and stop reason."""
    message = None if message is None else str(message)
    if status == "completed":
        if message is not None and message.startswith(PRUNED):
            return "pruned", message
        return "complete", None
    if status == "diverged":
        return "failed", message or "the run diverged"
    return "failed", f"the run ended {status}" + (f": {message}" if message else "")


def _resume(run_dir: Path, callbacks: Iterable[Callback]) -> Run:
    """Run.resume, waiting a little for a killed process's lock to go."""
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            return Run.resume(run_dir, callbacks=callbacks)
        except RunError as exc:
            if "another process" not in str(exc) and "being trained" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _last_value(run_dir: Path, metric: str) -> tuple[float | None, int]:
    """The metric at the last epoch of metrics.csv, and the number of epochs."""
    columns = read_metrics(run_dir / METRICS)
    values = columns.get(metric, [])
    epochs = len(columns.get("epoch", []))
    if not values or not math.isfinite(values[-1]):
        return None, epochs
    return float(values[-1]), epochs
