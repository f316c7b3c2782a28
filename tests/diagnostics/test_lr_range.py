"""The learning-rate range test: the schedule of rates, the smoothing, the stop at
divergence, the suggestion, and the caller's model and optimizer left alone."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn, optim
from trainlab.diagnostics.lr_range import lr_find


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200, 5)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    model = nn.Sequential(nn.Linear(5, 16, rng=seed), nn.ReLU(), nn.Linear(16, 2, rng=seed + 1))
    return model, X, y


def test_rates_grow_exponentially_and_the_suggestion_is_a_tenth_of_the_minimum():
    model, X, y = _setup()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = [p.data.copy() for p in model.parameters()]
    r = lr_find(model, nn.CrossEntropyLoss(), X, y, opt, start_lr=1e-4, end_lr=100.0, steps=60,
                batch_size=16, rng=0)
    k = np.arange(len(r.lrs))
    np.testing.assert_allclose(r.lrs, 1e-4 * (1e6) ** (k / 59), rtol=1e-12)
    assert r.diverged and len(r.lrs) < 60  # 100 is far too large a rate: it stops early
    assert r.minimum == r.lrs[int(np.argmin(r.smoothed))] and r.suggestion == r.minimum / 10
    # smoothed: the bias-corrected exponential average of the raw losses
    s, expected = 0.0, []
    for i, value in enumerate(r.losses):
        s = 0.9 * s + 0.1 * value
        expected.append(s / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(r.smoothed, expected, rtol=1e-12)
    assert r.smoothed[-1] > 4 * r.smoothed.min()
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters(), strict=True))
    assert opt.lr == 0.1 and opt.step_count == 0
    again = lr_find(model, nn.CrossEntropyLoss(), X, y, opt, start_lr=1e-4, end_lr=100.0,
                    steps=60, batch_size=16, rng=0)
    np.testing.assert_array_equal(r.losses, again.losses)


def test_suggestion_trains_better_than_rates_far_from_it():
    model, X, y = _setup(1)
    r = lr_find(model, nn.CrossEntropyLoss(), X, y, optim.SGD(model.parameters(), lr=0.1),
                start_lr=1e-5, end_lr=100.0, steps=100, batch_size=16, rng=1)

    def final_loss(lr):
        m, *_ = _setup(1)
        opt, loss = optim.SGD(m.parameters(), lr=lr), nn.CrossEntropyLoss()
        for step in range(100):
            rows = slice((16 * step) % 192, (16 * step) % 192 + 16)
            m.zero_grad()
            loss(m.forward(X[rows]), y[rows])
            m.backward(loss.backward())
            opt.step()
        return loss(m.forward(X), y)

    good = final_loss(r.suggestion)
    assert good < final_loss(r.suggestion / 100)


def test_bad_arguments_are_clear_errors():
    model, X, y = _setup()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="0 < start_lr < end_lr"):
        lr_find(model, nn.CrossEntropyLoss(), X, y, opt, start_lr=1.0, end_lr=0.1)
    other, *_ = _setup(2)
    with pytest.raises(ValueError, match="optimizer over model.parameters"):
        lr_find(model, nn.CrossEntropyLoss(), X, y, optim.SGD(other.parameters(), lr=0.1))
    with pytest.raises(TypeError, match="loss_fn to be a trainlab.nn.Loss"):
        lr_find(model, "mse", X, y, opt)
    with pytest.raises(ValueError, match="one target per row"):
        lr_find(model, nn.CrossEntropyLoss(), X, y[:5], opt)
