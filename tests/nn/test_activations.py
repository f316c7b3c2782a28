"""Activations: closed-form derivatives vs central differences and vs torch.nn.functional."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from layer_checks import check_layer_gradients

from trainlab import nn
from trainlab.nn.activations import SELU_ALPHA, SELU_SCALE, sigmoid_forward

# name -> (constructor, torch reference as a function of (torch, x))
CASES = {
    "Sigmoid": (nn.Sigmoid, lambda t, x: t.sigmoid(x)),
    "Tanh": (nn.Tanh, lambda t, x: t.tanh(x)),
    "ReLU": (nn.ReLU, lambda t, x: t.nn.functional.relu(x)),
    "LeakyReLU": (nn.LeakyReLU, lambda t, x: t.nn.functional.leaky_relu(x, 0.01)),
    "LeakyReLU(0.2)": (lambda: nn.LeakyReLU(0.2), lambda t, x: t.nn.functional.leaky_relu(x, 0.2)),
    "ELU": (nn.ELU, lambda t, x: t.nn.functional.elu(x, 1.0)),
    "ELU(0.5)": (lambda: nn.ELU(0.5), lambda t, x: t.nn.functional.elu(x, 0.5)),
    "SELU": (nn.SELU, lambda t, x: t.nn.functional.selu(x)),
    "GELU": (nn.GELU, lambda t, x: t.nn.functional.gelu(x)),
    "Softmax": (nn.Softmax, lambda t, x: t.nn.functional.softmax(x, dim=1)),
    "Identity": (nn.Identity, lambda t, x: x * 1),
}
CLASSES = [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.Softmax,
           nn.Identity]
EXTREMES = np.array([[-1000.0, -100.0, -30.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 30.0, 100.0, 1000.0]])


def _away_from_zero(x: np.ndarray) -> np.ndarray:
    """Move entries out of (-0.05, 0.05) so central differences never straddle a kink."""
    return np.where(np.abs(x) < 0.05, x + np.copysign(0.1, x), x)


def _torch_run(torch, ref, x, dy):
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = ref(torch, xt)
    yt.backward(torch.from_numpy(dy))
    return yt.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("name", list(CASES))
def test_gradients_match_central_differences(rng, name, mode):
    layer = CASES[name][0]().train(mode == "train")
    x = _away_from_zero(2 * rng.standard_normal((4, 5)))
    check_layer_gradients(layer, x, rng)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_float64(torch, rng, name):
    make, ref = CASES[name]
    layer = make()
    x = 3 * rng.standard_normal((8, 6))
    dy = rng.standard_normal((8, 6))
    y = layer(x)
    dx = layer.backward(dy)
    y_ref, dx_ref = _torch_run(torch, ref, x, dy)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_float32(torch, rng, name):
    make, ref = CASES[name]
    layer = make()
    x = (3 * rng.standard_normal((8, 6))).astype(np.float32)
    dy = rng.standard_normal((8, 6)).astype(np.float32)
    y = layer(x)
    dx = layer.backward(dy)
    assert y.dtype == dx.dtype == np.float32
    y_ref, dx_ref = _torch_run(torch, ref, x, dy)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(CASES))
def test_extreme_inputs_and_zero_match_torch_without_warnings(torch, name, dtype):
    """±1000, ±100, ±30 and exactly 0: no overflow, and PyTorch's value and slope at 0."""
    make, ref = CASES[name]
    layer = make()
    x = EXTREMES.astype(dtype)
    dy = np.ones_like(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer(x)
        dx = layer.backward(dy)
    assert np.isfinite(y).all() and np.isfinite(dx).all()
    y_ref, dx_ref = _torch_run(torch, ref, x, dy)
    tol = {"rtol": 1e-12, "atol": 1e-300} if dtype == np.float64 else {"rtol": 1e-6, "atol": 1e-30}
    np.testing.assert_allclose(y, y_ref, **tol)
    np.testing.assert_allclose(dx, dx_ref, **tol)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e200), (np.float32, 1e30)])
@pytest.mark.parametrize("cls", [nn.Sigmoid, nn.Tanh, nn.ELU, nn.SELU, nn.GELU, nn.Softmax])
def test_huge_finite_inputs_do_not_overflow(cls, dtype, big):
    x = np.array([[-big, big]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer = cls()
        y = layer(x)
        dx = layer.backward(np.ones_like(x))
    assert np.isfinite(dx).all() and not np.isnan(y).any()


# -- the closed forms the notes state ---------------------------------------------------


def test_sigmoid_derivative_is_at_most_a_quarter():
    z = np.linspace(-10, 10, 2001)[None, :]
    layer = nn.Sigmoid()
    s = layer(z)
    d = layer.backward(np.ones_like(z))
    np.testing.assert_allclose(d, s * (1 - s), rtol=1e-15)
    assert d.max() == 0.25 and np.argmax(d) == 1000  # at z = 0
    np.testing.assert_allclose(sigmoid_forward(np.array([[-800.0, 800.0]])), [[0.0, 1.0]])


def test_tanh_derivative_identities():
    z = np.linspace(-5, 5, 101)[None, :]
    layer = nn.Tanh()
    t = layer(z)
    d = layer.backward(np.ones_like(z))
    s2 = 1 / (1 + np.exp(-2 * z))
    np.testing.assert_allclose(t, 2 * s2 - 1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d, 4 * s2 * (1 - s2), rtol=1e-10)
    assert d.max() == 1.0


def test_slopes_at_exactly_zero_follow_pytorch():
    zero = np.zeros((1, 1))
    one = np.ones((1, 1))
    for layer, slope in [(nn.ReLU(), 0.0), (nn.LeakyReLU(0.1), 0.1), (nn.ELU(0.7), 0.7),
                         (nn.SELU(), SELU_SCALE * SELU_ALPHA), (nn.GELU(), 0.5)]:
        np.testing.assert_array_equal(layer(zero), zero)
        np.testing.assert_allclose(layer.backward(one), slope, rtol=1e-15, err_msg=repr(layer))


def test_selu_constants_and_self_normalisation(rng):
    assert SELU_SCALE == 1.0507009873554805 and SELU_ALPHA == 1.6732632423543772
    x = rng.standard_normal((4000, 64))
    for _ in range(10):  # LeCun-normal weights keep mean 0, variance 1
        w = rng.standard_normal((64, 64)) / math.sqrt(64)
        x = nn.SELU()(x @ w)
    assert abs(x.mean()) < 0.1 and abs(x.var() - 1) < 0.1


def test_softmax_rows_are_distributions_and_shift_invariant(rng):
    z = rng.standard_normal((5, 4))
    s = nn.Softmax()(z)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(nn.Softmax()(z + 500.0), s, rtol=1e-12)
    big = nn.Softmax()(np.array([[1000.0, -1000.0, 0.0]]))
    np.testing.assert_array_equal(big, [[1.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(nn.Softmax()(np.array([[-1e308, 1e308]])), [[0.0, 1.0]])


def test_identity_returns_its_input(rng):
    x = rng.standard_normal((3, 2))
    layer = nn.Identity()
    assert layer(x) is x
    assert layer.backward(x) is x


# -- dtypes --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(cls, dtype, rng):
    layer = cls()
    x = rng.standard_normal((3, 4)).astype(dtype)
    assert layer(x).dtype == dtype
    assert layer.backward(np.ones((3, 4))).dtype == dtype  # a float64 dy does not promote


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, error, match",
    [
        (np.zeros(3), ValueError, "rank 2"),
        (np.zeros((2, 3, 4)), ValueError, "rank 2"),
        (np.zeros((2, 3), dtype=np.int64), TypeError, "floating-point"),
    ],
)
@pytest.mark.parametrize("cls", CLASSES)
def test_bad_input(cls, x, error, match):
    with pytest.raises(error, match=match) as info:
        cls()(x)
    assert cls.__name__ in str(info.value)


NON_FINITE = np.array([[np.nan, np.inf, -np.inf, 0.5, -2.0], [0.3, -0.7, 1.5, 0.0, 2.0]])


@pytest.mark.parametrize("name", list(CASES))
def test_non_finite_inputs_pass_through_as_in_torch(torch, name):
    """No check and no error: NaN and ±inf go through the forward pass as through torch's
    function, and the backward pass runs; a finite row stays finite."""
    make, ref = CASES[name]
    layer = make()
    with np.errstate(all="ignore"):
        y = layer(NON_FINITE)
        dx = layer.backward(np.ones_like(y))
    np.testing.assert_allclose(y, ref(torch, torch.from_numpy(NON_FINITE)).numpy(), rtol=1e-12)
    assert dx.shape == NON_FINITE.shape
    assert np.isfinite(y[1]).all() and np.isfinite(dx[1]).all()


@pytest.mark.parametrize("cls", CLASSES)
def test_backward_errors(cls):
    layer = cls()
    with pytest.raises(RuntimeError, match=f"{cls.__name__}.backward was called before forward"):
        layer.backward(np.zeros((2, 3)))
    layer(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"{cls.__name__}.backward.*\(2, 3\).*\(3, 2\)"):
        layer.backward(np.zeros((3, 2)))


def test_bad_arguments():
    with pytest.raises(TypeError, match="LeakyReLU: negative_slope"):
        nn.LeakyReLU("0.1")
    with pytest.raises(ValueError, match="ELU: alpha"):
        nn.ELU(float("nan"))
    with pytest.raises(ValueError, match="Softmax: dim must be 1"):
        nn.Softmax(dim=0)
    assert nn.Softmax(dim=-1).dim == 1


def test_reprs():
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.ELU()) == "ELU(alpha=1.0)"
    assert repr(nn.Softmax()) == "Softmax(dim=1)"
    assert nn.GELU().parameters() == []


# -- what the diagnostics ask: function, derivative, saturation ------------------------------

ELEMENTWISE = [name for name in CASES if name != "Softmax"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_function_and_derivative_are_forward_and_backward_with_dy_one(rng, name, dtype):
    """φ(z) is the forward's output and φ′(z) the backward's dz for dy = 1, bit for bit, and
    computing them leaves the layer's cache alone."""
    layer = CASES[name][0]()
    z = (3 * rng.standard_normal((6, 7))).astype(dtype)
    z[0, :3] = [0.0, -0.0, 40.0]
    y = layer(z)
    dz = layer.backward(np.ones_like(z))
    other = (rng.standard_normal((2, 3))).astype(dtype)
    np.testing.assert_array_equal(layer.function(z), y)
    np.testing.assert_array_equal(layer.derivative(z), dz)
    assert layer.derivative(z).dtype == dtype
    layer.function(other), layer.derivative(other)
    np.testing.assert_array_equal(layer.backward(np.ones_like(z)), dz)  # the cache is intact


def test_derivatives_match_the_closed_forms(rng):
    z = rng.standard_normal((5, 4)) * 3
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(nn.Sigmoid().derivative(z), s * (1 - s), rtol=1e-14)
    np.testing.assert_allclose(nn.Tanh().derivative(z), 1 - np.tanh(z) ** 2, rtol=1e-14, atol=1e-16)
    np.testing.assert_array_equal(nn.ReLU().derivative(z), (z > 0).astype(float))
    np.testing.assert_array_equal(nn.LeakyReLU(0.2).derivative(z), np.where(z > 0, 1.0, 0.2))
    np.testing.assert_allclose(nn.SELU().derivative(z),
                               SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(z)),
                               rtol=1e-15)
    np.testing.assert_array_equal(nn.Identity().derivative(z), np.ones_like(z))
    assert not hasattr(nn.Softmax(), "derivative")  # not elementwise: no φ′(z)


def test_saturation_uses_the_thresholds_of_the_notes():
    """Sigmoid/tanh: outputs whose derivative is below 1% of its maximum; ReLU: units zero
    for the whole batch."""
    sigmoid, tanh, relu = nn.Sigmoid(), nn.Tanh(), nn.ReLU()
    assert sigmoid.saturation_kind == tanh.saturation_kind == "saturated"
    assert relu.saturation_kind == "dead"
    y = np.array([[0.5, 0.9974, 0.9976, 0.0024, 0.0026, 0.001]])  # σ′ = y(1 − y) vs 0.0025
    assert sigmoid.saturation(y) == pytest.approx(3 / 6)
    t = np.array([[0.0, 0.9949, 0.9951, -0.996]])  # tanh′ = 1 − t² vs 0.01
    assert tanh.saturation(t) == pytest.approx(2 / 4)
    r = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    assert relu.saturation(r) == pytest.approx(1 / 3)
    assert not hasattr(nn.LeakyReLU(), "saturation") and not hasattr(nn.GELU(), "saturation")
