"""A plugin for trainlab: signSGD, the softsign activation and a scaled-down He initialiser.

Installed, it makes ``--optimizer signsgd``, ``--activation softsign`` and
``--init half_normal`` usable wherever trainlab takes a name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trainlab.nn import Module


class SignSGD:
    """signSGD (Bernstein et al., 2018): ``p ← p − lr·sign(g)``, with an optional decay of
    the step, ``lr·decay^t``."""

    def __init__(self, params: Any, lr: float = 1e-3, decay: float = 1.0) -> None:
        self.params = list(params)
        self.lr = float(lr)
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"SignSGD: decay must be in (0, 1]. Received: {decay!r}.")
        self.decay = float(decay)
        self.steps = 0

    def step(self) -> None:
        scale = self.lr * self.decay**self.steps
        for p in self.params:
            p.data -= (scale * np.sign(p.grad)).astype(p.data.dtype)
        self.steps += 1

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad.fill(0)

    def state_dict(self) -> dict[str, Any]:
        return {"type": "SignSGD", "hyperparameters": {"lr": self.lr, "decay": self.decay},
                "step": self.steps, "state": {}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lr = float(state["hyperparameters"]["lr"])
        self.decay = float(state["hyperparameters"]["decay"])
        self.steps = int(state["step"])


class Softsign(Module):
    """softsign(z) = z / (1 + |z|), with derivative 1 / (1 + |z|)²."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._denominator = 1.0 + np.abs(x)
        return x / self._denominator

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy / self._denominator**2


def half_normal(fan_in: int, fan_out: int, rng: Any = None, dtype: Any = np.float32) -> np.ndarray:
    """N(0, 1/fan_in): He's variance, halved."""
    generator = np.random.default_rng(rng)
    return (generator.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype)
