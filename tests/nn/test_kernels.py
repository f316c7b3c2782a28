"""The fused BatchNorm, ReLU and Dropout kernels of every backend give the NumPy code's
numbers bit for bit, and the layers give the same results on every backend.

"Bit for bit" is checked on the raw bytes (so +0 and −0, and NaNs, must match too).
Each test runs on the "numpy" backend (every kernel declines, and the layer's NumPy
code runs: the reference) and on the "numba" backend with ``min_size=0``, so that small
layers take the compiled path as well.
"""

from __future__ import annotations

import numpy as np
import pytest

from backends import backend_fixture, make, needs_numba  # noqa: F401  (the fixture)
from trainlab import nn, optim
from trainlab.backend import NumbaBackend, NumpyBackend, loops
from trainlab.backend.compiled import named_scalars
from trainlab.nn.activations import relu_backward, relu_forward
from trainlab.nn.dropout import dropout_backward, dropout_forward, keep_mask
from trainlab.nn.normalization import batchnorm_backward, scale_shift, standardize

# (N, D): odd sizes, fewer features than one block of them, block multiples, two
# features, and the activations of a 512-wide layer with batch 256
SHAPES = [(2, 3), (7, 65), (33, 130), (256, 512), (129, 2)]
DTYPES = [np.float32, np.float64]


def same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == np.ascontiguousarray(b).tobytes(), (
        f"max |difference| {np.nanmax(np.abs(a.astype(np.float64) - b)) if a.size else 0}"
    )


def activations(shape, dtype, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3.0 + 0.5).astype(dtype)
    return x


def runs(backend, result) -> bool:
    """Whether the kernel ran (the compiled backend runs every one of these; the numpy
    backend declines them all)."""
    ran = result is not None
    assert ran == (backend.name == "numba")
    return ran


# -- the kernels against the NumPy functions ----------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_relu_kernels_are_bit_identical(backend, shape, dtype):
    z = activations(shape, dtype)
    z.flat[::5] = 0.0
    z.flat[1::7] = -0.0
    z.flat[2::11] = np.nan
    dy = activations(shape, dtype, seed=1)
    dy.flat[3::13] = np.nan
    y_ref, mask_ref = relu_forward(z)
    fast = backend.relu_forward(z)
    y, mask = fast if runs(backend, fast) else (y_ref, mask_ref)
    same_bits(y, y_ref)
    same_bits(mask, mask_ref)
    dz = backend.masked_scale(dy, mask, 1.0)
    same_bits(dz if runs(backend, dz) else relu_backward(dy, mask), relu_backward(dy, mask_ref))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_dropout_kernels_are_bit_identical(backend, shape, dtype, p):
    x = activations(shape, dtype)
    x.flat[::9] = -0.0
    dy = activations(shape, dtype, seed=1)
    mask_ref = keep_mask(shape, p, np.random.default_rng(5))
    if backend.takes(x):  # as Dropout.forward does
        y, mask = backend.dropout_forward(x, np.random.default_rng(5).random(shape), p)
    else:
        assert backend.name == "numpy"
        mask = keep_mask(shape, p, np.random.default_rng(5))
        y = dropout_forward(x, mask, p)
    same_bits(mask, mask_ref)
    same_bits(y, dropout_forward(x, mask_ref, p))
    dx = backend.masked_scale(dy, mask, 1.0 / (1.0 - p))
    dx = dx if runs(backend, dx) else dropout_backward(dy, mask, p)
    same_bits(dx, dropout_backward(dy, mask_ref, p))


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_kernels_are_bit_identical(backend, shape, dtype, affine):
    d = shape[1]
    rng = np.random.default_rng(3)
    x = activations(shape, dtype) * dtype(rng.uniform(0.1, 10.0)) + dtype(4.0)
    gamma = rng.uniform(0.5, 2.0, d).astype(dtype) if affine else None
    beta = rng.standard_normal(d).astype(dtype) if affine else None
    x_hat_ref, inv_std_ref, mean_ref, var_ref = standardize(x, 0, 1e-5)
    fast = backend.batchnorm_forward(x, gamma, beta, 1e-5)
    if runs(backend, fast):
        y, x_hat, inv_std, mean, var = fast
    else:
        x_hat, inv_std, mean, var = standardize(x, 0, 1e-5)
        y = scale_shift(x_hat, gamma, beta)
    same_bits(mean.reshape(-1), mean_ref.reshape(-1))
    same_bits(var.reshape(-1), var_ref.reshape(-1))
    same_bits(inv_std.reshape(-1), inv_std_ref.reshape(-1))
    same_bits(x_hat, x_hat_ref)
    same_bits(y, scale_shift(x_hat_ref, gamma, beta))

    dy = activations(shape, dtype, seed=7)
    inv_std = inv_std.reshape(-1)
    dx_ref, dgamma_ref, dbeta_ref = batchnorm_backward(
        dy, x_hat_ref, inv_std_ref.reshape(-1), gamma
    )
    fast = backend.batchnorm_backward(dy, x_hat, inv_std, gamma)
    dx, dgamma, dbeta = (
        fast if runs(backend, fast) else batchnorm_backward(dy, x_hat, inv_std, gamma)
    )
    same_bits(dbeta, dbeta_ref)
    same_bits(dgamma, dgamma_ref)
    same_bits(dx, dx_ref)


def test_the_python_loops_are_the_formulas():
    """The loops run as plain Python too (their documentation): the same numbers."""
    n, d = 5, 3
    x = activations((n, d), np.float64)
    gamma, beta = np.array([1.5, 0.5, 2.0]), np.array([0.1, -0.2, 0.3])
    x_hat, y = np.empty_like(x), np.empty_like(x)
    mean, var, inv_std = np.empty(d), np.empty(d), np.empty(d)
    c = named_scalars(x.dtype, count=n, eps=1e-5, one=1.0)
    loops.batchnorm_forward(x, gamma, beta, c, True, True, x_hat, y, mean, var, inv_std)
    x_hat_ref, inv_std_ref, _, _ = standardize(x, 0, 1e-5)
    same_bits(x_hat, x_hat_ref)
    same_bits(y, scale_shift(x_hat_ref, gamma, beta))
    dy = activations((n, d), np.float64, seed=2)
    dx, dgamma, dbeta, work = np.empty_like(x), np.empty(d), np.empty(d), np.empty((3, d))
    loops.batchnorm_backward(
        dy, x_hat, inv_std, gamma, named_scalars(x.dtype, count=n), True, dx, dgamma, dbeta, work
    )
    same_bits(dx, batchnorm_backward(dy, x_hat_ref, inv_std_ref.reshape(-1), gamma)[0])
    flat = x.reshape(-1)
    y, mask = np.empty_like(flat), np.empty(flat.shape, dtype=bool)
    loops.relu_forward(flat, y, mask)
    same_bits(y, np.maximum(flat, 0))
    u = np.random.default_rng(0).random(flat.shape)
    c = named_scalars(flat.dtype, scale=1 / 0.7, one=1.0, zero=0.0)
    loops.dropout_forward(flat, u, 0.3, c, mask, y)
    same_bits(y, dropout_forward(flat, u >= 0.3, 0.3))
    dz = np.empty_like(flat)
    loops.masked_scale(flat, mask, named_scalars(flat.dtype, scale=2.0, one=1.0, zero=0.0), dz)
    same_bits(dz, flat * mask * 2.0)


def test_the_numpy_backend_declines_every_kernel():
    z = activations((256, 512), np.float32)
    numpy = NumpyBackend()
    assert not numpy.takes(z)
    assert numpy.relu_forward(z) is None
    assert numpy.masked_scale(z, z > 0, 1.0) is None
    assert numpy.batchnorm_forward(z, None, None, 1e-5) is None
    assert numpy.batchnorm_backward(z, z, np.ones(512, np.float32), None) is None
    with pytest.raises(ValueError, match="NumpyBackend.dropout_forward: expected x that takes"):
        numpy.dropout_forward(z, np.zeros(z.shape), 0.5)


@needs_numba
def test_small_or_strided_arrays_take_the_numpy_path():
    z = activations((256, 512), np.float32)
    compiled = NumbaBackend()  # the default min_size
    assert compiled.relu_forward(z[:, ::2]) is None  # not contiguous
    assert compiled.masked_scale(z.T, np.ones(z.T.shape, dtype=bool), 1.0) is None
    assert compiled.relu_forward(z[:4]) is None  # fewer than min_size elements
    assert compiled.batchnorm_forward(z[:4], None, None, 1e-5) is not None  # any size
    assert compiled.relu_forward(z.astype(np.float16)) is None
    every_size = NumbaBackend(min_size=0)
    one = np.ascontiguousarray(z[:, :1])  # one feature: NumPy sums it in another order
    assert every_size.batchnorm_forward(one, None, None, 1e-5) is None
    assert every_size.batchnorm_backward(one, one, np.ones(1, np.float32), None) is None
    with pytest.raises(ValueError, match="NumbaBackend.dropout_forward"):
        every_size.dropout_forward(z, np.zeros(z.shape, dtype=np.float32), 0.5)


# -- the layers on every backend ------------------------------------------------------------


def train(backend, dtype, steps: int = 3):
    """A Linear→BatchNorm→ReLU→Dropout net trained a few steps; everything it produced."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate([(20, 70), (70, 33)]):
        layers += [nn.Linear(a, b, rng=i, dtype=dtype), nn.BatchNorm(b, dtype=dtype),
                   nn.ReLU(), nn.Dropout(0.3, rng=10 + i)]
    layers.append(nn.Linear(33, 5, rng=9, dtype=dtype))
    model = nn.Sequential(*layers).use_backend(backend)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, backend=backend)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    record = []
    for _ in range(steps):
        x = rng.standard_normal((16, 20)).astype(dtype)
        y = rng.integers(0, 5, 16)
        out = model(x)
        record.append(out)
        loss_fn(out, y)
        record.append(model.backward(loss_fn.backward()))
        record += [p.grad.copy() for p in model.parameters()]
        opt.step()
        opt.zero_grad()
    record += [a.copy() for a in model.state_dict().values()]
    model.eval()
    record.append(model(rng.standard_normal((8, 20)).astype(dtype)))
    return record


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_is_bit_identical_on_every_backend(backend, dtype):
    result = train(backend, dtype)
    reference = train(NumpyBackend(), dtype)
    assert len(result) == len(reference)
    for a, b in zip(result, reference, strict=False):
        same_bits(np.asarray(a), np.asarray(b))


@needs_numba
def test_the_compiled_path_is_taken(monkeypatch):
    """The layers call the compiled kernels on the numba backend (the test above compares
    something)."""
    from trainlab.backend import compiled

    calls = []

    class Recording(dict):
        def __getitem__(self, name):
            calls.append(name)
            return compiled.compiled(name)

    monkeypatch.setattr(compiled, "KERNELS", Recording())
    train(make("numba"), np.float32, steps=1)
    assert {"batchnorm_forward", "batchnorm_backward", "relu_forward", "masked_scale",
            "dropout_forward", "sgd_update"} <= set(calls)
