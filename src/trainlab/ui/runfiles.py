"""Reading a run directory's files for the pages: run.json, metrics.csv, monitor.json.

Only JSON, CSV and TOML text is read (no code, no pickles), each file up to a size
limit, and nothing is ever written. A file being replaced while it is read is no
problem: trainlab replaces run files atomically (``os.replace``), so a reader sees the
old or the new file whole.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainlab.ui.paths import read_limited

RUN_JSON, METRICS, MONITOR, CONFIG = "run.json", "metrics.csv", "monitor.json", "config.toml"
RUN_FILES = (RUN_JSON, METRICS, CONFIG)
SWEEP_FILES = ("results.csv", "sweep.db")
JSON_LIMIT = 8 * 2**20
CSV_LIMIT = 32 * 2**20
MONITOR_LIMIT = 256 * 2**20


def number(value: Any) -> float | None:
    """A finite float from a JSON value or CSV cell, else None (NaN and inf included)."""
    if isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def read_json(path: Path, limit: int = JSON_LIMIT) -> Any:
    return json.loads(read_limited(path, limit).decode("utf-8"))


def read_csv(path: Path, limit: int = CSV_LIMIT) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV file, as text."""
    text = read_limited(path, limit).decode("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    rows = [dict(r) for r in reader]
    return list(reader.fieldnames or []), rows


def read_metrics(run: Path) -> dict[str, list[float | None]]:
    """metrics.csv as columns of numbers (None where a cell is empty or not finite);
    empty when the file does not exist yet."""
    path = run / METRICS
    if not path.exists():
        return {}
    header, rows = read_csv(path)
    return {name: [number(row.get(name)) for row in rows] for name in header if name}


def stamp(path: Path) -> tuple[int, int] | None:
    """(mtime in ns, size) of a file, or None when it is missing: what changed since last time."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def is_run(path: Path) -> bool:
    return any((path / name).exists() for name in RUN_FILES)


def is_sweep(path: Path) -> bool:
    return any((path / name).exists() for name in SWEEP_FILES)


def flat_final(final: Any) -> dict[str, float]:
    """run.json's ``final`` table ({"test": {"accuracy": 0.9}}) as {"test_accuracy": 0.9}."""
    out: dict[str, float] = {}
    if isinstance(final, dict):
        for split, values in final.items():
            if isinstance(values, dict):
                for key, value in values.items():
                    v = number(value)
                    if v is not None:
                        out[f"{split}_{key}"] = v
    return out


@dataclass
class RunSummary:
    """One row of the runs page: a run directory, or why it cannot be read."""

    name: str
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    epochs: int | None = None
    target_epochs: int | None = None
    modified: float | None = None
    error: str | None = None

    def public(self) -> dict[str, Any]:
        """The ``GET /api/runs`` entry."""
        out: dict[str, Any] = {"name": self.name, "status": self.status, "metrics": self.metrics}
        if self.error is not None:
            out["error"] = self.error
        return out


KEY_SETTINGS = ("data", "hidden", "activation", "init", "norm", "optimizer", "lr",
                "batch_size", "epochs", "seed")


def summarize_run(root: Path, path: Path) -> RunSummary:
    """The runs page's row for ``path``; an unreadable run gives an error row."""
    name = path.relative_to(root).as_posix()
    try:
        try:
            info = read_json(path / RUN_JSON)
        except ValueError as exc:  # (JSONDecodeError and UnicodeDecodeError included)
            raise ValueError(f"run.json is not valid JSON ({exc})") from None
        if not isinstance(info, dict):
            raise ValueError("run.json does not hold a JSON object")
        status = info.get("status")
        if not isinstance(status, str):
            raise ValueError("run.json has no 'status'")
        try:
            metrics = read_metrics(path)
        except (ValueError, csv.Error) as exc:
            raise ValueError(f"metrics.csv cannot be read ({exc})") from None
        last = {k: v[-1] for k, v in metrics.items() if v and v[-1] is not None}
        final = flat_final(info.get("final"))
        values = final or {k: v for k, v in last.items() if k not in ("epoch",)}
        raw = info.get("settings")
        settings = raw if isinstance(raw, dict) else {}
        epochs = info.get("epochs_completed")
        if metrics.get("epoch"):
            epochs = len(metrics["epoch"])
        target = info.get("target_epochs")
        return RunSummary(
            name=name, status=status[:40], metrics=values,
            settings={k: settings[k] for k in KEY_SETTINGS if k in settings},
            epochs=epochs if isinstance(epochs, int) else None,
            target_epochs=target if isinstance(target, int) else None,
            modified=_modified(path),
        )
    except FileNotFoundError:
        return RunSummary(name, "error", error="run.json is missing", modified=_modified(path))
    except (OSError, ValueError, UnicodeDecodeError, csv.Error) as exc:
        return RunSummary(name, "error", error=str(exc)[:240],
                          modified=_modified(path))


def _modified(path: Path) -> float | None:
    times = [s[0] / 1e9 for s in (stamp(path / n) for n in (RUN_JSON, METRICS)) if s]
    return max(times) if times else None
