"""Minibatches: every index once per epoch, fresh order each epoch, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.data import DataLoader, GaussianNoise, iterate_minibatches, num_batches


@pytest.mark.parametrize("n, batch_size", [(10, 3), (12, 4), (5, 8), (1, 1)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_index_exactly_once(rng, n, batch_size, shuffle):
    batches = list(iterate_minibatches(n, batch_size, rng, shuffle=shuffle))
    assert len(batches) == num_batches(n, batch_size) == -(-n // batch_size)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))
    assert all(len(b) == batch_size for b in batches[:-1]) and 1 <= len(batches[-1]) <= batch_size
    if not shuffle:
        np.testing.assert_array_equal(np.concatenate(batches), np.arange(n))


def test_drop_last(rng):
    batches = list(iterate_minibatches(10, 3, rng, drop_last=True))
    assert [len(b) for b in batches] == [3, 3, 3] == [3] * num_batches(10, 3, drop_last=True)
    assert len(np.unique(np.concatenate(batches))) == 9
    assert list(iterate_minibatches(2, 3, rng, drop_last=True)) == []
    assert list(iterate_minibatches(0, 3, rng)) == []


def test_fresh_permutation_each_epoch_and_determinism():
    rng = np.random.default_rng(0)
    first = np.concatenate(list(iterate_minibatches(50, 7, rng)))
    second = np.concatenate(list(iterate_minibatches(50, 7, rng)))
    assert not np.array_equal(first, second)
    replay = np.random.default_rng(0)
    np.testing.assert_array_equal(first, replay.permutation(50))  # it is rng.permutation(n)
    np.testing.assert_array_equal(second, replay.permutation(50))
    np.testing.assert_array_equal(first, np.concatenate(list(iterate_minibatches(50, 7, 0))))


def test_argument_validation(rng):
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        list(iterate_minibatches(10, 0, rng))
    with pytest.raises(TypeError, match="n must be an integer"):
        list(iterate_minibatches(10.0, 2, rng))


def test_dataloader_pairs_rows_and_covers_the_data(rng):
    X = np.arange(20, dtype=np.float32)[:, None] * np.ones((1, 3), dtype=np.float32)
    y = np.arange(20)
    loader = DataLoader(X, y, batch_size=6, rng=rng)
    assert len(loader) == 4
    for _epoch in range(2):
        seen = []
        for X_batch, y_batch in loader:
            np.testing.assert_array_equal(X_batch[:, 0], y_batch)
            seen.append(y_batch)
        np.testing.assert_array_equal(np.sort(np.concatenate(seen)), y)


def test_dataloader_is_deterministic_for_a_generator_state():
    X = np.random.default_rng(3).standard_normal((30, 4)).astype(np.float32)
    y = np.arange(30)

    def run(seed):
        loader = DataLoader(X, y, batch_size=8, transform=GaussianNoise(0.1), rng=seed)
        return [(xb.copy(), yb.copy()) for _ in range(2) for xb, yb in loader]

    a, b, c = run(1), run(1), run(2)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
        assert xa.dtype == np.float32
    assert not all(np.array_equal(ya, yc) for (_, ya), (_, yc) in zip(a, c, strict=True))
    assert not np.array_equal(a[0][0], X[a[0][1]])  # the transform was applied


def test_dataloader_without_targets_and_validation(rng):
    loader = DataLoader(np.ones((5, 2)), batch_size=2, shuffle=False, drop_last=True, rng=rng)
    assert len(loader) == 2 and all(yb is None for _, yb in loader)
    with pytest.raises(ValueError, match="same number of rows"):
        DataLoader(np.ones((5, 2)), np.ones(4))
    with pytest.raises(TypeError, match="transform must be callable"):
        DataLoader(np.ones((5, 2)), np.ones(5), transform="noise")
