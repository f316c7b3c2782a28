"""Seeded, stratified train / validation / test splits."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from trainlab._checks import check_number
from trainlab._rng import RngLike, as_generator


class Split(NamedTuple):
    """The three parts of a dataset; unpacks as
    ``X_train, y_train, X_val, y_val, X_test, y_test``."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _is_class_labels(y: np.ndarray) -> bool:
    return y.ndim == 1 and y.dtype.kind in "biuUS"


def _split_off(index: np.ndarray, fraction: float, labels: np.ndarray | None, seed: int,
               part: str) -> tuple[np.ndarray, np.ndarray]:
    """Split ``index`` into (rest, part) with ``part`` about ``fraction`` of it."""
    if fraction == 0.0:
        return index, index[:0]
    from sklearn.model_selection import train_test_split  # heavy: imported when splitting

    stratify = None if labels is None else labels[index]
    try:
        rest, taken = train_test_split(index, test_size=fraction, random_state=seed,
                                       shuffle=True, stratify=stratify)
    except ValueError as exc:
        hint = " or pass stratify=False" if labels is not None else ""
        raise ValueError(
            f"train_val_test_split: cannot split off the {part} set of {index.size} examples "
            f"({exc}). Use a larger fraction{hint}."
        ) from exc
    return rest, taken


def train_val_test_split(
    X: np.ndarray,
    y: np.ndarray,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    stratify: bool = True,
    seed: RngLike = None,
) -> Split:
    """Shuffle and split (X, y) into train, validation and test parts.

    X: (n, ...); y: (n,) or (n, k). The test set gets ``ceil(test_fraction·n)`` examples,
    the validation set about ``val_fraction·n``, the training set the rest; a fraction
    of 0 gives an empty part. With ``stratify`` (the default) and integer class labels
    y, every part keeps the class proportions of y; real-valued (regression) targets
    are never stratified. ``seed`` (int or Generator) fixes the result.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"train_val_test_split: X and y need the same number of rows. "
            f"Received shapes {X.shape} and {y.shape}."
        )
    val_fraction = check_number(val_fraction, "val_fraction", low=0.0, high=1.0,
                                high_inclusive=False)
    test_fraction = check_number(test_fraction, "test_fraction", low=0.0, high=1.0,
                                 high_inclusive=False)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"train_val_test_split: val_fraction + test_fraction must be < 1 to leave training "
            f"data. Received {val_fraction} + {test_fraction}."
        )
    if not isinstance(stratify, bool):
        raise TypeError(f"train_val_test_split: stratify must be a bool. Received: {stratify!r}.")
    rng = as_generator(seed, "seed")
    seeds = rng.integers(0, 2**31 - 1, size=2)
    labels = y if stratify and _is_class_labels(y) else None
    index = np.arange(X.shape[0])
    rest, test = _split_off(index, test_fraction, labels, int(seeds[0]), "test")
    val_of_rest = val_fraction / (1.0 - test_fraction)
    train, val = _split_off(rest, val_of_rest, labels, int(seeds[1]), "validation")
    return Split(X[train], y[train], X[val], y[val], X[test], y[test])
