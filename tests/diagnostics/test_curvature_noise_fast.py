"""The gradient noise scale's one-pass path (per-example squared norms of a batched
backward) against one backward pass per example, and where it steps aside."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn
from trainlab.diagnostics import curvature as C
from trainlab.diagnostics.curvature import noise
from trainlab.diagnostics.curvature.objective import Objective

F64 = np.float64


def _data(seed=0, n=15):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    return X, rng.integers(0, 3, n), rng.standard_normal((n, 2)), rng.integers(0, 2, n)


def _bn_eval():
    model = nn.Sequential(nn.Linear(5, 8, rng=1, dtype=F64), nn.BatchNorm(8, dtype=F64),
                          nn.ReLU(), nn.Linear(8, 3, rng=2, dtype=F64))
    model.forward(np.random.default_rng(9).standard_normal((30, 5)) * 2)  # running stats
    return model.eval()


def _dropconnect_eval():
    return nn.Sequential(nn.Linear(5, 8, rng=1), nn.Tanh(), nn.Dropout(0.3),
                         nn.DropConnect(8, 3, p=0.3, rng=3)).eval()


CASES = {  # name: (model, loss, target column of _data)
    "tanh-ce": (lambda: nn.Sequential(nn.Linear(5, 8, rng=1), nn.Tanh(),
                                      nn.Linear(8, 3, rng=2)), nn.CrossEntropyLoss, 1),
    "smoothing": (lambda: nn.Sequential(nn.Linear(5, 8, rng=1), nn.ReLU(),
                                        nn.Linear(8, 3, rng=2)),
                  lambda: nn.CrossEntropyLoss(label_smoothing=0.1), 1),
    "layernorm-mse": (lambda: nn.Sequential(nn.Linear(5, 8, bias=False, rng=1),
                                            nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 2, rng=2)),
                      nn.MSELoss, 2),
    "huber": (lambda: nn.Sequential(nn.Linear(5, 8, rng=1), nn.SELU(), nn.Linear(8, 2, rng=2)),
              lambda: nn.HuberLoss(delta=0.5), 2),
    "l1": (lambda: nn.Sequential(nn.Linear(5, 8, rng=1), nn.ELU(), nn.Linear(8, 2, rng=2)),
           nn.L1Loss, 2),
    "bce-pos-weight": (lambda: nn.Sequential(nn.Linear(5, 8, rng=1), nn.Sigmoid(),
                                             nn.Linear(8, 1, rng=2)),
                       lambda: nn.BCEWithLogitsLoss(pos_weight=2.0), 3),
    "batchnorm-eval": (_bn_eval, nn.CrossEntropyLoss, 1),
    "dropconnect-eval": (_dropconnect_eval, nn.CrossEntropyLoss, 1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_pass_equals_one_backward_per_example(name):
    make_model, make_loss, column = CASES[name]
    data = _data()
    objective = Objective(make_model(), make_loss(), data[0], data[column], "test")
    fast = noise.per_example_sq_norms(objective)
    assert fast is not None
    squares, mean = fast
    grads = noise.per_example_gradients(objective)
    np.testing.assert_allclose(squares, np.sum(grads ** 2, axis=1), rtol=1e-12)
    np.testing.assert_array_equal(mean, objective.gradient())  # the same backward calls
    np.testing.assert_allclose(mean, grads.mean(axis=0), rtol=1e-12, atol=1e-15)
    assert noise.noise_scale(objective, fast) == pytest.approx(
        noise.noise_scale_of(grads)[0], rel=1e-10)


def _residual():
    return nn.Sequential(nn.Linear(5, 6, rng=1), nn.Residual(nn.Linear(6, 6, rng=2), nn.Tanh()),
                         nn.Linear(6, 3, rng=3))


class _Scale(nn.Module):
    """A plugin layer with a parameter and no per_example_grad_sq_norms."""

    def __init__(self) -> None:
        super().__init__()
        self.s = nn.Parameter(np.full(5, 1.5))

    def forward(self, x):
        self._x = x
        return x * self.s.data

    def backward(self, dy):
        self.s.grad += np.sum(dy * self._x, axis=0)
        return dy * self.s.data


FALLBACKS = {
    "residual": (_residual, nn.CrossEntropyLoss, 1),
    "class-weights": (lambda: CASES["tanh-ce"][0](),
                      lambda: nn.CrossEntropyLoss(weight=[1.0, 2.0, 0.5]), 1),
    "plugin-layer": (lambda: nn.Sequential(_Scale(), nn.Linear(5, 3, rng=1)),
                     nn.CrossEntropyLoss, 1),
    "sum-reduction": (lambda: CASES["tanh-ce"][0](),
                      lambda: nn.CrossEntropyLoss(reduction="sum"), 1),
    "example-weights": (lambda: CASES["bce-pos-weight"][0](),
                        lambda: nn.BCEWithLogitsLoss(weight=2.0), 3),
}


@pytest.mark.parametrize("name", sorted(FALLBACKS))
def test_other_models_and_losses_take_the_per_example_loop(name):
    make_model, make_loss, column = FALLBACKS[name]
    data = _data(1)
    model, loss_fn = make_model(), make_loss()
    objective = Objective(model, loss_fn, data[0], data[column], "test")
    assert noise.per_example_sq_norms(objective) is None
    expected = noise.noise_scale_of(noise.per_example_gradients(objective))[0]
    assert C.gradient_noise_scale(model, loss_fn, data[0], data[column]) == expected


def test_an_ignored_row_takes_the_loop():
    X, y, _, _ = _data(2)
    y = y.copy()
    y[3] = -100
    objective = Objective(CASES["tanh-ce"][0](), nn.CrossEntropyLoss(), X, y, "test")
    assert noise.per_example_sq_norms(objective) is None
    y[3] = 0
    objective = Objective(CASES["tanh-ce"][0](), nn.CrossEntropyLoss(), X, y, "test")
    assert noise.per_example_sq_norms(objective) is not None


def test_public_function_takes_the_one_pass_path(monkeypatch):
    model, make_loss, _ = CASES["tanh-ce"]
    X, y, _, _ = _data(3, n=40)
    expected = C.gradient_noise_scale(model(), make_loss(), X, y)

    def refuse(objective):
        raise AssertionError("the per-example loop ran")

    monkeypatch.setattr(noise, "per_example_gradients", refuse)
    assert C.gradient_noise_scale(model(), make_loss(), X, y) == expected


def test_cancellation_hands_over_to_the_loop(monkeypatch):
    """Nearly equal examples: Σ‖gᵢ‖² − N‖G‖² cancels, and the differences decide."""
    model, make_loss, _ = CASES["tanh-ce"]
    X, y, _, _ = _data(4)
    same = np.repeat(X[:1], 6, axis=0) + 1e-9 * np.arange(6)[:, None]
    labels = np.repeat(y[:1], 6)
    calls = []
    loop = noise.per_example_gradients
    monkeypatch.setattr(noise, "per_example_gradients",
                        lambda objective: calls.append(1) or loop(objective))
    scale = C.gradient_noise_scale(model(), make_loss(), same, labels)
    assert calls and 0 < scale < 1e-12
