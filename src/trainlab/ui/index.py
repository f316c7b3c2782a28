"""The runs and sweeps under a runs directory, for the runs page and ``GET /api/runs``.

    runs/                      --runs DIR
      digits/                  a run (run.json, metrics.csv, config.toml, ...)
      lr-sweep/                a sweep (results.csv, sweep.db, trials/<run dirs>)
      sweeps/lr-sweep/         sweeps one folder further down are found too

Entries are read lazily and never trusted: a directory that cannot be read becomes an
error row; a symbolic link that leads outside the runs directory is listed as an error
and never followed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from trainlab.ui.paths import inside
from trainlab.ui.runfiles import RunSummary, is_run, is_sweep, read_csv, summarize_run
from trainlab.ui.sweeps import metric_column

MAX_ENTRIES = 2000  # directories looked at per scan


@dataclass
class SweepSummary:
    """One sweep: its trials' count by status and the best value of its metric."""

    name: str
    trials: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    metric: str | None = None
    error: str | None = None


def _children(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            entries = [e for e in it if not e.name.startswith(".")]
    except OSError:
        return []
    return sorted(entries, key=lambda e: e.name)[:MAX_ENTRIES]


def summarize_sweep(root: Path, path: Path) -> SweepSummary:
    name = path.relative_to(root).as_posix()
    results = path / "results.csv"
    if not results.exists():
        return SweepSummary(name, error="results.csv not written yet")
    try:
        header, rows = read_csv(results)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return SweepSummary(name, error=f"{type(exc).__name__}: {str(exc)[:200]}")
    statuses: dict[str, int] = {}
    for row in rows:
        status = str(row.get("status") or "?")[:20]
        statuses[status] = statuses.get(status, 0) + 1
    return SweepSummary(name, len(rows), statuses, metric_column(header))


def scan(root: Path) -> tuple[list[RunSummary], list[SweepSummary]]:
    """Every run and sweep directly under ``root``, and sweeps one level further down."""
    root = root.resolve()
    runs: list[RunSummary] = []
    sweeps: list[SweepSummary] = []

    def visit(path: Path, depth: int) -> None:
        for entry in _children(path):
            child = path / entry.name
            try:
                is_dir = entry.is_dir()  # follows links
            except OSError:
                continue
            if not is_dir:
                continue
            name = child.relative_to(root).as_posix()
            if entry.is_symlink() and not inside(root, child):
                runs.append(RunSummary(name, "error",
                                       error="a symbolic link leading outside the runs "
                                             "directory (not followed)"))
                continue
            if is_sweep(child):
                sweeps.append(summarize_sweep(root, child))
            elif is_run(child):
                runs.append(summarize_run(root, child))
            elif depth == 0:
                visit(child, depth + 1)

    visit(root, 0)
    return runs, sweeps
