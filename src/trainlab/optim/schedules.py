"""Learning-rate schedules: change an optimizer's ``lr`` once per epoch.

Each schedule records the optimizer's learning rate when it is built (``base_lr``,
``last_epoch = 0``) and leaves it unchanged; every ``step()`` (after the epoch's
optimizer steps) moves ``optimizer.lr`` to the next value. The arithmetic is that of
``torch.optim.lr_scheduler`` (recursive, from the optimizer's current ``lr``), so the
sequences agree with PyTorch's exactly.

``state_dict()`` is a flat dict of JSON-able numbers and strings; the learning rate
itself lives in the optimizer's state_dict, so restore both.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from trainlab._checks import check_int, check_number
from trainlab.optim.base import Optimizer
from trainlab.registry import Registry

SCHEDULES: Registry[type] = Registry("schedule")
"""Learning-rate schedules by name (``--schedule``); ``"none"`` is no schedule."""


class LRScheduler:
    """Base class: holds the optimizer, ``base_lr``, ``last_epoch`` and the last ``lr``.

    Subclasses implement ``_check_hyperparameters(**hp) -> dict`` (their constructor's
    options, which become attributes) and ``_next_lr(lr) -> float``.
    """

    _counters: tuple[str, ...] = ("base_lr", "last_epoch", "last_lr")

    def __init__(self, optimizer: Optimizer, **hyperparameters: Any) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{name}: expected a trainlab.optim optimizer (SGD, Adam, ...). "
                f"Received: {type(optimizer).__name__}."
            )
        self.optimizer = optimizer
        self._set_hyperparameters(self._check_hyperparameters(**hyperparameters))
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        self.last_lr = optimizer.lr

    def _check_hyperparameters(self, **hp: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _set_hyperparameters(self, hp: dict[str, Any]) -> None:
        self._hyperparameter_names = tuple(hp)
        for key, value in hp.items():
            setattr(self, key, value)

    def _next_lr(self, lr: float) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate for the next one."""
        self.last_epoch += 1
        self.optimizer.lr = self._next_lr(self.optimizer.lr)
        self.last_lr = self.optimizer.lr

    def get_last_lr(self) -> list[float]:
        """The learning rate set by the last step (or found at construction), as ``[lr]``."""
        return [self.last_lr]

    def state_dict(self) -> dict[str, Any]:
        """A flat dict of JSON-able values: ``type``, the options and the counters."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for key in self._hyperparameter_names + self._counters:
            out[key] = getattr(self, key)
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` exactly (the optimizer's ``lr`` is restored by its own)."""
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{owner}: expected a dict. Received: {type(state_dict).__name__}.")
        if state_dict.get("type") != type(self).__name__:
            raise ValueError(
                f"{owner}: the state was saved by {state_dict.get('type')!r}, "
                f"expected {type(self).__name__!r}."
            )
        expected = {"type", *self._hyperparameter_names, *self._counters}
        if set(state_dict) != expected:
            raise ValueError(
                f"{owner}: expected the keys {sorted(expected)}. "
                f"Received: {sorted(map(str, state_dict))}."
            )
        hp = self._check_hyperparameters(
            **{key: state_dict[key] for key in self._hyperparameter_names}
        )
        counters = self._check_counters(state_dict, owner)
        self._set_hyperparameters(hp)
        for key, value in counters.items():
            setattr(self, key, value)

    def _check_counters(self, state: dict[str, Any], owner: str) -> dict[str, Any]:
        return {
            "base_lr": check_number(state["base_lr"], f"{owner}: base_lr", low=0.0),
            "last_epoch": check_int(state["last_epoch"], f"{owner}: last_epoch", low=0),
            "last_lr": check_number(state["last_lr"], f"{owner}: last_lr", low=0.0),
        }

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyperparameter_names)
        return f"{type(self).__name__}({options}, last_epoch={self.last_epoch})"


@SCHEDULES.register("exponential")
class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch: the notes' ``lr_n = lr_{n−1}·α``.

    After ``n`` steps ``lr = base_lr·γⁿ`` (computed recursively, as PyTorch).
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer, gamma=gamma)

    def _check_hyperparameters(self, gamma: Any) -> dict[str, Any]:
        return {"gamma": check_number(gamma, "ExponentialLR: gamma", low=0.0, low_inclusive=False)}

    def _next_lr(self, lr: float) -> float:
        return lr * self.gamma


@SCHEDULES.register("step")
class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    ``lr = base_lr·γ^⌊epoch / step_size⌋``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer, step_size=step_size, gamma=gamma)

    def _check_hyperparameters(self, step_size: Any, gamma: Any) -> dict[str, Any]:
        return {
            "step_size": check_int(step_size, "StepLR: step_size", low=1),
            "gamma": check_number(gamma, "StepLR: gamma", low=0.0, low_inclusive=False),
        }

    def _next_lr(self, lr: float) -> float:
        if self.last_epoch % self.step_size != 0:
            return lr
        return lr * self.gamma


@SCHEDULES.register("cosine")
class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs.

    Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts"
    (ICLR 2017), without restarts::

        η_t = η_min + ½(η_max − η_min)(1 + cos(π·t / T_max))

    computed recursively from the current ``lr`` as PyTorch does,
    ``η_t = η_min + (η_{t−1} − η_min)·(1 + cos(πt/T_max)) / (1 + cos(π(t−1)/T_max))``;
    past ``T_max`` the learning rate rises again along the same cosine.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer, T_max=T_max, eta_min=eta_min)

    def _check_hyperparameters(self, T_max: Any, eta_min: Any) -> dict[str, Any]:
        return {
            "T_max": check_int(T_max, "CosineAnnealingLR: T_max", low=1),
            "eta_min": check_number(eta_min, "CosineAnnealingLR: eta_min", low=0.0),
        }

    def _next_lr(self, lr: float) -> float:
        t, T_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if (t - 1 - T_max) % (2 * T_max) == 0:  # leaving the minimum: 1 + cos(π(t−1)/T_max) = 0
            return lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
        return (1 + math.cos(math.pi * t / T_max)) / (
            1 + math.cos(math.pi * (t - 1) / T_max)
        ) * (lr - eta_min) + eta_min


@SCHEDULES.register("plateau")
class ReduceLROnPlateau(LRScheduler):
    r"""Multiply the learning rate by ``factor`` when a monitored metric stops improving.

    ``step(metric)`` takes the epoch's value (a validation loss for ``mode="min"``, an
    accuracy for ``mode="max"``). A value improves on the best so far when it beats
    ``best·(1 ∓ threshold)`` (``threshold_mode="rel"``) or ``best ∓ threshold``
    (``"abs"``). After more than ``patience`` epochs without improvement the rate
    becomes ``max(lr·factor, min_lr)`` (changes smaller than ``eps`` are skipped),
    then ``cooldown`` epochs pass before bad epochs are counted again. As PyTorch's.
    """

    _counters = ("base_lr", "last_epoch", "last_lr", "best", "num_bad_epochs", "cooldown_counter")

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(
            optimizer,
            mode=mode,
            factor=factor,
            patience=patience,
            threshold=threshold,
            threshold_mode=threshold_mode,
            cooldown=cooldown,
            min_lr=min_lr,
            eps=eps,
        )
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def _check_hyperparameters(
        self,
        mode: Any,
        factor: Any,
        patience: Any,
        threshold: Any,
        threshold_mode: Any,
        cooldown: Any,
        min_lr: Any,
        eps: Any,
    ) -> dict[str, Any]:
        name = "ReduceLROnPlateau"
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max'. Received: {mode!r}.")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{name}: threshold_mode must be 'rel' or 'abs'. Received: {threshold_mode!r}."
            )
        return {
            "mode": mode,
            "factor": check_number(factor, f"{name}: factor", low=0.0, high=1.0,
                                   low_inclusive=False, high_inclusive=False),
            "patience": check_int(patience, f"{name}: patience", low=0),
            "threshold": check_number(threshold, f"{name}: threshold", low=0.0),
            "threshold_mode": threshold_mode,
            "cooldown": check_int(cooldown, f"{name}: cooldown", low=0),
            "min_lr": check_number(min_lr, f"{name}: min_lr", low=0.0),
            "eps": check_number(eps, f"{name}: eps", low=0.0),
        }

    def _check_counters(self, state: dict[str, Any], owner: str) -> dict[str, Any]:
        best = state["best"]
        if isinstance(best, bool) or not isinstance(best, numbers.Real):
            raise TypeError(f"{owner}: best must be a real number. Received: {best!r}.")
        return {
            **super()._check_counters(state, owner),
            "best": float(best),
            "num_bad_epochs": check_int(state["num_bad_epochs"], f"{owner}: num_bad_epochs",
                                        low=0),
            "cooldown_counter": check_int(state["cooldown_counter"],
                                          f"{owner}: cooldown_counter", low=0),
        }

    def _is_better(self, value: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return value < self.best * (1.0 - self.threshold)
        if self.mode == "min":
            return value < self.best - self.threshold
        if self.threshold_mode == "rel":
            return value > self.best * (self.threshold + 1.0)
        return value > self.best + self.threshold

    def step(self, metric: float) -> None:  # type: ignore[override]
        """Record the epoch's ``metric`` and reduce ``lr`` after a long enough plateau."""
        if isinstance(metric, (bool, np.bool_)) or not isinstance(
            metric, (numbers.Real, np.ndarray)
        ) or np.ndim(metric) != 0:
            raise TypeError(
                f"ReduceLROnPlateau.step: metric must be a real number. Received: {metric!r}."
            )
        current = float(metric)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            old_lr = self.optimizer.lr
            new_lr = max(old_lr * self.factor, self.min_lr)
            if old_lr - new_lr > self.eps:
                self.optimizer.lr = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self.last_lr = self.optimizer.lr
