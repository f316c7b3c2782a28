"""The largest curvature an optimizer can follow: its stability threshold.

On a quadratic with curvature λ, gradient descent θ ← θ − η·g is stable iff λ < 2/η. Cohen,
Kaur, Li, Kolter & Talwalkar (2021), "Gradient Descent on Neural Networks Typically Occurs
at the Edge of Stability" (ICLR): under full-batch gradient descent the sharpness
λ_max(H) rises ("progressive sharpening") until it reaches 2/η and then hovers there.
With heavy-ball momentum β (v ← β·v + (1 − τ)·g, θ ← θ − η·v) the threshold is
(2 + 2β)/(η(1 − τ)); with Nesterov momentum (2 + 2β)/(η(1 − τ)(1 + 2β)) (their
appendix).

Adaptive methods precondition the step, θ ← θ − η·P⁻¹·m, and the quantity that hovers is
the *preconditioned sharpness* λ_max(P⁻¹H) (Cohen, Ghorbani, Krishnan, Agarwal, Medapati,
Badura, Suo, Cardoze, Nado, Dahl & Gilmer (2022), "Adaptive Gradient Methods at the Edge
of Stability", arXiv:2207.14484). For Adam, P = (1 − β₁ᵗ)·diag(√v̂ + ε) and, since its
momentum is an exponential average (m ← β₁m + (1 − β₁)g), the threshold is
(2 + 2β₁)/((1 − β₁)·η), 38/η at β₁ = 0.9. RMSprop: P = diag(√C + ε), threshold
(2 + 2μ)/η with momentum μ. Adagrad: P = diag(√G + ε), 2/η_t.

Weight decay adds its coefficient to every eigenvalue of the loss's Hessian; the
thresholds here compare with the Hessian of the loss alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab.optim.adagrad import Adagrad
from trainlab.optim.adam import Adam
from trainlab.optim.rmsprop import RMSprop
from trainlab.optim.sgd import SGD


@dataclass(frozen=True)
class Stability:
    """An optimizer's stability threshold at its current step.

    threshold: the largest stable (preconditioned) sharpness. preconditioner: None for
    plain and momentum SGD (compare λ_max(H)); otherwise P (n_params,), the diagonal that
    the step divides by (compare λ_max(P⁻¹H)). rule: the formula, as text.
    """

    threshold: float
    preconditioner: np.ndarray | None
    rule: str


def _flat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def stability_threshold(optimizer: Any) -> Stability:
    """The :class:`Stability` of ``optimizer`` (SGD, Adam/AdamW, RMSprop or Adagrad) at its
    current learning rate and state. An adaptive optimizer before its first step has no
    preconditioner yet: the threshold is NaN then."""
    if not isinstance(optimizer, (SGD, Adam, RMSprop, Adagrad)):
        raise TypeError("stability_threshold: expected an SGD, Adam, AdamW, RMSprop or Adagrad "
                        f"optimizer. Received: {type(optimizer).__name__}.")
    lr = float(optimizer.lr)
    if lr <= 0:  # a schedule at its end: a zero step is stable at any curvature
        return Stability(math.inf, None, "η = 0")
    if isinstance(optimizer, SGD):
        beta, damp = float(optimizer.momentum), float(optimizer.dampening)
        if beta == 0:
            return Stability(2.0 / lr, None, "2/η")
        if optimizer.nesterov:
            return Stability((2 + 2 * beta) / (lr * (1 - damp) * (1 + 2 * beta)), None,
                             "(2+2β)/(η(1−τ)(1+2β)) (Nesterov)")
        return Stability((2 + 2 * beta) / (lr * (1 - damp)), None, "(2+2β)/(η(1−τ))")
    states: list[Any] = list(optimizer.state)
    started = bool(states) and all(s is not None for s in states) and optimizer.step_count > 0
    if isinstance(optimizer, Adam):
        beta1, beta2 = optimizer.betas
        rule = "(2+2β₁)/((1−β₁)η) on λ_max(P⁻¹H), P = (1−β₁ᵗ)(√v̂+ε)"
        threshold = (2 + 2 * beta1) / ((1 - beta1) * lr)
        if not started:
            return Stability(math.nan, None, rule)
        t = optimizer.step_count
        v = _flat([s.max_exp_avg_sq if s.max_exp_avg_sq is not None else s.exp_avg_sq
                   for s in states])
        p = (1 - beta1 ** t) * (np.sqrt(v / (1 - beta2 ** t)) + optimizer.eps)
        return Stability(threshold, p, rule)
    if isinstance(optimizer, RMSprop):
        mu = float(optimizer.momentum)
        rule = "(2+2μ)/η on λ_max(P⁻¹H), P = √C+ε"
        if not started:
            return Stability(math.nan, None, rule)
        c = _flat([s.square_avg for s in states])
        if optimizer.centered:
            c = c - _flat([s.grad_avg for s in states]) ** 2
        return Stability((2 + 2 * mu) / lr, np.sqrt(np.maximum(c, 0)) + optimizer.eps, rule)
    rule = "2/η_t on λ_max(P⁻¹H), P = √G+ε"  # Adagrad
    if not started:
        return Stability(math.nan, None, rule)
    lr_t = lr / (1 + (optimizer.step_count - 1) * optimizer.lr_decay)
    return Stability(2.0 / lr_t, np.sqrt(_flat([s.sum for s in states])) + optimizer.eps, rule)
