"""Learning-rate schedules: change an optimizer's ``lr`` once per epoch (or per step).

Each schedule records the learning rate of every parameter group when it is built
(``base_lrs``, ``last_epoch = 0``) and sets each group's rate for step 0 (unchanged for
most; ``LinearLR`` starts at ``start_factor·lr``); every ``step()`` (after the epoch's
optimizer steps) moves each group's ``lr`` to its next value. The arithmetic is that of
``torch.optim.lr_scheduler`` (recursive, from the group's current ``lr``), so the
sequences agree with PyTorch's exactly.

``interval`` says how often the :class:`~trainlab.train.Trainer` steps a schedule:
``"epoch"`` (after validation) or ``"step"`` (after every optimizer step: ``OneCycleLR``,
``CosineAnnealingWarmRestarts``, whose lengths count optimizer steps).

``state_dict()`` is a flat dict of JSON-able numbers and strings (``base_lr`` and
``last_lr`` are numbers with one parameter group, lists with several); the learning
rates themselves live in the optimizer's state_dict, so restore both.
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any

import numpy as np

from trainlab._checks import check_int, check_number
from trainlab.optim.base import Optimizer
from trainlab.registry import Registry

SCHEDULES: Registry[type] = Registry("schedule")
"""Learning-rate schedules by name (``--schedule``); ``"none"`` is no schedule."""


class _OneGroup:
    """The ``lr`` of an optimizer without parameter groups (a plugin's, with only an ``lr``
    attribute), seen as the one group ``{"lr": ...}`` that schedules scale."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer

    def __getitem__(self, key: str) -> float:
        if key != "lr":
            raise KeyError(key)
        return float(self.optimizer.lr)

    def __setitem__(self, key: str, value: float) -> None:
        if key != "lr":
            raise KeyError(key)
        self.optimizer.lr = value


def lr_groups(optimizer: Any) -> list[Any]:
    """The parameter groups whose ``"lr"`` a schedule scales: the optimizer's
    ``param_groups``, or its single ``lr`` when it has no groups."""
    groups = getattr(optimizer, "param_groups", None)
    return list(groups) if groups is not None else [_OneGroup(optimizer)]


class LRScheduler:
    """Base class: holds the optimizer, ``base_lrs``, ``last_epoch`` and the last rates.

    Subclasses pass their constructor's options to ``super().__init__`` and implement
    ``_configure(**options)`` (check each and set it as a typed attribute; also the path
    of ``load_state_dict``), ``hyperparameters()`` (them, by name) and
    ``_next_lr(lr, base_lr) -> float``, one group's next rate from its current one and
    its initial one.
    """

    _counters: tuple[str, ...] = ()  # saved after base_lr, last_epoch and last_lr
    interval: str = "epoch"
    """How often the Trainer steps it: ``"epoch"`` or ``"step"`` (every optimizer step)."""

    def __init__(self, optimizer: Optimizer, **hyperparameters: Any) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer) and not hasattr(optimizer, "lr"):
            raise TypeError(  # a plugin's optimizer needs only its ``lr`` attribute here
                f"{name}: expected an optimizer with an ``lr`` attribute (SGD, Adam, ...). "
                f"Received: {type(optimizer).__name__}."
            )
        self.optimizer = optimizer
        self._configure(**hyperparameters)
        groups = lr_groups(optimizer)
        self.base_lrs: list[float] = self._initial_base_lrs([g["lr"] for g in groups])
        self.last_epoch = 0
        self._start()
        self.last_lrs: list[float] = [group["lr"] for group in groups]

    def _initial_base_lrs(self, lrs: list[float]) -> list[float]:
        """``base_lrs`` from the groups' rates at construction (OneCycleLR: its own)."""
        return list(lrs)

    def _start(self) -> None:
        """Set the groups' rates (and momenta) of step 0; most schedules leave them."""

    def _restart_lrs(self) -> list[float]:
        """The rates at ``last_epoch = 0`` from ``base_lrs`` in closed form (a schedule
        that SequentialLR starts at its milestone)."""
        return list(self.base_lrs)

    def begin(self) -> None:
        """Start from step 0 at the groups' current rates (what building does; SequentialLR
        begins its first schedule so)."""
        self.last_epoch = 0
        self._start()
        self.last_lrs = [group["lr"] for group in lr_groups(self.optimizer)]

    def restart(self) -> None:
        """Start again from step 0 at the closed-form rates (PyTorch's ``_update_lr(0)``
        inside SequentialLR)."""
        self.last_epoch = 0
        groups = lr_groups(self.optimizer)
        for group, lr in zip(groups, self._restart_lrs(), strict=False):
            group["lr"] = lr
        self.last_lrs = [group["lr"] for group in groups]

    @property
    def base_lr(self) -> float:
        """The first group's learning rate when the schedule was built."""
        return self.base_lrs[0]

    @property
    def last_lr(self) -> float:
        """The first group's learning rate after the last step."""
        return self.last_lrs[0]

    def _configure(self, *args: Any, **hyperparameters: Any) -> None:
        """Check each option and set it as an attribute (the constructor's keywords)."""
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        """The options by the constructor's names."""
        raise NotImplementedError

    def _next_lr(self, lr: float, base_lr: float) -> float:
        raise NotImplementedError

    def _next_lrs(self, lrs: list[float]) -> list[float]:
        """Every group's next rate from its current one (after ``last_epoch`` advanced)."""
        return [self._next_lr(lr, base_lr) for lr, base_lr in zip(lrs, self.base_lrs,
                                                                  strict=False)]

    def step(self) -> None:
        """Advance one epoch (or step) and set every group's learning rate for the next one."""
        self.last_epoch += 1
        groups = lr_groups(self.optimizer)
        for group, lr in zip(groups, self._next_lrs([g["lr"] for g in groups]), strict=False):
            group["lr"] = lr
        self.last_lrs = [group["lr"] for group in groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last step (or found at construction), one per group."""
        return list(self.last_lrs)

    def state_dict(self) -> dict[str, Any]:
        """A flat dict of JSON-able values: ``type``, the options and the counters."""
        out: dict[str, Any] = {"type": type(self).__name__}
        out.update(self.hyperparameters())
        one = len(self.base_lrs) == 1
        out["base_lr"] = self.base_lrs[0] if one else list(self.base_lrs)
        out["last_epoch"] = self.last_epoch
        out["last_lr"] = self.last_lrs[0] if one else list(self.last_lrs)
        for key in self._counters:
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
        names = list(self.hyperparameters())
        expected = {"type", *names, "base_lr", "last_epoch", "last_lr", *self._counters}
        if set(state_dict) != expected:
            raise ValueError(
                f"{owner}: expected the keys {sorted(expected)}. "
                f"Received: {sorted(map(str, state_dict))}."
            )
        hp = {key: state_dict[key] for key in names}
        if names:  # checked as the constructor checks them, on a copy: nothing changes yet
            copy.copy(self)._configure(**hp)
        base_lrs = self._check_lrs(state_dict["base_lr"], f"{owner}: base_lr")
        last_lrs = self._check_lrs(state_dict["last_lr"], f"{owner}: last_lr")
        counters = self._check_counters(state_dict, owner)
        if names:
            self._configure(**hp)
        self.base_lrs, self.last_lrs = base_lrs, last_lrs
        for key, value in counters.items():
            setattr(self, key, value)

    def _check_lrs(self, value: Any, name: str) -> list[float]:
        """One rate per parameter group: a number for one group, a list for several."""
        count = len(self.base_lrs)
        if count == 1:
            return [check_number(value, name, low=0.0)]
        if not isinstance(value, list) or len(value) != count:
            raise ValueError(
                f"{name} must be a list of {count} rates, one per parameter group. "
                f"Received: {value!r}."
            )
        return [check_number(v, f"{name}[{i}]", low=0.0) for i, v in enumerate(value)]

    def _check_counters(self, state: dict[str, Any], owner: str) -> dict[str, Any]:
        return {"last_epoch": check_int(state["last_epoch"], f"{owner}: last_epoch", low=0)}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({options}, last_epoch={self.last_epoch})"


@SCHEDULES.register("exponential")
class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch: the notes' ``lr_n = lr_{n−1}·α``.

    After ``n`` steps ``lr = base_lr·γⁿ`` (computed recursively, as PyTorch).
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer, gamma=gamma)

    def _configure(self, *, gamma: float) -> None:
        self.gamma: float = check_number(gamma, "ExponentialLR: gamma", low=0.0,
                                         low_inclusive=False)

    def hyperparameters(self) -> dict[str, Any]:
        return {"gamma": self.gamma}

    def _next_lr(self, lr: float, base_lr: float) -> float:
        return lr * self.gamma


@SCHEDULES.register("step")
class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    ``lr = base_lr·γ^⌊epoch / step_size⌋``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer, step_size=step_size, gamma=gamma)

    def _configure(self, *, step_size: int, gamma: float) -> None:
        self.step_size: int = check_int(step_size, "StepLR: step_size", low=1)
        self.gamma: float = check_number(gamma, "StepLR: gamma", low=0.0, low_inclusive=False)

    def hyperparameters(self) -> dict[str, Any]:
        return {"step_size": self.step_size, "gamma": self.gamma}

    def _next_lr(self, lr: float, base_lr: float) -> float:
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

    def _configure(self, *, T_max: int, eta_min: float) -> None:
        self.T_max: int = check_int(T_max, "CosineAnnealingLR: T_max", low=1)
        self.eta_min: float = check_number(eta_min, "CosineAnnealingLR: eta_min", low=0.0)

    def hyperparameters(self) -> dict[str, Any]:
        return {"T_max": self.T_max, "eta_min": self.eta_min}

    def _restart_lrs(self) -> list[float]:
        eta_min = self.eta_min  # PyTorch's closed form at t = 0
        return [eta_min + (b - eta_min) * (1 + math.cos(0.0)) / 2 for b in self.base_lrs]

    def _next_lr(self, lr: float, base_lr: float) -> float:
        t, T_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if (t - 1 - T_max) % (2 * T_max) == 0:  # leaving the minimum: 1 + cos(π(t−1)/T_max) = 0
            return lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
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

    _counters = ("best", "num_bad_epochs", "cooldown_counter")

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

    def _configure(
        self, *, mode: str, factor: float, patience: int, threshold: float,
        threshold_mode: str, cooldown: int, min_lr: float, eps: float,
    ) -> None:
        name = "ReduceLROnPlateau"
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max'. Received: {mode!r}.")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{name}: threshold_mode must be 'rel' or 'abs'. Received: {threshold_mode!r}."
            )
        self.mode: str = mode
        self.factor: float = check_number(factor, f"{name}: factor", low=0.0, high=1.0,
                                          low_inclusive=False, high_inclusive=False)
        self.patience: int = check_int(patience, f"{name}: patience", low=0)
        self.threshold: float = check_number(threshold, f"{name}: threshold", low=0.0)
        self.threshold_mode: str = threshold_mode
        self.cooldown: int = check_int(cooldown, f"{name}: cooldown", low=0)
        self.min_lr: float = check_number(min_lr, f"{name}: min_lr", low=0.0)
        self.eps: float = check_number(eps, f"{name}: eps", low=0.0)

    def hyperparameters(self) -> dict[str, Any]:
        return {"mode": self.mode, "factor": self.factor, "patience": self.patience,
                "threshold": self.threshold, "threshold_mode": self.threshold_mode,
                "cooldown": self.cooldown, "min_lr": self.min_lr, "eps": self.eps}

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
        groups = lr_groups(self.optimizer)
        if self.num_bad_epochs > self.patience:
            for group in groups:
                old_lr = group["lr"]
                new_lr = max(old_lr * self.factor, self.min_lr)
                if old_lr - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self.last_lrs = [group["lr"] for group in groups]
