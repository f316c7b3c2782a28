"""Load a user's own table: a CSV file with a header row, or an .npz archive with X and y."""

from __future__ import annotations

import csv
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainlab._checks import check_dtype
from trainlab.data.dataset import Dataset, encode_targets

_MISSING_MARKERS = frozenset({"", "na", "nan", "n/a", "null", "none", "?", "-"})


def _read_csv_rows(path: Path, delimiter: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows and each row's line number; blank lines are skipped."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            rows, lines = [], []
            for row in reader:
                if row:
                    if "\x00" in "".join(row):
                        raise ValueError(
                            f"load_csv: {path}: line {reader.line_num} contains a NUL byte; "
                            "this looks like a binary file, not CSV text."
                        )
                    rows.append(row)
                    lines.append(reader.line_num)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"load_csv: {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); expected a CSV file. Save it as UTF-8."
        ) from exc
    except csv.Error as exc:
        raise ValueError(f"load_csv: {path} is not a readable CSV file ({exc}).") from exc
    if not rows:
        raise ValueError(f"load_csv: {path} is empty; expected a header row and data rows.")
    header = [name.strip() for name in rows[0]]
    for j, name in enumerate(header):
        if not name:
            raise ValueError(f"load_csv: {path}: column {j + 1} of the header has no name.")
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        raise ValueError(f"load_csv: {path}: duplicate column names in the header: {duplicates}.")
    if len(rows) == 1:
        raise ValueError(f"load_csv: {path} has a header row but no data rows.")
    for row, line in zip(rows[1:], lines[1:]):
        if len(row) != len(header):
            raise ValueError(
                f"load_csv: {path}: line {line} has {len(row)} fields; expected {len(header)} "
                f"(the number of columns in the header)."
            )
    return header, rows[1:], lines[1:]


def _cell_problem(path: Path, cell: str, line: int, column: str) -> str:
    where = f"load_csv: {path}: line {line}, column {column!r}"
    if cell.strip().lower() in _MISSING_MARKERS:
        return f"{where}: missing value {cell!r}. Fill in or drop incomplete rows first."
    try:
        float(cell)
        return f"{where}: non-finite value {cell!r}; every value must be a finite number."
    except ValueError:
        pass
    return (
        f"{where}: could not read {cell!r} as a number. Feature columns must be numeric; "
        f"encode text columns as numbers first."
    )


def _parse_numbers(path: Path, cells: list[list[str]], names: list[str],
                   lines: list[int]) -> np.ndarray:
    """Parse a block of cells to float64, with an error that points at the first bad cell."""
    try:
        values = np.array(cells, dtype=str).astype(np.float64)
    except ValueError:
        values = None
    if values is not None and np.isfinite(values).all():
        return values
    values = np.empty((len(cells), len(names)), dtype=np.float64)
    for i, row in enumerate(cells):  # the slow path finds the first bad cell
        for j, cell in enumerate(row):
            try:
                values[i, j] = float(cell)
            except ValueError:
                values[i, j] = np.nan
            if not np.isfinite(values[i, j]):
                raise ValueError(_cell_problem(path, cell, lines[i], names[j]))
    return values


def load_csv(
    path: str | os.PathLike,
    target: str | Sequence[str] | None = None,
    task: str | None = None,
    delimiter: str = ",",
    dtype=np.float32,
    name: str | None = None,
) -> Dataset:
    """Load a CSV file with a header row; every column except the target is a numeric feature.

    target: the target column's name (or a list of names for multi-output regression);
        default the last column.
    task: "classification", "regression" or None to infer: a text target gives class
        labels (sorted distinct values); an integer-like numeric target with at most
        20 distinct values is classification; anything else is regression.
    """
    path = Path(path)
    dtype = check_dtype(dtype)
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        raise ValueError(f"load_csv: delimiter must be one character such as ',' or ';'. "
                         f"Received: {delimiter!r}.")
    if target is not None and not isinstance(target, str) and not (
        isinstance(target, Sequence) and all(isinstance(t, str) for t in target)
    ):
        raise TypeError(f"load_csv: target must be a column name or a list of names. "
                        f"Received: {target!r}.")
    header, rows, lines = _read_csv_rows(path, delimiter)
    if target is None:
        targets = [header[-1]]
    else:
        targets = [target] if isinstance(target, str) else list(target)
    for column in targets:
        if column not in header:
            raise ValueError(
                f"load_csv: {path}: target column {column!r} is not in the header. "
                f"Columns: {header}."
            )
    if not targets or len(targets) == len(header):
        raise ValueError(
            f"load_csv: {path}: need at least one target and one feature column. "
            f"Received target={target!r} for columns {header}."
        )
    target_cols = [header.index(c) for c in targets]
    feature_cols = [j for j in range(len(header)) if j not in target_cols]
    feature_names = [header[j] for j in feature_cols]
    X = _parse_numbers(path, [[r[j] for j in feature_cols] for r in rows], feature_names, lines)
    raw_target = [[r[j].strip() for j in target_cols] for r in rows]
    for i, row in enumerate(raw_target):
        for j, cell in enumerate(row):
            if cell.lower() in _MISSING_MARKERS:
                raise ValueError(_cell_problem(path, cell, lines[i], targets[j]))
    try:
        values = np.array(raw_target, dtype=str).astype(np.float64)
        if not np.isfinite(values).all():
            raise ValueError("non-finite target")
    except ValueError:
        values = np.array(raw_target, dtype=str)  # text targets: class labels
    if len(targets) == 1:
        values = values[:, 0]
    elif values.dtype.kind == "U":
        raise ValueError(f"load_csv: {path}: several target columns must all be numeric.")
    y, task, class_names = encode_targets(values, task, dtype, f"load_csv: {path}")
    _check_classes(task, class_names, f"load_csv: {path}", f"column {targets[0]!r}")
    return Dataset(
        X=X.astype(dtype),
        y=y,
        task=task,
        name=name or path.stem,
        feature_names=feature_names,
        class_names=class_names,
    )


def _check_classes(task: str, class_names, owner: str, column: str) -> None:
    """A classification target needs at least two classes to learn anything."""
    if task == "classification" and class_names is not None and len(class_names) < 2:
        raise ValueError(
            f"{owner}: the target {column} has only one class ({', '.join(class_names)!s}); "
            f"classification needs at least two. Check the target column, or pass "
            f"task='regression' for a numeric target."
        )


def _npz_array(archive, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as exc:  # object arrays need pickle
        raise ValueError(
            f"load_npz: {path}: array {key!r} holds Python objects (dtype=object), which are "
            f"not loaded because loading them would run pickle (allow_pickle=False). Save plain "
            f"numeric or string arrays, e.g. np.savez(path, X=X.astype(np.float32), y=y)."
        ) from exc


def load_npz(
    path: str | os.PathLike,
    task: str | None = None,
    dtype=np.float32,
    name: str | None = None,
) -> Dataset:
    """Load arrays ``X`` (n, d) or (n, height, width) and ``y`` (n,) or (n, k) from an .npz file.

    Integer, bool or string y is classification (labels are the sorted distinct
    values), float y is regression, unless ``task`` says otherwise. Optional arrays
    ``feature_names`` and ``class_names`` (strings) are used when present. Loaded with
    ``allow_pickle=False``: object arrays are refused.
    """
    path = Path(path)
    dtype = check_dtype(dtype)
    owner = f"load_npz: {path}"
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{owner} is not a readable .npz archive ({exc}).") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{owner}: expected an .npz archive with arrays 'X' and 'y'; "
                         f"received a single .npy array.")
    with archive:
        missing = [k for k in ("X", "y") if k not in archive.files]
        if missing:
            raise ValueError(f"{owner}: missing array(s) {missing}. Arrays present: {archive.files}.")
        X = _npz_array(archive, "X", path)
        raw_y = _npz_array(archive, "y", path)
        extra = {k: _npz_array(archive, k, path) for k in ("feature_names", "class_names")
                 if k in archive.files}
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: X must be numeric. Received dtype {X.dtype}.")
    image_shape = None
    if X.ndim == 3:
        image_shape = X.shape[1:]
        X = X.reshape(X.shape[0], -1)
    if X.ndim != 2:
        raise ValueError(
            f"{owner}: X must have shape (n, d) or (n, height, width). Received shape {X.shape}."
        )
    if raw_y.ndim not in (1, 2) or raw_y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{owner}: y must have shape (n,) or (n, k) with n = {X.shape[0]} rows of X. "
            f"Received shape {raw_y.shape}."
        )
    if X.shape[0] == 0:
        raise ValueError(f"{owner}: X has no rows; expected at least one example.")
    if not np.isfinite(X).all():
        raise ValueError(f"{owner}: X contains NaN or infinite values.")
    if raw_y.dtype.kind == "f" and not np.isfinite(raw_y).all():
        raise ValueError(f"{owner}: y contains NaN or infinite values.")
    y, task, class_names = encode_targets(raw_y, task, dtype, owner, infer_from_values=False)
    _check_classes(task, class_names, owner, "array 'y'")
    if "class_names" in extra and task == "classification":
        # stored names describe the stored label values 0..K-1; keep the ones present
        stored = [str(s) for s in extra["class_names"].reshape(-1)]
        present = [int(float(c)) for c in class_names] if raw_y.dtype.kind in "iu" else None
        if present is not None and all(0 <= c < len(stored) for c in present):
            class_names = tuple(stored[c] for c in present)
    feature_names = None
    if "feature_names" in extra and extra["feature_names"].size == X.shape[1]:
        feature_names = [str(s) for s in extra["feature_names"].reshape(-1)]
    return Dataset(
        X=X.astype(dtype),
        y=y,
        task=task,
        name=name or path.stem,
        feature_names=feature_names,
        class_names=class_names,
        image_shape=image_shape,
    )
