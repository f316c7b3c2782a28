"""Classification scores beyond accuracy: precision, recall and F1 (macro and per class),
ROC-AUC (binary) and top-k accuracy, and the names by which ``fit`` and the command line
select them (``METRICS``).

For class c with true positives TP_c, false positives FP_c and false negatives FN_c::

    precision_c = TP_c/(TP_c + FP_c)   recall_c = TP_c/(TP_c + FN_c)
    F1_c = 2·precision_c·recall_c/(precision_c + recall_c)

(0 where a denominator is 0, as scikit-learn's ``zero_division=0``); "macro" is the plain
mean over the classes. ROC-AUC is the probability that a random positive scores above a
random negative (ties count ½): the Mann–Whitney U statistic over n₊·n₋.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from trainlab.train.metrics import confusion_matrix, predicted_classes


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def precision_recall_f1(y_true: Any, y_pred: Any, num_classes: int | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1, each (C,) float64, from class labels."""
    matrix = confusion_matrix(y_true, y_pred, num_classes).astype(np.float64)
    tp = np.diag(matrix)
    precision = _divide(tp, matrix.sum(axis=0))
    recall = _divide(tp, matrix.sum(axis=1))
    f1 = _divide(2 * precision * recall, precision + recall)
    return precision, recall, f1


def roc_auc(y_true: Any, scores: Any) -> float:
    """Area under the ROC curve of a binary task: y_true (n,) 0/1 labels, scores (n,)
    (higher means class 1). Needs both classes."""
    y = np.asarray(y_true).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"roc_auc: expected y_true and scores of one shape. Received "
                         f"{y.shape} and {s.shape}.")
    positive = y == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0 or not np.isin(y, (0, 1)).all():
        raise ValueError("roc_auc: expected 0/1 labels with both classes present. Received "
                         f"{n_pos} positives and {n_neg} negatives.")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size)
    sorted_s = s[order]
    # average ranks over ties (1-based)
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.size]
    for a, b in zip(starts, ends, strict=True):
        ranks[order[a:b]] = (a + b + 1) / 2.0
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def top_k_accuracy(y_true: Any, scores: Any, k: int) -> float:
    """Fraction of rows whose true class is among the k highest scores (n, C)."""
    scores = np.asarray(scores)
    y = np.asarray(y_true).reshape(-1)
    if scores.ndim != 2 or scores.shape[0] != y.size:
        raise ValueError(f"top_k_accuracy: expected scores (n, classes) for {y.size} labels. "
                         f"Received shape {scores.shape}.")
    k = min(int(k), scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean((top == y[:, None]).any(axis=1)))


def _positive_scores(outputs: np.ndarray) -> np.ndarray:
    """The score of class 1: the logit of a one-output model, else z₁ − z₀ (of two)."""
    out = outputs.reshape(outputs.shape[0], -1)
    if out.shape[1] == 1:
        return out[:, 0]
    if out.shape[1] == 2:
        return out[:, 1] - out[:, 0]
    raise ValueError(f"roc_auc needs a binary task (one or two outputs). Received "
                     f"{out.shape[1]} outputs.")


MetricFunction = Callable[[np.ndarray, np.ndarray], dict[str, float]]


def _macro(index: int, name: str) -> MetricFunction:
    def metric(labels: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
        classes = max(outputs.shape[1] if outputs.ndim == 2 and outputs.shape[1] > 1 else 2,
                      int(labels.max()) + 1 if labels.size else 0)
        values = precision_recall_f1(labels, predicted_classes(outputs), classes)[index]
        return {name: float(values.mean())}
    return metric


def _per_class(index: int, name: str) -> MetricFunction:
    def metric(labels: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
        classes = max(outputs.shape[1] if outputs.ndim == 2 and outputs.shape[1] > 1 else 2,
                      int(labels.max()) + 1 if labels.size else 0)
        values = precision_recall_f1(labels, predicted_classes(outputs), classes)[index]
        return {f"{name}_{c}": float(v) for c, v in enumerate(values)}
    return metric


METRICS: dict[str, MetricFunction] = {
    "precision": _macro(0, "precision"),
    "recall": _macro(1, "recall"),
    "f1": _macro(2, "f1"),
    "precision_per_class": _per_class(0, "precision"),
    "recall_per_class": _per_class(1, "recall"),
    "f1_per_class": _per_class(2, "f1"),
    "roc_auc": lambda labels, outputs: {"roc_auc": roc_auc(labels, _positive_scores(outputs))},
}
"""Classification metrics by name, ``f(labels (n,), outputs (n, k)) -> {column: value}``;
also ``topK_accuracy`` for any K (``top3_accuracy``)."""

_TOP_K = re.compile(r"top(\d+)_accuracy")


def metric_function(name: str) -> MetricFunction:
    """The function of a metric name, or a ValueError listing the names."""
    if isinstance(name, str) and name in METRICS:
        return METRICS[name]
    match = _TOP_K.fullmatch(name) if isinstance(name, str) else None
    if match and int(match.group(1)) >= 1:
        k = int(match.group(1))
        return lambda labels, outputs: {name: top_k_accuracy(labels, outputs, k)}
    raise ValueError(f"metrics: expected names from {[*METRICS, 'top3_accuracy', '...']}. "
                     f"Received: {name!r}.")


def check_metrics(names: Any, owner: str = "metrics") -> tuple[str, ...]:
    """A list of metric names, each checked."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not isinstance(names, (list, tuple)):
        raise TypeError(f"{owner}: expected a list of metric names. Received: {names!r}.")
    for name in names:
        try:
            metric_function(name)
        except ValueError as exc:
            raise ValueError(f"{owner}: {str(exc).partition(': ')[2]}") from None
    return tuple(names)


def compute_metrics(names: tuple[str, ...], labels: np.ndarray,
                    outputs: np.ndarray) -> dict[str, float]:
    """Every named metric of the model's ``outputs`` for the true ``labels``."""
    out: dict[str, float] = {}
    for name in names:
        out.update(metric_function(name)(labels, outputs))
    return out
