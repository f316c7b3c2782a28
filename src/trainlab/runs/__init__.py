"""Runs: a recipe trained into a run directory, and read back.

- :class:`Run` (``runs.run``): build from a RunConfig, train, resume, evaluate, predict.
- :class:`RunRecord` (``runs.record``): a finished or interrupted run read back, for
  ``evaluate``, ``predict`` and reports, without an optimizer.
- ``runs.directory``: the run directory's layout, locking and atomic files (its names
  are re-exported here: ``runs.CONFIG``, ``runs.create_run_dir``, ...).
"""

from trainlab.runs.directory import (
    CHECKPOINT,
    CONFIG,
    CURVATURE,
    FIGURES,
    LOCK,
    METRICS,
    MODEL,
    MONITOR,
    REPORT,
    RUN_FORMAT,
    RUN_INFO,
    NotARunError,
    atomic_write_bytes,
    atomic_write_text,
    check_name,
    check_writable,
    create_run_dir,
    lock_run,
    read_run_info,
    remove_stale_temporaries,
    safe_name,
    write_run_info,
)
from trainlab.runs.seeds import RunSeeds

__all__ = [
    "CHECKPOINT", "CONFIG", "CURVATURE", "FIGURES", "LOCK", "METRICS", "MODEL", "MONITOR", "REPORT",
    "RUN_FORMAT", "RUN_INFO", "NotARunError", "atomic_write_bytes", "atomic_write_text",
    "check_name", "check_writable", "create_run_dir", "lock_run", "read_run_info",
    "remove_stale_temporaries", "safe_name", "write_run_info", "RunSeeds",
]
