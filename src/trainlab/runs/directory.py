"""Run directories: where ``trainlab train`` keeps everything about one run.

    runs/NAME/
      config.toml              the fully resolved settings (``--config`` reads it back)
      run.json                 status, dataset facts, final metrics, timings
      metrics.csv              one row per completed epoch
      checkpoint.safetensors   the last complete epoch (written atomically; ``--resume``)
      model.safetensors        the final model (the best epoch's weights when early
                               stopping restored them); written when training ends
      monitor.json             the diagnostics monitor's records (when it is on)
      curvature.json           the curvature instrument's records (with --curvature)
      figures/*.png            the report's figures
      report.html              the self-contained report
      .lock                    locked (flock) while a process trains the run

A run directory is created exclusively (``os.mkdir``): when ``NAME`` exists, ``NAME-2``,
``NAME-3``, ... are tried, so two runs started at once never share a directory.
Every file is written atomically (a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np

from trainlab._atomic import atomic_write_bytes, atomic_write_text  # noqa: F401  (used as runs.*)
from trainlab.recipe.settings import SettingError

RUN_FORMAT = "trainlab-run-1"
CONFIG = "config.toml"
RUN_INFO = "run.json"
METRICS = "metrics.csv"
CHECKPOINT = "checkpoint.safetensors"
MODEL = "model.safetensors"
MONITOR = "monitor.json"
CURVATURE = "curvature.json"
FIGURES = "figures"
REPORT = "report.html"


class NotARunError(ValueError):
    """The directory is not a trainlab run directory."""


LOCK = ".lock"


def lock_run(run: Path) -> Any:
    """Hold an exclusive lock on ``run`` while this process trains it; returns the open lock
    file (the lock goes with the process, even when it is killed). Raises BlockingIOError
    when another process holds it, and :class:`UnsafeRunFileError` when ``.lock`` is a
    symbolic link or not a regular file (it is opened with ``O_NOFOLLOW``: a link is never
    followed, so nothing outside the run is created or changed). Where ``fcntl`` does not
    exist (Windows) it does nothing."""
    try:  # (imported here: fcntl exists only on POSIX)
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    path = Path(run) / LOCK
    flags = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
             | getattr(os, "O_NONBLOCK", 0))
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise _unsafe(path, "a symbolic link") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _unsafe(path, "not a regular file")
    handle = os.fdopen(fd, "r+b")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise BlockingIOError(
            f"run directory {str(run)!r} is being trained by another process"
        ) from None
    return handle


class UnsafeRunFileError(SettingError):
    """A file a run writes is a symbolic link (or not a regular file): trainlab refuses to
    write through it."""


WRITTEN = (CONFIG, RUN_INFO, METRICS, CHECKPOINT, MODEL, MONITOR, FIGURES, REPORT, LOCK)
"""The names a run writes in its directory."""


def _unsafe(path: Path, what: str) -> UnsafeRunFileError:
    return UnsafeRunFileError(f"{str(path)!r} is {what}; trainlab never writes through links "
                              "in a run directory. Remove it (or replace it with the real "
                              "file) and try again.")


def check_no_links(run: Path) -> None:
    """Raise :class:`UnsafeRunFileError` when a file the run writes (``WRITTEN``) is a
    symbolic link."""
    for name in WRITTEN:
        if os.path.islink(Path(run) / name):
            raise _unsafe(Path(run) / name, "a symbolic link")


def make_figures_dir(run: Path) -> Path:
    """``run/figures``, created when missing; a link or a file there is refused."""
    path = Path(run) / FIGURES
    with contextlib.suppress(FileExistsError):
        os.mkdir(path)  # never follows a link: an existing link is FileExistsError
    mode = os.lstat(path).st_mode
    if not stat.S_ISDIR(mode):
        raise _unsafe(path, "a symbolic link" if stat.S_ISLNK(mode) else "not a directory")
    return path


def remove_stale_temporaries(run: Path) -> list[Path]:
    """Delete the temporary files (``.NAME.*.tmp``) that a killed process left in ``run``."""
    removed = []
    for path in Path(run).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def safe_name(text: str) -> str:
    """A directory name from free text (a dataset name or a path): letters, digits, ``._-``."""
    stem = Path(text.partition(":")[2]).stem if ":" in text else text
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")
    return name or "run"


def check_name(name: str) -> str:
    """``name`` if it can name a run directory: no separators, no control characters (NUL,
    newlines, terminal escapes), not ``.`` or ``..``, no surrounding spaces; else SettingError."""
    bad = (not isinstance(name, str) or not name or name in (".", "..") or name != name.strip()
           or any(c in name for c in "/\\") or any(not c.isprintable() for c in name))
    if bad:
        raise SettingError(f"setting 'name' (--name) must be a plain directory name (no '/' "
                           f"or '\\', no control characters, not '.' or '..'); received "
                           f"{name!r}.")
    return name


def create_run_dir(out: str | os.PathLike, name: str) -> Path:
    """Create ``out/name`` (or ``name-2``, ``name-3``, ...) exclusively and return it.

    Raises OSError (PermissionError, NotADirectoryError, ...) when ``out`` cannot hold it.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(1, 100_000):
        candidate = out / (name if i == 1 else f"{name}-{i}")
        try:
            os.mkdir(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{out}: every name from {name} to {name}-99999 is taken.")


def check_writable(out: str | os.PathLike) -> None:
    """Raise OSError when a run directory cannot be created under ``out``."""
    out = Path(out)
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise NotADirectoryError(f"{str(probe)!r} exists and is not a directory")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(f"{str(probe)!r} is not writable")


def read_run_info(run: Path) -> dict[str, Any]:
    """``run.json`` of a run directory, or :class:`NotARunError` saying what is missing."""
    run = Path(run)
    if not run.exists():
        raise NotARunError(f"run directory {str(run)!r} does not exist")
    if not run.is_dir():
        raise NotARunError(f"{str(run)!r} is not a directory, so not a trainlab run")
    info_path = run / RUN_INFO
    if not info_path.is_file() or not (run / CONFIG).is_file():
        raise NotARunError(
            f"{str(run)!r} is not a trainlab run directory (it has no {RUN_INFO} and {CONFIG}; "
            "pass a directory made by 'trainlab train', e.g. runs/digits)"
        )
    try:
        info = read_json(info_path)
    except (OSError, ValueError) as exc:
        raise NotARunError(f"{str(info_path)!r} is unreadable or corrupted ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
        raise NotARunError(f"{str(info_path)!r} is not a trainlab run record "
                           f"(expected format {RUN_FORMAT!r})")
    _check_fields(info, RUN_INFO_FIELDS, info_path, "")
    _check_fields(info.get("dataset") or {}, DATASET_FIELDS, info_path, "dataset.")
    return info


MAX_JSON_DEPTH = 64
"""Deepest nesting of lists and objects read from a run's JSON files (theirs is 4 at most)."""


def read_json(path: Path) -> Any:
    """The JSON value in ``path``; ValueError when it is not JSON or nests lists and objects
    more than MAX_JSON_DEPTH deep (checked without recursion)."""
    too_deep = ValueError(f"it nests lists and objects more than {MAX_JSON_DEPTH} levels deep")
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError:
        raise too_deep from None
    level = [value] if isinstance(value, (list, dict)) else []
    for _ in range(MAX_JSON_DEPTH):  # one level of containers at a time
        level = [child for item in level
                 for child in (item.values() if isinstance(item, dict) else item)
                 if isinstance(child, (list, dict))]
    if level:
        raise too_deep
    return value


_NUMBER = (int, float)
_NONE = type(None)
RUN_INFO_FIELDS: dict[str, tuple[type, ...]] = {
    "status": (str,), "epochs_completed": (int,), "target_epochs": (int,),
    "global_step": (int,), "dataset": (dict,), "model": (dict,), "settings": (dict,),
    "derived": (list,), "fingerprints": (dict,), "stop_reason": (str, _NONE),
    "best_epoch": (int, _NONE), "restored_best": (bool,), "seconds": _NUMBER,
    "command": (list,), "final": (dict, _NONE), "trainlab_version": (str,),
}
"""The type of each field of run.json that trainlab reads (a field may be missing)."""
DATASET_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,), "task": (str,), "n_samples": (int,), "n_features": (int,),
    "n_outputs": (int,), "class_names": (list, _NONE), "feature_names": (list, _NONE),
    "image_shape": (list, _NONE), "split": (dict,),
}


def _check_fields(table: Any, fields: dict[str, tuple[type, ...]], path: Path,
                  prefix: str) -> None:
    """Each present field of ``table`` has its type (and the items of the few fields that
    hold tables or lists have theirs); else NotARunError naming the file and the field."""
    if not isinstance(table, dict):
        raise NotARunError(f"{str(path)!r}: field {prefix.rstrip('.')!r} must be an object; "
                           f"received {table!r:.60}")
    for key, kinds in fields.items():
        if key not in table:
            continue
        value = table[key]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            expected = " or ".join(dict.fromkeys(_JSON_NAMES[k] for k in kinds))
        elif key in _ITEMS and value is not None:
            kind, expected = _ITEMS[key]
            items: Any = value.values() if isinstance(value, dict) else value
            if all(isinstance(v, kind) and not isinstance(v, bool) for v in items):
                continue
        else:
            continue
        raise NotARunError(f"{str(path)!r}: field '{prefix}{key}' must be {expected}; "
                           f"received {value!r:.60}")


_ITEMS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "derived": (str, "a list of strings"),
    "fingerprints": (str, "an object of strings"),
    "split": (int, "an object of numbers"),
    "final": (dict, "an object of objects (the metrics of each split)"),
}


_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a number",
               float: "a number", bool: "true or false", _NONE: "null"}


def write_run_info(run: Path, info: dict[str, Any]) -> None:
    atomic_write_text(Path(run) / RUN_INFO, json.dumps({"format": RUN_FORMAT, **info}, indent=2,
                                                       default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"run.json: cannot store a {type(value).__name__}")
