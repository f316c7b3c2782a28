"""Stochastic gradient descent with optional (Nesterov) momentum and weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from trainlab._checks import check_number
from trainlab.nn.module import Parameter
from trainlab.optim import fused
from trainlab.optim.base import OPTIMIZERS, Optimizer, check_flag


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    r"""Minibatch gradient descent, with momentum (Polyak, 1964) and Nesterov momentum.

    For each parameter ``W`` with gradient ``g`` (step ``t``, learning rate γ,
    momentum μ, dampening τ, weight decay λ), as ``torch.optim.SGD``::

        g   ← g + λ·W                         (weight_decay ≠ 0)
        b_1 = g ;  b_t = μ·b_{t-1} + (1 − τ)·g  (momentum ≠ 0; the buffer starts as g)
        g   ← g + μ·b_t  if nesterov  else  b_t
        W   ← W − γ·g

    Without momentum this is the notes' ``W_{n+1} = W_n − γ·∇L``; with momentum and
    τ = 0 it is ``V_{n+1} = ρ·V_n + ∇L``, ``W_{n+1} = W_n − γ·V_{n+1}``. The Nesterov
    form is that of Sutskever, Martens, Dahl & Hinton, "On the importance of
    initialization and momentum in deep learning" (ICML 2013).

    State per parameter: ``momentum_buffer`` (only when momentum ≠ 0).

    With Numba installed, the update runs as one compiled pass per parameter
    (``optim.fused.sgd_update``) that gives the same numbers bit for bit.
    """

    @property
    def num_scratch(self) -> int:
        return 2 if self.weight_decay != 0 else 1

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )

    def _check_hyperparameters(
        self,
        lr: Any,
        momentum: Any,
        dampening: Any,
        nesterov: Any,
        weight_decay: Any,
    ) -> dict[str, Any]:
        hp = {
            "lr": check_number(lr, "SGD: lr", low=0.0),
            "momentum": check_number(momentum, "SGD: momentum", low=0.0, high=1.0,
                                     high_inclusive=False),
            "dampening": check_number(dampening, "SGD: dampening", low=0.0, high=1.0),
            "nesterov": check_flag(nesterov, "SGD: nesterov"),
            "weight_decay": check_number(weight_decay, "SGD: weight_decay", low=0.0),
        }
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError(
                "SGD: Nesterov momentum requires momentum > 0 and dampening = 0. "
                f"Received: momentum={hp['momentum']!r}, dampening={hp['dampening']!r}."
            )
        return hp

    @staticmethod
    def _buffer_names(hp: dict[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if hp["momentum"] != 0 else ()

    def _fused_kernel(self) -> Callable[..., None] | None:
        """``optim.fused``'s SGD kernel: :meth:`_update` in one pass, bit for bit the same."""
        sgd = fused.kernel("sgd")
        if sgd is None:
            return None
        if self.momentum != 0:
            return lambda p, g, buf, c, first: sgd(p, g, buf, c, first, True)
        return lambda p, g, c, first: sgd(p, g, p, c, first, False)

    def _fused_scalars(self) -> tuple[float, ...]:
        return (
            self.weight_decay,
            self.momentum,
            1 - self.dampening,
            1.0 if self.dampening != 0 else 0.0,
            1.0 if self.nesterov else 0.0,
            self.lr,
        )

    def _update(
        self, p: Parameter, state: dict[str, np.ndarray], scratch: list[np.ndarray], first: bool
    ) -> None:
        tmp = scratch[0]
        grad = p.grad
        if self.weight_decay != 0:
            decayed = scratch[1]
            np.multiply(p.data, self.weight_decay, out=decayed)
            grad = np.add(grad, decayed, out=decayed)  # g + λ·W
        if self.momentum != 0:
            buf = state["momentum_buffer"]
            if first:
                np.copyto(buf, grad)
            else:
                buf *= self.momentum
                if self.dampening != 0:
                    buf += np.multiply(grad, 1 - self.dampening, out=tmp)
                else:
                    buf += grad
            if self.nesterov:
                np.multiply(buf, self.momentum, out=tmp)
                grad = np.add(grad, tmp, out=tmp)  # g + μ·b
            else:
                grad = buf
        p.data -= np.multiply(grad, self.lr, out=tmp)
