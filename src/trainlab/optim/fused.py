"""One-pass update kernels for Adam and SGD, compiled with Numba when it is installed.

The optimizers' NumPy code (``Adam._update``, ``SGD._update``) makes one pass over the
parameter per arithmetic operation (a dozen for Adam). The kernels here compute the
very same formulas element by element in a single loop, so every array is read and
written once. They repeat the NumPy code's operations in the same order, in the
parameter's dtype (every scalar is first cast to it, as NumPy casts a Python float
next to a float32 array), and Numba does not contract a product and a sum into one
fused multiply-add unless asked (``fastmath`` is off): both paths give the same
numbers bit for bit.

Numba is optional (``pip install numba``). Without it, with ``ENABLED`` set to False,
or for arrays the kernels do not take (non-contiguous, mixed dtypes), the optimizers
run their NumPy code. Numba is imported at the first step, not with trainlab (about
0.4 s); the first call of a kernel for a dtype compiles it (about a second) and caches
the machine code on disk next to this file, so later processes load it instead.

The kernels are plain Python functions (``adam_update``, ``sgd_update``): the loop
with the formulas is the documentation, and it runs, slowly, without Numba too.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np


def numba_available() -> bool:
    """True when Numba is installed (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


ENABLED: bool = numba_available()
"""Whether Adam and SGD try the compiled kernels (False: always their NumPy code)."""


def adam_update(p, g, m, v, vmax, c, amsgrad):  # type: ignore[no-untyped-def]
    """One Adam step over the flat arrays p, g, m, v (and vmax when ``amsgrad``; without
    it, pass any array, e.g. v: it is not touched).

    c holds the scalars, in the arrays' dtype (``Adam._fused_scalars``):
    c[0] weight decay λ (0: none), c[1] decoupled decay factor 1 − γλ (1: none),
    c[2] the lerp factor: 1 − β₁ when that weight is below ½ (c[3] = 1), else β₁ (c[3] = 0),
    c[4] β₂, c[5] 1 − β₂, c[6] √(1 − β₂ᵗ), c[7] ε, c[8] γ/(1 − β₁ᵗ).
    Per element (as ``Adam._update``):
        W ← W·(1 − γλ) (AdamW);  g ← g + λ·W (Adam);  m ← lerp(m, g, 1 − β₁);
        v ← β₂·v + ((1 − β₂)·g)·g;  v_max ← max(v_max, v) (amsgrad);
        W ← W − (m / (√v/√(1 − β₂ᵗ) + ε))·γ/(1 − β₁ᵗ).
    """
    wd, decay, w1, small_w1, b2, w2, bc2_sqrt, eps, step_size = (
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
    )
    if wd == 0 and decay == 1 and small_w1 != 0 and not amsgrad:
        # The common case, a branch-free loop that the compiler vectorises.
        for i in range(p.shape[0]):
            gi = g[i]
            mi = m[i]
            mi = mi + (gi - mi) * w1
            m[i] = mi
            vi = v[i] * b2 + (gi * w2) * gi
            v[i] = vi
            p[i] = p[i] - (mi / (np.sqrt(vi) / bc2_sqrt + eps)) * step_size
        return
    for i in range(p.shape[0]):
        w = p[i]
        if decay != 1:
            w = w * decay
        gi = g[i]
        if wd != 0:
            gi = gi + w * wd
        mi = m[i]
        d = gi - mi
        if small_w1 != 0:  # lerp_ in optim.base: m + w·(g − m), or g − (1 − w)·(g − m)
            mi = mi + d * w1
        else:
            mi = gi - d * w1
        m[i] = mi
        vi = v[i] * b2 + (gi * w2) * gi
        v[i] = vi
        if amsgrad:
            top = vmax[i]
            if vi > top or vi != vi:  # np.maximum: a NaN on either side wins
                top = vi
                vmax[i] = top
            vi = top
        p[i] = w - (mi / (np.sqrt(vi) / bc2_sqrt + eps)) * step_size


def sgd_update(p, g, buf, c, first, momentum):  # type: ignore[no-untyped-def]
    """One SGD step over the flat arrays p, g (and the momentum buffer buf when
    ``momentum``; without it, pass any array, e.g. p: it is not touched).

    c holds the scalars, in the arrays' dtype (``SGD._fused_scalars``): c[0] weight
    decay λ, c[1] momentum μ, c[2] 1 − dampening, c[3] 1 if dampening ≠ 0,
    c[4] nesterov (0/1), c[5] γ. ``first``: the buffer starts as g.
    Per element (as ``SGD._update``):
        g ← g + λ·W;  b ← g (first step) or μ·b + (1 − τ)·g;
        g ← g + μ·b (Nesterov) or b;  W ← W − g·γ.
    """
    wd, mu, w_damp, damp, nesterov, lr = c[0], c[1], c[2], c[3], c[4], c[5]
    for i in range(p.shape[0]):
        w = p[i]
        gi = g[i]
        if wd != 0:
            gi = gi + w * wd
        if momentum:
            if first:
                b = gi
            elif damp != 0:
                b = buf[i] * mu + gi * w_damp
            else:
                b = buf[i] * mu + gi
            buf[i] = b
            if nesterov != 0:
                gi = gi + b * mu
            else:
                gi = b
        p[i] = w - gi * lr


_COMPILED: dict[str, Callable[..., None]] = {}  # the jitted kernels, made on first use


def kernel(name: str) -> Callable[..., None] | None:
    """``adam_update`` (name ``"adam"``) or ``sgd_update`` (``"sgd"``) compiled by Numba,
    or None when ``ENABLED`` is False.

    Numba is imported, and the kernels wrapped, on the first call, so that importing
    trainlab does not pay for it; each dtype is compiled (or loaded from the on-disk
    cache) on its first use.
    """
    if not ENABLED:
        return None
    if not _COMPILED:
        import numba

        options = dict(nogil=True, fastmath=False, boundscheck=False, error_model="numpy")
        try:
            jit = numba.njit(cache=True, **options)
            kernels = {"adam": jit(adam_update), "sgd": jit(sgd_update)}
        except RuntimeError:  # no writable place for the on-disk cache: compile per process
            jit = numba.njit(cache=False, **options)
            kernels = {"adam": jit(adam_update), "sgd": jit(sgd_update)}
        _COMPILED.update(kernels)
    return _COMPILED[name]


def flat_views(arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...] | None:
    """1-D views of C-contiguous arrays of one shape and dtype (None otherwise)."""
    first = arrays[0]
    if any(
        a.dtype != first.dtype or a.shape != first.shape or not a.flags.c_contiguous
        for a in arrays
    ):
        return None
    return tuple(a.reshape(-1) for a in arrays)
