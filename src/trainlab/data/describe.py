"""Look at the data before training on it (notes §9): sizes, per-feature statistics,
constant features and class balance.

    summary = describe(load_dataset("digits"))
    summary.class_counts        # (n_classes,) examples per class
    summary.constant_features   # indices of features with zero spread (e.g. border pixels)

Large means or spreads (E[x] ≫ 0 or Var[x] ≫ 1) say the inputs need normalising;
constant features carry no information; unequal class counts say accuracy alone may
mislead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainlab.data.dataset import Dataset


@dataclass(frozen=True)
class DataSummary:
    """Statistics of a dataset's inputs X (n, d) and targets.

    mean, std, min, max: per-feature float64 arrays of shape (d,).
    constant_features: indices j with std[j] == 0.
    class_counts: examples per class (n_classes,), or None for regression.
    """

    n_samples: int
    n_features: int
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    constant_features: np.ndarray
    class_counts: np.ndarray | None

    def __str__(self) -> str:
        lines = [
            f"{self.n_samples} examples × {self.n_features} features",
            f"feature means in [{self.mean.min():.3g}, {self.mean.max():.3g}], "
            f"standard deviations in [{self.std.min():.3g}, {self.std.max():.3g}]",
            f"values in [{self.min.min():.3g}, {self.max.max():.3g}]; "
            f"{len(self.constant_features)} constant feature(s)",
        ]
        if self.class_counts is not None:
            lines.append(f"examples per class: {self.class_counts.tolist()}")
        return "\n".join(lines)


def describe(dataset: Dataset) -> DataSummary:
    """Per-feature statistics of ``dataset.X`` (n, d) and, for classification, its class counts."""
    if not isinstance(dataset, Dataset):
        raise TypeError(
            f"describe: dataset must be a trainlab.data.Dataset. "
            f"Received: {type(dataset).__name__}."
        )
    X = np.asarray(dataset.X, dtype=np.float64).reshape(len(dataset.X), -1)
    std = X.std(axis=0)
    counts = None
    if dataset.task == "classification":
        counts = np.bincount(np.asarray(dataset.y, dtype=np.int64),
                             minlength=dataset.n_classes or 0)
    return DataSummary(
        n_samples=X.shape[0],
        n_features=X.shape[1],
        mean=X.mean(axis=0),
        std=std,
        min=X.min(axis=0),
        max=X.max(axis=0),
        constant_features=np.flatnonzero(std == 0.0),
        class_counts=counts,
    )
