"""Adagrad: per-coordinate step sizes from the accumulated squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from trainlab._checks import check_number
from trainlab.nn.module import Parameter
from trainlab.optim.base import OPTIMIZERS, Optimizer


@OPTIMIZERS.register("adagrad")
class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning
    and Stochastic Optimization", JMLR 2011).

    Accumulate the squared gradients and divide each step by their square root, so
    coordinates with large past gradients take small steps. As ``torch.optim.Adagrad``
    (step ``t``, learning rate γ, decay η, weight decay λ, accumulator ``G_0 = s``)::

        g   ← g + λ·W                         (weight_decay ≠ 0)
        γ_t = γ / (1 + (t − 1)·η)
        G_t = G_{t-1} + g²
        W   ← W − γ_t · g / (√G_t + ε)         (ε outside the square root)

    State per parameter: ``sum`` (G).
    """

    @property
    def num_scratch(self) -> int:
        return 2 if self.weight_decay != 0 else 1

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )

    def _check_hyperparameters(
        self,
        lr: Any,
        lr_decay: Any,
        weight_decay: Any,
        initial_accumulator_value: Any,
        eps: Any,
    ) -> dict[str, Any]:
        return {
            "lr": check_number(lr, "Adagrad: lr", low=0.0),
            "lr_decay": check_number(lr_decay, "Adagrad: lr_decay", low=0.0),
            "weight_decay": check_number(weight_decay, "Adagrad: weight_decay", low=0.0),
            "initial_accumulator_value": check_number(
                initial_accumulator_value, "Adagrad: initial_accumulator_value", low=0.0
            ),
            "eps": check_number(eps, "Adagrad: eps", low=0.0),
        }

    @staticmethod
    def _buffer_names(hp: dict[str, Any]) -> tuple[str, ...]:
        return ("sum",)

    def _new_state(self, p: Parameter, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        return {"sum": np.full_like(p.data, self.initial_accumulator_value)}

    def _update(
        self, p: Parameter, state: dict[str, np.ndarray], scratch: list[np.ndarray], first: bool
    ) -> None:
        tmp = scratch[0]
        grad = p.grad
        if self.weight_decay != 0:
            decayed = scratch[1]
            np.multiply(p.data, self.weight_decay, out=decayed)
            grad = np.add(grad, decayed, out=decayed)  # g + λ·W
        clr = self.lr / (1 + (self._step_count - 1) * self.lr_decay)
        total = state["sum"]
        total += np.multiply(grad, grad, out=tmp)  # G += g²
        np.sqrt(total, out=tmp)
        tmp += self.eps
        np.divide(grad, tmp, out=tmp)
        p.data -= np.multiply(tmp, clr, out=tmp)
