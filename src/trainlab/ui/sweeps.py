"""A sweep read through its files only: ``DIR/results.csv`` (one row per trial) and
``DIR/trials/<run dirs>``.

results.csv's columns: ``trial``, ``seed``, ``status``, the metric's name, one column per
swept setting, and ``run_dir``. The metric is the column that is neither fixed nor a
numeric swept value of the spec, found as the one column between ``status`` and the
settings: the fourth column by the layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainlab.ui.paths import inside
from trainlab.ui.runfiles import number, read_csv

FIXED = ("trial", "seed", "status", "run_dir")


def metric_column(header: list[str]) -> str | None:
    """The metric's column: the first column after trial, seed and status."""
    rest = [h for h in header if h not in FIXED]
    return rest[0] if rest else None


def read_sweep(root: Path, path: Path) -> dict[str, Any]:
    """The sweep page's data: the metric, the swept settings (with their values, numeric
    or categorical) and the trials (with a link name for each trial's run directory when
    it lies under ``root``)."""
    header, rows = read_csv(path / "results.csv")
    metric = metric_column(header)
    params = [h for h in header if h not in FIXED and h != metric]
    trials: list[dict[str, Any]] = []
    for row in rows:
        run_name = None
        run_dir = (row.get("run_dir") or "").strip()
        if run_dir:
            candidate = Path(run_dir)
            if not candidate.is_absolute():
                candidate = path / candidate
                if not candidate.exists():
                    candidate = path / "trials" / Path(run_dir).name
            if candidate.exists() and inside(root.resolve(), candidate):
                run_name = candidate.resolve().relative_to(root.resolve()).as_posix()
        trials.append({
            "trial": row.get("trial"), "seed": row.get("seed"), "status": row.get("status"),
            "metric": None if metric is None else number(row.get(metric)),
            "params": {p: _value(row.get(p)) for p in params},
            "run": run_name,
        })
    kinds = {}
    for p in params:
        values = [t["params"][p] for t in trials if t["params"][p] is not None]
        numeric = all(isinstance(v, float) for v in values)
        kinds[p] = {"numeric": numeric,
                    "values": sorted({v for v in values}, key=lambda v: (str(type(v)), v))}
    return {"metric": metric, "params": params, "kinds": kinds, "trials": trials}


def _value(cell: str | None) -> float | str | None:
    if cell is None or cell == "":
        return None
    n = number(cell)
    return n if n is not None else cell[:100]
