"""Gradient clipping, in place on ``p.grad``: by global norm and by value.

Clipping guards against exploding gradients (Pascanu, Mikolov & Bengio, "On the
difficulty of training recurrent neural networks", ICML 2013). Call it between
``backward`` and ``optimizer.step()``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from trainlab._checks import check_number
from trainlab.nn.module import Module, Parameter


def _as_parameter_list(params: Any, owner: str) -> list[Parameter]:
    """A single Parameter or an iterable of them (an empty one is allowed) as a list."""
    if isinstance(params, Parameter):
        return [params]
    if isinstance(params, Module):
        raise TypeError(
            f"{owner}: params must be a list of Parameters, e.g. model.parameters(). "
            f"Received the module {type(params).__name__}."
        )
    if isinstance(params, np.ndarray) or not isinstance(params, Iterable):
        raise TypeError(
            f"{owner}: params must be a Parameter or a list of Parameters. "
            f"Received: {type(params).__name__}."
        )
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(
                f"{owner}: params[{i}] must be a trainlab.nn.Parameter. "
                f"Received: {type(p).__name__}."
            )
    return params


def _vector_norm(x: np.ndarray, norm_type: float) -> float:
    """The p-norm of all the elements of ``x`` (the largest magnitude for p = inf)."""
    if x.size == 0:
        return 0.0
    if norm_type == math.inf:
        return float(max(x.max(), -x.min()))  # max |x| without a temporary
    if norm_type == 2.0:
        flat = x.ravel()
        return math.sqrt(float(np.dot(flat, flat)))
    if norm_type == 1.0:
        return float(np.abs(x).sum())
    return float((np.abs(x) ** norm_type).sum()) ** (1.0 / norm_type)


def clip_grad_norm(
    params: Iterable[Parameter] | Parameter,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    r"""Scale all gradients together so that their global norm is at most ``max_norm``.

    The global norm is the ``norm_type``-norm of the per-parameter norms (that is,
    of all gradient entries as one vector); ``norm_type = math.inf`` takes the
    largest magnitude. As ``torch.nn.utils.clip_grad_norm_``::

        total = ‖(‖g_1‖, …, ‖g_k‖)‖
        c     = max_norm / (total + 1e-6)
        g_i  ← c·g_i  for every i, when c < 1

    which is the notes' "if ‖g‖ > ε then g ← ε·g/‖g‖". A NaN or infinite norm makes
    every gradient NaN (or zero), as in PyTorch, unless ``error_if_nonfinite``
    raises instead.

    Returns the total norm measured before clipping, as a float.
    """
    owner = "clip_grad_norm"
    params = _as_parameter_list(params, owner)
    max_norm = check_number(max_norm, f"{owner}: max_norm", low=0.0, low_inclusive=False)
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) or not (
        norm_type == math.inf or (math.isfinite(norm_type) and norm_type > 0)
    ):
        raise ValueError(
            f"{owner}: norm_type must be a positive number or math.inf. Received: {norm_type!r}."
        )
    norm_type = float(norm_type)
    if not params:
        return 0.0
    norms = np.array([_vector_norm(p.grad, norm_type) for p in params])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"{owner}: the total gradient norm is {total}, so the gradients cannot be clipped. "
            "Pass error_if_nonfinite=False to clip anyway."
        )
    clip_coef = max_norm / (total + 1e-6)
    if not clip_coef >= 1.0:  # below 1, or NaN as in PyTorch
        with np.errstate(invalid="ignore"):  # inf·0 = NaN for a non-finite norm
            for p in params:
                p.grad *= clip_coef
    return total


def clip_grad_value(params: Iterable[Parameter] | Parameter, clip_value: float) -> None:
    r"""Clamp every gradient entry to ``[−clip_value, clip_value]`` in place.

    The notes' ``g ← max(min(g, ε), −ε)``; as ``torch.nn.utils.clip_grad_value_``.
    """
    owner = "clip_grad_value"
    params = _as_parameter_list(params, owner)
    clip_value = check_number(clip_value, f"{owner}: clip_value", low=0.0, low_inclusive=False)
    for p in params:
        np.clip(p.grad, -clip_value, clip_value, out=p.grad)
