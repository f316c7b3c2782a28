"""Dropout and DropConnect: masks, inverted scaling, gradients, the torch oracle, errors, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from layer_checks import check_layer_gradients

from trainlab.nn import DropConnect, Dropout, Linear
from trainlab.nn.dropout import dropconnect_backward, dropconnect_forward, keep_mask

N, D_IN, D_OUT = 6, 5, 4


def _reseed(layer, seed=123):
    """Return a hook that gives ``layer`` the same fresh generator before each forward."""

    def hook():
        layer.rng = np.random.default_rng(seed)

    return hook


# -- Dropout ---------------------------------------------------------------------------


def test_dropout_train_mask_and_scaling(rng):
    layer = Dropout(p=0.3, rng=0)
    x = rng.standard_normal((400, 50))
    y = layer(x)
    mask = layer.mask
    assert mask.dtype == np.bool_ and mask.shape == x.shape
    np.testing.assert_array_equal(y[~mask], 0.0)
    np.testing.assert_allclose(y[mask], x[mask] / 0.7, rtol=1e-15)
    kept = mask.mean()
    assert abs(kept - 0.7) < 4 * np.sqrt(0.7 * 0.3 / mask.size)  # 4 standard errors
    dy = rng.standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(dy), dy * mask / 0.7, rtol=1e-15)


def test_dropout_preserves_the_mean_in_expectation():
    x = np.ones((2000, 100))
    y = Dropout(p=0.5, rng=1)(x)
    assert abs(y.mean() - 1.0) < 0.02  # inverted: no rescaling needed in eval


def test_dropout_draws_a_new_mask_each_forward():
    layer = Dropout(p=0.5, rng=0)
    x = np.ones((20, 20))
    layer(x)
    first = layer.mask.copy()
    layer(x)
    assert not np.array_equal(first, layer.mask)


def test_dropout_eval_is_identity_forward_and_backward(rng):
    layer = Dropout(p=0.9, rng=0).eval()
    x = rng.standard_normal((N, D_IN))
    np.testing.assert_array_equal(layer(x), x)
    assert layer.mask is None
    dy = rng.standard_normal((N, D_IN))
    np.testing.assert_array_equal(layer.backward(dy), dy)


def test_dropout_p_zero_is_identity(rng):
    x = rng.standard_normal((N, D_IN))
    layer = Dropout(p=0.0, rng=0)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_dropout_gradients_with_a_fixed_mask(rng, mode):
    layer = Dropout(p=0.4).train(mode == "train")
    check_layer_gradients(layer, rng.standard_normal((N, D_IN)), rng, before_forward=_reseed(layer))
    if mode == "train":
        assert not layer.mask.all()  # the check ran with units actually dropped


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_dropout_matches_torch_with_the_same_mask(torch, rng, dtype, tol):
    p = 0.25
    layer = Dropout(p=p, rng=4)
    x = rng.standard_normal((8, 7)).astype(dtype)
    dy = rng.standard_normal((8, 7)).astype(dtype)
    y = layer(x)
    dx = layer.backward(dy)
    assert y.dtype == dx.dtype == dtype
    xt = torch.from_numpy(x).requires_grad_(True)
    mask_t = torch.from_numpy(layer.mask)
    yt = xt * mask_t / (1 - p)
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)


def test_dropout_keep_rate_agrees_with_torch(torch):
    """Same distribution as torch's dropout: the fraction of zeros is p, survivors x/(1-p)."""
    p = 0.35
    x = np.ones((500, 200))
    ours = Dropout(p=p, rng=0)(x)
    theirs = torch.nn.functional.dropout(torch.from_numpy(x), p=p, training=True).numpy()
    se = np.sqrt(p * (1 - p) / x.size)
    assert abs((ours == 0).mean() - p) < 4 * se
    assert abs((theirs == 0).mean() - p) < 4 * se
    np.testing.assert_allclose(np.unique(ours[ours != 0]), np.unique(theirs[theirs != 0]),
                               rtol=1e-15)


# -- DropConnect -----------------------------------------------------------------------


def test_dropconnect_kernels(rng):
    x = rng.standard_normal((N, D_IN))
    W = rng.standard_normal((D_IN, D_OUT))
    b = rng.standard_normal(D_OUT)
    mask = keep_mask(W.shape, 0.5, rng)
    W_eff = W * mask / 0.5
    y, W_used = dropconnect_forward(x, W, b, mask, 0.5)
    np.testing.assert_allclose(y, x @ W_eff + b, rtol=1e-13)
    np.testing.assert_allclose(W_used, W_eff, rtol=1e-15)
    dy = rng.standard_normal((N, D_OUT))
    dx, dW, db = dropconnect_backward(dy, x, W_used, mask, 0.5)
    np.testing.assert_allclose(dx, dy @ W_eff.T, rtol=1e-13)
    np.testing.assert_allclose(dW, (x.T @ dy) * mask / 0.5, rtol=1e-13)
    np.testing.assert_allclose(db, dy.sum(0), rtol=1e-13)
    # no mask: nothing dropped, the plain affine map and its gradients
    y, W_used = dropconnect_forward(x, W, None, None, 0.5)
    assert W_used is W
    np.testing.assert_allclose(y, x @ W, rtol=1e-13)
    dx, dW, db = dropconnect_backward(dy, x, W, None, 0.5, bias=False, input_grad=False)
    assert dx is None and db is None
    np.testing.assert_allclose(dW, x.T @ dy, rtol=1e-13)


def test_dropconnect_kernel_accumulates_into_given_gradients(rng):
    x = rng.standard_normal((N, D_IN))
    W = rng.standard_normal((D_IN, D_OUT))
    mask = keep_mask(W.shape, 0.3, rng)
    _, W_used = dropconnect_forward(x, W, None, mask, 0.3)
    dy = rng.standard_normal((N, D_OUT))
    fresh = dropconnect_backward(dy, x, W_used, mask, 0.3)
    dW, db = np.ones_like(W), np.ones(D_OUT)
    out = dropconnect_backward(dy, x, W_used, mask, 0.3, dW=dW, db=db, scratch=np.empty_like(W))
    assert out[1] is dW and out[2] is db
    np.testing.assert_array_equal(out[0], fresh[0])
    np.testing.assert_array_equal(dW, 1 + fresh[1])
    np.testing.assert_array_equal(db, 1 + fresh[2])


def test_dropconnect_train_drops_weights_not_bias(rng):
    layer = DropConnect(D_IN, D_OUT, p=0.5, rng=0, dtype=np.float64)
    x = rng.standard_normal((N, D_IN))
    y = layer(x)
    mask = layer.mask
    assert mask.dtype == np.bool_ and mask.shape == (D_IN, D_OUT)
    assert 0 < mask.sum() < mask.size
    W, b = layer.weight.data, layer.bias.data
    np.testing.assert_allclose(y, x @ (W * mask / 0.5) + b, rtol=1e-13)
    np.testing.assert_allclose(layer(np.zeros((1, D_IN))), b[None, :], rtol=1e-15)


def test_dropconnect_eval_is_linear(rng):
    layer = DropConnect(D_IN, D_OUT, p=0.7, rng=3, dtype=np.float64).eval()
    linear = Linear(D_IN, D_OUT, rng=3, dtype=np.float64)  # same seed: same weights
    x = rng.standard_normal((N, D_IN))
    np.testing.assert_array_equal(layer(x), linear(x))
    assert layer.mask is None
    dy = rng.standard_normal((N, D_OUT))
    np.testing.assert_allclose(layer.backward(dy), linear.backward(dy), rtol=1e-15)
    np.testing.assert_allclose(layer.weight.grad, linear.weight.grad, rtol=1e-15)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("bias", [True, False])
def test_dropconnect_gradients_with_a_fixed_mask(rng, mode, bias):
    layer = DropConnect(D_IN, D_OUT, p=0.3, bias=bias, rng=0, dtype=np.float64)
    layer.train(mode == "train")
    check_layer_gradients(layer, rng.standard_normal((N, D_IN)), rng, before_forward=_reseed(layer))
    if mode == "train":
        assert not layer.mask.all()


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_dropconnect_matches_torch_with_the_same_mask(torch, rng, dtype, tol):
    p = 0.4
    layer = DropConnect(9, 7, p=p, rng=5, dtype=dtype)
    x = rng.standard_normal((11, 9)).astype(dtype)
    dy = rng.standard_normal((11, 7)).astype(dtype)
    y = layer(x)
    dx = layer.backward(dy)
    assert y.dtype == dx.dtype == layer.weight.grad.dtype == dtype
    xt = torch.from_numpy(x).requires_grad_(True)
    Wt = torch.from_numpy(layer.weight.data.copy()).requires_grad_(True)
    bt = torch.from_numpy(layer.bias.data.copy()).requires_grad_(True)
    yt = xt @ (Wt * torch.from_numpy(layer.mask) / (1 - p)) + bt
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.weight.grad, Wt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), rtol=tol, atol=tol)


def test_dropconnect_astype(rng):
    layer = DropConnect(D_IN, D_OUT, rng=0)
    layer(rng.standard_normal((N, D_IN)))
    layer.astype(np.float64)
    assert layer.dtype == np.float64 and layer.weight.data.dtype == np.float64
    y = layer(rng.standard_normal((N, D_IN)))
    assert y.dtype == layer.backward(np.ones_like(y)).dtype == layer.weight.grad.dtype == np.float64


def test_dropconnect_repr():
    assert repr(DropConnect(3, 2, p=0.2, bias=False, rng=0)) == (
        "DropConnect(in_features=3, out_features=2, p=0.2, bias=False)"
    )
    assert repr(Dropout(0.1)) == "Dropout(p=0.1)"


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("p, error", [(-0.1, ValueError), (1.0, ValueError), (1.5, ValueError),
                                      ("0.5", TypeError), (None, TypeError), (np.nan, ValueError)])
def test_bad_p(p, error):
    with pytest.raises(error, match="Dropout: p") as info:
        Dropout(p)
    assert repr(p) in str(info.value) or "nan" in str(info.value)
    with pytest.raises(error, match="DropConnect: p"):
        DropConnect(3, 2, p=p)


def test_dropconnect_unknown_init_lists_the_valid_names():
    with pytest.raises(ValueError, match="xavier_uniform"):
        DropConnect(3, 2, init="xavier")


@pytest.mark.parametrize(
    "x, error, match",
    [
        (np.zeros(5), ValueError, "rank 2"),
        (np.zeros((2, 5, 1)), ValueError, "rank 2"),
        (np.zeros((2, 5), dtype=np.int32), TypeError, "floating-point"),
    ],
)
@pytest.mark.parametrize("make", [lambda: Dropout(0.5, rng=0), lambda: DropConnect(5, 2, rng=0)])
def test_bad_input(make, x, error, match):
    layer = make()
    with pytest.raises(error, match=match) as info:
        layer(x)
    assert type(layer).__name__ in str(info.value)


@pytest.mark.parametrize("make", [lambda: Dropout(0.5, rng=0), lambda: DropConnect(5, 2, rng=0)])
@pytest.mark.parametrize("training", [True, False])
def test_non_finite_inputs_pass_through(make, training):
    """As in PyTorch: no error, and a NaN or an infinity stays in its own row."""
    layer = make().train(training)
    x = np.ones((3, 5))
    x[0, 1], x[2, 3] = np.nan, -np.inf
    with np.errstate(all="ignore"):
        y = layer(x)
        layer.backward(np.ones_like(y))
    assert np.isfinite(y[1]).all()
    if isinstance(layer, Dropout):  # a dropped unit is 0·NaN = NaN, as torch's x·mask/(1−p)
        assert np.isnan(y[0, 1]) and not np.isfinite(y[2, 3])
    else:
        assert not np.isfinite(y[0]).all() and not np.isfinite(y[2]).all()


def test_dropconnect_wrong_feature_count():
    with pytest.raises(ValueError, match="DropConnect: expected input with 5 features"):
        DropConnect(5, 2, rng=0)(np.zeros((2, 4)))


@pytest.mark.parametrize("make, out", [(lambda: Dropout(0.5, rng=0), 5),
                                       (lambda: DropConnect(5, 2, rng=0), 2)])
def test_backward_errors(make, out):
    layer = make()
    name = type(layer).__name__
    with pytest.raises(RuntimeError, match=f"{name}.backward was called before forward"):
        layer.backward(np.zeros((3, out)))
    layer(np.ones((3, 5)))
    with pytest.raises(ValueError, match=f"{name}.backward: expected a gradient of shape"):
        layer.backward(np.zeros((3, out + 1)))


# -- dtypes and seeds -----------------------------------------------------------------


def test_dropout_keeps_the_input_dtype(rng):
    layer = Dropout(0.5, rng=0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32
    assert layer.backward(np.ones((4, 3))).dtype == np.float32
    assert layer(x.astype(np.float64)).dtype == np.float64


def test_same_seed_same_masks(rng):
    x = rng.standard_normal((10, 8))
    a, b, c = Dropout(0.5, rng=7), Dropout(0.5, rng=7), Dropout(0.5, rng=8)
    for _ in range(3):
        a(x), b(x), c(x)
        np.testing.assert_array_equal(a.mask, b.mask)
    assert not np.array_equal(a.mask, c.mask)
    # a float32 and a float64 model draw the same masks from one seed
    d = Dropout(0.5, rng=7)
    d(x.astype(np.float32))
    e = Dropout(0.5, rng=7)
    e(x)
    np.testing.assert_array_equal(d.mask, e.mask)


def test_same_seed_same_dropconnect_weights_and_masks(rng):
    x = rng.standard_normal((3, 8))
    a, b = DropConnect(8, 4, rng=9), DropConnect(8, 4, rng=9)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    for _ in range(3):
        np.testing.assert_array_equal(a(x), b(x))
        np.testing.assert_array_equal(a.mask, b.mask)
