"""The curvature instrument during training, and the optimizers' stability thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab import nn, optim
from trainlab.diagnostics import curvature as C
from trainlab.diagnostics.curvature.hessian import extreme_eigenvalues
from trainlab.train import Trainer


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5).astype(int)
    model = nn.Sequential(nn.Linear(4, 8, rng=seed), nn.Tanh(), nn.Dropout(0.2, rng=seed),
                          nn.Linear(8, 3, rng=seed + 1))
    return model, X.astype(np.float32), y


def _train(instrument, opt_name="sgd", **kw):
    model, X, y = _setup()
    opt = {"sgd": optim.SGD, "adam": optim.Adam}[opt_name](model.parameters(), **kw)
    callbacks = [instrument(X, y)] if instrument else []
    Trainer(model, nn.CrossEntropyLoss(), opt, rng=0, verbose=0, callbacks=callbacks).fit(
        X, y, epochs=4, batch_size=10)
    return model, opt, callbacks, X, y


def test_instrument_records_and_leaves_training_unchanged():
    plain, *_ = _train(None, lr=0.1, momentum=0.9)
    model, opt, (monitor,), X, y = _train(lambda X, y: C.CurvatureMonitor(X[:20], y[:20], every=8,
                                                                         trace_samples=3),
                                          lr=0.1, momentum=0.9)
    for a, b in zip(plain.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert [r.step for r in monitor.records] == [0, 8, 16, 24]
    last = monitor.records[-1]
    model.eval()  # the instrument measures with dropout off
    expected = C.hessian_eigenvalues(model, nn.CrossEntropyLoss(), X[:20], y[:20], k=1)[0]
    assert last.sharpness == pytest.approx(expected, rel=1e-3)
    assert last.threshold == pytest.approx((2 + 2 * 0.9) / 0.1)
    assert math.isnan(last.preconditioned) and last.ratio == pytest.approx(last.sharpness / 38)
    assert last.lambda_min <= last.sharpness and last.distance > 0
    assert monitor.records[0].distance == 0.0
    assert math.isfinite(last.noise_scale) and last.noise_scale > 0
    assert math.isfinite(last.trace) and monitor.seconds > 0


def test_adam_threshold_is_preconditioned():
    _, opt, (monitor,), X, y = _train(lambda X, y: C.CurvatureMonitor(X[:20], y[:20], every=8,
                                                                     trace_samples=0,
                                                                     noise=False),
                                      "adam", lr=0.01)
    stab = C.stability_threshold(opt)
    assert stab.threshold == pytest.approx(38 / 0.01)
    assert stab.preconditioner is not None and stab.preconditioner.shape == (4 * 8 + 8 + 8 * 3 + 3,)
    last = monitor.records[-1]
    assert math.isfinite(last.preconditioned) and last.preconditioned > last.sharpness
    assert math.isnan(last.trace) and math.isnan(last.noise_scale)
    assert last.ratio == pytest.approx(last.preconditioned / last.threshold)


def test_stability_thresholds_of_the_update_rules():
    p = [nn.Parameter(np.ones(3))]
    assert C.stability_threshold(optim.SGD(p, lr=0.5)).threshold == pytest.approx(4.0)
    assert C.stability_threshold(optim.SGD(p, lr=0.5, momentum=0.5)).threshold == \
        pytest.approx(3 / 0.5)
    nesterov = C.stability_threshold(optim.SGD(p, lr=0.5, momentum=0.5, nesterov=True))
    assert nesterov.threshold == pytest.approx(3 / (0.5 * 2))
    assert math.isnan(C.stability_threshold(optim.Adam(p, lr=0.1)).threshold)
    with pytest.raises(TypeError, match="expected an SGD, Adam"):
        C.stability_threshold(object())


def test_gd_on_a_quadratic_diverges_exactly_past_two_over_eta():
    """The threshold's meaning: on L = ½·λ·w² gradient descent contracts iff λ < 2/η."""
    for lr, grows in ((0.99, False), (1.01, True)):
        model = nn.Sequential(nn.Linear(1, 1, bias=False, dtype=np.float64))
        model[0].weight.data[:] = 1.0
        X, y = np.ones((1, 1)), np.zeros((1, 1))  # MSE: L = w², λ = 2
        opt = optim.SGD(model.parameters(), lr=lr)
        lam = C.hessian_vector_product(model, nn.MSELoss(), X, y, np.ones(1))[0]
        loss_fn = nn.MSELoss()
        for _ in range(50):
            model.zero_grad()
            loss_fn(model.forward(X), y)
            model.backward(loss_fn.backward())
            opt.step()
        assert lam == pytest.approx(2.0, rel=1e-8) and (lam > 2 / lr) == grows
        assert (abs(model[0].weight.data[0, 0]) > 1) == grows
        assert C.stability_threshold(opt).threshold == pytest.approx(2 / lr)


def test_warm_estimates_agree_with_converged_eigenvalues():
    """After six warm measurements (6 Lanczos steps for H, 3 for P^{-1/2}HP^{-1/2}, the
    defaults) the instrument's estimates against ARPACK run to convergence: λ_max to 1e-5,
    λ_min within 2% of λ_max, the preconditioned sharpness to 2%, and one deflated
    Hutchinson sample within 50% of a 2,000-sample trace."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 8)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 0.7).astype(int)
    model = nn.Sequential(nn.Linear(8, 32, rng=0), nn.Tanh(), nn.Linear(32, 32, rng=1),
                          nn.Tanh(), nn.Linear(32, 3, rng=2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    monitor = C.CurvatureMonitor(X[:64], y[:64], every=10)
    Trainer(model, nn.CrossEntropyLoss(), opt, rng=0, verbose=0, callbacks=[monitor]).fit(
        X, y, epochs=6, batch_size=20)
    last = monitor.records[-1]
    assert last.step == 60  # the last step: the model the references see
    loss_fn, Xm, ym = nn.CrossEntropyLoss(), X[:64], y[:64]
    top = C.hessian_eigenvalues(model, loss_fn, Xm, ym)[0]
    low = C.hessian_eigenvalues(model, loss_fn, Xm, ym, which="smallest")[0]
    objective = C.Objective(model, loss_fn, Xm, ym, "test")
    pre = extreme_eigenvalues(objective, 1, "LA", C.stability_threshold(opt).preconditioner)[0]
    trace = C.hessian_trace(model, loss_fn, Xm, ym, samples=2000, rng=1)
    assert last.sharpness == pytest.approx(top, rel=1e-5)
    assert low < 0 and abs(last.lambda_min - low) < 0.02 * top
    assert last.preconditioned == pytest.approx(pre, rel=0.02)
    assert last.trace == pytest.approx(trace, rel=0.5)
