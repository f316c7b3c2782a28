"""Fused kernels for BatchNorm, ReLU and Dropout, compiled with Numba when it is installed.

The layers' NumPy kernels (``normalization.standardize``/``scale_shift``/
``batchnorm_backward``, ``activations.relu_forward``/``relu_backward``,
``dropout.keep_mask``/``dropout_forward``/``dropout_backward``) make one pass over the
(N, D) activations per NumPy operation, with a temporary for most. The loops here
compute the very same formulas in one pass (ReLU, Dropout) or three (BatchNorm: the
sums, then the centring, then the scaling), and give the same numbers **bit for bit**:

- every operation is repeated in the NumPy code's order and in the arrays' dtype (each
  scalar is first cast to it, as NumPy casts a Python float next to a float32 array);
  ``fastmath`` is off, so no product and sum are contracted into a fused multiply-add;
- BatchNorm's per-feature sums over the batch (μ, σ², Σdy, Σdy·x̂) add the rows in
  order, row 0 first, exactly as NumPy's ``sum(axis=0)`` and ``einsum("ij,ij->j")``
  accumulate a C-contiguous (N, D) array. (With a single feature NumPy sums the
  contiguous column pairwise instead, in another order: BatchNorm of one feature keeps
  the NumPy code.)

The kernels run on the calling thread, so results do not depend on thread counts or
scheduling. (Splitting them over two threads with Numba's parallel loops was slower:
starting the threads costs about as much as these 20–50 µs loops take, and the
OpenMP workers' spinning competes with the BLAS threads of the next matrix product.)

Numba is optional (the ``fast`` extra). Without it, with ``ENABLED`` set to False, or
for arrays the kernels do not take (not C-contiguous, not float32/float64, or, for the
elementwise kernels, fewer than ``MIN_SIZE`` elements, where calling the compiled code
costs more than it saves), the wrappers return None and the layers run their NumPy
code. Numba is imported on the first call, not with trainlab; each kernel is compiled
for a dtype on its first use and cached on disk next to this file (``cache=True``), so
later processes load it.

The kernels (``*_kernel``) are plain Python functions: the loop with the formulas is
the documentation, and they run, slowly, without Numba too.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np


def numba_available() -> bool:
    """True when Numba is installed (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


ENABLED: bool = numba_available()
"""Whether BatchNorm, ReLU and Dropout try the compiled kernels (False: their NumPy code)."""

MIN_SIZE: int = 4096
"""ReLU and Dropout arrays with fewer elements run the NumPy code (the call costs more)."""


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# -- kernels (the formulas; compiled by Numba) -------------------------------------------


def relu_forward_kernel(z, y, mask):  # type: ignore[no-untyped-def]
    """ReLU over flat arrays: mask = z > 0, y = max(z, 0) (NaN stays NaN, −0 becomes +0,
    as ``np.maximum(z, 0)``)."""
    for i in range(z.shape[0]):
        zi = z[i]
        pos = zi > 0
        mask[i] = pos
        y[i] = zi if (pos or zi != zi) else 0.0  # noqa: PLR0124 (zi != zi: a NaN)


def masked_scale_kernel(dy, mask, c, dz):  # type: ignore[no-untyped-def]
    """dz = (dy ⊙ mask)·c[0] over flat arrays, the mask as 1 or 0 in dy's dtype.

    c = [scale, 1, 0] in dy's dtype. ReLU's backward (scale 1: ``np.multiply(dy, mask)``,
    and ·1 changes nothing) and Dropout's backward (scale 1/(1−p)).
    """
    scale, one, zero = c[0], c[1], c[2]
    for i in range(dy.shape[0]):
        dz[i] = (dy[i] * (one if mask[i] else zero)) * scale


def dropout_forward_kernel(x, u, p, c, mask, y):  # type: ignore[no-untyped-def]
    """Inverted dropout over flat arrays from the uniform draws u (float64):
    mask = u >= p, y = (x ⊙ mask)·c[0] with c = [1/(1−p), 1, 0] in x's dtype."""
    scale, one, zero = c[0], c[1], c[2]
    for i in range(x.shape[0]):
        keep = u[i] >= p
        mask[i] = keep
        y[i] = (x[i] * (one if keep else zero)) * scale


def batchnorm_forward_kernel(x, gamma, beta, c, has_gamma, has_beta, x_hat, y, mean, var, inv_std):  # type: ignore[no-untyped-def]
    """Batch norm in training mode, x: (N, D) C-contiguous; writes x̂, y (N, D) and
    μ, σ², inv_std (D,). c = [N, ε, 1] in x's dtype. Per feature j (as ``standardize``
    and ``scale_shift``):
        μ = (Σₙ x)/N;  x̂ = x − μ;  σ² = (Σₙ x̂·x̂)/N;  inv_std = 1/√(σ² + ε);
        x̂ ← x̂·inv_std;  y = x̂·γ (or x̂);  y ← y + β.
    The sums run over n = 0 … N−1 in order.
    """
    n, d = x.shape
    count, eps, one = c[0], c[1], c[2]
    row = x[0]
    for j in range(d):
        mean[j] = row[j]
        var[j] = 0.0
    for i in range(1, n):
        row = x[i]
        for j in range(d):
            mean[j] += row[j]
    for j in range(d):
        mean[j] = mean[j] / count
    for i in range(n):
        row = x[i]
        hat = x_hat[i]
        for j in range(d):
            centred = row[j] - mean[j]
            hat[j] = centred
            var[j] += centred * centred
    for j in range(d):
        var[j] = var[j] / count
        inv_std[j] = one / np.sqrt(var[j] + eps)
    for i in range(n):
        hat = x_hat[i]
        out = y[i]
        for j in range(d):
            h = hat[j] * inv_std[j]
            hat[j] = h
            if has_gamma:
                h = h * gamma[j]
            if has_beta:
                h = h + beta[j]
            out[j] = h


def batchnorm_backward_kernel(dy, x_hat, inv_std, gamma, c, has_gamma, dx, dgamma, dbeta, work):  # type: ignore[no-untyped-def]
    """Gradients of batch norm in training mode, dy, x̂: (N, D) C-contiguous, inv_std (D,);
    writes dx (N, D), dγ, dβ (D,); work: scratch (3, D). c = [N] in dy's dtype.
    Per feature j (as ``batchnorm_backward``):
        dβ = Σₙ dy;  dγ = Σₙ dy·x̂;  dx = ((dy − dβ/N) − x̂·(dγ/N))·(γ·inv_std or inv_std).
    The sums run over n = 0 … N−1 in order.
    """
    n, d = dy.shape
    count = c[0]
    g = dy[0]
    hat = x_hat[0]
    for j in range(d):
        dbeta[j] = g[j]
        dgamma[j] = g[j] * hat[j]
    for i in range(1, n):
        g = dy[i]
        hat = x_hat[i]
        for j in range(d):
            dbeta[j] += g[j]
            dgamma[j] += g[j] * hat[j]
    shift, slope, scale = work[0], work[1], work[2]
    for j in range(d):
        shift[j] = dbeta[j] / count
        slope[j] = dgamma[j] / count
        scale[j] = gamma[j] * inv_std[j] if has_gamma else inv_std[j]
    for i in range(n):
        g = dy[i]
        hat = x_hat[i]
        out = dx[i]
        for j in range(d):
            out[j] = ((g[j] - shift[j]) - hat[j] * slope[j]) * scale[j]


# -- compiled on first use ---------------------------------------------------------------

_KERNELS = {
    "relu_forward": relu_forward_kernel,
    "masked_scale": masked_scale_kernel,
    "dropout_forward": dropout_forward_kernel,
    "batchnorm_forward": batchnorm_forward_kernel,
    "batchnorm_backward": batchnorm_backward_kernel,
}
_COMPILED: dict[str, Callable[..., None]] = {}


def kernel(name: str) -> Callable[..., None] | None:
    """The kernel ``<name>_kernel`` compiled by Numba, or None when ``ENABLED`` is False.
    Numba is imported, and the kernels wrapped, on the first call."""
    if not ENABLED:
        return None
    if not _COMPILED:
        import numba

        options = {"nogil": True, "fastmath": False, "boundscheck": False, "error_model": "numpy"}
        try:
            jit = numba.njit(cache=True, **options)
            compiled = {k: jit(f) for k, f in _KERNELS.items()}
        except RuntimeError:  # no writable place for the on-disk cache: compile per process
            jit = numba.njit(cache=False, **options)
            compiled = {k: jit(f) for k, f in _KERNELS.items()}
        _COMPILED.update(compiled)
    return _COMPILED[name]


def takes(*arrays: np.ndarray, elementwise: bool = True) -> bool:
    """Whether the compiled kernels take these arrays: ``ENABLED``, all C-contiguous, the
    first one float32 or float64 and, for the elementwise kernels, of ``MIN_SIZE``
    elements or more."""
    return (
        ENABLED
        and (arrays[0].size >= MIN_SIZE or not elementwise)
        and arrays[0].dtype in _FLOATS
        and all(a.flags.c_contiguous for a in arrays)
    )


def _scalars(dtype: np.dtype, *values: float) -> np.ndarray:
    return np.array(values, dtype=dtype)


# -- wrappers used by the layers (None: run the NumPy code) --------------------------------


def relu_forward(z: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """As ``activations.relu_forward``: (max(z, 0), z > 0), or None."""
    if not takes(z):
        return None
    y = np.empty_like(z)
    mask = np.empty(z.shape, dtype=bool)
    kernel("relu_forward")(z.reshape(-1), y.reshape(-1), mask.reshape(-1))
    return y, mask


def masked_scale(dy: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray | None:
    """(dy ⊙ mask)·scale in dy's dtype (ReLU's backward with scale 1, Dropout's with
    1/(1−p)), or None."""
    if not (takes(dy, mask) and mask.dtype == np.bool_ and mask.shape == dy.shape):
        return None
    dz = np.empty_like(dy)
    c = _scalars(dy.dtype, scale, 1.0, 0.0)
    kernel("masked_scale")(dy.reshape(-1), mask.reshape(-1), c, dz.reshape(-1))
    return dz


def dropout_forward(x: np.ndarray, u: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
    """From the uniform draws u (float64, x's shape, C-contiguous), for an x that
    ``takes(x)``: (x ⊙ mask/(1−p), mask = u >= p), as ``dropout.keep_mask`` and
    ``dropout.dropout_forward``."""
    if not (takes(x, u) and u.dtype == np.float64 and u.shape == x.shape):
        raise ValueError(
            f"dropout_forward: expected x that the kernels take and float64 draws of its "
            f"shape. Received x {x.dtype} {x.shape}, u {u.dtype} {u.shape}."
        )
    y = np.empty_like(x)
    mask = np.empty(x.shape, dtype=bool)
    c = _scalars(x.dtype, 1.0 / (1.0 - p), 1.0, 0.0)
    kernel("dropout_forward")(x.reshape(-1), u.reshape(-1), float(p), c, mask.reshape(-1), y.reshape(-1))
    return y, mask


def batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Training-mode batch norm: (y, x̂ (N, D), inv_std, μ, σ² (D,)), as
    ``normalization.standardize(x, 0, eps)`` and ``scale_shift``; or None."""
    if not takes(x, elementwise=False) or x.shape[1] < 2 or any(
        a is not None and (a.dtype != x.dtype or not a.flags.c_contiguous) for a in (gamma, beta)
    ):
        return None
    n, d = x.shape
    x_hat = np.empty_like(x)
    y = np.empty_like(x)
    stats = np.empty((3, d), dtype=x.dtype)  # μ, σ², inv_std
    mean, var, inv_std = stats[0], stats[1], stats[2]
    c = _scalars(x.dtype, n, eps, 1.0)
    kernel("batchnorm_forward")(
        x,
        mean if gamma is None else gamma,
        mean if beta is None else beta,
        c,
        gamma is not None,
        beta is not None,
        x_hat,
        y,
        mean,
        var,
        inv_std,
    )
    return y, x_hat, inv_std, mean, var


def batchnorm_backward(
    dy: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, gamma: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """As ``normalization.batchnorm_backward`` (inv_std (D,)): (dx, dγ, dβ), or None."""
    if not (
        takes(dy, x_hat, inv_std, elementwise=False)
        and dy.shape[1] >= 2
        and x_hat.dtype == dy.dtype
        and inv_std.dtype == dy.dtype
        and inv_std.shape == (dy.shape[1],)
        and (gamma is None or (gamma.dtype == dy.dtype and gamma.flags.c_contiguous))
    ):
        return None
    n, d = dy.shape
    dx = np.empty_like(dy)
    sums = np.empty((5, d), dtype=dy.dtype)  # dγ, dβ, then the kernel's scratch
    dgamma, dbeta = sums[0], sums[1]
    c = _scalars(dy.dtype, n)
    kernel("batchnorm_backward")(
        dy, x_hat, inv_std, inv_std if gamma is None else gamma, c, gamma is not None,
        dx, dgamma, dbeta, sums[2:],
    )
    return dx, dgamma, dbeta
