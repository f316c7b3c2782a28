"""Adam and AdamW: momentum and RMSprop-style scaling with bias correction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from trainlab._checks import check_number
from trainlab.nn.module import Parameter
from trainlab.optim import fused
from trainlab.optim.base import OPTIMIZERS, Optimizer, check_flag, lerp_


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
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

    State per parameter: ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq``
    (v_max, amsgrad only).

    With Numba installed, the update runs as one compiled pass per parameter
    (``optim.fused.adam_update``) that gives the same numbers bit for bit.
    """

    decoupled_weight_decay: bool = False

    @property
    def num_scratch(self) -> int:
        return 2 if self.weight_decay != 0 and not self.decoupled_weight_decay else 1

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )

    def _check_hyperparameters(
        self, lr: Any, betas: Any, eps: Any, weight_decay: Any, amsgrad: Any
    ) -> dict[str, Any]:
        name = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{name}: betas must be a pair (beta1, beta2). Received: {betas!r}.")
        beta1 = check_number(betas[0], f"{name}: betas[0]", low=0.0, high=1.0,
                             high_inclusive=False)
        beta2 = check_number(betas[1], f"{name}: betas[1]", low=0.0, high=1.0,
                             high_inclusive=False)
        return {
            "lr": check_number(lr, f"{name}: lr", low=0.0),
            "betas": (beta1, beta2),
            "eps": check_number(eps, f"{name}: eps", low=0.0),
            "weight_decay": check_number(weight_decay, f"{name}: weight_decay", low=0.0),
            "amsgrad": check_flag(amsgrad, f"{name}: amsgrad"),
        }

    @staticmethod
    def _buffer_names(hp: dict[str, Any]) -> tuple[str, ...]:
        names = ("exp_avg", "exp_avg_sq")
        return names + ("max_exp_avg_sq",) if hp["amsgrad"] else names

    def _fused_kernel(self) -> Callable[..., None] | None:
        """``optim.fused``'s Adam kernel: :meth:`_update` in one pass, bit for bit the same."""
        adam = fused.kernel("adam")
        if adam is None:
            return None
        if self.amsgrad:
            return lambda p, g, m, v, vmax, c, first: adam(p, g, m, v, vmax, c, True)
        return lambda p, g, m, v, c, first: adam(p, g, m, v, v, c, False)

    def _fused_scalars(self) -> tuple[float, ...]:
        beta1, beta2 = self.betas
        step = self._step_count
        weight = 1 - beta1  # lerp_'s two forms: m + w·(g − m), or g − (1 − w)·(g − m)
        decoupled = self.decoupled_weight_decay and self.weight_decay != 0
        return (
            0.0 if decoupled else self.weight_decay,
            1 - self.lr * self.weight_decay if decoupled else 1.0,
            weight if abs(weight) < 0.5 else 1 - weight,
            1.0 if abs(weight) < 0.5 else 0.0,
            beta2,
            1 - beta2,
            (1 - beta2**step) ** 0.5,
            self.eps,
            self.lr / (1 - beta1**step),
        )

    def _update(
        self, p: Parameter, state: dict[str, np.ndarray], scratch: list[np.ndarray], first: bool
    ) -> None:
        tmp = scratch[0]
        beta1, beta2 = self.betas
        grad = p.grad
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                p.data *= 1 - self.lr * self.weight_decay  # W ← W·(1 − γλ)
            else:
                decayed = scratch[1]
                np.multiply(p.data, self.weight_decay, out=decayed)
                grad = np.add(grad, decayed, out=decayed)  # g + λ·W
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1 - beta1, tmp)  # m = β₁·m + (1 − β₁)·g
        exp_avg_sq *= beta2
        np.multiply(grad, 1 - beta2, out=tmp)
        tmp *= grad
        exp_avg_sq += tmp  # v = β₂·v + (1 − β₂)·g²

        step = self._step_count
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = self.lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if self.amsgrad:
            second = state["max_exp_avg_sq"]
            np.maximum(second, exp_avg_sq, out=second)
        else:
            second = exp_avg_sq
        np.sqrt(second, out=tmp)
        tmp /= bias_correction2_sqrt
        tmp += self.eps  # √v̂ + ε
        np.divide(exp_avg, tmp, out=tmp)
        p.data -= np.multiply(tmp, step_size, out=tmp)


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
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )
