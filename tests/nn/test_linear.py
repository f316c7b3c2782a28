"""Linear: kernels, gradient checks, the PyTorch oracle, errors, dtypes and seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from layer_checks import check_layer_gradients

from trainlab import init
from trainlab.nn import Linear
from trainlab.nn.linear import linear_backward, linear_forward

N, D_IN, D_OUT = 5, 4, 3


def test_kernels_match_the_formulas(rng):
    x = rng.standard_normal((N, D_IN))
    W = rng.standard_normal((D_IN, D_OUT))
    b = rng.standard_normal(D_OUT)
    dy = rng.standard_normal((N, D_OUT))
    y = linear_forward(x, W, b)
    np.testing.assert_allclose(y, np.einsum("ni,io->no", x, W) + b, rtol=1e-13)
    np.testing.assert_allclose(linear_forward(x, W, None), y - b, rtol=1e-13, atol=1e-15)
    dx, dW, db = linear_backward(dy, x, W)
    np.testing.assert_allclose(dx, np.einsum("no,io->ni", dy, W), rtol=1e-13)
    np.testing.assert_allclose(dW, np.einsum("ni,no->io", x, dy), rtol=1e-13)
    np.testing.assert_allclose(db, dy.sum(axis=0), rtol=1e-13)
    assert linear_backward(dy, x, W, bias=False)[2] is None
    assert linear_backward(dy, x, W, input_grad=False)[0] is None


def test_backward_kernel_accumulates_into_given_gradients(rng):
    """dW, db given: the gradients are added into them in place, the zero-grad fast path
    (the product written straight into a zero dW) included."""
    x = rng.standard_normal((N, D_IN))
    W = rng.standard_normal((D_IN, D_OUT))
    dy = rng.standard_normal((N, D_OUT))
    dx, dW_ref, db_ref = linear_backward(dy, x, W)
    for start in (0.0, 1.5):
        dW, db = np.full_like(W, start), np.full(D_OUT, start)
        out = linear_backward(dy, x, W, dW=dW, db=db)
        assert out[1] is dW and out[2] is db
        np.testing.assert_array_equal(out[0], dx)
        np.testing.assert_array_equal(dW, start + dW_ref)
        np.testing.assert_array_equal(db, start + db_ref)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_central_differences(rng, mode, bias):
    layer = Linear(D_IN, D_OUT, bias=bias, rng=1, dtype=np.float64)
    layer.train(mode == "train")
    check_layer_gradients(layer, rng.standard_normal((N, D_IN)), rng)


def _torch_linear(torch, layer, x, dy, dtype):
    ref = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None,
                          dtype=dtype)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.data.T.copy()))
        if layer.bias is not None:
            ref.bias.copy_(torch.from_numpy(layer.bias.data))
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = ref(xt)
    yt.backward(torch.from_numpy(dy))
    return ref, xt, yt


@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_float64(torch, rng, bias):
    layer = Linear(7, 6, bias=bias, rng=2, dtype=np.float64)
    x = rng.standard_normal((9, 7))
    dy = rng.standard_normal((9, 6))
    y = layer(x)
    dx = layer.backward(dy)
    ref, xt, yt = _torch_linear(torch, layer, x, dy, torch.float64)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy().T, rtol=1e-12, atol=1e-14)
    if bias:
        np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_matches_torch_float32(torch, rng):
    layer = Linear(32, 16, rng=3)
    x = rng.standard_normal((20, 32)).astype(np.float32)
    dy = rng.standard_normal((20, 16)).astype(np.float32)
    y = layer(x)
    dx = layer.backward(dy)
    assert y.dtype == dx.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32
    ref, xt, yt = _torch_linear(torch, layer, x, dy, torch.float32)
    tol = {"rtol": 1e-5, "atol": 1e-5}
    np.testing.assert_allclose(y, yt.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy().T, **tol)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), **tol)


def test_torch_default_init_bounds_and_bias():
    layer = Linear(50, 40, rng=0, dtype=np.float64)
    bound = 1 / math.sqrt(50)
    assert layer.weight.shape == (50, 40) and layer.bias.shape == (40,)
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.bias.data).max() > bound / 2  # drawn, not zero
    he = Linear(50, 40, init="he_normal", rng=0)
    np.testing.assert_array_equal(he.bias.data, np.zeros(40, np.float32))
    assert abs(he.weight.data.var() - 2 / 50) < 0.2 * 2 / 50


def test_callable_init():
    calls = []

    def ones(fan_in, fan_out, rng, dtype):
        calls.append((fan_in, fan_out))
        return np.ones((fan_in, fan_out), dtype=dtype)

    layer = Linear(3, 2, init=ones, rng=0)
    assert calls == [(3, 2)]
    np.testing.assert_array_equal(layer.weight.data, np.ones((3, 2), np.float32))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(2, np.float32))


def test_backward_uses_forward_cache_and_accumulates_over_batches(rng):
    layer = Linear(D_IN, D_OUT, rng=0, dtype=np.float64)
    x1, x2 = rng.standard_normal((N, D_IN)), rng.standard_normal((2, D_IN))
    g1, g2 = rng.standard_normal((N, D_OUT)), rng.standard_normal((2, D_OUT))
    layer(x1)
    layer.backward(g1)
    layer(x2)
    layer.backward(g2)
    np.testing.assert_allclose(layer.weight.grad, x1.T @ g1 + x2.T @ g2, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, g1.sum(0) + g2.sum(0), rtol=1e-12)
    layer.zero_grad()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_gradient_marked_zero_is_written_not_filled_then_added_to(rng, backend):
    """zero_grad only marks the gradients; the next backward writes them (the old values
    are neither filled nor read), a second backward adds, and a read in between or of a
    gradient that no backward reached finds zeros."""
    layer = Linear(D_IN, D_OUT, rng=0, dtype=np.float64).use_backend(backend)
    x1, x2 = rng.standard_normal((N, D_IN)), rng.standard_normal((2, D_IN))
    g1, g2 = rng.standard_normal((N, D_OUT)), rng.standard_normal((2, D_OUT))
    layer(x1)
    layer.backward(g1)
    weight_grad = layer.weight.grad
    weight_grad[0, 0] = np.nan  # an old value that a fill-and-add would have to overwrite
    layer.zero_grad()
    assert np.isnan(weight_grad[0, 0])  # marked, not written
    layer(x2)
    layer.backward(g2)
    assert layer.weight.grad is weight_grad  # the same array, written in place
    np.testing.assert_array_equal(layer.weight.grad, x2.T @ g2)
    np.testing.assert_array_equal(layer.bias.grad, g2.sum(0))
    layer(x1)
    layer.backward(g1)  # not marked: adds
    np.testing.assert_allclose(layer.weight.grad, x2.T @ g2 + x1.T @ g1, rtol=1e-12)
    layer.zero_grad()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()  # read: zeros
    assert weight_grad is layer.weight.grad and not weight_grad.any()


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, error, match",
    [
        (np.zeros(4), ValueError, "rank 2"),
        (np.zeros((2, 4, 1)), ValueError, "rank 2"),
        (np.zeros((2, 5)), ValueError, "4 features"),
        (np.zeros((2, 4), dtype=np.int64), TypeError, "floating-point"),
    ],
)
def test_bad_input(x, error, match):
    with pytest.raises(error, match=match) as info:
        Linear(4, 3, rng=0)(x)
    assert "Linear" in str(info.value)


def test_non_finite_inputs_pass_through_as_in_torch(torch, rng):
    """No check and no error: NaN and ±inf reach the output and the gradients exactly as
    they do through torch.nn.Linear."""
    layer = Linear(4, 3, rng=0, dtype=np.float64)
    x = rng.standard_normal((5, 4))
    x[0, 1], x[3, 2] = np.nan, np.inf
    dy = rng.standard_normal((5, 3))
    with np.errstate(all="ignore"):
        y = layer(x)
        dx = layer.backward(dy)
    ref, xt, yt = _torch_linear(torch, layer, x, dy, torch.float64)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy().T, rtol=1e-12)
    assert np.isfinite(y[[1, 2, 4]]).all() and np.isnan(layer.weight.grad[1]).all()


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="he_normal") as info:
        Linear(4, 3, init="he_norml")
    assert "he_norml" in str(info.value)
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 3)
    with pytest.raises(TypeError, match="out_features"):
        Linear(4, 2.5)
    with pytest.raises(TypeError, match="dtype"):
        Linear(4, 3, dtype=np.int32)
    with pytest.raises(TypeError, match="rng"):
        Linear(4, 3, rng="seed")


def test_backward_before_forward_and_wrong_dy_shape():
    layer = Linear(4, 3, rng=0)
    with pytest.raises(RuntimeError, match="Linear.backward was called before forward"):
        layer.backward(np.zeros((2, 3), np.float32))
    layer(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"Linear.backward.*\(2, 3\).*\(2, 4\)"):
        layer.backward(np.zeros((2, 4), np.float32))
    with pytest.raises(TypeError, match="floating-point"):
        layer.backward(np.zeros((2, 3), np.int64))


# -- dtypes and seeds -----------------------------------------------------------------


def test_dtypes():
    x64 = np.ones((2, 4))
    layer = Linear(4, 3, rng=0)
    assert layer.dtype == np.float32 and layer.weight.data.dtype == np.float32
    assert layer(x64.astype(np.float32)).dtype == np.float32
    assert layer(x64).dtype == np.float32  # inputs are cast to the layer's dtype
    assert layer.backward(np.ones((2, 3))).dtype == np.float32
    assert layer.weight.grad.dtype == np.float32
    assert Linear(4, 3, rng=0, dtype=np.float64)(x64).dtype == np.float64


def test_astype_converts_a_linear_layer(rng):
    layer = Linear(4, 3, rng=0)
    weight = layer.weight
    x = rng.standard_normal((2, 4))
    layer(x)
    layer.backward(np.ones((2, 3)))
    assert layer.astype(np.float64) is layer
    assert layer.weight is weight  # same Parameter object: optimizers keep working
    assert layer.dtype == np.float64
    for p in layer.parameters():
        assert p.data.dtype == p.grad.dtype == np.float64
    with pytest.raises(RuntimeError, match="before forward"):  # old float32 cache dropped
        layer.backward(np.ones((2, 3)))
    y = layer(x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, x @ layer.weight.data + layer.bias.data, rtol=1e-12)
    assert layer.backward(np.ones((2, 3))).dtype == np.float64


def test_same_seed_same_weights():
    a, b, c = Linear(6, 5, rng=11), Linear(6, 5, rng=11), Linear(6, 5, rng=12)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(
        Linear(6, 5, rng=g1).weight.data, Linear(6, 5, rng=g2).weight.data
    )
    # float32 and float64 layers from one seed hold the same weights to rounding
    w64 = Linear(6, 5, rng=11, dtype=np.float64).weight.data
    np.testing.assert_allclose(a.weight.data, w64, rtol=1e-7)


def test_repr_and_parameters():
    layer = Linear(4, 3, bias=False, rng=0)
    assert repr(layer) == "Linear(in_features=4, out_features=3, bias=False)"
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.bias is None
    assert list(Linear(4, 3, rng=0).state_dict()) == ["weight", "bias"]


def test_init_name_list_is_the_registry():
    with pytest.raises(ValueError) as info:
        Linear(2, 2, init="nope")
    for name in init.INITIALIZERS:
        assert name in str(info.value)
