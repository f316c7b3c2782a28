"""The compiled BatchNorm, ReLU and Dropout kernels (``nn.kernels``) give the NumPy
code's numbers bit for bit, and the layers give the same results on both paths.

"Bit for bit" is checked on the raw bytes (so +0 and −0, and NaNs, must match too).
The NumPy path is run by setting ``kernels.ENABLED`` to False; ``MIN_SIZE`` is set to 0
so that small layers take the compiled path as well.
"""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn, optim
from trainlab.nn import kernels
from trainlab.nn.activations import relu_backward, relu_forward
from trainlab.nn.dropout import dropout_backward, dropout_forward, keep_mask
from trainlab.nn.normalization import batchnorm_backward, scale_shift, standardize

needs_numba = pytest.mark.skipif(not kernels.numba_available(), reason="Numba is not installed")

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


@pytest.fixture
def compiled(monkeypatch):
    """The compiled path for every size."""
    if not kernels.numba_available():
        pytest.skip("Numba is not installed")
    monkeypatch.setattr(kernels, "ENABLED", True)
    monkeypatch.setattr(kernels, "MIN_SIZE", 0)


# -- the kernels against the NumPy functions ----------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_relu_kernels_are_bit_identical(compiled, shape, dtype):
    z = activations(shape, dtype)
    z.flat[::5] = 0.0
    z.flat[1::7] = -0.0
    z.flat[2::11] = np.nan
    dy = activations(shape, dtype, seed=1)
    dy.flat[3::13] = np.nan
    y, mask = kernels.relu_forward(z)
    y_ref, mask_ref = relu_forward(z)
    same_bits(y, y_ref)
    same_bits(mask, mask_ref)
    same_bits(kernels.masked_scale(dy, mask, 1.0), relu_backward(dy, mask_ref))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_dropout_kernels_are_bit_identical(compiled, shape, dtype, p):
    x = activations(shape, dtype)
    x.flat[::9] = -0.0
    dy = activations(shape, dtype, seed=1)
    u = np.random.default_rng(5).random(shape)
    y, mask = kernels.dropout_forward(x, u, p)
    mask_ref = keep_mask(shape, p, np.random.default_rng(5))
    same_bits(mask, mask_ref)
    same_bits(y, dropout_forward(x, mask_ref, p))
    same_bits(kernels.masked_scale(dy, mask, 1.0 / (1.0 - p)), dropout_backward(dy, mask_ref, p))


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_kernels_are_bit_identical(compiled, shape, dtype, affine):
    d = shape[1]
    rng = np.random.default_rng(3)
    x = activations(shape, dtype) * dtype(rng.uniform(0.1, 10.0)) + dtype(4.0)
    gamma = rng.uniform(0.5, 2.0, d).astype(dtype) if affine else None
    beta = rng.standard_normal(d).astype(dtype) if affine else None
    y, x_hat, inv_std, mean, var = kernels.batchnorm_forward(x, gamma, beta, 1e-5)
    x_hat_ref, inv_std_ref, mean_ref, var_ref = standardize(x, 0, 1e-5)
    same_bits(mean, mean_ref.reshape(-1))
    same_bits(var, var_ref.reshape(-1))
    same_bits(inv_std, inv_std_ref.reshape(-1))
    same_bits(x_hat, x_hat_ref)
    same_bits(y, scale_shift(x_hat_ref, gamma, beta))

    dy = activations(shape, dtype, seed=7)
    dx, dgamma, dbeta = kernels.batchnorm_backward(dy, x_hat, inv_std, gamma)
    dx_ref, dgamma_ref, dbeta_ref = batchnorm_backward(dy, x_hat_ref, inv_std_ref.reshape(-1), gamma)
    same_bits(dbeta, dbeta_ref)
    same_bits(dgamma, dgamma_ref)
    same_bits(dx, dx_ref)


def test_the_python_loops_are_the_formulas():
    """The kernels run as plain Python too (their documentation): the same numbers."""
    n, d = 5, 3
    x = activations((n, d), np.float64)
    gamma, beta = np.array([1.5, 0.5, 2.0]), np.array([0.1, -0.2, 0.3])
    x_hat, y = np.empty_like(x), np.empty_like(x)
    mean, var, inv_std = np.empty(d), np.empty(d), np.empty(d)
    kernels.batchnorm_forward_kernel(
        x, gamma, beta, np.array([n, 1e-5, 1.0]), True, True, x_hat, y, mean, var, inv_std
    )
    x_hat_ref, inv_std_ref, _, _ = standardize(x, 0, 1e-5)
    same_bits(x_hat, x_hat_ref)
    same_bits(y, scale_shift(x_hat_ref, gamma, beta))
    dy = activations((n, d), np.float64, seed=2)
    dx, dgamma, dbeta, work = np.empty_like(x), np.empty(d), np.empty(d), np.empty((3, d))
    kernels.batchnorm_backward_kernel(
        dy, x_hat, inv_std, gamma, np.array([float(n)]), True, dx, dgamma, dbeta, work
    )
    same_bits(dx, batchnorm_backward(dy, x_hat_ref, inv_std_ref.reshape(-1), gamma)[0])
    flat = x.reshape(-1)
    y, mask = np.empty_like(flat), np.empty(flat.shape, dtype=bool)
    kernels.relu_forward_kernel(flat, y, mask)
    same_bits(y, np.maximum(flat, 0))
    u = np.random.default_rng(0).random(flat.shape)
    kernels.dropout_forward_kernel(flat, u, 0.3, np.array([1 / 0.7, 1.0, 0.0]), mask, y)
    same_bits(y, dropout_forward(flat, u >= 0.3, 0.3))
    dz = np.empty_like(flat)
    kernels.masked_scale_kernel(flat, mask, np.array([2.0, 1.0, 0.0]), dz)
    same_bits(dz, flat * mask * 2.0)


def test_disabled_small_or_strided_arrays_take_the_numpy_path(monkeypatch):
    z = activations((256, 512), np.float32)
    monkeypatch.setattr(kernels, "ENABLED", False)
    assert kernels.relu_forward(z) is None
    assert kernels.batchnorm_forward(z, None, None, 1e-5) is None
    monkeypatch.setattr(kernels, "ENABLED", True)
    assert kernels.relu_forward(z[:, ::2]) is None  # not contiguous
    assert kernels.masked_scale(z.T, np.ones(z.T.shape, dtype=bool), 1.0) is None
    assert kernels.relu_forward(z[:4]) is None  # fewer than MIN_SIZE elements
    assert kernels.batchnorm_forward(z[:4], None, None, 1e-5) is not None  # any size
    monkeypatch.setattr(kernels, "MIN_SIZE", 0)
    one = np.ascontiguousarray(z[:, :1])  # one feature: NumPy sums it in another order
    assert kernels.batchnorm_forward(one, None, None, 1e-5) is None
    assert kernels.batchnorm_backward(one, one, np.ones(1, np.float32), None) is None
    with pytest.raises(ValueError, match="dropout_forward"):
        kernels.dropout_forward(z, np.zeros(z.shape, dtype=np.float32), 0.5)


# -- the layers on both paths ---------------------------------------------------------------


def train(enabled: bool, dtype, monkeypatch, steps: int = 3):
    """A Linear→BatchNorm→ReLU→Dropout net trained a few steps; everything it produced."""
    monkeypatch.setattr(kernels, "ENABLED", enabled)
    monkeypatch.setattr(kernels, "MIN_SIZE", 0)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate([(20, 70), (70, 33)]):
        layers += [nn.Linear(a, b, rng=i, dtype=dtype), nn.BatchNorm(b, dtype=dtype),
                   nn.ReLU(), nn.Dropout(0.3, rng=10 + i)]
    layers.append(nn.Linear(33, 5, rng=9, dtype=dtype))
    model = nn.Sequential(*layers)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
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


@needs_numba
@pytest.mark.parametrize("dtype", DTYPES)
def test_training_is_bit_identical_on_both_paths(dtype, monkeypatch):
    compiled = train(True, dtype, monkeypatch)
    reference = train(False, dtype, monkeypatch)
    assert len(compiled) == len(reference)
    for a, b in zip(compiled, reference):
        same_bits(np.asarray(a), np.asarray(b))


@needs_numba
def test_the_compiled_path_is_taken(monkeypatch):
    """The layers call the kernels when they are enabled (the test above compares something)."""
    calls = []
    original = kernels.kernel
    monkeypatch.setattr(kernels, "kernel", lambda name: calls.append(name) or original(name))
    train(True, np.float32, monkeypatch, steps=1)
    assert {"batchnorm_forward", "batchnorm_backward", "relu_forward", "masked_scale",
            "dropout_forward"} <= set(calls)
