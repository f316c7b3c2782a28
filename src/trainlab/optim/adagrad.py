"""Adagrad: per-coordinate step sizes from the accumulated squared gradients."""

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
    coordinate_sample,
)
from trainlab.optim.weight_decay import apply_weight_decay


@dataclass(eq=False)
class AdagradState(State):
    """Adagrad's state for one parameter: the sum G of the squared gradients."""

    sum: np.ndarray


@OPTIMIZERS.register("adagrad")
class Adagrad(Optimizer[AdagradState, float]):
    r"""Adagrad (Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning
    and Stochastic Optimization", JMLR 2011).

    Accumulate the squared gradients and divide each step by their square root, so
    coordinates with large past gradients take small steps. As ``torch.optim.Adagrad``
    (step ``t``, learning rate γ, decay η, weight decay λ, accumulator ``G_0 = s``)::

        g   ← g + λ·W                         (weight_decay ≠ 0)
        γ_t = γ / (1 + (t − 1)·η)
        G_t = G_{t-1} + g²
        W   ← W − γ_t · g / (√G_t + ε)         (ε outside the square root)

    State per parameter (:class:`AdagradState`): ``sum`` (G).
    """

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        backend: BackendLike = None,
    ) -> None:
        super().__init__(params, backend=backend, lr=lr, lr_decay=lr_decay,
                         weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps)

    def _configure(
        self, *, lr: float, lr_decay: float, weight_decay: float,
        initial_accumulator_value: float, eps: float,
    ) -> None:
        self.lr = lr
        self.lr_decay: float = check_number(lr_decay, "Adagrad: lr_decay", low=0.0)
        self.weight_decay: float = check_number(weight_decay, "Adagrad: weight_decay", low=0.0)
        self.initial_accumulator_value: float = check_number(
            initial_accumulator_value, "Adagrad: initial_accumulator_value", low=0.0
        )
        self.eps: float = check_number(eps, "Adagrad: eps", low=0.0)

    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "lr_decay": self.lr_decay, "weight_decay": self.weight_decay,
                "initial_accumulator_value": self.initial_accumulator_value, "eps": self.eps}

    def _new_state(self, like: np.ndarray) -> AdagradState:
        return AdagradState(sum=np.full_like(like, self.initial_accumulator_value))  # G₀ = s

    def _scalars(self) -> float:
        return self.lr / (1 + (self.step_count - 1) * self.lr_decay)  # γ_t

    def _update(self, p: Parameter, state: AdagradState, lr_t: float, work: Scratch) -> None:
        grad = apply_weight_decay(p, self.weight_decay, work)  # g + λ·W
        tmp = work["tmp"]
        state.sum += np.multiply(grad, grad, out=tmp)  # G ← G + g²
        np.sqrt(state.sum, out=tmp)
        tmp += self.eps
        np.divide(grad, tmp, out=tmp)
        p.data -= np.multiply(tmp, lr_t, out=tmp)  # W ← W − γ_t·g/(√G + ε)

    def effective_lr(self) -> float:
        """The median over coordinates of γ_t / (√G + ε) (NaN before the first step)."""
        states = [s for s in self._states if s is not None]  # the first group's
        if self.step_count < 1 or not states:
            return math.nan
        lr_t = self.lr / (1 + (self.step_count - 1) * self.lr_decay)
        sums = coordinate_sample(s.sum for s in states)
        return float(np.median(lr_t / (np.sqrt(sums) + self.eps)))
