"""Stochastic gradient descent with optional (Nesterov) momentum and weight decay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab._checks import check_number
from trainlab.backend import BackendLike, SGDScalars
from trainlab.nn.module import Parameter
from trainlab.optim.base import (
    OPTIMIZERS,
    Optimizer,
    ParamsLike,
    Scratch,
    State,
    check_flag,
)
from trainlab.optim.weight_decay import apply_weight_decay


@dataclass(eq=False)
class SGDState(State):
    """SGD's state for one parameter: the momentum buffer b (None without momentum)."""

    momentum_buffer: np.ndarray | None = None


@OPTIMIZERS.register("sgd")
class SGD(Optimizer[SGDState, SGDScalars]):
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

    State per parameter (:class:`SGDState`): ``momentum_buffer`` (only when momentum ≠ 0).

    The backend's ``sgd_update`` (compiled by Numba on the "numba" backend) does the
    same update in one pass per parameter, with the same numbers bit for bit.
    """

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        *,
        backend: BackendLike = None,
    ) -> None:
        super().__init__(params, backend=backend, lr=lr, momentum=momentum, dampening=dampening,
                         nesterov=nesterov, weight_decay=weight_decay)

    def _configure(
        self, *, lr: float, momentum: float, dampening: float, nesterov: bool, weight_decay: float
    ) -> None:
        self.lr = lr
        self.momentum: float = check_number(momentum, "SGD: momentum", low=0.0, high=1.0,
                                            high_inclusive=False)
        self.dampening: float = check_number(dampening, "SGD: dampening", low=0.0, high=1.0)
        self.nesterov: bool = check_flag(nesterov, "SGD: nesterov")
        self.weight_decay: float = check_number(weight_decay, "SGD: weight_decay", low=0.0)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                "SGD: Nesterov momentum requires momentum > 0 and dampening = 0. "
                f"Received: momentum={self.momentum!r}, dampening={self.dampening!r}."
            )

    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "dampening": self.dampening,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay}

    def _new_state(self, like: np.ndarray) -> SGDState:
        return SGDState(momentum_buffer=np.zeros_like(like) if self.momentum != 0 else None)

    def _scalars(self) -> SGDScalars:
        return SGDScalars(lr=self.lr, momentum=self.momentum, dampening=self.dampening,
                          nesterov=self.nesterov, weight_decay=self.weight_decay)

    def _update(self, p: Parameter, state: SGDState, c: SGDScalars, work: Scratch) -> None:
        first = self.step_count == 1  # the buffer starts as the gradient: b₁ = g
        buf = state.momentum_buffer
        if self.backend.sgd_update(p.data, p.grad, buf, c, first, work.cache):
            return  # the same update, fused into one pass
        grad = apply_weight_decay(p, c.weight_decay, work)  # g + λ·W
        tmp = work["tmp"]
        if buf is not None:
            if first:
                np.copyto(buf, grad)
            else:
                buf *= c.momentum
                if c.dampening != 0:
                    buf += np.multiply(grad, 1 - c.dampening, out=tmp)
                else:
                    buf += grad  # b ← μ·b + (1 − τ)·g
            if c.nesterov:
                np.multiply(buf, c.momentum, out=tmp)
                grad = np.add(grad, tmp, out=tmp)  # g + μ·b
            else:
                grad = buf
        p.data -= np.multiply(grad, c.lr, out=tmp)  # W ← W − γ·g
