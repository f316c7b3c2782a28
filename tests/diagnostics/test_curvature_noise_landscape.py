"""The gradient noise scale against per-example gradients from PyTorch, and the loss along
a line and on a filter-normalised plane against direct evaluation."""

from __future__ import annotations

import numpy as np
import pytest
from torch_mirror import flat, loss_of_flat

from trainlab import nn
from trainlab.diagnostics import curvature as C

F64 = np.float64


def _setup(seed=0, norm=None):
    rng = np.random.default_rng(seed)
    middle = [norm] if norm is not None else []
    model = nn.Sequential(nn.Linear(4, 6, rng=seed, dtype=F64), *middle, nn.Tanh(),
                          nn.Linear(6, 3, rng=seed + 1, dtype=F64))
    X = rng.standard_normal((15, 4))
    y = rng.integers(0, 3, 15)
    return model, nn.CrossEntropyLoss(), X, y


def test_noise_scale_matches_torch_per_example_gradients(torch):
    model, loss_fn, X, y = _setup()
    theta = flat(model)
    grads = []
    for i in range(len(X)):
        f = loss_of_flat(torch, model, loss_fn, X[i:i + 1], y[i:i + 1])
        t = torch.tensor(theta, requires_grad=True)
        f(t).backward()
        grads.append(t.grad.numpy().copy())
    g = np.array(grads)
    mean = g.mean(axis=0)
    expected = np.sum((g - mean) ** 2) / (len(X) - 1) / (mean @ mean)
    assert C.gradient_noise_scale(model, loss_fn, X, y) == pytest.approx(expected, rel=1e-10)


def test_noise_scale_of_identical_examples_is_zero_and_batch_stats_are_an_error():
    model, loss_fn, X, y = _setup(1)
    same = np.repeat(X[:1], 6, axis=0)
    assert C.gradient_noise_scale(model, loss_fn, same, np.repeat(y[:1], 6)) < 1e-20
    bn_model, *_ = _setup(2, norm=nn.BatchNorm(6, dtype=F64))
    with pytest.raises(ValueError, match="BatchNorm.*model.eval"):
        C.gradient_noise_scale(bn_model, loss_fn, X, y)
    bn_model.eval()
    assert np.isfinite(C.gradient_noise_scale(bn_model, loss_fn, X, y))
    with pytest.raises(ValueError, match="at least 2 rows"):
        C.gradient_noise_scale(model, loss_fn, X[:1], y[:1])


def test_loss_along_a_line_is_the_loss_at_each_point(torch):
    model, loss_fn, X, y = _setup(3)
    theta = flat(model)
    d = np.random.default_rng(4).standard_normal(theta.size)
    alphas = np.linspace(-1, 2, 7)
    f = loss_of_flat(torch, model, loss_fn, X, y)
    expected = [float(f(torch.tensor(theta + a * d))) for a in alphas]
    np.testing.assert_allclose(C.loss_along(model, loss_fn, X, y, d, alphas), expected,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="alphas to be a 1-D array"):
        C.loss_along(model, loss_fn, X, y, d, [[0.0]])
    with pytest.raises(ValueError, match="direction to be a real vector"):
        C.loss_along(model, loss_fn, X, y, d[:-1], alphas)


def test_landscape_directions_are_filter_normalised_and_the_centre_is_the_loss():
    model, loss_fn, X, y = _setup(5)
    land = C.loss_landscape(model, loss_fn, X, y, steps=5, span=0.5, rng=0)
    assert land.loss.shape == (5, 5) and land.alphas[2] == 0.0
    assert land.loss[2, 2] == pytest.approx(C.loss_along(model, loss_fn, X, y,
                                                         land.d1, [0.0])[0], rel=1e-14)
    offset = 0
    for p in model.parameters():
        part1 = land.d1[offset:offset + p.size].reshape(p.shape)
        part2 = land.d2[offset:offset + p.size].reshape(p.shape)
        offset += p.size
        if p.data.ndim == 1:
            assert not part1.any() and not part2.any()
        else:
            for part in (part1, part2):
                np.testing.assert_allclose(np.linalg.norm(part, axis=0),
                                           np.linalg.norm(p.data, axis=0), rtol=1e-12)
    assert not np.allclose(land.d1, land.d2)
    again = C.loss_landscape(model, loss_fn, X, y, steps=5, span=0.5, rng=0)
    np.testing.assert_array_equal(land.loss, again.loss)
    with pytest.raises(ValueError, match="span > 0"):
        C.loss_landscape(model, loss_fn, X, y, span=0.0)
