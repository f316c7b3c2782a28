"""The sanity checks before training: each verdict follows a measurement, and a broken
setup fails the check that is about it."""

from __future__ import annotations

import math

import numpy as np

from trainlab import nn, optim
from trainlab.diagnostics.doctor import run_checks


def _data(n=64, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, rng.integers(0, classes, n)


def _model(scale=1.0, activation=nn.Tanh, seed=0):
    model = nn.Sequential(nn.Linear(6, 48, rng=seed), activation(), nn.Linear(48, 3, rng=seed + 1))
    for p in model.parameters():
        p.data *= scale
    return model


def _by_name(checks):
    return {c.name.split(" ")[0]: c for c in checks}


def test_a_healthy_setup_passes_every_check():
    X, y = _data()
    model = _model()
    checks = run_checks(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.03,
                                                                momentum=0.9),
                        X, y, n_classes=3, batch_size=32, rng=0)
    assert len(checks) == 5
    assert all(c.passed and not c.remedy for c in checks), [c for c in checks if not c.passed]
    initial = float(checks[0].measured.split(" ")[0])
    assert abs(initial - math.log(3)) < 0.3 * math.log(3)


def test_each_broken_setup_fails_its_own_check_with_a_remedy():
    X, y = _data()
    loss = nn.CrossEntropyLoss()
    big = _model(scale=30.0)  # large initial outputs: loss far above ln C, tanh saturated
    found = _by_name(run_checks(big, loss, optim.SGD(big.parameters(), lr=0.1), X, y,
                                n_classes=3, rng=0))
    assert not found["loss"].passed and "initialisation" in found["loss"].remedy
    assert not found["dead"].passed and "standardise" in found["dead"].remedy
    slow = _model()
    found = _by_name(run_checks(slow, loss, optim.SGD(slow.parameters(), lr=1e-7), X, y,
                                n_classes=3, rng=0))
    assert not found["update/weight"].passed and "raise the learning rate" in \
        found["update/weight"].remedy
    assert not found["overfit"].passed
    fast = _model()
    found = _by_name(run_checks(fast, loss, optim.SGD(fast.parameters(), lr=50.0), X, y,
                                n_classes=3, rng=0))
    assert not found["update/weight"].passed and "lower the learning rate" in \
        found["update/weight"].remedy


class _WrongBackward(nn.Tanh):
    """tanh whose backward forgets the derivative: a bug the gradient check must find."""

    def backward(self, dy):
        return dy


def test_gradient_check_finds_a_wrong_backward_and_checks_leave_the_model_alone():
    X, y = _data()
    model = _model(activation=_WrongBackward)
    before = [p.data.copy() for p in model.parameters()]
    found = _by_name(run_checks(model, nn.CrossEntropyLoss(),
                                optim.SGD(model.parameters(), lr=0.1), X, y, n_classes=3, rng=0))
    assert not found["gradient"].passed and float(found["gradient"].measured) > 1e-3
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters(), strict=True))
