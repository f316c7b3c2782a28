"""Load a user's own table: a CSV file (through pandas), or an .npz archive with X and y."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainlab._checks import check_dtype
from trainlab.data.csvfile import (
    CsvSource,
    frame_has_text_or_missing,
    frame_targets,
    frame_to_dataset,
    missing_cell_error,
    mixed_column_error,
    read_csv_frame,
)
from trainlab.data.dataset import Dataset, check_classes, encode_targets
from trainlab.data.encoding import TableEncoder, is_text, needs_encoding
from trainlab.data.npzfile import NpzArchive, SingleArrayError

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def load_csv(
    path: str | os.PathLike,
    target: str | Sequence[str] | None = None,
    task: str | None = None,
    delimiter: str = ",",
    dtype=np.float32,
    name: str | None = None,
    *,
    header: str | bool = "auto",
) -> Dataset:
    """Load a CSV file; every column except the target is a numeric feature.

    target: the target column's name (or a list of names for multi-output regression);
        default the last column.
    task: "classification", "regression" or None to infer: a text target gives class
        labels (sorted distinct values); an integer-like numeric target with at most
        20 distinct values is classification; anything else is regression.
    header: True (the first row holds the column names), False (it is data: the columns
        are named x0, x1, ...) or "auto": the first row is read as names when it holds
        text and no numbers where the rows below hold numbers. A file such as
        scikit-learn's iris.csv, whose first row mixes counts and class names, is read
        without a header.

    This is :func:`~trainlab.data.csvfile.read_csv_frame` (the pandas DataFrame, with
    text columns kept as categories) followed by
    :func:`~trainlab.data.csvfile.frame_to_dataset`, which refuses text and missing
    feature values with the line and column of the first one.
    """
    dtype = check_dtype(dtype)
    if target is not None and not isinstance(target, str) and not (
        isinstance(target, Sequence) and all(isinstance(t, str) for t in target)
    ):
        raise TypeError(f"load_csv: target must be a column name or a list of names. "
                        f"Received: {target!r}.")
    frame = read_csv_frame(path, header=header, delimiter=delimiter)
    return frame_to_dataset(frame, target=target, task=task, dtype=dtype, name=name)


@dataclass(eq=False)
class RawTable:
    """A CSV table whose feature columns still hold text or missing cells.

    features: the feature columns (a pandas DataFrame, n rows), as read.
    y, task, class_names: the targets, read as :func:`load_csv` reads them.
    encoder: the :class:`~trainlab.data.encoding.TableEncoder` (not yet fitted) that
        :meth:`encode` fits on the training rows.
    """

    features: Any
    y: np.ndarray
    task: str
    name: str
    class_names: Sequence[str] | None
    encoder: TableEncoder
    dtype: np.dtype
    notes: tuple[str, ...] = ()

    @property
    def n_samples(self) -> int:
        return len(self.features)

    def encode(self, encoder: TableEncoder) -> Dataset:
        """The numeric Dataset of every row, through a fitted ``encoder``."""
        X = encoder.transform(self.features, where=f"load_csv: {self.name}")
        with np.errstate(over="ignore"):
            X_out = X.astype(self.dtype)
        if not np.isfinite(X_out).all():
            raise ValueError(f"load_csv: {self.name}: an encoded value overflows {self.dtype}.")
        return Dataset(X=X_out, y=self.y, task=self.task, name=self.name,
                       feature_names=encoder.feature_names, class_names=self.class_names)


HEADER_WORDS: dict[str, str | bool] = {"auto": "auto", "yes": True, "no": False}


def header_message(source: CsvSource) -> str:
    """What ``header="auto"`` decided about a file's first row, for the person training."""
    if source.header:
        return (f"{source.path.name}: the first row was read as column names (it holds text "
                "where the rows below hold numbers); use --header no if it is data.")
    return (f"{source.path.name}: no header found, the first row was read as data (columns "
            "x0, x1, ...); use --header yes if it holds the column names.")


def load_csv_table(
    path: str | os.PathLike,
    target: str | Sequence[str] | None = None,
    task: str | None = None,
    delimiter: str = ",",
    dtype=np.float32,
    name: str | None = None,
    *,
    header: str | bool = "auto",
    categorical: str = "onehot",
    impute: str = "mean",
) -> Dataset | RawTable:
    """A CSV file as a :class:`Dataset` when every feature is a number, else as a
    :class:`RawTable` to be encoded once the training rows are known.

    header: as in :func:`load_csv`, or the words ``"auto"``, ``"yes"``, ``"no"``.
    categorical, impute: the :class:`~trainlab.data.encoding.TableEncoder`'s steps. With
        ``categorical="none"`` a text feature is refused, with ``impute="none"`` a missing
        cell is, each naming its line and column.
    """
    dtype = check_dtype(dtype)
    if isinstance(header, str) and header in HEADER_WORDS:
        header = HEADER_WORDS[header]
    encoder = TableEncoder(categorical, impute)
    frame = read_csv_frame(path, header=header, delimiter=delimiter)
    source = frame.attrs.get("trainlab.csv")
    notes = (header_message(source),) if header == "auto" and source is not None else ()
    if not frame_has_text_or_missing(frame):  # numbers only: as load_csv reads it
        dataset = frame_to_dataset(frame, target=target, task=task, dtype=dtype, name=name)
        dataset.notes = notes
        return dataset
    targets = frame_targets(frame, target=target, task=task, dtype=dtype)
    features = frame[list(targets.features)]
    text = any(is_text(series) for _, series in features.items())
    mixed = mixed_column_error(frame, targets.features) if text else None
    if mixed is not None:
        raise mixed
    if impute == "none" and text:
        problem = missing_cell_error(frame, targets.features)
        if problem is not None:
            raise problem
    refused = (text and categorical == "none") or (not text and impute == "none")
    if not needs_encoding(features) or refused:
        dataset = frame_to_dataset(frame, target=target, task=task, dtype=dtype, name=name)
        dataset.notes = notes
        return dataset
    return RawTable(features, targets.y, targets.task, name or Path(path).stem,
                    targets.class_names, encoder, dtype, notes)


def _overflow(values: np.ndarray, dtype: np.dtype, owner: str, what: str) -> None:
    """Refuse finite values that become infinite in ``dtype`` (float32)."""
    if dtype != np.float32 or values.dtype.kind != "f" or values.dtype.itemsize <= 4:
        return
    big = np.abs(values) > _FLOAT32_MAX
    if big.any():
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(big)), values.shape))
        at = ", ".join(str(i) for i in index)
        raise ValueError(
            f"{owner}: {what}[{at}] = {values[index]:g} overflows float32 (largest "
            f"finite value {_FLOAT32_MAX:.7g}). Pass dtype=np.float64, or rescale it."
        )


def load_npz(
    path: str | os.PathLike,
    task: str | None = None,
    dtype=np.float32,
    name: str | None = None,
) -> Dataset:
    """Load arrays ``X`` (n, d) or (n, height, width) and ``y`` (n,) or (n, k) from an .npz file.

    Integer, bool or string y is classification (labels are the sorted distinct
    values), float y is regression, unless ``task`` says otherwise. Optional arrays
    ``feature_names`` and ``class_names`` (strings) are used when present. Object
    arrays are refused from their header (nothing is unpickled), and each array's
    declared size is checked against the archive before it is read.
    """
    path = Path(path)
    dtype = check_dtype(dtype)
    owner = f"load_npz: {path}"
    try:
        archive = NpzArchive(path, owner)
    except SingleArrayError:
        raise ValueError(f"{owner}: expected an .npz archive with arrays 'X' and 'y'; "
                         f"received a single .npy array.") from None
    with archive:
        missing = [k for k in ("X", "y") if k not in archive]
        if missing:
            raise ValueError(
                f"{owner}: missing array(s) {missing}. Arrays present: {archive.files}."
            )
        X = archive.read("X")
        raw_y = archive.read("y")
        extra = {k: archive.read(k) for k in ("feature_names", "class_names") if k in archive}
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
    _overflow(X, dtype, owner, "X")
    with np.errstate(over="ignore"):  # overflow is checked next, with its position
        y, task, class_names = encode_targets(raw_y, task, dtype, owner, infer_from_values=False)
    if task == "regression":
        _overflow(raw_y, dtype, owner, "y")
    check_classes(task, class_names, owner, "array 'y'")
    if "class_names" in extra and task == "classification":
        # stored names describe the stored label values 0..K-1; keep the ones present
        stored = [str(s) for s in extra["class_names"].reshape(-1)]
        present = (None if class_names is None or raw_y.dtype.kind not in "iu"
                   else [int(float(c)) for c in class_names])
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
