"""Property-based gradient checks: every layer and loss against float64 central differences.

Shapes, hyperparameters and seeds are drawn by hypothesis; the float32 versions must
agree with the float64 ones to float32 round-off and keep their dtype.
"""

from __future__ import annotations

import numpy as np
from hardening_support import FUZZ, FUZZ_SMALL
from hypothesis import given
from hypothesis import strategies as st

from gradcheck import numerical_gradient
from trainlab import init, nn

seeds = st.integers(0, 2**31 - 1)
batches = st.integers(2, 6)
widths = st.integers(1, 5)


def away_from_zero(x: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """Move inputs off the kink at 0 (ReLU, LeakyReLU, ELU) by at least ``margin``."""
    return np.where(x >= 0, x + margin, x - margin)


def check_gradients(make_layer, x: np.ndarray, seed: int, *, reseed=None, rtol=1e-5, atol=1e-7):
    """L = Σ y ⊙ g: backward(g) must equal dL/dx, and every p.grad dL/dp, in float64."""
    layer = make_layer()
    g = np.random.default_rng(seed).standard_normal(layer_output(layer, x, reseed).shape)

    def loss() -> float:
        return float(np.sum(layer_output(layer, x, reseed) * g))

    layer.zero_grad()
    layer_output(layer, x, reseed)
    dx = layer.backward(g)
    assert dx.shape == x.shape and dx.dtype == np.float64
    grads = {name: p.grad.copy() for name, p in layer.named_parameters()}
    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=rtol, atol=atol, err_msg="dx")
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(
            grads[name], numerical_gradient(loss, p.data), rtol=rtol, atol=atol, err_msg=name
        )


def layer_output(layer, x, reseed):
    if reseed is not None:
        reseed(layer)
    return layer.forward(x)


ACTIVATIONS = {
    "Sigmoid": (lambda h: nn.Sigmoid(), False),
    "Tanh": (lambda h: nn.Tanh(), False),
    "ReLU": (lambda h: nn.ReLU(), True),
    "LeakyReLU": (lambda h: nn.LeakyReLU(h), True),
    "ELU": (lambda h: nn.ELU(abs(h) + 0.1), True),
    "SELU": (lambda h: nn.SELU(), True),
    "GELU": (lambda h: nn.GELU(), False),
    "Identity": (lambda h: nn.Identity(), False),
    "Softmax": (lambda h: nn.Softmax(), False),
}


@FUZZ
@given(
    name=st.sampled_from(sorted(ACTIVATIONS)),
    n=batches,
    d=widths,
    hyper=st.floats(-0.5, 2.0),
    scale=st.floats(0.1, 4.0),
    seed=seeds,
)
def test_activation_gradients(name, n, d, hyper, scale, seed):
    make, kinked = ACTIVATIONS[name]
    x = scale * np.random.default_rng(seed).standard_normal((n, d))
    if kinked:
        x = away_from_zero(x)
    check_gradients(lambda: make(hyper), x, seed)


@FUZZ
@given(
    n=batches,
    d_in=widths,
    d_out=widths,
    bias=st.booleans(),
    init_name=st.sampled_from(["torch_default", "xavier_normal", "he_uniform", "lecun_normal"]),
    seed=seeds,
)
def test_linear_gradients(n, d_in, d_out, bias, init_name, seed):
    x = np.random.default_rng(seed).standard_normal((n, d_in))
    check_gradients(
        lambda: nn.Linear(d_in, d_out, bias=bias, init=init_name, rng=seed, dtype=np.float64),
        x,
        seed,
    )


@FUZZ
@given(n=batches, d=widths, p=st.floats(0.0, 0.9), seed=seeds)
def test_dropout_gradients_with_a_fixed_mask(n, d, p, seed):
    x = np.random.default_rng(seed).standard_normal((n, d))

    def reseed(layer):
        layer.rng = np.random.default_rng(seed)

    check_gradients(lambda: nn.Dropout(p, rng=seed), x, seed, reseed=reseed)


@FUZZ
@given(n=batches, d_in=widths, d_out=widths, p=st.floats(0.0, 0.8), seed=seeds)
def test_dropconnect_gradients_with_a_fixed_mask(n, d_in, d_out, p, seed):
    x = np.random.default_rng(seed).standard_normal((n, d_in))

    def reseed(layer):
        layer.rng = np.random.default_rng(seed + 1)

    check_gradients(
        lambda: nn.DropConnect(d_in, d_out, p=p, rng=seed, dtype=np.float64),
        x,
        seed,
        reseed=reseed,
    )


@FUZZ
@given(
    n=st.integers(3, 6),
    d=widths,
    eps=st.floats(1e-6, 1e-2),
    momentum=st.one_of(st.none(), st.floats(0.0, 1.0)),
    affine=st.booleans(),
    shift=st.floats(-5.0, 5.0),
    seed=seeds,
)
def test_batchnorm_training_gradients(n, d, eps, momentum, affine, shift, seed):
    rng = np.random.default_rng(seed)
    x = shift + rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, size=d)

    def make():
        layer = nn.BatchNorm(d, eps=eps, momentum=momentum, affine=affine, dtype=np.float64)
        if affine:  # non-trivial γ, β so that their gradients are checked at a generic point
            layer.weight.data[:] = rng.uniform(0.5, 2.0, size=d)
            layer.bias.data[:] = rng.standard_normal(d)
        return layer

    check_gradients(make, x, seed, rtol=1e-4, atol=1e-6)


@FUZZ
@given(
    n=batches,
    d=st.integers(2, 6),
    eps=st.floats(1e-6, 1e-2),
    affine=st.booleans(),
    seed=seeds,
)
def test_layernorm_gradients(n, d, eps, affine, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, size=(n, 1))
    check_gradients(
        lambda: nn.LayerNorm(d, eps=eps, elementwise_affine=affine, dtype=np.float64),
        x,
        seed,
        rtol=1e-4,
        atol=1e-6,
    )


@FUZZ_SMALL
@given(
    n=st.integers(3, 5),
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    act=st.sampled_from(["Tanh", "Sigmoid", "GELU"]),
    norm=st.sampled_from([None, "layer"]),
    seed=seeds,
)
def test_sequential_gradients(n, sizes, act, norm, seed):
    x = np.random.default_rng(seed).standard_normal((n, sizes[0]))

    def make():
        layers = []
        # one size gives no pair (the fallback below); otherwise the lists have one length
        for i, (a, b) in enumerate(zip(sizes[:-1], [*sizes[1:-1], 2], strict=False)):
            layers.append(nn.Linear(a, b, rng=seed + i, dtype=np.float64))
            if norm == "layer" and b > 1:
                layers.append(nn.LayerNorm(b, dtype=np.float64))
            layers.append(ACTIVATIONS[act][0](0.0))
        if not layers:
            layers = [nn.Linear(sizes[0], 2, rng=seed, dtype=np.float64)]
        return nn.Sequential(*layers)

    check_gradients(make, x, seed, rtol=1e-4, atol=1e-6)


# -- losses -----------------------------------------------------------------------------


def check_loss(loss_fn, pred: np.ndarray, target, rtol=1e-5, atol=1e-8):
    value = loss_fn(pred, target)
    assert np.isfinite(value)
    grad = loss_fn.backward()
    assert grad.shape == pred.shape and grad.dtype == pred.dtype
    num = numerical_gradient(lambda: loss_fn(pred, target), pred)
    np.testing.assert_allclose(grad, num, rtol=rtol, atol=atol)


@FUZZ
@given(n=batches, k=widths, as_column=st.booleans(), scale=st.floats(0.1, 10.0), seed=seeds)
def test_mse_gradients(n, k, as_column, scale, seed):
    rng = np.random.default_rng(seed)
    pred = scale * rng.standard_normal((n, k))
    target = rng.standard_normal((n,) if as_column and k == 1 else (n, k))
    check_loss(nn.MSELoss(), pred, target)


@FUZZ
@given(n=batches, column=st.booleans(), soft=st.booleans(), scale=st.floats(0.1, 20.0), seed=seeds)
def test_bce_with_logits_gradients(n, column, soft, scale, seed):
    rng = np.random.default_rng(seed)
    shape = (n, 1) if column else (n,)
    pred = scale * rng.standard_normal(shape)
    target = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(np.float64)
    check_loss(nn.BCEWithLogitsLoss(), pred, target)


@FUZZ
@given(n=batches, classes=st.integers(2, 6), scale=st.floats(0.1, 20.0), seed=seeds)
def test_cross_entropy_gradients(n, classes, scale, seed):
    rng = np.random.default_rng(seed)
    pred = scale * rng.standard_normal((n, classes))
    check_loss(nn.CrossEntropyLoss(), pred, rng.integers(0, classes, n))


@FUZZ
@given(n=batches, classes=st.integers(2, 6), big=st.floats(50.0, 1e4), seed=seeds)
def test_losses_stay_finite_for_huge_logits(n, classes, big, seed):
    rng = np.random.default_rng(seed)
    for dtype in (np.float32, np.float64):
        logits = (big * rng.choice([-1.0, 1.0], size=(n, classes))).astype(dtype)
        ce = nn.CrossEntropyLoss()
        assert np.isfinite(ce(logits, rng.integers(0, classes, n)))
        assert np.isfinite(ce.backward()).all()
        bce = nn.BCEWithLogitsLoss()
        assert np.isfinite(bce(logits[:, 0], rng.integers(0, 2, n)))
        assert np.isfinite(bce.backward()).all()


# -- float32 follows float64 ---------------------------------------------------------


LAYERS_BOTH_DTYPES = {
    "Linear": lambda d, dt, s: nn.Linear(d, 3, rng=s, dtype=dt),
    "BatchNorm": lambda d, dt, s: nn.BatchNorm(d, dtype=dt),
    "LayerNorm": lambda d, dt, s: nn.LayerNorm(d, dtype=dt),
    "GELU": lambda d, dt, s: nn.GELU(),
    "SELU": lambda d, dt, s: nn.SELU(),
    "Softmax": lambda d, dt, s: nn.Softmax(),
    "Tanh": lambda d, dt, s: nn.Tanh(),
}


@FUZZ
@given(name=st.sampled_from(sorted(LAYERS_BOTH_DTYPES)), n=st.integers(2, 8),
       d=st.integers(2, 6), seed=seeds)
def test_float32_matches_float64_and_keeps_its_dtype(name, n, d, seed):
    rng = np.random.default_rng(seed)
    x64 = rng.standard_normal((n, d))
    outputs = {}
    for dt in (np.float32, np.float64):
        layer = LAYERS_BOTH_DTYPES[name](d, dt, seed)
        y = layer.forward(x64.astype(dt))
        g = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(dt)
        dx = layer.backward(g)
        assert y.dtype == dt and dx.dtype == dt, (y.dtype, dx.dtype)
        for p in layer.parameters():
            assert p.grad.dtype == dt
        outputs[np.dtype(dt).name] = (y, dx)
    for a, b in zip(outputs["float32"], outputs["float64"], strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4)


@FUZZ
@given(
    name=st.sampled_from(sorted(init.INITIALIZERS)),
    fan_in=st.integers(1, 300),
    fan_out=st.integers(1, 300),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=seeds,
)
def test_initializers_shapes_dtypes_bounds_and_seeds(name, fan_in, fan_out, dtype, seed):
    w = init.INITIALIZERS[name](fan_in, fan_out, rng=seed, dtype=dtype)
    assert w.shape == (fan_in, fan_out) and w.dtype == dtype and np.isfinite(w).all()
    again = init.INITIALIZERS[name](fan_in, fan_out, rng=seed, dtype=dtype)
    np.testing.assert_array_equal(w, again)
    var = init.weight_variance(name, fan_in, fan_out)
    if "uniform" in name or name == "torch_default":
        assert np.abs(w).max() <= np.sqrt(3 * var) * (1 + 1e-6)
    if name == "zeros":
        assert not w.any()
