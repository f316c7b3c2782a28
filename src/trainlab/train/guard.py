"""The NaN guard: detect a diverging run (notes §3) and say what to do about it.

An exploding gradient shows up as an infinite or NaN loss, gradient or activation.
The trainer checks the loss and the global gradient norm at every step, before the
optimizer update, and stops with a :class:`DivergenceWarning` that names the epoch
and step and lists the notes' remedies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from trainlab._checks import NonFiniteError
from trainlab.nn.module import Parameter


class DivergenceWarning(UserWarning):
    """Training stopped because the loss or a gradient became NaN or infinite."""


REMEDIES = (
    "Remedies (notes §3): clip the gradients by norm (clip_norm=1.0) or by value "
    "(clip_value=0.5); lower the learning rate (it is {lr:g}); decay it during training "
    "(e.g. ExponentialLR(optimizer, gamma=0.9)); normalise the inputs (data.Standardizer) "
    "and the layers (norm='batch' or 'layer')."
)


def global_grad_norm(params: Iterable[Parameter]) -> float:
    """``‖g‖₂`` of all gradients as one vector: √(Σ_p Σ g²)."""
    total = 0.0
    for p in params:
        flat = p.grad.ravel()
        total += float(np.dot(flat, flat))
    return math.sqrt(total)


def first_non_finite_grad(named_params: Iterable[tuple[str, Parameter]]) -> str | None:
    """The name of the first parameter whose gradient holds NaN or ±inf, or None."""
    for name, p in named_params:
        if not np.isfinite(p.grad).all():
            return name
    return None


def is_non_finite_error(exc: BaseException) -> bool:
    """A layer's or loss's forward check that found NaN or infinite values (not bad data)."""
    return isinstance(exc, NonFiniteError)


def divergence_message(
    epoch: int, step: int, steps: int, global_step: int, cause: str, weights_ok: bool, lr: float
) -> str:
    """Where the run diverged, why, whether the weights are intact, and the remedies."""
    kept = (
        "The failing update was not applied: the model keeps the weights of the last finite step."
        if weights_ok
        else "The model's weights are no longer finite: reload the last checkpoint."
    )
    return (
        f"Training diverged at epoch {epoch}, step {step} of {steps} (global step {global_step}): "
        f"{cause}. {kept} " + REMEDIES.format(lr=lr)
    )
