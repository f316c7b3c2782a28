"""``trainlab train``: train an MLP from settings, into a new run directory (or resume one).

    trainlab train                                   # digits, the default MLP
    trainlab train --data csv:house.csv --hidden 64,64 --optimizer sgd --momentum 0.9
    trainlab train --config exp.toml --lr 3e-4       # flags override the file
    trainlab train --resume runs/digits --epochs 200 # continue exactly, up to 200 epochs

The command parses and prints; building, training and resuming the run is
:class:`trainlab.runs.run.Run`'s.
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
import warnings
from collections.abc import Iterator
from typing import Any

from trainlab.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError, one_line
from trainlab.cli.settings import SETTINGS, add_setting_flags, flag_values, resolve
from trainlab.diagnostics.curvature.sections import curvature_table
from trainlab.diagnostics.sections import health_table, text_table
from trainlab.runs.run import Run
from trainlab.train import EpochLog, ProgressBar

RESUME_FLAGS = ("epochs",)


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "train", help="train an MLP and write a run directory",
        description="Train an MLP. Every setting is a flag and a key of --config FILE.toml "
        "(same name, with underscores); flags override the file. A setting that does not "
        "apply to the chosen optimizer, schedule or augmentation is an error. The run "
        "directory OUT/NAME receives config.toml, run.json, metrics.csv, "
        "checkpoint.safetensors, model.safetensors, monitor.json, figures/ and report.html.",
        epilog="Exit status: 0 done, 1 training failed (e.g. divergence), 2 bad settings, "
        "130 interrupted (resume with --resume RUN).",
    )
    parser.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file")
    parser.add_argument("--resume", metavar="RUN", help="continue RUN from its last complete "
                        "checkpoint (only --epochs may change: the total to reach)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-epoch output")
    add_setting_flags(parser)
    parser.set_defaults(handler=run)


def _progress(quiet: bool) -> list[Any]:
    if quiet:
        return []
    return [ProgressBar(sys.stdout) if _terminal_width() >= 40 else EpochLog(sys.stdout)]


def run(args: argparse.Namespace) -> int:
    """``trainlab train``. SIGTERM stops it as Ctrl-C does; when stdout is closed early
    (``trainlab train | head -1``) the run goes on and its output is dropped; a warning
    is one line on stderr."""
    with _sigterm_as_interrupt(), _stdout_may_close(), _warnings_on_one_line():
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    command = ["trainlab", *getattr(args, "argv", [])]
    if args.resume is not None:
        given = [s for s in SETTINGS if hasattr(args, s.name) and s.name not in RESUME_FLAGS]
        if args.config is not None or given:
            extra = "--config" if args.config is not None else given[0].flag
            raise UsageError(f"option --resume continues a run with its saved settings; only "
                             f"--epochs may be given with it; received {extra}.")
        epochs = flag_values(args).get("epochs")
        session = Run.resume(args.resume, epochs=epochs, callbacks=_progress(args.quiet),
                             command=command)
        start = session.trainer.epoch
        if start:
            print(f"resuming {session.run_dir} from epoch {start} (target "
                  f"{session.config.training.epochs} epochs)", flush=True)
        else:
            print(f"{session.run_dir} has no complete checkpoint yet: training from epoch 0",
                  flush=True)
        if session.resume_note:
            print(f"note: {session.resume_note}", flush=True)
    else:
        config, output = resolve(args.config, flag_values(args))
        session = Run.create(config, out=output["out"], name=output["name"],
                             callbacks=_progress(args.quiet), command=command)
    outcome = session.train()
    return report(session, outcome)


def report(session: Any, outcome: Any) -> int:
    """Print how the run ended; return the exit status."""
    if outcome.status == "interrupted":
        sys.stdout.flush()
        saved = (f"the last complete checkpoint (epoch {outcome.epochs}) is kept"
                 if outcome.epochs else "no epoch was completed")
        print(f"\ninterrupted: {saved}. Resume with: trainlab train --resume {session.run_dir}",
              file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    if outcome.status == "diverged":
        epoch = session.trainer.epoch
        kept = (f"The last finite checkpoint (epoch {epoch}) is kept in "
                f"{session.run_dir / 'checkpoint.safetensors'}" if epoch else
                "No epoch finished, so no checkpoint was written")
        print(f"error: training diverged: {one_line(outcome.message)} {kept}.",
              file=sys.stderr, flush=True)
        return EXIT_FAILED
    print_summary(session, outcome)
    return EXIT_OK


def print_summary(session: Any, outcome: Any) -> None:
    final = outcome.final
    print()
    print(f"run: {session.run_dir}")
    line = f"epochs: {outcome.epochs}"
    if outcome.message:
        line += f" ({one_line(outcome.message)})"
    print(line)
    keys = list(final["test"])
    rows = [[split, *(_fmt(final[split][k]) for k in keys)] for split in ("train", "val", "test")]
    print(text_table(["split", *keys], rows))
    if session.task == "classification":
        print(f"test accuracy: {100 * final['test']['accuracy']:.2f}%")
    else:
        print(f"test R²: {final['test']['r2']:.4f}  test MSE: {final['test']['mse']:.4g}")
    if session.monitor is not None and session.monitor.records:
        print()
        print("layer health (last sampled step):")
        print(health_table(session.monitor))
    if session.curvature is not None and session.curvature.records:
        print()
        print("curvature (last measured steps):")
        print(curvature_table(session.curvature.records))
    if outcome.report is not None:
        print()
        print(f"report: {outcome.report}")
    sys.stdout.flush()


class _sigterm_as_interrupt:
    """SIGTERM behaves like Ctrl-C while training: the last checkpoint is kept, the run is
    recorded as interrupted and can be resumed."""

    def __enter__(self) -> None:
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, _raise_interrupt)

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class _DroppingStream:
    """A text stream that passes everything to ``stream`` until it cannot take more (EPIPE:
    the reader of ``| head`` exited; a closed or full output); from then on output is
    dropped, and the file descriptor is pointed at /dev/null so that the interpreter's
    last flush does not fail either. The run's own files are what matters."""

    LOST = (OSError, ValueError, AttributeError)  # ValueError: closed; AttributeError: None

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.gone = stream is None  # stdout was closed before Python started

    def _lost(self) -> None:
        self.gone = True
        with contextlib.suppress(Exception):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self.stream.write(text)
            except self.LOST:
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self.stream.flush()
            except self.LOST:
                self._lost()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...
        return getattr(self.stream, name)


@contextlib.contextmanager
def _stdout_may_close() -> Iterator[None]:
    previous = sys.stdout
    sys.stdout = _DroppingStream(previous)
    try:
        yield
    finally:
        sys.stdout = previous


@contextlib.contextmanager
def _warnings_on_one_line() -> Iterator[None]:
    """Warnings shown while the command runs are one line: 'trainlab: warning: ...'."""
    def one_line_warning(message: Any, category: Any, filename: str, lineno: int,
                         line: str | None = None) -> str:
        return f"trainlab: warning: {one_line(message)}\n"

    previous = warnings.formatwarning
    warnings.formatwarning = one_line_warning
    try:
        yield
    finally:
        warnings.formatwarning = previous


def _terminal_width() -> int:
    """Columns of the terminal on stdout; 0 when stdout is not a terminal (a file, a pipe)."""
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else 0
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return 0


def _fmt(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) else str(value)
