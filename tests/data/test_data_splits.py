"""train_val_test_split: sizes, disjoint cover, stratification, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.data import Split, train_val_test_split


def labelled(n_per_class=(300, 200, 100)):
    y = np.concatenate([np.full(k, c, dtype=np.int64) for c, k in enumerate(n_per_class)])
    X = np.arange(y.size, dtype=np.float32)[:, None] * np.ones((1, 3), dtype=np.float32)
    return X, y


def test_sizes_cover_and_rows_stay_paired():
    X, y = labelled()
    split = train_val_test_split(X, y, val_fraction=0.1, test_fraction=0.2, seed=0)
    assert isinstance(split, Split)
    X_tr, y_tr, X_va, y_va, X_te, y_te = split
    assert (len(X_tr), len(X_va), len(X_te)) == (420, 60, 120)
    ids = np.concatenate([X_tr[:, 0], X_va[:, 0], X_te[:, 0]]).astype(int)
    np.testing.assert_array_equal(np.sort(ids), np.arange(600))  # disjoint and complete
    for Xp, yp in ((X_tr, y_tr), (X_va, y_va), (X_te, y_te)):
        np.testing.assert_array_equal(y[Xp[:, 0].astype(int)], yp)
        assert Xp.dtype == np.float32 and yp.dtype == np.int64


def test_stratification_preserves_class_proportions():
    X, y = labelled()
    split = train_val_test_split(X, y, seed=1)
    for part in (split.y_train, split.y_val, split.y_test):
        np.testing.assert_allclose(np.bincount(part) / part.size, [0.5, 1 / 3, 1 / 6], atol=0.01)
    np.testing.assert_array_equal(np.bincount(split.y_test), [60, 40, 20])
    np.testing.assert_array_equal(np.bincount(split.y_val), [30, 20, 10])


def test_without_stratification_proportions_drift():
    X, y = labelled()
    drifts = []
    for seed in range(5):
        y_test = train_val_test_split(X, y, stratify=False, seed=seed).y_test
        drifts.append(np.abs(np.bincount(y_test, minlength=3) - [60, 40, 20]).sum())
    assert max(drifts) > 0


def test_seeded_determinism_and_generator_seed():
    X, y = labelled()
    a = train_val_test_split(X, y, seed=7)
    b = train_val_test_split(X, y, seed=7)
    c = train_val_test_split(X, y, seed=8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.X_train, c.X_train)
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(train_val_test_split(X, y, seed=g1).y_test,
                                  train_val_test_split(X, y, seed=g2).y_test)


def test_regression_targets_and_zero_fractions(rng):
    X = rng.standard_normal((50, 2))
    y = rng.standard_normal((50, 3))  # real-valued: never stratified
    split = train_val_test_split(X, y, val_fraction=0.0, test_fraction=0.3, seed=0)
    assert split.X_val.shape == (0, 2) and split.y_val.shape == (0, 3)
    assert split.X_test.shape == (15, 2) and split.X_train.shape == (35, 2)
    none = train_val_test_split(X, y, val_fraction=0.0, test_fraction=0.0, seed=0)
    assert none.X_train.shape == (50, 2) and none.X_test.shape == (0, 2)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"val_fraction": 0.5, "test_fraction": 0.5}, ValueError, "must be < 1"),
        ({"val_fraction": -0.1}, ValueError, r"val_fraction must be in \[0, 1\)"),
        ({"test_fraction": 1.0}, ValueError, r"test_fraction must be in \[0, 1\)"),
        ({"stratify": "yes"}, TypeError, "stratify must be a bool"),
        ({"seed": -1}, ValueError, "seed must be a non-negative int"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    X, y = labelled()
    with pytest.raises(error, match=message):
        train_val_test_split(X, y, **kwargs)


def test_unstratifiable_data_gives_a_hint():
    X, y = labelled((5, 1))
    with pytest.raises(ValueError, match="cannot split off the test set.*stratify=False"):
        train_val_test_split(X, y, seed=0)
    assert train_val_test_split(X, y, stratify=False, seed=0).X_test.shape == (2, 3)
    with pytest.raises(ValueError, match="same number of rows"):
        train_val_test_split(X, y[:-1])
