"""A sweep's results: ``results.csv`` and ``sweep.json`` in the sweep directory.

``results.csv`` has one row per finished trial, in the order of the plan, with the columns

    trial, seed, status, METRIC, SETTING..., run_dir

``trial`` is the trial's slot in the plan (its run directory is ``trials/trial-NNNN``),
``status`` is ``complete``, ``pruned`` or ``failed``, METRIC is the metric's value at the
trial's last epoch (empty when there is none), then one column per swept setting (lists
as JSON, e.g. ``[64, 64]``) and the run directory relative to the sweep directory.
``sweep.json`` holds what the table does not: the spec's summary, the storage, and the
reason of every pruned or failed trial.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from trainlab.runs import atomic_write_text
from trainlab.sweep.spec import SweepSpec

RESULTS = "results.csv"
SUMMARY = "sweep.json"
TRIALS = "trials"
STATUS = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned",
          TrialState.FAIL: "failed"}


@dataclass(frozen=True)
class Row:
    """One finished trial."""

    trial: int
    seed: int
    status: str
    value: float | None
    settings: dict[str, Any]
    run_dir: str
    reason: str | None = None


def rows_of(trials: Sequence[FrozenTrial], spec: SweepSpec, sweep_dir: Path) -> list[Row]:
    """The finished trials as rows, by slot."""
    out = []
    for t in trials:
        status = STATUS.get(t.state)
        if status is None:
            continue
        attrs = t.user_attrs
        result = attrs.get("result") or {}
        value = result.get("value", t.value if t.state == TrialState.COMPLETE else None)
        run_dir = result.get("run_dir") or ""
        try:
            run_dir = str(Path(run_dir).resolve().relative_to(Path(sweep_dir).resolve()))
        except ValueError:
            pass
        settings = {name: t.params.get(name, "") for name in spec.axes}
        out.append(Row(int(attrs["slot"]), int(attrs["seed"]), status,
                       None if value is None else float(value), settings, run_dir,
                       result.get("reason")))
    return sorted(out, key=lambda r: r.trial)


def header(spec: SweepSpec) -> list[str]:
    return ["trial", "seed", "status", spec.metric, *spec.axes, "run_dir"]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def results_csv(rows: Sequence[Row], spec: SweepSpec) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header(spec))
    for r in rows:
        writer.writerow([r.trial, r.seed, r.status, _cell(r.value),
                         *(_cell(r.settings[name]) for name in spec.axes), r.run_dir])
    return buffer.getvalue()


def best_row(rows: Sequence[Row], goal: str) -> Row | None:
    """The complete trial with the best value."""
    done = [r for r in rows if r.status == "complete" and r.value is not None]
    if not done:
        return None
    pick = max if goal == "maximize" else min
    return pick(done, key=lambda r: r.value)  # type: ignore[arg-type,return-value]


def write_results(sweep_dir: Path, rows: Sequence[Row], spec: SweepSpec, storage: str,
                  planned: int) -> None:
    """Write ``results.csv`` and ``sweep.json`` atomically."""
    atomic_write_text(Path(sweep_dir) / RESULTS, results_csv(rows, spec))
    best = best_row(rows, spec.goal)
    summary = {
        "name": spec.name, "method": spec.method, "metric": spec.metric, "goal": spec.goal,
        "seeds": list(spec.seeds), "prune": spec.prune, "settings": list(spec.axes),
        "storage": storage, "study": spec.name, "planned": planned,
        "finished": len(rows),
        "best": None if best is None else {"trial": best.trial, "value": best.value,
                                           "run_dir": best.run_dir},
        "reasons": {str(r.trial): r.reason for r in rows if r.reason},
    }
    atomic_write_text(Path(sweep_dir) / SUMMARY, json.dumps(summary, indent=1) + "\n")


def read_results(sweep_dir: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of ``results.csv``."""
    with open(Path(sweep_dir) / RESULTS, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def read_summary(sweep_dir: Path) -> dict[str, Any]:
    path = Path(sweep_dir) / SUMMARY
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
