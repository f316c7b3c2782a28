"""Check a backward pass against numbers: float64 central differences.

For a learner writing a layer, the first question is whether ``backward`` is right.
:func:`gradcheck` answers it the way the notes derive a derivative by hand and check it
by perturbation: for the scalar ``L = Σ y ⊙ g`` (``y = module(x)``, ``g`` a fixed
random array) the analytic gradients are ``dL/dx = module.backward(g)`` and
``dL/dp = p.grad``, and the numerical ones are ``(L(θ + ε) − L(θ − ε)) / 2ε`` for every
entry θ of ``x`` and of every parameter, in a float64 copy of the module::

    import numpy as np, trainlab as tl
    layer = MyLayer(4, 3)
    tl.gradcheck(layer, np.random.default_rng(0).normal(size=(5, 4)))   # True, or raises

An entry passes when ``|analytic − numeric| ≤ atol + rtol·|numeric|``. It also checks
that ``backward`` adds into ``p.grad`` (a second backward doubles it), as every layer must.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from trainlab.nn.dropout import DropConnect, Dropout
from trainlab.nn.module import Module


class GradcheckError(AssertionError):
    """A gradient that disagrees with central differences; the message names the worst
    entry (its tensor, index, analytic and numeric values)."""


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(x + ε·e_i) − f(x − ε·e_i)) / 2ε`` of the scalar function
    ``f()`` for every entry of ``x`` (changed in place and restored), float64, x's shape."""
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + eps
        plus = f()
        x[idx] = old - eps
        minus = f()
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def _worst(name: str, analytic: np.ndarray, numeric: np.ndarray, atol: float,
           rtol: float) -> tuple[float, str] | None:
    """(excess, message) of the entry furthest outside the tolerance, or None."""
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if not np.isfinite(analytic).all():
        excess = np.where(np.isfinite(analytic), excess, np.inf)
    i = int(np.argmax(excess))
    if excess.flat[i] <= 0:
        return None
    index = np.unravel_index(i, analytic.shape)
    return float(excess.flat[i]), (
        f"{name}[{', '.join(map(str, index))}]: analytic {analytic[index]!r}, numeric "
        f"{numeric[index]!r} (|difference| {abs(analytic[index] - numeric[index]):.3g} > "
        f"atol + rtol·|numeric| = {atol + rtol * abs(numeric[index]):.3g})")


def gradcheck(module: Module, x: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, check_params: bool = True, seed: int = 0) -> bool:
    """Compare ``module.backward`` with float64 central differences; True, or raise.

    module: any :class:`~trainlab.nn.Module` (a float64 copy is checked; the module is
    left unchanged). Its mode is kept: BatchNorm in training mode is checked with batch
    statistics; a Dropout or DropConnect in training mode is refused (its mask changes
    with every forward). x: (batch, features) input. eps: the perturbation ε. check_params:
    also check every parameter's gradient, and that backward accumulates into ``p.grad``.
    seed: of the random upstream gradient g.
    Raises :class:`GradcheckError` naming the worst entry (``"input[2, 1]"`` or
    ``"0.weight[3, 0]"``, its analytic and numeric values).
    """
    if not isinstance(module, Module):
        raise TypeError(f"gradcheck: module must be a trainlab.nn.Module. "
                        f"Received: {type(module).__name__}.")
    for name, m in module.named_modules():
        if isinstance(m, (Dropout, DropConnect)) and m.training and m.p > 0:
            raise ValueError(f"gradcheck: {type(m).__name__} {name or '(the module)'} is in "
                             "training mode and draws a new mask every forward; call .eval() "
                             "first, or check without it.")
    x = np.array(x, dtype=np.float64)
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"gradcheck: x must be a non-empty array. Received shape {x.shape}.")
    twin = copy.deepcopy(module).astype(np.float64)
    y = twin.forward(x)
    g = np.random.default_rng(seed).standard_normal(np.shape(y))

    def loss() -> float:
        return float(np.sum(twin.forward(x) * g))

    twin.zero_grad()
    twin.forward(x)
    dx = np.asarray(twin.backward(g), dtype=np.float64)
    grads = {name: p.grad.copy() for name, p in twin.named_parameters()}
    failures = []
    if dx.shape != x.shape:
        raise GradcheckError(f"gradcheck: backward returned shape {dx.shape} for an input of "
                             f"shape {x.shape}.")
    found = _worst("input", dx, numerical_gradient(loss, x, eps), atol, rtol)
    if found:
        failures.append(found)
    if check_params:
        twin.forward(x)
        twin.backward(g)
        for name, p in twin.named_parameters():
            twice = p.grad - grads[name]
            found = _worst(f"{name} (a second backward must add the same gradient again)",
                           twice, grads[name], 1e-12, 1e-9)
            if found:
                failures.append(found)
            found = _worst(name, grads[name], numerical_gradient(loss, p.data, eps), atol, rtol)
            if found:
                failures.append(found)
    if failures:
        raise GradcheckError("gradcheck: the gradient disagrees with central differences at "
                             f"{max(failures)[1]}.")
    return True
