"""``trainlab train``: train an MLP from settings, into a new run directory (or resume one).

    trainlab train                                   # digits, the default MLP
    trainlab train --data csv:house.csv --hidden 64,64 --optimizer sgd --momentum 0.9
    trainlab train --config exp.toml --lr 3e-4       # flags override the file
    trainlab train --resume runs/digits --epochs 200 # continue exactly, up to 200 epochs
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import runs
from trainlab.cli import build
from trainlab.cli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
    one_line,
)
from trainlab.cli.recorder import RunRecorder, write_metrics, write_monitor
from trainlab.cli.rundata import open_run, read_checkpoint
from trainlab.cli.settings import (
    SETTINGS,
    absolute_paths,
    fill_defaults,
    read_toml,
    resolve,
    to_toml,
)

RESUME_FLAGS = ("epochs",)


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "train", help="train an MLP and write a run directory",
        description="Train an MLP. Every setting is a flag and a key of --config FILE.toml "
        "(same name, with underscores); flags override the file. The run directory "
        "OUT/NAME receives config.toml, run.json, metrics.csv, checkpoint.safetensors, "
        "model.safetensors, monitor.json, figures/ and report.html.",
        epilog="Exit status: 0 done, 1 training failed (e.g. divergence), 2 bad settings, "
        "130 interrupted (resume with --resume RUN).",
    )
    parser.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file")
    parser.add_argument("--resume", metavar="RUN", help="continue RUN from its last complete "
                        "checkpoint (only --epochs may change: the total to reach)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-epoch output")
    groups: dict[str, Any] = {}
    for s in SETTINGS:
        group = groups.get(s.group) or groups.setdefault(s.group, parser.add_argument_group(s.group))
        default = "none" if s.default is None else (
            ",".join(map(str, s.default)) if isinstance(s.default, list) else s.default)
        if s.kind == "bool":
            group.add_argument(s.flag, dest=s.name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS,
                               help=f"{s.help} (default: {'on' if s.default else 'off'})")
            continue
        metavar = s.metavar or {"choice": "{" + ",".join(s.allowed()) + "}", "int": "N",
                                 "float": "X"}.get(s.kind, "VALUE")
        text = s.help if "default" in s.help else f"{s.help} (default: {default})"
        group.add_argument(s.flag, dest=s.name, default=argparse.SUPPRESS, metavar=metavar,
                           help=text)
    parser.set_defaults(handler=run)


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, converted and checked."""
    out = {}
    for s in SETTINGS:
        if hasattr(args, s.name):
            raw = getattr(args, s.name)
            out[s.name] = s.check(raw) if s.kind == "bool" else s.from_text(raw)
    return out


# -- the command ------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    if args.resume is not None:
        return resume(args)
    values = absolute_paths(fill_defaults(resolve(read_toml(args.config) if args.config else {},
                                                  flag_values(args))))
    out = Path(values["out"])
    try:
        runs.check_writable(out)
    except OSError as exc:
        raise UsageError(f"setting 'out' (--out) = {str(out)!r}: cannot create a run directory "
                         f"there ({one_line(exc)}).") from None
    session = Session(values)
    name = values["name"] or runs.safe_name(values["data"])
    try:
        run_dir = runs.create_run_dir(out, name)
    except OSError as exc:
        raise UsageError(f"setting 'out' (--out) = {str(out)!r}: cannot create a run directory "
                         f"there ({one_line(exc)}).") from None
    runs.atomic_write_text(run_dir / runs.CONFIG, to_toml(values))
    runs.write_run_info(run_dir, {"status": "created", "epochs_completed": 0})
    session.attach(run_dir, quiet=args.quiet)
    return session.train(values["epochs"], command=["trainlab", *getattr(args, "argv", [])])


def resume(args: argparse.Namespace) -> int:
    given = [s for s in SETTINGS if hasattr(args, s.name) and s.name not in RESUME_FLAGS]
    if args.config is not None or given:
        extra = "--config" if args.config is not None else given[0].flag
        raise UsageError(f"option --resume continues a run with its saved settings; only "
                         f"--epochs may be given with it; received {extra}.")
    run_obj = open_run(args.resume, "--resume")
    values = dict(run_obj.values)
    if hasattr(args, "epochs"):
        values["epochs"] = flag_values(args)["epochs"]
    checkpoint_path = run_obj.path / runs.CHECKPOINT
    checkpoint = read_checkpoint(checkpoint_path) if checkpoint_path.is_file() else None
    session = Session(values, checkpoint=checkpoint)
    session.attach(run_obj.path, quiet=args.quiet, previous=run_obj.info)
    if values["epochs"] != run_obj.values["epochs"]:
        runs.atomic_write_text(run_obj.path / runs.CONFIG, to_toml(values))
    return session.train(values["epochs"], command=["trainlab", *getattr(args, "argv", [])])


class Session:
    """One training process of a run: the pieces built from the settings, and the loop."""

    def __init__(self, values: dict[str, Any], checkpoint: Any = None) -> None:
        from trainlab.diagnostics import Monitor
        from trainlab.train import EarlyStopping, Trainer

        self.values = values
        self.checkpoint = checkpoint
        self.data = build.prepare_data(
            values, None if checkpoint is None else (checkpoint.standardizer or None))
        self.config, self.model = build.build_model(values, self.data.dataset)
        self.task = self.data.dataset.task
        self.optimizer = build.make_optimizer(values, self.model.parameters())
        self.schedule = build.make_schedule(values, self.optimizer)
        self.transform = build.make_transform(values, self.data)
        self.monitor = None
        if values["monitor"]:
            self.monitor = Monitor(every=values["monitor_every"], warn=False,
                                   eval_batch=self.data.X_val[:256])
        self.early = (EarlyStopping("val_loss", patience=values["patience"], restore_best=True)
                      if values["early_stopping"] else None)
        self._trainer_cls = Trainer

    # -- the run directory -------------------------------------------------------------
    def attach(self, run_dir: Path, quiet: bool = False, previous: dict | None = None) -> None:
        """Build the trainer with the callbacks that write into ``run_dir``."""
        from trainlab.train import (
            EpochLog,
            ModelCheckpoint,
            ProgressBar,
            restore_checkpoint,
        )

        self.run_dir = run_dir
        self.previous = previous or {}
        try:
            self._lock = runs.lock_run(run_dir)
        except BlockingIOError as exc:
            raise UsageError(f"{exc}; wait for it to finish or stop it first.") from None
        if previous is not None:  # a resumed run: what a killed process left half-written
            runs.remove_stale_temporaries(run_dir)
        if self.checkpoint is not None and self.monitor is not None:
            self.monitor = restore_monitor(run_dir, self.monitor, self.checkpoint)
        callbacks = [ModelCheckpoint(run_dir / runs.CHECKPOINT, model_config=self.config,
                                     standardizer=self.data.scaler),
                     RunRecorder(run_dir, self.monitor)]
        callbacks += [cb for cb in (self.monitor, self.early) if cb is not None]
        if not quiet:
            callbacks.append(ProgressBar(sys.stdout) if _terminal_width() >= 40
                             else EpochLog(sys.stdout))
        _, _, trainer_seed = build.run_seeds(self.values["seed"])
        self.trainer = self._trainer_cls(
            self.model, build.make_loss(self.task), self.optimizer, schedule=self.schedule,
            clip_norm=self.values["clip_norm"], clip_value=self.values["clip_value"],
            callbacks=callbacks, transform=self.transform, task=self.task, rng=trainer_seed,
            verbose=0,
        )
        if self.checkpoint is not None:
            try:
                restore_checkpoint(self.checkpoint, self.trainer)
            except (ValueError, TypeError, KeyError) as exc:
                raise UsageError(f"checkpoint {str(self.checkpoint.path)!r} does not fit the run's "
                                 f"settings: {one_line(exc)}") from None

    def info(self, status: str, **extra: Any) -> dict[str, Any]:
        ds = self.data.dataset
        return {
            "status": status,
            "trainlab_version": _version(),
            "epochs_completed": int(self.trainer.epoch),
            "target_epochs": int(self.values["epochs"]),
            "global_step": int(self.trainer.global_step),
            "dataset": {
                "name": self.values["data"], "task": ds.task, "n_samples": ds.n_samples,
                "n_features": ds.n_features,
                "n_outputs": ds.n_outputs,
                "class_names": None if ds.class_names is None else list(ds.class_names),
                "feature_names": list(ds.feature_names),
                "image_shape": None if ds.image_shape is None else list(ds.image_shape),
                "split": {"train": int(self.data.X_train.shape[0]),
                          "val": int(self.data.X_val.shape[0]),
                          "test": int(self.data.X_test.shape[0])},
            },
            "model": self.config.to_dict(),
            "stop_reason": self.trainer.history.stop_reason,
            "diverged": self.trainer.history.diverged,
            "best_epoch": None if self.early is None or not self.early.best_epoch
            else int(self.early.best_epoch),
            "restored_best": bool(self.early is not None and self.early.stopped_epoch
                                  and self.early.best_state is not None),
            "seconds": round(self.previous.get("seconds", 0.0) + self.seconds, 3),
            **extra,
        }

    # -- training ---------------------------------------------------------------------
    def train(self, epochs: int, command: list[str]) -> int:
        from trainlab.diagnostics import TrainingHealthWarning
        from trainlab.train import DivergenceWarning

        trainer, run_dir = self.trainer, self.run_dir
        start_epoch = trainer.epoch
        self.seconds = 0.0
        runs.write_run_info(run_dir, self.info("running", command=command))
        if start_epoch:
            print(f"resuming {run_dir} from epoch {start_epoch} (target {epochs} epochs)",
                  flush=True)
        elif self.checkpoint is None and self.previous:
            print(f"{run_dir} has no complete checkpoint yet: training from epoch 0", flush=True)
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DivergenceWarning)
                warnings.simplefilter("ignore", TrainingHealthWarning)
                warnings.filterwarnings("ignore", message="ModelCheckpoint")
                trainer.fit(self.data.X_train, self.data.y_train, epochs=epochs,
                            batch_size=self.values["batch_size"],
                            validation_data=(self.data.X_val, self.data.y_val))
            self.seconds = time.perf_counter() - started
            return self.finish(command)
        except KeyboardInterrupt:
            self.seconds = time.perf_counter() - started
            return self.interrupted(command)
        except Exception:
            self.seconds = time.perf_counter() - started
            if self.monitor is not None:
                with contextlib.suppress(Exception):  # best effort: the error matters more
                    write_monitor(run_dir / runs.MONITOR, self.monitor)
            runs.write_run_info(run_dir, self.info("failed", command=command))
            raise

    def finish(self, command: list[str]) -> int:
        """After fit: the files of a finished run, the summary; exit status."""
        from trainlab.train import save_checkpoint

        trainer, run_dir = self.trainer, self.run_dir
        history = trainer.history
        write_metrics(run_dir / runs.METRICS, history, trainer.epoch)
        if self.monitor is not None:
            write_monitor(run_dir / runs.MONITOR, self.monitor)
        if history.diverged is not None:
            return self.diverged(command)
        final = self.final_metrics()
        save_checkpoint(run_dir / runs.MODEL, trainer, model_config=self.config,
                        standardizer=self.data.scaler)
        runs.write_run_info(run_dir, self.info("completed", command=command, final=final))
        report = self.write_report()
        self.print_summary(final, report)
        return EXIT_OK

    def final_metrics(self) -> dict[str, dict[str, float]]:
        d, t = self.data, self.trainer
        with np.errstate(all="ignore"):
            return {"train": t.evaluate(d.X_train, d.y_train), "val": t.evaluate(d.X_val, d.y_val),
                    "test": t.evaluate(d.X_test, d.y_test)}

    def write_report(self) -> Path | None:
        from trainlab.report.run_report import write_run_report

        try:
            return write_run_report(self.run_dir, monitor=self.monitor, model=self.model)
        except Exception as exc:  # noqa: BLE001 - the run itself succeeded; say what failed
            print(f"warning: the report could not be written ({type(exc).__name__}: "
                  f"{one_line(exc)}); rebuild it with: trainlab report {self.run_dir}",
                  file=sys.stderr)
            return None

    def interrupted(self, command: list[str]) -> int:
        """Ctrl-C: make metrics.csv match the last complete checkpoint, record the state,
        say how to resume. A second Ctrl-C during these few writes is ignored."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
        try:
            epoch = checkpoint_epoch(self.run_dir / runs.CHECKPOINT)
            write_metrics(self.run_dir / runs.METRICS, self.trainer.history, epoch or 0)
            if epoch is None:
                (self.run_dir / runs.METRICS).unlink(missing_ok=True)
            if self.monitor is not None:
                write_monitor(self.run_dir / runs.MONITOR, self.monitor)
            info = self.info("interrupted", command=command)
            info["epochs_completed"] = epoch or 0
            runs.write_run_info(self.run_dir, info)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        sys.stdout.flush()
        saved = (f"the last complete checkpoint (epoch {epoch}) is kept"
                 if epoch is not None else "no epoch was completed")
        print(f"\ninterrupted: {saved}. Resume with: trainlab train --resume {self.run_dir}",
              file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED

    def diverged(self, command: list[str]) -> int:
        runs.write_run_info(self.run_dir, self.info("diverged", command=command))
        self.write_report()
        kept = (f"The last finite checkpoint (epoch {self.trainer.epoch}) is kept in "
                f"{self.run_dir / runs.CHECKPOINT}" if self.trainer.epoch else
                "No epoch finished, so no checkpoint was written")
        print(f"error: training diverged: {one_line(self.trainer.history.stop_reason)} {kept}.",
              file=sys.stderr, flush=True)
        return EXIT_FAILED

    def print_summary(self, final: dict[str, dict[str, float]], report: Path | None) -> None:
        from trainlab.diagnostics.sections import health_table, text_table

        history, trainer = self.trainer.history, self.trainer
        print()
        print(f"run: {self.run_dir}")
        line = f"epochs: {trainer.epoch}"
        if history.stop_reason:
            line += f" ({one_line(history.stop_reason)})"
        print(line)
        keys = list(final["test"])
        rows = [[split, *(_fmt(final[split][k]) for k in keys)] for split in ("train", "val", "test")]
        print(text_table(["split", *keys], rows))
        if self.task == "classification":
            print(f"test accuracy: {100 * final['test']['accuracy']:.2f}%")
        else:
            print(f"test R²: {final['test']['r2']:.4f}  test MSE: {final['test']['mse']:.4g}")
        if self.monitor is not None and self.monitor.records:
            print()
            print("layer health (last sampled step):")
            print(health_table(self.monitor))
        if report is not None:
            print()
            print(f"report: {report}")
        sys.stdout.flush()


def restore_monitor(run_dir: Path, fresh: Any, checkpoint: Any) -> Any:
    """The monitor of an interrupted run, cut back to the checkpoint (or ``fresh``)."""
    import json

    from trainlab.diagnostics.serialize import monitor_from_dict

    path = run_dir / runs.MONITOR
    if not path.is_file():
        return fresh
    try:
        restored = monitor_from_dict(json.loads(path.read_text(encoding="utf-8")),
                                     max_epoch=checkpoint.epoch, max_step=checkpoint.global_step)
    except (OSError, ValueError) as exc:
        print(f"warning: {path} is unreadable ({one_line(exc)}); the diagnostics restart "
              "from this epoch", file=sys.stderr)
        return fresh
    restored.eval_batch = fresh.eval_batch
    restored.every = fresh.every
    return restored


def checkpoint_epoch(path: Path) -> int | None:
    """The epoch of the checkpoint at ``path``, or None when there is no usable one."""
    from trainlab.train import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path).epoch
    except (OSError, CheckpointError, ValueError, KeyError):
        return None


def _terminal_width() -> int:
    """Columns of the terminal on stdout; 0 when stdout is not a terminal (a file, a pipe)."""
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else 0
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return 0


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _fmt(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) else str(value)


def _version() -> str:
    from trainlab import __version__

    return __version__
