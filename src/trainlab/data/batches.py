"""Minibatches: index arrays from a fresh permutation every epoch, and a small loader."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from trainlab._checks import check_int
from trainlab._rng import RngLike, as_generator


def iterate_minibatches(
    n: int,
    batch_size: int,
    rng: RngLike = None,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[np.ndarray]:
    """Yield int64 index arrays that cover ``range(n)`` once (one epoch).

    shuffle: draw the order from ``rng.permutation(n)`` (a new order on each call);
    otherwise 0, 1, …, n−1. drop_last: skip a final batch smaller than batch_size.
    """
    n = check_int(n, "iterate_minibatches: n", low=0)
    batch_size = check_int(batch_size, "iterate_minibatches: batch_size", low=1)
    order = as_generator(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many batches ``iterate_minibatches`` yields per epoch."""
    n = check_int(n, "num_batches: n", low=0)
    batch_size = check_int(batch_size, "num_batches: batch_size", low=1)
    return n // batch_size if drop_last else -(-n // batch_size)


class DataLoader:
    """Iterate over ``(X_batch, y_batch)`` minibatches of (X, y), reshuffled every epoch.

    X: (n, d); y: (n, ...) or None (then batches are ``(X_batch, None)``).
    transform: an augmentation ``(X_batch, rng) -> X_batch`` applied to each batch.
    rng: one Generator for the order and the augmentation, so the same Generator
    state gives the same batches.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        batch_size: int = 64,
        shuffle: bool = True,
        drop_last: bool = False,
        transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        rng: RngLike = None,
    ) -> None:
        X = np.asarray(X)
        if X.ndim < 1 or (y is not None and np.shape(y)[:1] != X.shape[:1]):
            raise ValueError(
                f"DataLoader: X and y need the same number of rows. Received shapes "
                f"{X.shape} and {None if y is None else np.shape(y)}."
            )
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable (X, rng) -> X. "
                            f"Received: {transform!r}.")
        self.X = X
        self.y = None if y is None else np.asarray(y)
        self.batch_size = check_int(batch_size, "DataLoader: batch_size", low=1)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.rng = as_generator(rng)

    def __len__(self) -> int:
        return num_batches(self.X.shape[0], self.batch_size, self.drop_last)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        for index in iterate_minibatches(self.X.shape[0], self.batch_size, self.rng,
                                         self.shuffle, self.drop_last):
            X_batch = self.X[index]
            if self.transform is not None:
                X_batch = self.transform(X_batch, self.rng)
            yield X_batch, None if self.y is None else self.y[index]

    def __repr__(self) -> str:
        return (f"DataLoader(n={self.X.shape[0]}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"transform={self.transform!r})")
