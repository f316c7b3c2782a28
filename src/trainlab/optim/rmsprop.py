"""RMSprop: divide the step by a running root mean square of the gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from trainlab._checks import check_number
from trainlab.nn.module import Parameter
from trainlab.optim.base import OPTIMIZERS, Optimizer, check_flag, lerp_


@OPTIMIZERS.register("rmsprop")
class RMSprop(Optimizer):
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

    State per parameter: ``square_avg`` (C), ``grad_avg`` (ḡ, centered only),
    ``momentum_buffer`` (b, momentum > 0 only).
    """

    @property
    def num_scratch(self) -> int:
        return 2 if self.weight_decay != 0 else 1

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )

    def _check_hyperparameters(
        self,
        lr: Any,
        alpha: Any,
        eps: Any,
        weight_decay: Any,
        momentum: Any,
        centered: Any,
    ) -> dict[str, Any]:
        return {
            "lr": check_number(lr, "RMSprop: lr", low=0.0),
            "alpha": check_number(alpha, "RMSprop: alpha", low=0.0, high=1.0),
            "eps": check_number(eps, "RMSprop: eps", low=0.0),
            "weight_decay": check_number(weight_decay, "RMSprop: weight_decay", low=0.0),
            "momentum": check_number(momentum, "RMSprop: momentum", low=0.0, high=1.0,
                                     high_inclusive=False),
            "centered": check_flag(centered, "RMSprop: centered"),
        }

    @staticmethod
    def _buffer_names(hp: dict[str, Any]) -> tuple[str, ...]:
        names = ("square_avg",)
        if hp["centered"]:
            names += ("grad_avg",)
        if hp["momentum"] > 0:
            names += ("momentum_buffer",)
        return names

    def _update(
        self, p: Parameter, state: dict[str, np.ndarray], scratch: list[np.ndarray], first: bool
    ) -> None:
        tmp = scratch[0]
        grad = p.grad
        if self.weight_decay != 0:
            decayed = scratch[1]
            np.multiply(p.data, self.weight_decay, out=decayed)
            grad = np.add(grad, decayed, out=decayed)  # g + λ·W
        square_avg = state["square_avg"]
        square_avg *= self.alpha
        np.multiply(grad, 1 - self.alpha, out=tmp)
        tmp *= grad
        square_avg += tmp  # C = α·C + (1 − α)·g²
        if self.centered:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1 - self.alpha, tmp)  # ḡ = α·ḡ + (1 − α)·g
            np.multiply(grad_avg, grad_avg, out=tmp)
            np.subtract(square_avg, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(square_avg, out=tmp)
        tmp += self.eps
        np.divide(grad, tmp, out=tmp)  # g / A
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += tmp
            p.data -= np.multiply(buf, self.lr, out=tmp)
        else:
            p.data -= np.multiply(tmp, self.lr, out=tmp)
