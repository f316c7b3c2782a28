"""RMSprop: divide the step by a running root mean square of the gradients."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab._checks import check_number
from trainlab.backend import BackendLike
from trainlab.nn.module import Parameter
from trainlab.optim.base import (
    OPTIMIZERS,
    Optimizer,
    ParamsLike,
    Scratch,
    State,
    check_flag,
    coordinate_sample,
    lerp_,
)
from trainlab.optim.weight_decay import apply_weight_decay


@dataclass(eq=False)
class RMSpropState(State):
    """RMSprop's state for one parameter: C, and ḡ (centered) and b (momentum) when used."""

    square_avg: np.ndarray
    grad_avg: np.ndarray | None = None
    momentum_buffer: np.ndarray | None = None


@OPTIMIZERS.register("rmsprop")
class RMSprop(Optimizer[RMSpropState, None]):
    r"""RMSprop (Tieleman & Hinton, Coursera "Neural Networks for Machine Learning",
    lecture 6.5, 2012); the centered variant is from Graves, "Generating Sequences
    With Recurrent Neural Networks" (2013).

    The notes' ``C_{n+1} = p·C_n + (1 − p)·(∇L)²``, ``W_{n+1} = W_n − γ·∇L/√C_{n+1}``
    with p = ``alpha``. As ``torch.optim.RMSprop`` (learning rate γ, momentum μ,
    weight decay λ)::

        g ← g + λ·W                            (weight_decay ≠ 0)
        C ← α·C + (1 − α)·g²
        A ← √(C − ḡ²) with ḡ ← α·ḡ + (1 − α)·g   if centered,  else  A ← √C
        A ← A + ε                               (ε outside the square root)
        b ← μ·b + g/A ;  W ← W − γ·b             (momentum > 0; b starts at 0)
        W ← W − γ·g/A                           (momentum = 0)

    State per parameter (:class:`RMSpropState`): ``square_avg`` (C), ``grad_avg``
    (ḡ, centered only), ``momentum_buffer`` (b, momentum > 0 only).
    """

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        backend: BackendLike = None,
    ) -> None:
        super().__init__(params, backend=backend, lr=lr, alpha=alpha, eps=eps,
                         weight_decay=weight_decay, momentum=momentum, centered=centered)

    def _configure(
        self, *, lr: float, alpha: float, eps: float, weight_decay: float, momentum: float,
        centered: bool,
    ) -> None:
        self.lr = lr
        self.alpha: float = check_number(alpha, "RMSprop: alpha", low=0.0, high=1.0)
        self.eps: float = check_number(eps, "RMSprop: eps", low=0.0)
        self.weight_decay: float = check_number(weight_decay, "RMSprop: weight_decay", low=0.0)
        self.momentum: float = check_number(momentum, "RMSprop: momentum", low=0.0, high=1.0,
                                            high_inclusive=False)
        self.centered: bool = check_flag(centered, "RMSprop: centered")

    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps,
                "weight_decay": self.weight_decay, "momentum": self.momentum,
                "centered": self.centered}

    def _new_state(self, like: np.ndarray) -> RMSpropState:
        return RMSpropState(
            square_avg=np.zeros_like(like),
            grad_avg=np.zeros_like(like) if self.centered else None,
            momentum_buffer=np.zeros_like(like) if self.momentum > 0 else None,
        )

    def _scalars(self) -> None:
        return None

    def _update(self, p: Parameter, state: RMSpropState, _: None, work: Scratch) -> None:
        grad = apply_weight_decay(p, self.weight_decay, work)  # g + λ·W
        tmp = work["tmp"]
        square_avg, grad_avg, buf = state.square_avg, state.grad_avg, state.momentum_buffer
        square_avg *= self.alpha
        np.multiply(grad, 1 - self.alpha, out=tmp)
        tmp *= grad
        square_avg += tmp  # C ← α·C + (1 − α)·g²
        if grad_avg is not None:  # centered
            lerp_(grad_avg, grad, 1 - self.alpha, tmp)  # ḡ ← α·ḡ + (1 − α)·g
            np.multiply(grad_avg, grad_avg, out=tmp)
            np.subtract(square_avg, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)  # A = √(C − ḡ²)
        else:
            np.sqrt(square_avg, out=tmp)  # A = √C
        tmp += self.eps
        np.divide(grad, tmp, out=tmp)  # g / A
        if buf is not None:
            buf *= self.momentum
            buf += tmp  # b ← μ·b + g/A
            p.data -= np.multiply(buf, self.lr, out=tmp)
        else:
            p.data -= np.multiply(tmp, self.lr, out=tmp)

    def effective_lr(self) -> float:
        """The median over coordinates of γ / (√C + ε) (NaN before the first step)."""
        states = [s for s in self._states if s is not None]  # the first group's
        if self.step_count < 1 or not states:
            return math.nan
        c = coordinate_sample(s.square_avg for s in states)
        return float(np.median(self.lr / (np.sqrt(c) + self.eps)))
