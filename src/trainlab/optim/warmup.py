"""Piecewise schedules: ``LinearLR`` (warmup), ``MultiStepLR``, ``LambdaLR`` and
``SequentialLR`` (one schedule after another), with PyTorch's semantics and numbers.

A warmup is ``SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=5),
CosineAnnealingLR(opt, T_max=25)], milestones=[5])``: the rate climbs linearly from
``0.1·lr`` to ``lr`` over 5 epochs, then anneals.
"""

from __future__ import annotations

import bisect
import copy
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from trainlab._checks import check_int, check_number
from trainlab.optim.base import Optimizer
from trainlab.optim.schedules import SCHEDULES, LRScheduler, ReduceLROnPlateau, lr_groups


@SCHEDULES.register("linear")
class LinearLR(LRScheduler):
    r"""Scale the learning rate linearly from ``start_factor·lr`` to ``end_factor·lr`` over
    ``total_iters`` steps, then keep it (the usual warmup).

    At step ``t``: ``lr_t = base_lr·(s + (e − s)·min(t, T)/T)``, computed recursively as
    PyTorch does: ``lr_t = lr_{t−1}·(1 + (e − s)/(T·s + (t − 1)·(e − s)))`` for
    ``1 ≤ t ≤ T``. Building it sets ``lr = s·lr`` at once.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5) -> None:
        super().__init__(optimizer, start_factor=start_factor, end_factor=end_factor,
                         total_iters=total_iters)

    def _configure(self, *, start_factor: float, end_factor: float, total_iters: int) -> None:
        self.start_factor: float = check_number(start_factor, "LinearLR: start_factor",
                                                low=0.0, high=1.0, low_inclusive=False)
        self.end_factor: float = check_number(end_factor, "LinearLR: end_factor", low=0.0,
                                              high=1.0)
        self.total_iters: int = check_int(total_iters, "LinearLR: total_iters", low=1)

    def hyperparameters(self) -> dict[str, Any]:
        return {"start_factor": self.start_factor, "end_factor": self.end_factor,
                "total_iters": self.total_iters}

    def _start(self) -> None:
        for group in lr_groups(self.optimizer):
            group["lr"] = group["lr"] * self.start_factor

    def _restart_lrs(self) -> list[float]:
        return [b * (self.start_factor + (self.end_factor - self.start_factor) * 0 /
                     self.total_iters) for b in self.base_lrs]

    def _next_lr(self, lr: float, base_lr: float) -> float:
        t, s, e = self.last_epoch, self.start_factor, self.end_factor
        if t > self.total_iters:
            return lr
        return lr * (1.0 + (e - s) / (self.total_iters * s + (t - 1) * (e - s)))


@SCHEDULES.register("multistep")
class MultiStepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` at each epoch of ``milestones``.

    ``lr = base_lr·γ^(number of milestones ≤ epoch)``; a milestone given twice decays twice.
    """

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int],
                 gamma: float = 0.1) -> None:
        super().__init__(optimizer, milestones=milestones, gamma=gamma)

    def _configure(self, *, milestones: Sequence[int], gamma: float) -> None:
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, (list, tuple)):
            raise TypeError("MultiStepLR: milestones must be a list of epochs. "
                            f"Received: {milestones!r}.")
        self.milestones: Counter[int] = Counter(
            check_int(m, f"MultiStepLR: milestones[{i}]", low=1) for i, m in enumerate(milestones)
        )
        self.gamma: float = check_number(gamma, "MultiStepLR: gamma", low=0.0,
                                         low_inclusive=False)

    def hyperparameters(self) -> dict[str, Any]:
        return {"milestones": sorted(self.milestones.elements()), "gamma": self.gamma}

    def _next_lr(self, lr: float, base_lr: float) -> float:
        if self.last_epoch not in self.milestones:
            return lr
        return lr * self.gamma ** self.milestones[self.last_epoch]


class LambdaLR(LRScheduler):
    r"""``lr = base_lr·λ(epoch)`` for a function ``lr_lambda`` (or one per parameter group).

    Building it sets ``lr = base_lr·λ(0)``. As in PyTorch, the functions are not part of
    ``state_dict()``: build the schedule with them, then load the counters.
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]]) -> None:
        count = len(lr_groups(optimizer))
        if callable(lr_lambda):
            self.lr_lambdas = [lr_lambda] * count
        elif isinstance(lr_lambda, (list, tuple)) and len(lr_lambda) == count and all(
            callable(f) for f in lr_lambda
        ):
            self.lr_lambdas = list(lr_lambda)
        else:
            raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch, or a list of "
                            f"{count} (one per parameter group). Received: {lr_lambda!r}.")
        super().__init__(optimizer)

    def _configure(self) -> None:
        pass

    def hyperparameters(self) -> dict[str, Any]:
        return {}

    def _factor(self, i: int) -> float:
        value = self.lr_lambdas[i](self.last_epoch)
        return check_number(value, f"LambdaLR: lr_lambda({self.last_epoch})")

    def _restart_lrs(self) -> list[float]:
        return [b * self._factor(i) for i, b in enumerate(self.base_lrs)]

    def _start(self) -> None:
        for group, lr in zip(lr_groups(self.optimizer), self._restart_lrs(), strict=False):
            group["lr"] = lr

    def _next_lrs(self, lrs: list[float]) -> list[float]:
        return self._restart_lrs()

    def __repr__(self) -> str:
        return f"LambdaLR(last_epoch={self.last_epoch})"


class SequentialLR(LRScheduler):
    r"""Run ``schedulers`` one after another, switching at the epochs ``milestones``.

    Schedule ``k`` runs from ``milestones[k−1]`` (when it starts afresh at its closed-form
    rate of step 0, from the base rates) until ``milestones[k]``. Building it puts every
    group back at its base rate and starts the first schedule, as PyTorch's does. All
    schedules must step at the same ``interval``; ReduceLROnPlateau cannot be one.
    ``state_dict()`` holds every schedule's state under ``"schedulers"``.
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int]) -> None:
        if not isinstance(schedulers, (list, tuple)) or not schedulers:
            raise ValueError("SequentialLR: schedulers must be a non-empty list of schedules. "
                             f"Received: {schedulers!r}.")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler) or isinstance(s, ReduceLROnPlateau):
                raise TypeError(f"SequentialLR: schedulers[{i}] must be a schedule stepped "
                                "without a metric (not ReduceLROnPlateau). "
                                f"Received: {type(s).__name__}.")
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: schedulers[{i}] belongs to another optimizer; "
                                 "every schedule must wrap the same one.")
        intervals = {s.interval for s in schedulers}
        if len(intervals) > 1:
            raise ValueError("SequentialLR: the schedules must all step per epoch or all per "
                             f"step. Received: {[s.interval for s in schedulers]}.")
        self._schedulers = list(schedulers)
        self.interval = schedulers[0].interval
        super().__init__(optimizer, milestones=milestones)

    @property
    def schedulers(self) -> list[LRScheduler]:
        return list(self._schedulers)

    def _configure(self, *, milestones: Sequence[int]) -> None:
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, (list, tuple)):
            raise TypeError("SequentialLR: milestones must be a list of epochs. "
                            f"Received: {milestones!r}.")
        checked = [check_int(m, f"SequentialLR: milestones[{i}]", low=1)
                   for i, m in enumerate(milestones)]
        if len(checked) != len(self._schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(self._schedulers) - 1} milestones for "
                             f"{len(self._schedulers)} schedules. Received: {list(milestones)!r}.")
        if checked != sorted(checked):
            raise ValueError(f"SequentialLR: milestones must increase. Received: {checked!r}.")
        self.milestones: list[int] = checked

    def hyperparameters(self) -> dict[str, Any]:
        return {"milestones": list(self.milestones)}

    def _initial_base_lrs(self, lrs: list[float]) -> list[float]:
        return list(self._schedulers[0].base_lrs)

    def _start(self) -> None:
        for group, lr in zip(lr_groups(self.optimizer), self.base_lrs, strict=False):
            group["lr"] = lr
        for s in self._schedulers:  # every schedule counts from the first base rates
            s.base_lrs = list(self.base_lrs)
        self._schedulers[0].begin()

    def restart(self) -> None:
        self.begin()

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect.bisect_right(self.milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self.milestones[index - 1] == self.last_epoch:
            scheduler.restart()
        else:
            scheduler.step()
        self.last_lrs = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        out = super().state_dict()
        out["schedulers"] = [s.state_dict() for s in self._schedulers]
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        owner = "SequentialLR.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{owner}: expected a dict. Received: {type(state_dict).__name__}.")
        states = state_dict.get("schedulers")
        if not isinstance(states, list) or len(states) != len(self._schedulers):
            raise ValueError(f"{owner}: 'schedulers' must be a list of {len(self._schedulers)} "
                             f"states. Received: {states!r:.200}.")
        own = {k: v for k, v in state_dict.items() if k != "schedulers"}
        for s, state in zip(self._schedulers, states, strict=True):  # check, then change
            if not isinstance(s, SequentialLR):
                copy.copy(s).load_state_dict(state)
        super().load_state_dict(own)
        for s, state in zip(self._schedulers, states, strict=True):
            s.load_state_dict(state)

    def __repr__(self) -> str:
        inner = ", ".join(repr(s) for s in self._schedulers)
        return f"SequentialLR([{inner}], milestones={self.milestones!r}, " \
               f"last_epoch={self.last_epoch})"
