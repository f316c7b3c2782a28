"""Notes §2: the activation functions and their derivatives, in the notes' closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn
from trainlab.nn.activations import SELU_ALPHA, SELU_SCALE

Z = np.linspace(-20, 20, 4001)[None, :]


def _derivative(layer, z):
    layer.forward(z)
    return layer.backward(np.ones_like(z))


def test_sigmoid_is_one_over_one_plus_exp_minus_z():
    np.testing.assert_allclose(nn.Sigmoid().forward(Z), 1 / (1 + np.exp(-Z)), rtol=1e-14)


def test_tanh_is_the_ratio_of_exponentials_and_its_derivative_is_four_sigma_2z_terms():
    np.testing.assert_allclose(nn.Tanh().forward(Z),
                               (np.exp(Z) - np.exp(-Z)) / (np.exp(Z) + np.exp(-Z)),
                               rtol=1e-14, atol=1e-16)
    s2 = 1 / (1 + np.exp(-2 * Z))
    np.testing.assert_allclose(_derivative(nn.Tanh(), Z), 4 * s2 * (1 - s2), rtol=1e-8, atol=1e-15)


def test_relu_and_its_derivative_one_for_positive_zero_below():
    """max(0, z); derivative 1 above 0 and 0 below — the notes' convention everywhere except
    at exactly z = 0, where trainlab follows PyTorch (0, the notes say 1)."""
    z = np.array([[-3.0, -1e-300, 0.0, 1e-300, 2.5]])
    np.testing.assert_array_equal(nn.ReLU().forward(z), np.maximum(0, z))
    d = _derivative(nn.ReLU(), z)
    notes = (z >= 0).astype(float)
    np.testing.assert_array_equal(d[z != 0], notes[z != 0])
    assert d[z == 0] == 0.0 and notes[z == 0] == 1.0


@pytest.mark.parametrize("alpha", [1.0, 0.5, 1.6732632423543772])
def test_elu_is_z_above_zero_and_alpha_exp_minus_one_below(alpha):
    expected = np.where(Z >= 0, Z, alpha * (np.exp(Z) - 1))
    np.testing.assert_allclose(nn.ELU(alpha).forward(Z), expected, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(_derivative(nn.ELU(alpha), Z),
                               np.where(Z > 0, 1.0, alpha * np.exp(Z)), rtol=1e-14, atol=1e-300)


def test_selu_is_lambda_times_elu_alpha_with_the_notes_constants():
    assert round(SELU_SCALE, 4) == 1.0507 and round(SELU_ALPHA, 4) == 1.6733
    np.testing.assert_allclose(nn.SELU().forward(Z), SELU_SCALE * nn.ELU(SELU_ALPHA).forward(Z),
                               rtol=1e-15, atol=1e-300)


def test_selu_with_lecun_normal_weights_preserves_mean_and_variance_layer_after_layer():
    """z ~ N(0, 1), θ ~ N(0, 1/n): mean ≈ 0 and variance ≈ 1 at every one of 30 layers."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((2000, 128))
    for _ in range(30):
        h = nn.SELU().forward(nn.Linear(128, 128, bias=False, init="lecun_normal", rng=rng,
                                        dtype=np.float64).forward(h))
        assert abs(h.mean()) < 0.1 and abs(h.var() - 1) < 0.15
    relu = rng.standard_normal((2000, 128))
    relu = nn.ReLU().forward(relu @ (rng.standard_normal((128, 128)) / np.sqrt(128)))
    assert relu.mean() > 0.3  # the contrast: ReLU's mean is not 0


def test_softmax_is_exp_over_the_sum_of_exps():
    z = np.random.default_rng(1).normal(0, 5, size=(6, 5))
    e = np.exp(z)
    np.testing.assert_allclose(nn.Softmax().forward(z), e / e.sum(axis=1, keepdims=True),
                               rtol=1e-14)
