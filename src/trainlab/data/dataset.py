"""The ``Dataset`` record that every loader returns, and how raw targets become labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trainlab._checks import FLOAT_DTYPES, all_finite

TASKS = ("classification", "regression")

# An integer-like csv target with at most this many distinct values is read as class labels.
MAX_INFERRED_CLASSES = 20


@dataclass(eq=False, repr=False)
class Dataset:
    """Examples and targets with what they mean.

    X: (n, d) float32 (float64 when asked for); each image row is flattened in C order.
    y: classification: int64 labels (n,) in ``0 .. n_classes - 1``;
       regression: floats (n,) or (n, k) of X's dtype.
    task: ``"classification"`` or ``"regression"``.
    name: the dataset's name (as given to ``load_dataset``).
    feature_names: d names; ``("x0", "x1", ...)`` when not given.
    class_names: the name of each class, indexed by label (classification), else None.
    image_shape: ``(height, width)`` when each row of X is an image, else None.
    notes: what the loader decided for the user to know (e.g. how a header was found).
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    name: str = "dataset"
    feature_names: Sequence[str] | None = None
    class_names: Sequence[str] | None = None
    image_shape: tuple[int, int] | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        owner = f"Dataset {self.name!r}"
        if self.task not in TASKS:
            raise ValueError(f"{owner}: task must be one of {TASKS}. Received: {self.task!r}.")
        X = self.X
        if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype not in FLOAT_DTYPES:
            got = (f"shape {X.shape}, dtype {X.dtype}" if isinstance(X, np.ndarray)
                   else type(X).__name__)
            raise TypeError(f"{owner}: X must be a 2-D float32 or float64 array. Received {got}.")
        if not all_finite(X):
            raise ValueError(f"{owner}: X contains NaN or infinite values.")
        n, d = X.shape
        y = np.asarray(self.y)
        if y.shape[:1] != (n,):
            raise ValueError(
                f"{owner}: y must have one row per row of X ({n}). Received shape {y.shape}."
            )
        if self.task == "classification":
            self.y = self._check_labels(y, owner)
        else:
            if y.dtype not in FLOAT_DTYPES or y.ndim not in (1, 2):
                raise TypeError(
                    f"{owner}: regression targets must be a float array (n,) or (n, k). "
                    f"Received shape {y.shape}, dtype {y.dtype}."
                )
            if not all_finite(y):
                raise ValueError(f"{owner}: y contains NaN or infinite values.")
            if self.class_names is not None:
                raise ValueError(f"{owner}: class_names is only for classification.")
        self.feature_names = self._names(self.feature_names, d, "feature_names", owner)
        if self.feature_names is None:
            self.feature_names = tuple(f"x{j}" for j in range(d))
        if self.image_shape is not None:
            shape = tuple(int(s) for s in self.image_shape)
            if len(shape) != 2 or shape[0] * shape[1] != d:
                raise ValueError(
                    f"{owner}: image_shape must be (height, width) with height * width == {d} "
                    f"features. Received: {self.image_shape!r}."
                )
            self.image_shape = shape

    def _check_labels(self, y: np.ndarray, owner: str) -> np.ndarray:
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise TypeError(
                f"{owner}: classification targets must be integer labels of shape (n,). "
                f"Received shape {y.shape}, dtype {y.dtype}."
            )
        y = y.astype(np.int64, copy=False)
        if y.size and y.min() < 0:
            raise ValueError(f"{owner}: class labels must be >= 0. Received min {y.min()}.")
        self.class_names = self._names(self.class_names, None, "class_names", owner)
        if self.class_names is not None and y.size and y.max() >= len(self.class_names):
            raise ValueError(
                f"{owner}: label {y.max()} has no entry in class_names "
                f"({len(self.class_names)} names)."
            )
        return y

    @staticmethod
    def _names(names, expected: int | None, what: str, owner: str) -> tuple[str, ...] | None:
        if names is None:
            return None
        names = tuple(str(s) for s in names)
        if expected is not None and len(names) != expected:
            raise ValueError(f"{owner}: expected {expected} {what}. Received {len(names)}.")
        return names

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_classes(self) -> int | None:
        """Number of classes (len(class_names), else max label + 1); None for regression."""
        if self.task != "classification":
            return None
        return self._class_count()

    def _class_count(self) -> int:
        if self.class_names is not None:
            return len(self.class_names)
        return int(self.y.max()) + 1 if self.y.size else 0

    @property
    def n_outputs(self) -> int:
        """Width of the network's output layer: n_classes logits, or the k regression targets."""
        if self.task == "classification":
            return self._class_count()
        return 1 if self.y.ndim == 1 else self.y.shape[1]

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}", f"task={self.task!r}", f"n_samples={self.n_samples}",
                 f"n_features={self.n_features}"]
        if self.task == "classification":
            parts.append(f"n_classes={self.n_classes}")
        else:
            parts.append(f"n_outputs={self.n_outputs}")
        if self.image_shape is not None:
            parts.append(f"image_shape={self.image_shape}")
        parts.append(f"dtype={self.X.dtype}")
        return f"Dataset({', '.join(parts)})"


def _is_integer_like(values: np.ndarray) -> bool:
    if values.dtype.kind in "biu":
        return True
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _class_name(value) -> str:
    if isinstance(value, (np.floating, float)):
        return str(int(value)) if float(value).is_integer() else format(float(value), "g")
    return str(value)


def encode_targets(
    values: np.ndarray,
    task: str | None,
    dtype: np.dtype,
    owner: str,
    infer_from_values: bool = True,
) -> tuple[np.ndarray, str, tuple[str, ...] | None]:
    """Turn raw target values into ``(y, task, class_names)``.

    Text, bool or integer-like values become labels 0..K-1 in sorted order of the
    distinct values; class_names holds those values as text. With ``task=None``:
    text and bool are classification; numbers are classification when
    ``infer_from_values`` and they are integer-like with at most
    ``MAX_INFERRED_CLASSES`` distinct values, or (``infer_from_values=False``) when
    their dtype is integer; everything else is regression.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"{owner}: task must be one of {TASKS} or None. Received: {task!r}.")
    values = np.asarray(values)
    is_text = values.dtype.kind in "USO"
    if task is None:
        if is_text or values.dtype.kind == "b":
            task = "classification"
        elif values.ndim == 2 and values.shape[1] > 1:
            task = "regression"
        elif infer_from_values:
            few = np.unique(values).size <= MAX_INFERRED_CLASSES
            task = "classification" if few and _is_integer_like(values) else "regression"
        else:
            task = "classification" if values.dtype.kind in "iu" else "regression"
    if task == "regression":
        if is_text or values.dtype.kind not in "biuf":
            raise ValueError(f"{owner}: regression targets must be numbers. Received text values.")
        return values.astype(dtype), task, None
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"{owner}: classification needs one label per example, shape (n,). "
            f"Received shape {values.shape}."
        )
    if not is_text and not _is_integer_like(values):
        bad = values[np.isfinite(values) & (values != np.round(values))]
        example = bad[0] if bad.size else values[~np.isfinite(values)][0]
        raise ValueError(
            f"{owner}: classification targets must be integer-like or text. "
            f"Received a value such as {float(example):g}; pass task='regression' for "
            f"real-valued targets."
        )
    classes, labels = np.unique(values, return_inverse=True)
    names = tuple(_class_name(c) for c in classes)
    return labels.astype(np.int64).reshape(-1), task, names


def check_classes(task: str, class_names, owner: str, column: str) -> None:
    """A classification target needs at least two classes to learn anything."""
    if task == "classification" and class_names is not None and len(class_names) < 2:
        raise ValueError(
            f"{owner}: the target {column} has only one class ({', '.join(class_names)!s}); "
            f"classification needs at least two. Check the target column, or pass "
            f"task='regression' for a numeric target."
        )
