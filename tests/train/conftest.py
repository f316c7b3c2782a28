"""Fixtures of the training tests: small, standardised datasets."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import data


@pytest.fixture(scope="session")
def digits() -> data.Split:
    """sklearn's digits (float32), split 70/10/20 and standardised with the training statistics."""
    ds = data.load_dataset("digits")
    split = data.train_val_test_split(ds.X, ds.y, seed=0)
    scaler = data.Standardizer().fit(split.X_train)
    return data.Split(
        scaler.transform(split.X_train),
        split.y_train,
        scaler.transform(split.X_val),
        split.y_val,
        scaler.transform(split.X_test),
        split.y_test,
    )


@pytest.fixture(scope="session")
def small_digits(digits: data.Split) -> tuple[np.ndarray, ...]:
    """300 training and 100 validation rows: enough to train on, quick to repeat."""
    return digits.X_train[:300], digits.y_train[:300], digits.X_val[:100], digits.y_val[:100]


@pytest.fixture(scope="session")
def regression_data() -> tuple[np.ndarray, ...]:
    """y = X·w + noise with two outputs, (200, 5) -> (200, 2), float32; 150 train / 50 val."""
    rng = np.random.default_rng(42)
    X = rng.standard_normal((200, 5)).astype(np.float32)
    w = rng.standard_normal((5, 2)).astype(np.float32)
    y = (X @ w + 0.1 * rng.standard_normal((200, 2))).astype(np.float32)
    return X[:150], y[:150], X[150:], y[150:]
