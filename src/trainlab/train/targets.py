"""Training data as the loop needs it: inputs in the model's dtype, targets the loss accepts."""

from __future__ import annotations

from typing import Any

import numpy as np

from trainlab._checks import check_input
from trainlab.nn import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from trainlab.train.protocols import Loss

TASKS = ("classification", "regression")


def infer_task(loss: Loss) -> str:
    """The task a loss implies, its ``task`` attribute: classification (CrossEntropyLoss,
    BCEWithLogitsLoss) or regression (MSELoss, L1Loss, HuberLoss)."""
    task = getattr(loss, "task", None)
    if task in ("classification", "regression"):
        return str(task)
    if isinstance(loss, (CrossEntropyLoss, BCEWithLogitsLoss)):
        return "classification"
    if isinstance(loss, MSELoss):
        return "regression"
    raise ValueError(
        f"Trainer: cannot tell the task from the loss {type(loss).__name__}; "
        "pass task='classification' or task='regression'."
    )


def prepare(
    X: Any,
    y: Any,
    *,
    task: str,
    loss: Loss,
    dtype: np.dtype,
    features: int | None,
    owner: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check (X, y) and return ``(X, target, labels)``.

    X: (n, features) floats, cast to ``dtype``. target: what ``loss`` takes — int64
    labels (n,) for CrossEntropyLoss, ``dtype`` floats for BCEWithLogitsLoss and for
    regression. labels: int64 class labels (n,) for the accuracy, None for regression.
    """
    X = check_input(X, owner, features=features, dtype=dtype, name="X")
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{owner}: X and y must have the same number of rows. "
            f"Received X {X.shape} and y {y.shape}."
        )
    if X.shape[0] == 0:
        raise ValueError(f"{owner}: X has no rows.")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: y must be numeric. Received dtype {y.dtype}.")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{owner}: y contains NaN or infinite values.")
    if task == "regression":
        return X, y.astype(dtype, copy=False), None
    labels = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if labels.ndim != 1 or (labels.dtype.kind == "f" and not (labels == np.round(labels)).all()):
        raise ValueError(
            f"{owner}: classification needs integer class labels of shape (n,). "
            f"Received dtype {y.dtype}, shape {y.shape}."
        )
    labels = labels.astype(np.int64, copy=False)
    target = y.astype(dtype, copy=False) if isinstance(loss, BCEWithLogitsLoss) else labels
    return X, target, labels
