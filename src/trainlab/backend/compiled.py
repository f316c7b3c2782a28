"""``NumbaBackend`` ("numba"): the loops of ``backend.loops`` compiled by Numba.

Everything about compiling lives here: Numba is imported lazily (at the first kernel
call, not with trainlab: about 0.4 s); the loops are wrapped with ``njit(cache=True)``
once, in one table shared by every backend object, and each is compiled for a dtype on
its first use and cached on disk next to ``loops.py``, so that later processes load the
machine code instead (where that directory is read-only, each process compiles).

Which arrays the kernels take (otherwise they decline and the NumPy code runs):

- C-contiguous float32 or float64 arrays of one shape and dtype;
- for the elementwise layer kernels (ReLU, Dropout), at least ``min_size`` elements
  (below it, calling compiled code costs more than it saves); BatchNorm and the
  optimizers take any size, except BatchNorm of a single feature (NumPy sums that
  contiguous column pairwise, in another order than the loop).

The layer kernels run on the calling thread. An optimizer update of a parameter of at
least :data:`SPLIT_SIZE` elements is split into chunks over the compute threads
(``backend.parallel``; on a wide MLP the update of its largest weights takes
milliseconds, a sizeable share of a step); the update is element by element, so the
numbers are the same for any split. (Numba's own parallel loops were slower: their
OpenMP workers spin after each loop and compete with the BLAS threads of the next matrix
product, and starting them costs as much as the 20–50 µs of a small layer's loop.)
"""

from __future__ import annotations

import functools
import importlib.util
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from trainlab.backend import loops
from trainlab.backend.base import BACKENDS, AdamScalars, Backend, SGDScalars
from trainlab.backend.gemm import MIN_FLOPS, provider, resolve_name
from trainlab.backend.parallel import chunks, run_parts
from trainlab.backend.threads import compute_threads

SPLIT_SIZE: int = 2**17
"""The fewest elements of a parameter whose optimizer update is split over the compute
threads (about 0.25 ms of Adam on one core; handing a chunk to a thread costs tens of µs)."""

MIN_SIZE: int = 4096
"""The default ``min_size``: ReLU and Dropout arrays with fewer elements run the NumPy code."""

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

_LOOPS: dict[str, Callable[..., None]] = {
    "adam_update": loops.adam_update,
    "sgd_update": loops.sgd_update,
    "relu_forward": loops.relu_forward,
    "masked_scale": loops.masked_scale,
    "dropout_forward": loops.dropout_forward,
    "batchnorm_forward": loops.batchnorm_forward,
    "batchnorm_backward": loops.batchnorm_backward,
}


class _Kernels(dict):
    """The jitted loops by name: ``KERNELS[name]``, compiled (wrapped) on first lookup."""

    def __missing__(self, name: str) -> Callable[..., None]:
        return compiled(name)


_COMPILED: dict[str, Callable[..., None]] = _Kernels()
KERNELS = _COMPILED
"""``KERNELS[name]`` is ``compiled(name)`` as one dictionary lookup after the first."""


@functools.cache
def numba_available() -> bool:
    """True when Numba is installed (found without importing it; looked up once)."""
    return importlib.util.find_spec("numba") is not None


def compiled(name: str) -> Callable[..., None]:
    """The loop ``loops.<name>`` compiled by Numba (Numba is imported on the first call)."""
    if not _COMPILED:
        try:
            import numba
        except ImportError as exc:
            raise ImportError(
                "NumbaBackend: expected an importable Numba, for the compiled kernels. "
                f"Received: {type(exc).__name__}: {exc}. Use backend='numpy' to run the "
                "NumPy code instead."
            ) from exc
        try:
            wrapped = {k: _jit(numba, f, cache=True) for k, f in _LOOPS.items()}
        except RuntimeError:  # no writable place for the on-disk cache: compile per process
            wrapped = {k: _jit(numba, f, cache=False) for k, f in _LOOPS.items()}
        _COMPILED.update(wrapped)
    return _COMPILED[name]


def _jit(numba: Any, loop: Callable[..., None], cache: bool) -> Callable[..., None]:
    """``loop`` compiled on first call per dtype: on the calling thread, no fused
    multiply-add or other reassociation (``fastmath`` off), NumPy's floating-point errors."""
    return numba.njit(
        loop, cache=cache, nogil=True, fastmath=False, boundscheck=False, error_model="numpy"
    )


@functools.cache
def _record(names: tuple[str, ...], dtype: np.dtype) -> np.dtype:
    return np.dtype([(name, dtype) for name in names])


def named_scalars(dtype: np.dtype, **values: float) -> np.ndarray:
    """The named scalars of a loop (its argument ``c``): a 0-d structured array with one
    field of ``dtype`` per keyword, each value cast to ``dtype`` as NumPy casts a Python
    float next to an array of it."""
    return np.array(tuple(values.values()), dtype=_record(tuple(values), np.dtype(dtype)))


def adam_scalars(s: AdamScalars, dtype: np.dtype) -> np.ndarray:
    """``loops.adam_update``'s scalars from one step's :class:`AdamScalars`."""
    weight = 1 - s.beta1  # lerp_'s two forms: m + w·(g − m), or g − (1 − w)·(g − m)
    return named_scalars(
        dtype,
        weight_decay=s.weight_decay,
        shrink=s.shrink,
        lerp_weight=weight if abs(weight) < 0.5 else 1 - weight,
        lerp_from_m=1.0 if abs(weight) < 0.5 else 0.0,
        beta2=s.beta2,
        one_minus_beta2=1 - s.beta2,
        bias_correction2_sqrt=s.bias_correction2_sqrt,
        eps=s.eps,
        step_size=s.step_size,
    )


def sgd_scalars(s: SGDScalars, dtype: np.dtype) -> np.ndarray:
    """``loops.sgd_update``'s scalars from one step's :class:`SGDScalars`."""
    return named_scalars(
        dtype,
        weight_decay=s.weight_decay,
        momentum=s.momentum,
        one_minus_dampening=1 - s.dampening,
        dampened=1.0 if s.dampening != 0 else 0.0,
        nesterov=1.0 if s.nesterov else 0.0,
        lr=s.lr,
    )


def _cast(step: AdamScalars | SGDScalars, dtype: np.dtype,
          pack: Callable[[Any, np.dtype], np.ndarray]) -> np.ndarray:
    """One step's scalars in ``dtype``, made once per step and dtype (kept in ``step.cache``)."""
    c = step.cache.get(dtype)
    if c is None:
        c = step.cache[dtype] = pack(step, dtype)
    return c


def _update(kernel: Callable[..., None], arrays: tuple[np.ndarray | None, ...],
            rest: tuple[Any, ...]) -> None:
    """``kernel(*arrays, *rest)`` on flat arrays of one length, split into chunks over the
    compute threads when they are :data:`SPLIT_SIZE` elements or more (element by element,
    so the numbers do not depend on the split)."""
    first = arrays[0]
    assert first is not None
    size = first.shape[0]
    threads = compute_threads() if size >= SPLIT_SIZE else 1
    if threads == 1:
        kernel(*arrays, *rest)
        return
    run_parts(kernel, [tuple(None if a is None else a[part] for a in arrays) + rest
                       for part in chunks(size, threads)])


def _flat(arrays: tuple[np.ndarray | None, ...]) -> list[np.ndarray | None] | None:
    """1-D views of C-contiguous float arrays of one shape and dtype (None stays None), or
    None when the kernels do not take them."""
    first = arrays[0]
    assert first is not None
    dtype, shape = first.dtype, first.shape
    if dtype not in _FLOATS:
        return None
    views: list[np.ndarray | None] = []
    for a in arrays:
        if a is None:
            views.append(None)
        elif a.dtype != dtype or a.shape != shape or not a.flags.c_contiguous:
            return None
        else:
            views.append(a.reshape(-1))
    return views


def _flat_views(
    arrays: tuple[np.ndarray | None, ...], cache: dict[str, Any] | None
) -> list[np.ndarray | None] | None:
    """``_flat(arrays)``, kept in ``cache`` and reused while the same arrays come back."""
    if cache is None:
        return _flat(arrays)
    kept = cache.get("flat_views")
    if kept is not None and all(map(operator.is_, kept[0], arrays)):
        return kept[1]
    views = _flat(arrays)
    cache["flat_views"] = (arrays, views)
    return views


@BACKENDS.register("numba")
class NumbaBackend(Backend):
    """The kernels of :class:`Backend` as loops compiled by Numba (``backend.loops``),
    bit for bit the numbers of the NumPy code.

    min_size: the fewest elements for which ReLU and Dropout use their kernels.
    gemm: the GEMM provider of the matrix products (``backend.gemm``): "numpy", "mkl",
        "auto" (the fastest available: MKL on an Intel CPU where it is installed), or None
        (the environment variable ``TRAINLAB_GEMM``, else "auto"). With "numpy" the
        numbers are those of the NumPy code bit for bit; with "mkl" the matrix products
        are MKL's, which sum in another order (the last bits differ), the bias is added
        inside the product (an output pre-filled with the bias, β = 1) and the weight
        gradient accumulates in place.
    """

    name = "numba"

    def __init__(self, min_size: int = MIN_SIZE, gemm: str | None = None) -> None:
        if not self.is_available():
            raise ImportError(
                "NumbaBackend: expected Numba to be installed (pip install numba). "
                "Received: no module named 'numba'. Use backend='numpy' instead."
            )
        if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
            raise ValueError(
                f"NumbaBackend: min_size must be an integer >= 0. Received: {min_size!r}."
            )
        self.min_size = min_size
        self.gemm_provider = resolve_name(gemm)
        # The provider when it is not NumPy's (whose products ``Linear`` runs itself).
        self._gemm = None if self.gemm_provider == "numpy" else provider(self.gemm_provider)

    @property
    def gemm(self) -> str:
        return self.gemm_provider

    def _settings(self) -> dict[str, Any]:
        return {"min_size": self.min_size, "gemm_provider": self.gemm_provider}

    @staticmethod
    def is_available() -> bool:
        """Whether Numba is installed (``trainlab.backend.get(None)`` picks this backend then)."""
        return numba_available()

    # -- matrix products ---------------------------------------------------------------------
    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        gemm = self._gemm
        if gemm is None or a.ndim != 2 or b.ndim != 2:
            return np.matmul(a, b, out=out)
        return gemm.matmul(a, b, out)

    def linear_forward(
        self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None
    ) -> np.ndarray | None:
        gemm = self._gemm
        if (
            gemm is None
            or 2 * x.shape[0] * x.shape[-1] * W.shape[-1] < MIN_FLOPS  # (before a call)
            or not gemm.takes(x, W)
            or (b is not None and b.dtype != W.dtype)
        ):
            return None
        y = np.empty((x.shape[0], W.shape[1]), dtype=W.dtype)
        if b is not None:
            y[...] = b  # the bias, added inside the product (β = 1)
        gemm.gemm(x, W, y, accumulate=b is not None)
        return y

    def linear_backward(
        self,
        dy: np.ndarray,
        x: np.ndarray,
        W: np.ndarray,
        dW: np.ndarray,
        db: np.ndarray | None,
        input_grad: bool,
        write_dW: bool = False,
        write_db: bool = False,
    ) -> tuple[np.ndarray | None] | None:
        gemm = self._gemm
        if (
            gemm is None
            or 2 * x.shape[0] * x.shape[-1] * W.shape[-1] < MIN_FLOPS  # (before a call)
            or not (gemm.takes(x.T, dy) and dW.flags.c_contiguous)
        ):
            return None
        gemm.gemm(x.T, dy, dW, accumulate=not write_dW)  # dW (+)= xᵀ·dy in one pass
        if db is not None and write_db:
            np.add.reduce(dy, axis=0, out=db)
        elif db is not None:
            np.add(db, np.add.reduce(dy, axis=0), out=db)
        return (self.matmul(dy, W.T) if input_grad else None,)

    # -- layers ----------------------------------------------------------------------------
    def takes(self, *arrays: np.ndarray, elementwise: bool = True) -> bool:
        """All C-contiguous, the first float32 or float64 and, for the elementwise kernels,
        of ``min_size`` elements or more."""
        if not ((arrays[0].size >= self.min_size or not elementwise)
                and arrays[0].dtype in _FLOATS):
            return False
        for a in arrays:  # (a loop, not all(...): no generator per call)
            if not a.flags.c_contiguous:
                return False
        return True

    def relu_forward(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if not self.takes(z):
            return None
        y = np.empty_like(z)
        mask = np.empty(z.shape, dtype=bool)
        KERNELS["relu_forward"](z.reshape(-1), y.reshape(-1), mask.reshape(-1))
        return y, mask

    def masked_scale(self, dy: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray | None:
        if not (self.takes(dy, mask) and mask.dtype == np.bool_ and mask.shape == dy.shape):
            return None
        dz = np.empty_like(dy)
        c = named_scalars(dy.dtype, scale=scale, one=1.0, zero=0.0)
        KERNELS["masked_scale"](dy.reshape(-1), mask.reshape(-1), c, dz.reshape(-1))
        return dz

    def dropout_forward(
        self, x: np.ndarray, u: np.ndarray, p: float
    ) -> tuple[np.ndarray, np.ndarray]:
        if not (self.takes(x, u) and u.dtype == np.float64 and u.shape == x.shape):
            raise ValueError(
                f"NumbaBackend.dropout_forward: expected x that takes(x) accepts and float64 "
                f"draws of its shape. Received x {x.dtype} {x.shape}, u {u.dtype} {u.shape}."
            )
        y = np.empty_like(x)
        mask = np.empty(x.shape, dtype=bool)
        c = named_scalars(x.dtype, scale=1.0 / (1.0 - p), one=1.0, zero=0.0)
        KERNELS["dropout_forward"](
            x.reshape(-1), u.reshape(-1), float(p), c, mask.reshape(-1), y.reshape(-1)
        )
        return y, mask

    def batchnorm_forward(
        self, x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, eps: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        if not self.takes(x, elementwise=False) or x.ndim != 2 or x.shape[1] < 2 or any(
            a is not None and (a.dtype != x.dtype or not a.flags.c_contiguous)
            for a in (gamma, beta)
        ):
            return None
        n, d = x.shape
        x_hat = np.empty_like(x)
        y = np.empty_like(x)
        stats = np.empty((3, d), dtype=x.dtype)  # μ, σ², inv_std
        mean, var, inv_std = stats[0], stats[1], stats[2]
        c = named_scalars(x.dtype, count=n, eps=eps, one=1.0)
        KERNELS["batchnorm_forward"](
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
        self, dy: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, gamma: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        if not (
            self.takes(dy, x_hat, inv_std, elementwise=False)
            and dy.ndim == 2
            and dy.shape[1] >= 2
            and x_hat.dtype == dy.dtype
            and x_hat.shape == dy.shape
            and inv_std.dtype == dy.dtype
            and inv_std.shape == (dy.shape[1],)
            and (gamma is None or (gamma.dtype == dy.dtype and gamma.flags.c_contiguous))
        ):
            return None
        n, d = dy.shape
        dx = np.empty_like(dy)
        sums = np.empty((5, d), dtype=dy.dtype)  # dγ, dβ, then the kernel's scratch
        dgamma, dbeta = sums[0], sums[1]
        c = named_scalars(dy.dtype, count=n)
        KERNELS["batchnorm_backward"](
            dy, x_hat, inv_std, inv_std if gamma is None else gamma, c, gamma is not None,
            dx, dgamma, dbeta, sums[2:],
        )
        return dx, dgamma, dbeta

    # -- optimizers ----------------------------------------------------------------------------
    def adam_update(
        self,
        param: np.ndarray,
        grad: np.ndarray,
        exp_avg: np.ndarray,
        exp_avg_sq: np.ndarray,
        max_exp_avg_sq: np.ndarray | None,
        scalars: AdamScalars,
        cache: dict[str, Any] | None = None,
    ) -> bool:
        flat = _flat_views((param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq), cache)
        if flat is None:
            return False
        p, g, m, v, v_max = flat
        c = _cast(scalars, param.dtype, adam_scalars)
        amsgrad = v_max is not None
        _update(KERNELS["adam_update"], (p, g, m, v, v_max if amsgrad else v), (c, amsgrad))
        return True

    def sgd_update(
        self,
        param: np.ndarray,
        grad: np.ndarray,
        momentum_buffer: np.ndarray | None,
        scalars: SGDScalars,
        first: bool,
        cache: dict[str, Any] | None = None,
    ) -> bool:
        flat = _flat_views((param, grad, momentum_buffer), cache)
        if flat is None:
            return False
        p, g, buf = flat
        c = _cast(scalars, param.dtype, sgd_scalars)
        momentum = buf is not None
        _update(KERNELS["sgd_update"], (p, g, buf if momentum else p), (c, first, momentum))
        return True
