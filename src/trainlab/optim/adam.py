"""Adam and AdamW: momentum and RMSprop-style scaling with bias correction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab._checks import check_number
from trainlab.backend import AdamScalars, BackendLike
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
from trainlab.optim.weight_decay import apply_weight_decay, weight_decay_terms


@dataclass(eq=False)
class AdamState(State):
    """Adam's state for one parameter: m, v and, with AMSGrad, the running maximum of v."""

    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray | None = None


def check_betas(betas: Any, owner: str) -> tuple[float, float]:
    """``betas`` as a pair of floats, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{owner}: betas must be a pair (beta1, beta2). Received: {betas!r}.")
    return (
        check_number(betas[0], f"{owner}: betas[0]", low=0.0, high=1.0, high_inclusive=False),
        check_number(betas[1], f"{owner}: betas[1]", low=0.0, high=1.0, high_inclusive=False),
    )


@OPTIMIZERS.register("adam")
class Adam(Optimizer[AdamState, AdamScalars]):
    r"""Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015).

    A moving average of the gradient (momentum) divided by the root of a moving
    average of its square (RMSprop), both corrected for their zero start. The notes'
    ``m_t = β₁m_{t−1} + (1−β₁)g``, ``v_t = β₂v_{t−1} + (1−β₂)g²``,
    ``m̂ = m_t/(1−β₁ᵗ)``, ``v̂ = v_t/(1−β₂ᵗ)``, ``W ← W − γ·m̂/(√v̂ + ε)``, computed as
    ``torch.optim.Adam`` does (step ``t``, learning rate γ, weight decay λ)::

        g ← g + λ·W                                  (weight_decay ≠ 0)
        m ← m + (1 − β₁)·(g − m)
        v ← β₂·v + (1 − β₂)·g²
        v_max ← max(v_max, v) and use v_max for v    (amsgrad)
        W ← W − γ/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)   (ε outside the square root)

    ``amsgrad`` is from Reddi, Kale & Kumar, "On the Convergence of Adam and Beyond"
    (ICLR 2018).

    State per parameter (:class:`AdamState`): ``exp_avg`` (m), ``exp_avg_sq`` (v),
    ``max_exp_avg_sq`` (v_max, amsgrad only).

    The backend's ``adam_update`` (compiled by Numba on the "numba" backend) does the
    same update in one pass per parameter, with the same numbers bit for bit.
    """

    decoupled_weight_decay: bool = False  # AdamW: W ← W·(1 − γλ) instead of g ← g + λ·W

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        backend: BackendLike = None,
    ) -> None:
        super().__init__(params, backend=backend, lr=lr, betas=betas, eps=eps,
                         weight_decay=weight_decay, amsgrad=amsgrad)

    def _configure(
        self, *, lr: float, betas: tuple[float, float], eps: float, weight_decay: float,
        amsgrad: bool,
    ) -> None:
        owner = type(self).__name__
        self.lr = lr
        self.betas: tuple[float, float] = check_betas(betas, owner)
        self.eps: float = check_number(eps, f"{owner}: eps", low=0.0)
        self.weight_decay: float = check_number(weight_decay, f"{owner}: weight_decay", low=0.0)
        self.amsgrad: bool = check_flag(amsgrad, f"{owner}: amsgrad")

    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay, "amsgrad": self.amsgrad}

    def _new_state(self, like: np.ndarray) -> AdamState:
        return AdamState(
            exp_avg=np.zeros_like(like),
            exp_avg_sq=np.zeros_like(like),
            max_exp_avg_sq=np.zeros_like(like) if self.amsgrad else None,
        )

    def _scalars(self) -> AdamScalars:
        beta1, beta2 = self.betas
        t = self.step_count
        l2, shrink = weight_decay_terms(
            self.weight_decay, lr=self.lr, decoupled=self.decoupled_weight_decay
        )
        return AdamScalars(
            beta1=beta1,
            beta2=beta2,
            eps=self.eps,
            step_size=self.lr / (1 - beta1**t),  # γ/(1 − β₁ᵗ)
            bias_correction2_sqrt=(1 - beta2**t) ** 0.5,  # √(1 − β₂ᵗ)
            weight_decay=l2,
            shrink=shrink,
        )

    def _update(self, p: Parameter, state: AdamState, c: AdamScalars, work: Scratch) -> None:
        m, v, v_max = state.exp_avg, state.exp_avg_sq, state.max_exp_avg_sq
        if self.backend.adam_update(p.data, p.grad, m, v, v_max, c, work.cache):
            return  # the same update, fused into one pass
        grad = apply_weight_decay(
            p, self.weight_decay, work, lr=self.lr, decoupled=self.decoupled_weight_decay
        )
        tmp = work["tmp"]
        lerp_(m, grad, 1 - c.beta1, tmp)  # m ← β₁·m + (1 − β₁)·g
        v *= c.beta2
        np.multiply(grad, 1 - c.beta2, out=tmp)
        tmp *= grad
        v += tmp  # v ← β₂·v + (1 − β₂)·g²
        if v_max is not None:  # AMSGrad: v ← max(v_max, v)
            np.maximum(v_max, v, out=v_max)
            v = v_max
        np.sqrt(v, out=tmp)
        tmp /= c.bias_correction2_sqrt
        tmp += c.eps  # √v̂ + ε
        np.divide(m, tmp, out=tmp)
        p.data -= np.multiply(tmp, c.step_size, out=tmp)  # W ← W − γ/(1 − β₁ᵗ)·m/(√v̂ + ε)

    def effective_lr(self) -> float:
        """The median over coordinates of γ/(1 − β₁ᵗ) / (√v̂ + ε) (NaN before the first step)."""
        states = [s for s in self._states if s is not None]  # the first group's
        t = self.step_count
        if t < 1 or not states:
            return math.nan
        beta1, beta2 = self.betas
        v = coordinate_sample(s.exp_avg_sq for s in states)
        scale = self.lr / (1 - beta1**t)
        return float(np.median(scale / (np.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps)))


@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019).

    Adam whose weight decay shrinks the weights directly instead of entering the
    gradient (and so the moment estimates). As ``torch.optim.AdamW``, each step
    first decays, then applies the Adam update of :class:`Adam` to the raw gradient::

        W ← W·(1 − γ·λ)
        W ← W − γ/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

    State per parameter: as :class:`Adam`.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        backend: BackendLike = None,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, backend=backend)
