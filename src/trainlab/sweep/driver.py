"""Running a sweep: claim trials, hand them to an executor, record how they ended.

    spec = read_spec("lr.toml")
    outcome = run_sweep(spec, "sweeps/lr", LocalExecutor(2))

The sweep directory holds ``spec.toml`` (the spec it was started with), ``sweep.db``
(the SQLite storage, unless another URL is given), ``trials/`` (one run directory per
trial), ``results.csv``, ``sweep.json`` and ``report.html``. The loop keeps the executor's
workers busy: it claims a trial from the study (:func:`~trainlab.sweep.study.claim`),
submits it, and tells the study how each one ended; every few seconds it refreshes the
heartbeat of its running trials. Killed at any moment, the sweep continues with
``--resume DIR``: trials still waiting are run, lost running ones are continued from their
checkpoints, finished ones are kept.
"""

from __future__ import annotations

import concurrent.futures as cf
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import optuna
from optuna.trial import TrialState

from trainlab.recipe import SettingError
from trainlab.runs import atomic_write_text
from trainlab.sweep import study as studies
from trainlab.sweep.report import write_sweep_report
from trainlab.sweep.results import TRIALS, Row, best_row, rows_of, write_results
from trainlab.sweep.space import point_of
from trainlab.sweep.spec import SweepSpec, read_spec
from trainlab.sweep.storage import DB, default_url, open_storage, redacted
from trainlab.sweep.trial import TrialResult, TrialTask

SPEC = "spec.toml"
WRITE_EVERY = 2.0  # seconds between rewrites of results.csv while the sweep runs


@dataclass
class SweepOutcome:
    """How a sweep ended: its rows, the best row, and whether every planned trial ended."""

    rows: list[Row]
    best: Row | None
    planned: int
    finished: bool
    report: Path | None = None


def prepare_dir(spec_path: str | Path, sweep_dir: str | Path, resume: bool,
                storage: str | None) -> tuple[Path, str]:
    """Create (or, resuming, check) the sweep directory; return it and the storage URL.

    A new sweep refuses a directory that already holds one; a resumed sweep refuses a spec
    that differs from the one it started with."""
    sweep_dir = Path(sweep_dir)
    saved = sweep_dir / SPEC
    if resume:
        if not saved.is_file():
            raise SettingError(f"setting 'resume' (--resume): {str(sweep_dir)!r} is not a sweep "
                               f"directory (no {SPEC}).")
        if read_spec(saved).key() != read_spec(spec_path).key():
            raise SettingError(f"setting 'resume' (--resume): {spec_path} differs from the spec "
                               f"the sweep started with ({saved}); a sweep continues with its "
                               "own spec.")
    else:
        if saved.exists() or (sweep_dir / DB).exists():
            raise SettingError(f"setting 'out' (--out): {str(sweep_dir)!r} already holds a "
                               f"sweep; continue it with --resume {sweep_dir}, or choose "
                               "another --out.")
        try:
            (sweep_dir / TRIALS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingError(f"setting 'out' (--out): cannot create {str(sweep_dir)!r} "
                               f"({exc.strerror or exc}).") from None
        atomic_write_text(saved, Path(spec_path).read_text(encoding="utf-8"))
    url = storage or default_url(sweep_dir)
    return sweep_dir, url


class Progress:
    """The terminal's view: trials done, running, pruned and failed, and the best so far.

    On a terminal one line is rewritten in place; otherwise a line is printed per
    finished trial."""

    def __init__(self, spec: SweepSpec, planned: int, stream: IO[str] | None) -> None:
        self.spec, self.planned, self.stream = spec, planned, stream
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())

    def line(self, rows: list[Row], running: int) -> str:
        counts = {s: sum(r.status == s for r in rows) for s in ("complete", "pruned", "failed")}
        best = best_row(rows, self.spec.goal)
        best_text = ("-" if best is None or best.value is None
                     else f"{best.value:.4g} (trial {best.trial})")
        return (f"done {len(rows)}/{self.planned} · running {running} · pruned "
                f"{counts['pruned']} · failed {counts['failed']} · best {self.spec.metric} "
                f"{best_text}")

    def show(self, rows: list[Row], running: int, ended: TrialResult | None = None) -> None:
        if self.stream is None:
            return
        status = self.line(rows, running)
        if self.tty:
            self.stream.write("\r\033[K" + status)
        elif ended is not None:
            value = "-" if ended.value is None else f"{ended.value:.4g}"
            why = f" ({ended.reason})" if ended.status == "failed" and ended.reason else ""
            self.stream.write(f"trial {ended.slot}: {ended.status} {self.spec.metric}={value} "
                              f"in {ended.seconds:.1f} s{why} | {status}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def run_sweep(spec: SweepSpec, sweep_dir: str | Path, executor: Any, storage: str | None = None,
              join: bool = False, stream: IO[str] | None = sys.stdout,
              report: bool = True) -> SweepOutcome:
    """Run (or continue, with ``join``) the sweep until no trial is left to start and every
    trial started here has ended. Returns the rows of every finished trial."""
    sweep_dir = Path(sweep_dir)
    url = storage or default_url(sweep_dir)
    rdb = open_storage(url)
    study = studies.open_study(spec, rdb, join=join)
    studies.recover(study)
    planned = int(study.user_attrs.get("planned", spec.planned()))
    trials_dir = str((sweep_dir / TRIALS).resolve())
    progress = Progress(spec, planned, stream)
    running: dict[cf.Future, optuna.Trial] = {}
    claimer = studies.Claimer(study, spec)
    # The rows as this sweep knows them: re-read from the study every WRITE_EVERY seconds
    # (other sweeps may share it), updated in between with the trials that end here.
    known = {r.trial: r for r in _rows(study, spec, sweep_dir)}
    written = beat = time.monotonic()
    progress.show(list(known.values()), 0)
    try:
        while True:
            while len(running) < executor.workers:
                trial = claimer.claim()
                if trial is None:
                    break
                running[executor.submit(_task(spec, study, trial, trials_dir, url))] = trial
            if not running:
                break
            done, _ = cf.wait(running, timeout=studies.HEARTBEAT / 2,
                              return_when=cf.FIRST_COMPLETED)
            for future in done:
                trial = running.pop(future)
                result = _result(future, trial)
                _tell(study, trial, result)
                known[result.slot] = _row(trial, result, spec, sweep_dir)
                progress.show(list(known.values()), len(running), result)
            now = time.monotonic()
            if now - beat > studies.HEARTBEAT:
                for trial in running.values():
                    lease = dict(trial.user_attrs.get("lease", {}), heartbeat=time.time())
                    trial.set_user_attr("lease", lease)
                beat = now
            if done and now - written > WRITE_EVERY:
                known = {r.trial: r for r in _rows(study, spec, sweep_dir)}
                write_results(sweep_dir, sorted(known.values(), key=lambda r: r.trial), spec,
                              redacted(url), planned)
                written = time.monotonic()
    except BaseException:
        # Ctrl-C, SIGTERM: the trials still running stay RUNNING in the study (their
        # workers die with this process), and --resume continues them from their last
        # complete checkpoints.
        executor.close(cancel=True)
        progress.close()
        raise
    executor.close()
    progress.close()
    rows = _rows(study, spec, sweep_dir)
    write_results(sweep_dir, rows, spec, redacted(url), planned)
    finished = len(rows) >= planned and studies.waiting(study) == 0
    path = None
    if report:
        path = write_sweep_report(sweep_dir, spec, rows)
    return SweepOutcome(rows, best_row(rows, spec.goal), planned, finished, path)


def _rows(study: optuna.Study, spec: SweepSpec, sweep_dir: Path) -> list[Row]:
    return rows_of(studies.current(study), spec, sweep_dir)


def _row(trial: optuna.Trial, result: TrialResult, spec: SweepSpec, sweep_dir: Path) -> Row:
    """The row of a trial that ended here (as :func:`rows_of` reads it back)."""
    try:
        run_dir = str(Path(result.run_dir).resolve().relative_to(sweep_dir.resolve()))
    except ValueError:
        run_dir = result.run_dir
    return Row(result.slot, int(trial.user_attrs["seed"]), result.status, result.value,
               {name: trial.params.get(name, "") for name in spec.axes}, run_dir, result.reason)


def _task(spec: SweepSpec, study: optuna.Study, trial: optuna.Trial, trials_dir: str,
          url: str) -> TrialTask:
    attrs = trial.user_attrs
    settings = {**spec.base, **point_of(trial.params)}
    return TrialTask(slot=int(attrs["slot"]), trial_id=trial._trial_id,  # noqa: SLF001
                     settings=settings, seed=int(attrs["seed"]), trials_dir=trials_dir,
                     metric=spec.metric, storage=url, study=study.study_name, prune=spec.prune)


def _result(future: cf.Future, trial: optuna.Trial) -> TrialResult:
    """The future's result; an executor that lost the trial makes it a failed one."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a worker died or the cluster lost the task
        return TrialResult(int(trial.user_attrs["slot"]), "failed", None,
                           f"the worker was lost ({type(exc).__name__}: "
                           f"{' '.join(str(exc).split())[:300]})", "", 0, 0.0)


def _tell(study: optuna.Study, trial: optuna.Trial, result: TrialResult) -> None:
    trial.set_user_attr("result", {"value": result.value, "reason": result.reason,
                                   "run_dir": result.run_dir, "epochs": result.epochs,
                                   "seconds": round(result.seconds, 3)})
    if result.status == "complete":
        study.tell(trial, result.value)
    elif result.status == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, state=TrialState.FAIL)
