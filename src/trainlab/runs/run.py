"""``Run``: one training run built from a :class:`~trainlab.recipe.RunConfig`.

    run = Run.create(from_flat({"data": "iris", "epochs": 20}), out="runs")
    outcome = run.train()                  # writes runs/iris/...; outcome.status, .final
    run = Run.resume("runs/iris", epochs=40)   # continue exactly, up to 40 epochs
    Run.in_memory(config).train()          # the same, without a run directory

A Run owns the derived seeds (:class:`RunSeeds`), the split and the scalers
(:class:`Prepared`), the model, optimizer, schedule and trainer, and, when it has one, the
run directory and its files (``config.toml``, ``run.json``, ``metrics.csv``, the
checkpoints, ``monitor.json``, ``report.html``). The command line, the sweeps and the
notebooks all train through it; reading a finished run back is :mod:`trainlab.runs.record`.

Every run records two fingerprints in ``run.json`` and in its checkpoints: SHA-256 of its
data and of its resolved settings. A resume refuses when either changed underneath, and
when it would train nothing.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import __version__
from trainlab.backend.compiled import NumbaBackend
from trainlab.backend.gemm import provider_for_resume
from trainlab.backend.threads import blas_threads, resolve_threads
from trainlab.data import num_batches
from trainlab.diagnostics import Monitor, TrainingHealthWarning
from trainlab.diagnostics.curvature import CurvatureMonitor, CurvatureRecord
from trainlab.diagnostics.curvature.sections import records_to_json
from trainlab.diagnostics.serialize import monitor_from_dict
from trainlab.recipe import (
    SETTINGS,
    RunConfig,
    SettingError,
    absolute_paths,
    differences,
    fingerprint,
    from_flat,
    read_toml,
    resolved,
    to_toml,
)
from trainlab.report.run_report import write_run_report
from trainlab.runs import build, directory, prepare
from trainlab.runs.recorder import RunRecorder, write_metrics, write_monitor
from trainlab.runs.seeds import RunSeeds
from trainlab.train import (
    Callback,
    Checkpoint,
    CheckpointError,
    DivergenceWarning,
    EarlyStopping,
    ModelCheckpoint,
    Trainer,
    load_checkpoint,
    restore_checkpoint,
    save_checkpoint,
)
from trainlab.train.evaluation import evaluate_model, forward_batches
from trainlab.train.metrics import mse, r2
from trainlab.train.protocols import Schedule


class RunError(SettingError):
    """A run cannot be created, resumed or read as asked (the message says why)."""


@dataclass
class RunOutcome:
    """How a call of :meth:`Run.train` ended.

    status: ``"completed"``, ``"diverged"`` or ``"interrupted"``.
    epochs: epochs completed (for "interrupted": those in the kept checkpoint).
    final: ``{"train"|"val"|"test": metrics}`` for a completed run, else None.
    report: the report's path, when one was written.
    message: what stopped a diverged or interrupted run.
    """

    status: str
    epochs: int
    final: dict[str, dict[str, float]] | None = None
    report: Path | None = None
    message: str | None = None


def dataset_facts(prepared: prepare.Prepared) -> dict[str, Any]:
    """What predictions and reports need to know of the data (JSON-able)."""
    ds = prepared.dataset
    return {
        "task": ds.task, "n_samples": ds.n_samples, "n_features": ds.n_features,
        "n_outputs": ds.n_outputs,
        "class_names": None if ds.class_names is None else [str(c) for c in ds.class_names],
        "feature_names": [str(f) for f in ds.feature_names or ()],  # (never None once built)
        "image_shape": None if ds.image_shape is None else list(ds.image_shape),
        "split": {"train": int(prepared.X_train.shape[0]), "val": int(prepared.X_val.shape[0]),
                  "test": int(prepared.X_test.shape[0])},
    }


def _settings_json(config: RunConfig) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.to_flat().items()}


class Run:
    """A run's pieces, built from a resolved RunConfig (see the module's docstring)."""

    def __init__(
        self,
        config: RunConfig,
        prepared: prepare.Prepared,
        *,
        run_dir: Path | None = None,
        checkpoint: Checkpoint | None = None,
        callbacks: Iterable[Callback] = (),
        previous: dict[str, Any] | None = None,
        derived: tuple[str, ...] = (),
        lock: Any = None,
    ) -> None:
        self.config = config
        self.seeds = RunSeeds.from_seed(config.seed)
        self.data = prepared
        self.task = prepared.task
        self.run_dir = run_dir
        self.previous = previous or {}
        self.derived = derived
        self.seconds = 0.0
        self.command: list[str] = []
        self.resume_note: str | None = None
        ds = prepared.dataset
        self.model_config, self.model = build.build_model(config, ds.n_features, ds.n_outputs,
                                                          self.seeds.model,
                                                          rows=len(prepared.X_train))
        self.compute_note = _continue_on_recorded_provider(self.model, self.previous)
        """Why a resumed run's products differ from its first part's (None: they do not)."""
        self.optimizer = build.build_optimizer(config, self.model.parameters())
        self.class_weight = build.loss_weight(config, self.task, prepared.y_train,
                                              ds.n_classes)
        self.threads = resolve_threads(config.training.threads,
                                       sum(p.data.size for p in self.model.parameters()))
        """The BLAS threads of the training (``training.threads``, resolved)."""
        self.schedule = build.build_schedule(
            config, self.optimizer, num_batches(len(prepared.X_train), config.training.batch_size))
        transform = build.build_transform(config, ds.image_shape, prepared.scaler)
        self.monitor: Monitor | None = None
        if config.monitor.monitor:
            self.monitor = Monitor(every=config.monitor.monitor_every, warn=False,
                                   eval_batch=prepared.X_val[:256])
        self.curvature: CurvatureMonitor | None = None
        if config.monitor.curvature:
            rows = slice(0, 64)
            self.curvature = CurvatureMonitor(
                prepared.X_train[rows], prepared.scaled_targets(prepared.y_train[rows]),
                every=config.monitor.curvature_every, seed=config.seed)
            # θ₀ is the initial model (a resumed run's checkpoint restores the same θ₀ and
            # the instrument's records and warm starts with the trainer's state)
            self.curvature.start_from(self.model)
        self.early = (EarlyStopping("val_loss", patience=config.training.patience,
                                    restore_best=True)
                      if config.training.early_stopping else None)
        self._lock = lock
        every: list[Callback] = []
        if run_dir is not None:
            if self._lock is None:
                self._lock = _lock(run_dir)
            if previous is not None:  # a resumed run: what a killed process left half-written
                directory.remove_stale_temporaries(run_dir)
            if checkpoint is not None and self.monitor is not None:
                self.monitor = _restore_monitor(run_dir, self.monitor, checkpoint)
            every += [ModelCheckpoint(run_dir / directory.CHECKPOINT,
                                      model_config=self.model_config,
                                      standardizer=prepared.scaler, extra=self.checkpoint_extra()),
                      RunRecorder(run_dir, self.monitor)]
        every += [cb for cb in (self.monitor, self.curvature, self.early) if cb is not None]
        every += list(callbacks)
        self.trainer = Trainer(
            self.model, build.build_loss(self.task, weight=self.class_weight,
                                         label_smoothing=config.training.label_smoothing),
            self.optimizer, schedule=self.schedule,
            clip_norm=config.training.clip_norm, clip_value=config.training.clip_value,
            callbacks=every, transform=transform, task=self.task, rng=self.seeds.trainer,
            verbose=0, metrics=build.metric_names(config, self.task),
        )
        if checkpoint is not None:
            try:
                restore_checkpoint(checkpoint, self.trainer)
            except (ValueError, TypeError, KeyError) as exc:
                raise RunError(f"checkpoint {str(checkpoint.path)!r} does not fit the run's "
                               f"settings: {' '.join(str(exc).split())}") from None

    # -- making runs -------------------------------------------------------------------
    @classmethod
    def prepare(cls, config: RunConfig) -> tuple[RunConfig, prepare.Prepared, tuple[str, ...]]:
        """Load and split the data; resolve the config for its task. Returns the resolved
        config, the data and the names of the settings that were derived (not given)."""
        if not isinstance(config, RunConfig):
            raise TypeError("Run: config must be a trainlab.recipe.RunConfig (e.g. "
                            f"from_flat({{...}})). Received: {type(config).__name__}.")
        config = absolute_paths(config)
        dataset = prepare.load(config.data, config.model.dtype)
        full = resolved(config, task=dataset.task)
        derived = tuple(name for name, value in config.to_flat().items()
                        if value is None and full.get(name) is not None)
        prepared = prepare.prepare(full.data, dataset, RunSeeds.from_seed(full.seed).split)
        return full, prepared, derived

    @classmethod
    def in_memory(cls, config: RunConfig, callbacks: Iterable[Callback] = ()) -> Run:
        """A run without a directory (notebooks, tests, the lab)."""
        full, prepared, derived = cls.prepare(config)
        return cls(full, prepared, callbacks=callbacks, derived=derived)

    @classmethod
    def create(cls, config: RunConfig, out: str | Path = "runs", name: str | None = None,
               callbacks: Iterable[Callback] = (), command: list[str] | None = None) -> Run:
        """A new run in a new directory ``out/NAME`` (``NAME-2``, ... when it exists);
        ``config.toml`` and ``run.json`` are written before training starts."""
        out = Path(out)
        try:
            directory.check_writable(out)
        except OSError as exc:
            raise RunError(f"setting 'out' (--out) = {str(out)!r}: cannot create a run "
                           f"directory there ({' '.join(str(exc).split())}).") from None
        full, prepared, derived = cls.prepare(config)
        if name is None:
            name = directory.safe_name(full.data.data)
        directory.check_name(name)
        # What can still be refused is refused before the directory exists.
        ds = prepared.dataset
        build.model_config(full, ds.n_features, ds.n_outputs, rows=len(prepared.X_train))
        build.build_transform(full, ds.image_shape, prepared.scaler)
        build.loss_weight(full, prepared.task, prepared.y_train, ds.n_classes)
        build.metric_names(full, prepared.task)
        try:
            run_dir = directory.create_run_dir(out, name)
        except OSError as exc:
            raise RunError(f"setting 'out' (--out) = {str(out)!r}: cannot create a run "
                           f"directory there ({' '.join(str(exc).split())}).") from None
        directory.atomic_write_text(run_dir / directory.CONFIG, to_toml(
            full, extra={"out": str(out), "name": name}, task=prepared.task))
        run = cls(full, prepared, run_dir=run_dir, callbacks=callbacks, derived=derived)
        run.command = command or []
        directory.write_run_info(run_dir, run.info("created"))
        return run

    @classmethod
    def resume(cls, path: str | Path, epochs: int | None = None,
               callbacks: Iterable[Callback] = (), command: list[str] | None = None) -> Run:
        """Continue the run in ``path`` from its last complete checkpoint, up to ``epochs``
        in total (default: the run's own total)."""
        run_dir = Path(path)
        directory.check_no_links(run_dir)  # nothing is read or written through a link
        info = _read_info(run_dir, "--resume")
        lock = _lock(run_dir)  # a run being trained by another process is named as such first
        recorded = info.get("settings")
        config = _read_config(run_dir, "--resume")
        if isinstance(recorded, dict):
            try:
                original = from_flat(recorded, validate=False)
            except SettingError:
                original = None
            if original is not None:
                changed = differences(original, config, ignore=("epochs",))
                if changed:
                    raise RunError(f"--resume: {run_dir / directory.CONFIG} was edited after "
                                   f"the run started ({'; '.join(changed[:4])}); a resume "
                                   "continues a run with its own settings. Start a new run "
                                   f"with --config {run_dir / directory.CONFIG} instead.")
        old_total = config.training.epochs
        total = old_total if epochs is None else SETTINGS["epochs"].check(epochs, "--resume: ")
        checkpoint_path = run_dir / directory.CHECKPOINT
        checkpoint = read_checkpoint(checkpoint_path) if checkpoint_path.is_file() else None
        done = 0 if checkpoint is None else checkpoint.epoch
        if checkpoint is None and info.get("status") == "completed":
            raise RunError(f"--resume: {run_dir} is complete but its checkpoint "
                           f"{directory.CHECKPOINT} is missing; retraining would overwrite its "
                           "record. Start a new run instead.")
        # A run stopped while writing its final files (a full disk, Ctrl-C) has trained
        # every epoch but is not complete: its resume writes them and trains nothing.
        unfinished = total == done and info.get("status") != "completed"
        if total <= done and not unfinished:
            raise RunError(f"--resume: the run has completed {done} epochs, so --epochs {total} "
                           f"would train nothing; give a total above {done}.")
        dataset = prepare.load(config.data, config.model.dtype)
        recorded_data = info.get("fingerprints", {}).get("data")
        if recorded_data is not None and recorded_data != prepare.fingerprint(dataset):
            raise RunError(f"--resume: the data {config.data.data!r} changed since the run "
                           "started (its fingerprint differs); resuming would train on other "
                           "examples. Start a new run.")
        prepared = prepare.prepare(
            config.data, dataset, RunSeeds.from_seed(config.seed).split,
            saved_scaler=None if checkpoint is None else checkpoint.standardizer,
            saved_target_scaler=_target_scaler_state(checkpoint),
            restore=checkpoint is not None,
            saved_encoder=None if checkpoint is None else checkpoint.extra.get("table_encoder"))
        derived = tuple(info.get("derived", ()))
        note = None
        new_config = config.replace(epochs=total)
        if total != old_total:
            new_config, note = _stretch_schedule(config, new_config, derived, done, old_total,
                                                 total, checkpoint)
        run = cls(new_config, prepared, run_dir=run_dir, checkpoint=checkpoint,
                  callbacks=callbacks, previous=info, derived=derived, lock=lock)
        run.command = command or []
        run.resume_note = "; ".join(n for n in (note, run.compute_note) if n) or None
        if note is not None and checkpoint is not None and run.schedule is not None:
            _restart_cosine(run.schedule, float(run.optimizer.lr), done, total)
        if total != old_total:
            output = _read_output(run_dir)
            directory.atomic_write_text(run_dir / directory.CONFIG, to_toml(
                new_config, extra=output, task=prepared.task))
        return run

    # -- records ---------------------------------------------------------------------
    def fingerprints(self) -> dict[str, str]:
        return {"data": prepare.fingerprint(self.data.source),
                "settings": fingerprint(self.config)}

    def checkpoint_extra(self) -> dict[str, Any]:
        """What a checkpoint keeps beside the trainer's state (covered by its digest):
        the settings, the data's facts, the target scaler and the fingerprints."""
        extra = {"settings": _settings_json(self.config), "dataset": dataset_facts(self.data),
                 "target_scaler": prepare.scaler_state(self.data.target_scaler),
                 "fingerprints": self.fingerprints()}
        if self.data.encoder is not None:  # one-hot categories and fill values, as JSON
            extra["table_encoder"] = self.data.encoder.state_dict()
        return extra

    def info(self, status: str, **extra: Any) -> dict[str, Any]:
        """The content of ``run.json``."""
        trainer = self.trainer
        early = self.early
        return {
            "status": status,
            "trainlab_version": __version__,
            "epochs_completed": int(trainer.epoch),
            "target_epochs": int(self.config.training.epochs),
            "global_step": int(trainer.global_step),
            "dataset": {"name": self.config.data.data, **dataset_facts(self.data)},
            "model": self.model_config.to_dict(),
            "settings": _settings_json(self.config),
            "derived": list(self.derived),
            "fingerprints": self.fingerprints(),
            "stop_reason": trainer.history.stop_reason,
            "diverged": trainer.history.diverged,
            "best_epoch": None if early is None or not early.best_epoch else int(early.best_epoch),
            "restored_best": bool(early is not None and early.restored_epoch),
            "seconds": round(self.previous.get("seconds", 0.0) + self.seconds, 3),
            "command": self.command,
            "compute": {"backend": self.model.backend.name, "gemm": self.model.backend.gemm,
                        "threads": self.threads},
            **extra,
        }

    # -- training --------------------------------------------------------------------
    def train(self) -> RunOutcome:
        """Train up to the config's total epochs; write the run's files when it has a
        directory. Ctrl-C (KeyboardInterrupt) keeps the last complete checkpoint."""
        trainer, run_dir = self.trainer, self.run_dir
        started = time.perf_counter()
        if run_dir is not None:
            directory.write_run_info(run_dir, self.info("running"))
        try:
            with warnings.catch_warnings(), blas_threads(self.threads):
                warnings.simplefilter("ignore", DivergenceWarning)
                warnings.simplefilter("ignore", TrainingHealthWarning)
                warnings.filterwarnings("ignore", message="ModelCheckpoint")
                trainer.fit(self.data.X_train, self.data.scaled_targets(self.data.y_train),
                            epochs=self.config.training.epochs,
                            batch_size=self.config.training.batch_size,
                            validation_data=(self.data.X_val,
                                             self.data.scaled_targets(self.data.y_val)))
        except KeyboardInterrupt:
            self.seconds = time.perf_counter() - started
            return self._interrupted()
        except BaseException:
            self.seconds = time.perf_counter() - started
            self._failed()
            raise
        self.seconds = time.perf_counter() - started
        try:
            return self._finish()
        except KeyboardInterrupt:
            return self._interrupted()
        except BaseException:  # e.g. the disk filled up while the final files were written
            self._failed()
            raise

    def _finish(self) -> RunOutcome:
        trainer, run_dir = self.trainer, self.run_dir
        history = trainer.history
        if run_dir is not None:
            write_metrics(run_dir / directory.METRICS, history, trainer.epoch)
            if self.monitor is not None:
                write_monitor(run_dir / directory.MONITOR, self.monitor)
            if self.curvature is not None:
                self._write_curvature(self.curvature.records)
        if history.diverged is not None:
            report = None
            if run_dir is not None:
                directory.write_run_info(run_dir, self.info("diverged"))
                report = self.write_report()
            return RunOutcome("diverged", trainer.epoch, report=report,
                              message=history.stop_reason)
        final = self.final_metrics()
        report = None
        if run_dir is not None:
            save_checkpoint(run_dir / directory.MODEL, trainer, model_config=self.model_config,
                            standardizer=self.data.scaler, extra=self.checkpoint_extra())
            directory.write_run_info(run_dir, self.info("completed", final=final))
            report = self.write_report()
        return RunOutcome("completed", trainer.epoch, final=final, report=report,
                          message=history.stop_reason)

    def _write_curvature(self, records: list[CurvatureRecord]) -> None:
        assert self.run_dir is not None
        directory.atomic_write_text(self.run_dir / directory.CURVATURE, json.dumps(
            records_to_json(records), allow_nan=False))

    def _interrupted(self) -> RunOutcome:
        """Make metrics.csv match the last complete checkpoint and record the state; a
        second Ctrl-C (or SIGTERM) during these few writes is ignored."""
        if self.run_dir is None:
            return RunOutcome("interrupted", self.trainer.epoch)
        return RunOutcome("interrupted", self._record_stop("interrupted"))

    def _failed(self) -> None:
        """After an error while training or writing (a full disk, a bug): record the run as
        failed at the last complete checkpoint, as far as the disk allows; the error
        itself is raised again by the caller."""
        if self.run_dir is not None:
            with contextlib.suppress(Exception):  # best effort: the error matters more
                self._record_stop("failed", best_effort=True)

    def _record_stop(self, status: str, best_effort: bool = False) -> int:
        """Make metrics.csv, monitor.json and run.json agree with the last complete
        checkpoint (its epoch and step); return that epoch. With ``best_effort`` a file
        that cannot be written does not stop the others."""
        run_dir = self.run_dir
        assert run_dir is not None
        main = threading.current_thread() is threading.main_thread()
        signals = (signal.SIGINT, signal.SIGTERM) if main else ()
        previous = [signal.signal(sig, signal.SIG_IGN) for sig in signals]
        guard = contextlib.suppress(Exception) if best_effort else contextlib.nullcontext()
        try:
            kept = kept_checkpoint(run_dir / directory.CHECKPOINT)
            epoch, step = kept if kept is not None else (0, 0)
            with guard:
                write_metrics(run_dir / directory.METRICS, self.trainer.history, epoch)
                if kept is None:
                    (run_dir / directory.METRICS).unlink(missing_ok=True)
            if self.monitor is not None:
                with guard:
                    write_monitor(run_dir / directory.MONITOR, self.monitor)
            if self.curvature is not None:
                with guard:
                    self._write_curvature([r for r in self.curvature.records if r.step <= step])
            info = self.info(status)
            info["epochs_completed"], info["global_step"] = epoch, step
            directory.write_run_info(run_dir, info)
        finally:
            for sig, handler in zip(signals, previous, strict=True):
                signal.signal(sig, handler)
        return epoch

    def write_report(self) -> Path | None:
        """Write report.html; a failure is reported as a warning, since the run itself is
        complete (``trainlab report RUN`` rebuilds it)."""
        if self.run_dir is None:
            return None
        try:
            return write_run_report(self.run_dir, monitor=self.monitor, model=self.model)
        except Exception as exc:  # noqa: BLE001 - the run succeeded; say what failed
            warnings.warn(f"the report could not be written ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())}); rebuild it with: trainlab report "
                          f"{self.run_dir}", RuntimeWarning, stacklevel=2)
            return None

    # -- using the model -------------------------------------------------------------
    def final_metrics(self) -> dict[str, dict[str, float]]:
        """Loss and metrics on the train, val and test splits (regression: MSE and R² of
        the predictions in the targets' own units)."""
        return {split: self.evaluate(split) for split in ("train", "val", "test")}

    def evaluate(self, split: str = "test") -> dict[str, float]:
        """Metrics of the current model on one part of the run's split."""
        X, y = self.data.split(split)
        return evaluate_in_units(self.model, self.task, X, y, self.data.target_scaler)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs for raw inputs (n, features): logits for classification, predictions in
        the targets' units for regression."""
        return predict_in_units(self.model, self.data.scaler, self.data.target_scaler, X)


# -- helpers --------------------------------------------------------------------------------


def evaluate_in_units(model: Any, task: str, X: np.ndarray, y: np.ndarray,
                      target_scaler: Any) -> dict[str, float]:
    """Loss and metrics on normalised inputs X and targets y in their own units: the loss in
    the model's units; with a target scaler, MSE and R² of the predictions mapped back to the
    targets' units (one forward pass either way)."""
    loss = build.build_loss(task)
    with np.errstate(all="ignore"):
        if target_scaler is None:
            return evaluate_model(model, loss, X, y, task=task)
        out = forward_batches(model, X)
        restored = prepare.to_target_units(target_scaler, out, y.ndim)
        return {"loss": float(loss(out, prepare.to_model_units(target_scaler, y))),
                "mse": mse(y, restored), "r2": r2(y, restored)}


def predict_in_units(model: Any, scaler: Any, target_scaler: Any, X: np.ndarray) -> np.ndarray:
    """The model's outputs (n, outputs) for raw inputs X: the input scaler applied, the
    target scaler inverted (regression)."""
    params = model.parameters()
    dtype = params[0].data.dtype if params else np.float32
    out = forward_batches(model, scaler.transform(np.asarray(X).astype(dtype, copy=False)))
    return prepare.to_target_units(target_scaler, out)


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        return load_checkpoint(path)
    except (CheckpointError, OSError, ValueError, KeyError, TypeError) as exc:
        raise RunError(f"checkpoint {str(path)!r} cannot be used: "
                       f"{' '.join(str(exc).split())}") from None


def kept_checkpoint(path: Path) -> tuple[int, int] | None:
    """(epoch, global step) of the checkpoint at ``path``, or None when there is no usable
    one."""
    try:
        checkpoint = load_checkpoint(path)
    except (OSError, CheckpointError, ValueError, KeyError):
        return None
    return int(checkpoint.epoch), int(checkpoint.global_step)


def _target_scaler_state(checkpoint: Checkpoint | None) -> dict[str, Any] | None:
    if checkpoint is None or not isinstance(checkpoint.extra, dict):
        return None
    return checkpoint.extra.get("target_scaler")


def _lock(run_dir: Path) -> Any:
    try:
        return directory.lock_run(run_dir)
    except BlockingIOError as exc:
        raise RunError(f"{exc}; wait for it to finish or stop it first.") from None


def _continue_on_recorded_provider(model: Any, previous: dict[str, Any]) -> str | None:
    """Put a resumed run's model on the GEMM provider its first part recorded, where it
    can (:func:`trainlab.backend.gemm.provider_for_resume`); the note when it cannot."""
    backend = model.backend
    compute = previous.get("compute")
    if not isinstance(backend, NumbaBackend) or not isinstance(compute, dict):
        return None
    name, note = provider_for_resume(backend.gemm, compute.get("gemm"))
    if name != backend.gemm:
        model.use_backend(NumbaBackend(min_size=backend.min_size, gemm=name))
    return note


def _read_info(run_dir: Path, setting: str) -> dict[str, Any]:
    try:
        return directory.read_run_info(run_dir)
    except directory.NotARunError as exc:
        raise RunError(f"{setting}: {exc}.") from None


OUTPUT_KEYS = ("out", "name")  # where the run was put: written to config.toml, not recipe


def _read_output(run_dir: Path) -> dict[str, Any]:
    raw = read_toml(run_dir / directory.CONFIG)
    return {key: raw.get(key) for key in OUTPUT_KEYS}


def _read_config(run_dir: Path, setting: str) -> RunConfig:
    try:
        raw = read_toml(run_dir / directory.CONFIG)
        return from_flat({k: v for k, v in raw.items() if k not in OUTPUT_KEYS})
    except SettingError as exc:
        raise RunError(f"{setting}: the run's {directory.CONFIG} is invalid: {exc}") from None


def _restore_monitor(run_dir: Path, fresh: Monitor, checkpoint: Checkpoint) -> Monitor:
    """The monitor of an interrupted run, cut back to the checkpoint; ``fresh`` (with a
    warning) when monitor.json is unreadable, too deep or holds values of wrong types."""
    path = run_dir / directory.MONITOR
    if not path.is_file():
        return fresh
    try:
        restored = monitor_from_dict(directory.read_json(path),
                                     max_epoch=checkpoint.epoch, max_step=checkpoint.global_step)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        warnings.warn(f"{path} is unreadable ({' '.join(str(exc).split())}); the diagnostics "
                      "restart from this epoch", RuntimeWarning, stacklevel=2)
        return fresh
    restored.eval_batch = fresh.eval_batch
    restored.every = fresh.every
    return restored


def _stretch_schedule(config: RunConfig, new_config: RunConfig, derived: tuple[str, ...],
                      done: int, old_total: int, total: int,
                      checkpoint: Checkpoint | None) -> tuple[RunConfig, str | None]:
    """A resume with another total: a cosine schedule whose length followed the old total
    is stretched to the new one, from the current learning rate (it never restarts or
    rises); a schedule that already ended is refused, and so is a one-cycle schedule or a
    warmup whose length followed the old total."""
    schedule = config.schedule
    if checkpoint is not None and (schedule.schedule == "onecycle" or (
            schedule.warmup_epochs > 0 and "t_max" in derived and schedule.schedule == "cosine")):
        what = ("the one-cycle schedule spans" if schedule.schedule == "onecycle"
                else "the cosine schedule after the warmup spans")
        raise RunError(f"--resume: {what} the run's {old_total} epochs; training to {total} "
                       "would break it. Start a new run with the total you want"
                       f"{'' if schedule.schedule == 'onecycle' else ', or set --t-max'}.")
    if config.schedule.schedule != "cosine" or "t_max" not in derived or total < old_total:
        return new_config, None
    if checkpoint is None:  # nothing trained yet: the schedule simply follows the new total
        return new_config.replace(t_max=total), None
    if done >= old_total:
        raise RunError(f"--resume: the cosine schedule of this run ended at epoch {old_total} "
                       f"(its lr reached eta_min = {config.schedule.eta_min:g}); training on "
                       "would restart it or run at that lr. Start a new run with the total "
                       "you want, or set --t-max explicitly.")
    return new_config, (f"the cosine schedule followed the old total of {old_total} epochs; it "
                        f"now anneals from the current lr to eta_min over epochs {done + 1}-"
                        f"{total}")


def _restart_cosine(schedule: Schedule, lr: float, done: int, total: int) -> None:
    """Re-anchor the restored cosine schedule: from the current ``lr``, over the remaining
    epochs (PyTorch's recursive form then continues the cosine from there)."""
    state = schedule.state_dict()
    state.update({"T_max": total - done, "base_lr": lr, "last_epoch": 0, "last_lr": lr})
    schedule.load_state_dict(state)
