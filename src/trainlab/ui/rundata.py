"""Everything the run page shows about one run, read from its files (no web framework
here, so it is tested alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainlab.ui.monitorview import monitor_view
from trainlab.ui.paths import read_limited
from trainlab.ui.runfiles import (
    CONFIG,
    MONITOR,
    MONITOR_LIMIT,
    RUN_JSON,
    flat_final,
    read_json,
    read_metrics,
    stamp,
)

INFO_KEYS = ("status", "epochs_completed", "target_epochs", "global_step", "stop_reason",
             "diverged", "best_epoch", "seconds", "command", "model", "settings")


def stamps(run: Path) -> dict[str, Any]:
    """The files' (mtime, size), to tell what changed since the last look."""
    return {name: stamp(run / name) for name in (RUN_JSON, "metrics.csv", MONITOR)}


def run_info(run: Path) -> dict[str, Any]:
    """run.json's summary parts (or an ``error``)."""
    try:
        info = read_json(run / RUN_JSON)
        if not isinstance(info, dict):
            raise ValueError("run.json does not hold a JSON object")
    except FileNotFoundError:
        return {"status": "unknown", "error": "run.json is missing"}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return {"status": "error", "error": f"run.json: {type(exc).__name__}: {str(exc)[:200]}"}
    out = {k: info[k] for k in INFO_KEYS if k in info}
    out["final"] = flat_final(info.get("final"))
    dataset = info.get("dataset")
    if isinstance(dataset, dict):
        out["dataset"] = {k: dataset.get(k) for k in ("name", "task", "n_samples", "n_features",
                                                       "n_outputs", "split")}
    return out


def run_metrics(run: Path) -> dict[str, Any]:
    try:
        return {"metrics": read_metrics(run)}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return {"metrics": {}, "metrics_error": f"metrics.csv: {type(exc).__name__}: "
                                                f"{str(exc)[:200]}"}


def run_monitor(run: Path) -> dict[str, Any]:
    path = run / MONITOR
    if not path.exists():
        return {"monitor": None}
    try:
        return {"monitor": monitor_view(read_json(path, MONITOR_LIMIT))}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return {"monitor": None,
                "monitor_error": f"monitor.json: {type(exc).__name__}: {str(exc)[:200]}"}


def run_config(run: Path) -> str | None:
    try:
        return read_limited(run / CONFIG, 2**20).decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return None


def run_data(run: Path, name: str) -> dict[str, Any]:
    """The run page's data: info, metrics, monitor view and config.toml's text."""
    return {"name": name, "info": run_info(run), **run_metrics(run), **run_monitor(run),
            "config": run_config(run), "figures": _figures(run)}


def _figures(run: Path) -> list[str]:
    folder = run / "figures"
    if not folder.is_dir() or folder.is_symlink():
        return []
    try:
        return sorted(p.name for p in folder.iterdir() if p.suffix == ".png")[:50]
    except OSError:
        return []
