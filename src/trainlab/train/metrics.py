"""Evaluation metrics: accuracy, mean squared error, R² and the confusion matrix.

Each one gives the number ``sklearn.metrics`` gives for the same arrays
(``accuracy_score``, ``mean_squared_error``, ``r2_score`` with its default
``multioutput="uniform_average"``, ``confusion_matrix``). Sums run in float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trainlab._checks import check_int


def _pair(y_true: Any, y_pred: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays, checked to hold the same number of samples."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim == 0 or y_pred.ndim == 0:
        raise ValueError(f"{owner}: expected arrays of samples. Received a scalar.")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"{owner}: y_true and y_pred must hold the same number of samples. "
            f"Received {y_true.shape[0]} and {y_pred.shape[0]}."
        )
    if y_true.shape[0] == 0:
        raise ValueError(f"{owner}: expected at least one sample. Received none.")
    return y_true, y_pred


def _as_columns(y_true: Any, y_pred: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """Real targets and predictions as float64 ``(n, k)`` (a ``(n,)`` array is one column)."""
    y_true, y_pred = _pair(y_true, y_pred, owner)
    n = y_true.shape[0]
    if y_true.size != y_pred.size:
        raise ValueError(
            f"{owner}: y_true and y_pred must have the same shape. "
            f"Received {y_true.shape} and {y_pred.shape}."
        )
    return (
        y_true.reshape(n, -1).astype(np.float64, copy=False),
        y_pred.reshape(n, -1).astype(np.float64, copy=False),
    )


def predicted_classes(scores: np.ndarray) -> np.ndarray:
    """Class labels from a classifier's outputs (logits or probabilities).

    scores: (N, C) with C > 1 -> argmax over the classes; (N,) or (N, 1) binary logits
    -> 1 where the logit is > 0 (σ(z) > 0.5), else 0. Returns int64 (N,).
    """
    scores = np.asarray(scores)
    if scores.ndim == 2 and scores.shape[1] > 1:
        return scores.argmax(axis=1)
    if scores.ndim == 1 or (scores.ndim == 2 and scores.shape[1] == 1):
        return (scores.reshape(-1) > 0).astype(np.int64)
    raise ValueError(
        f"predicted_classes: expected scores of shape (N, classes), (N,) or (N, 1). "
        f"Received shape {scores.shape}."
    )


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of correct labels: ``mean(y_true == y_pred)``.  y_true, y_pred: (N,)."""
    y_true, y_pred = _pair(y_true, y_pred, "accuracy")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"accuracy: expected labels of the same shape. "
            f"Received {y_true.shape} and {y_pred.shape}."
        )
    return float(np.count_nonzero(y_true == y_pred)) / y_true.shape[0]


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error ``(1/(N·k)) Σ (y - ŷ)²``.  y_true, y_pred: (N,) or (N, k)."""
    y_true, y_pred = _as_columns(y_true, y_pred, "mse")
    diff = y_true - y_pred
    return float(np.einsum("ij,ij->", diff, diff) / diff.size)


def r2_from_sums(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    """``R² = 1 - SS_res/SS_tot`` per output, averaged over the outputs.

    An output with ``SS_tot = 0`` (a constant target) scores 1 when it is predicted
    exactly and 0 otherwise, as scikit-learn does.
    """
    ss_res = np.atleast_1d(np.asarray(ss_res, dtype=np.float64))
    ss_tot = np.atleast_1d(np.asarray(ss_tot, dtype=np.float64))
    scores = np.where(ss_res == 0, 1.0, 0.0)
    varying = ss_tot != 0
    scores[varying] = 1.0 - ss_res[varying] / ss_tot[varying]
    return float(scores.mean())


def total_sum_of_squares(y_true: Any) -> np.ndarray:
    """``SS_tot = Σ (y - ȳ)²`` per output column, float64 (k,)."""
    y = np.asarray(y_true, dtype=np.float64)
    y = y.reshape(y.shape[0], -1)
    centred = y - y.mean(axis=0)
    return np.einsum("ij,ij->j", centred, centred)


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination ``R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)²``.

    y_true, y_pred: (N,) or (N, k); with k outputs the k scores are averaged.
    """
    y_true, y_pred = _as_columns(y_true, y_pred, "r2")
    diff = y_true - y_pred
    return r2_from_sums(np.einsum("ij,ij->j", diff, diff), total_sum_of_squares(y_true))


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class i predicted as class j, int64 (C, C).

    Labels are integers in ``[0, num_classes)``; by default num_classes is one more
    than the largest label seen.
    """
    y_true, y_pred = _pair(y_true, y_pred, "confusion_matrix")
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.ndim != 1 or labels.dtype.kind not in "iub":
            raise TypeError(
                f"confusion_matrix: {name} must be integer labels of shape (N,). "
                f"Received dtype {labels.dtype}, shape {labels.shape}."
            )
        if labels.min() < 0:
            raise ValueError(
                f"confusion_matrix: {name} must hold labels >= 0. Received {labels.min()}."
            )
    largest = int(max(y_true.max(), y_pred.max()))
    if num_classes is None:
        num_classes = largest + 1
    num_classes = check_int(num_classes, "confusion_matrix: num_classes", low=1)
    if largest >= num_classes:
        raise ValueError(
            f"confusion_matrix: labels must be < num_classes = {num_classes}. "
            f"Received the label {largest}."
        )
    flat = y_true.astype(np.int64) * num_classes + y_pred.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


class RunningMetrics:
    """Epoch metrics accumulated batch by batch during training.

    Each batch adds its mean loss (weighted by its size) and its predictions: the
    correct labels (classification) or the squared errors per output (regression).
    The epoch's R² divides by ``ss_tot``, the total sum of squares of the whole
    training target (:meth:`total`); without it a regression reports no ``r2``.
    """

    def __init__(self, task: str, ss_tot: np.ndarray | None = None) -> None:
        self.task = task
        self.ss_tot = ss_tot
        self.count = 0
        self.loss_sum = 0.0
        self.correct = 0
        self.ss_res: np.ndarray | float = 0.0

    @staticmethod
    def total(y: np.ndarray) -> np.ndarray:
        """``SS_tot`` per output of the full target (see :func:`total_sum_of_squares`)."""
        return total_sum_of_squares(y)

    def update(
        self, loss: float, output: np.ndarray, target: np.ndarray, labels: np.ndarray | None
    ) -> None:
        """Add one batch: its mean ``loss``, ``output`` (n, k) and targets or labels (n,)."""
        n = output.shape[0]
        self.count += n
        self.loss_sum += loss * n
        if self.task == "classification":
            self.correct += int(np.count_nonzero(predicted_classes(output) == labels))
        else:
            diff = output.reshape(n, -1) - target.reshape(n, -1)
            self.ss_res = self.ss_res + np.einsum("ij,ij->j", diff, diff).astype(np.float64)

    def result(self) -> dict[str, float]:
        """``{"loss", "accuracy"}`` or ``{"loss", "mse", "r2"}`` over the batches so far."""
        if self.count == 0:
            return {"loss": math.nan}
        out = {"loss": self.loss_sum / self.count}
        if self.task == "classification":
            out["accuracy"] = self.correct / self.count
        else:
            ss_res = np.atleast_1d(self.ss_res)
            out["mse"] = float(ss_res.sum()) / (self.count * ss_res.size)
            if self.ss_tot is not None:
                out["r2"] = r2_from_sums(ss_res, self.ss_tot)
        return out
