"""The measuring functions behind the tasks, gradient-scale, sigmoid-gradient and
regularization experiments, on small inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab import nn
from trainlab.lab import gradient_scale, regularization, sigmoid_gradient, tasks
from trainlab.lab.common import mlp


def test_fitted_factor_recovers_a_geometric_profile():
    depths = (5, 10, 20)
    for factor in (0.8, 1.0, 1.3):
        grads = 3.0 * factor ** np.asarray(depths, dtype=float)
        assert gradient_scale.fitted_factor(depths, grads) == pytest.approx(factor, rel=1e-12)


@pytest.mark.parametrize("kind", ["linear", "ReLU"])
def test_stack_has_the_per_layer_factor_and_depth_profile_follows_it(kind):
    model = gradient_scale.stack(3, 200, kind, 1.2, seed=0)
    _, gain = gradient_scale.KINDS[kind]
    weights = [m.weight.data for m in model if isinstance(m, nn.Linear)]
    assert len(weights) == 3
    for w in weights:  # k·Var(w) = gain·M²
        assert abs(200 * w.var() / (gain * 1.2**2) - 1) < 0.02
    grads = gradient_scale.depth_profile(kind, 1.2, (2, 6, 10), 128, 32, seed=0)
    assert abs(gradient_scale.fitted_factor((2, 6, 10), grads) / 1.2 - 1) < 0.05


def test_nearest_mean_accuracy():
    h_train = np.array([[0.0, 0.0], [0.2, 0.0], [5.0, 5.0], [5.2, 5.0]])
    y_train = np.array([0, 0, 1, 1])
    h_test = np.array([[0.1, 0.3], [4.0, 4.5], [2.4, 2.4]])
    assert tasks.nearest_mean_accuracy(h_train, y_train, h_test, np.array([0, 1, 0])) == 1.0
    wrong = tasks.nearest_mean_accuracy(h_train, y_train, h_test, np.array([1, 0, 0]))
    assert wrong == pytest.approx(1 / 3)


def test_probabilities_are_psi_of_the_outputs():
    z = np.array([[0.0], [2.0], [-1.0]])
    np.testing.assert_allclose(tasks.probabilities("binary", z)[:, 0], 1 / (1 + np.exp(-z[:, 0])),
                               rtol=1e-15)
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    p = tasks.probabilities("multiclass", logits)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(p[1], 1 / 3, rtol=1e-15)


def test_task_data_is_standardised_with_training_statistics():
    X_tr, y_tr, X_te, y_te = tasks.task_data("regression", seed=0)
    assert X_tr.dtype == np.float32 and y_tr.shape == (X_tr.shape[0], 1)
    np.testing.assert_allclose(X_tr.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y_tr.mean(), 0, atol=1e-5)
    assert abs(X_te.mean()) > 1e-4  # the test part is not standardised with its own statistics


def test_hidden_is_the_input_of_the_output_layer():
    model = mlp(4, [6, 5], 3, "relu", "he_normal", seed=0, dtype="float64")
    x = np.random.default_rng(0).standard_normal((7, 4))
    h = tasks.hidden(model, x)
    assert h.shape == (7, 5) and (h >= 0).all()
    np.testing.assert_allclose(h @ model[-1].weight.data + model[-1].bias.data, model.forward(x),
                               rtol=1e-13)


def test_weight_gradient_bound_holds_and_is_not_vacuous():
    rng = np.random.default_rng(0)
    model = mlp(8, [16] * 6, 3, "sigmoid", "xavier_normal", seed=1, dtype="float64")
    grads, bound = sigmoid_gradient.weight_gradient_bound(model, rng.standard_normal((32, 8)),
                                                          rng.integers(0, 3, size=32))
    assert grads.shape == bound.shape == (6,)
    assert np.all(grads <= bound) and np.all(grads > 1e-3 * bound)
    assert grads[0] < grads[-1] * 0.25 ** 3


def test_regularization_has_a_batch_norm_arm():
    assert "batch norm" in regularization.ARMS and "batch norm" not in regularization.STRONG
    split, scaling = regularization.small_split(0, 200, 0.3)
    result = regularization.run_arm("batch norm", split, scaling, 16, 1, seed=0)
    assert set(result) == {"train", "val", "gap"}
    assert math.isclose(result["gap"], result["train"] - result["val"])


def test_checklist_shift_moves_every_image_by_one_pixel():
    from trainlab.lab import checklist

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 16, size=(40, 64)).astype(np.float32)
    X.reshape(40, 8, 8)[:, [0, -1], :] = 0  # empty border rows and columns, as in digits
    X.reshape(40, 8, 8)[:, :, [0, -1]] = 0
    moved = checklist.shifted((X - 4.0) / 2.0, seed=1, scaling=(4.0, 2.0)) * 2.0 + 4.0
    images, moved_images = X.reshape(40, 8, 8), moved.reshape(40, 8, 8)
    for a, b in zip(images, moved_images, strict=True):
        matches = [np.allclose(np.roll(a, shift, axis=axis), b, atol=1e-5)
                   for axis in (0, 1) for shift in (1, -1)]
        assert sum(matches) == 1


def test_checklist_global_scaling_uses_one_mean_and_std():
    from trainlab.lab import checklist
    from trainlab.lab.common import load_split

    raw = load_split("digits", seed=0, standardize=False)
    split, (mean, std) = checklist.globally_scaled(raw)
    assert mean == pytest.approx(raw.X_train.mean()) and std == pytest.approx(raw.X_train.std())
    assert abs(split.X_train.mean()) < 1e-5 and abs(split.X_train.std() - 1) < 1e-5
    np.testing.assert_allclose(split.X_test, (raw.X_test - mean) / std, rtol=1e-5, atol=1e-6)
