"""Schedules stepped after every optimizer step: ``OneCycleLR`` and
``CosineAnnealingWarmRestarts`` (``interval = "step"``), with PyTorch's numbers."""

from __future__ import annotations

import math
import numbers
from typing import Any

from trainlab._checks import check_bool, check_int, check_number
from trainlab.optim.base import Optimizer
from trainlab.optim.schedules import SCHEDULES, LRScheduler, lr_groups


def _has(group: Any, key: str) -> bool:
    try:
        group[key]
    except KeyError:
        return False
    return True


def _per_group(value: Any, count: int, name: str, low: float = 0.0) -> list[float]:
    """A number, or a list of one number per parameter group."""
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"{name} must be a number or a list of {count} numbers (one per "
                             f"parameter group). Received: {list(value)!r}.")
        return [check_number(v, f"{name}[{i}]", low=low) for i, v in enumerate(value)]
    return [check_number(value, name, low=low)] * count


def anneal_cos(start: float, end: float, pct: float) -> float:
    """Cosine from ``start`` (pct = 0) to ``end`` (pct = 1)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def anneal_linear(start: float, end: float, pct: float) -> float:
    """Straight line from ``start`` (pct = 0) to ``end`` (pct = 1)."""
    return (end - start) * pct + start


@SCHEDULES.register("onecycle")
class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topor, "Super-Convergence", 2017), stepped per optimizer
    step over ``total_steps`` steps.

    The rate rises from ``max_lr/div_factor`` to ``max_lr`` over the first ``pct_start``
    of the steps, then falls to ``max_lr/(div_factor·final_div_factor)``, along a cosine
    (``anneal_strategy="cos"``) or a line. With ``three_phase`` it first comes back down
    to the initial rate symmetrically, then falls to the minimum. With
    ``cycle_momentum`` the momentum (SGD's ``momentum``, Adam's β₁) moves the opposite
    way, between ``max_momentum`` and ``base_momentum``. Phase ``k`` ends at step
    ``e_k`` (``pct_start·T − 1``, [``2·pct_start·T − 2``], ``T − 1``), and at step ``t``
    in it ``pct = (t − e_{k−1})/(e_k − e_{k−1})``. Building it sets the rate (and
    momentum) of step 0; stepping past ``total_steps`` is an error.
    """

    interval = "step"

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ) -> None:
        super().__init__(optimizer, max_lr=max_lr, total_steps=total_steps,
                         pct_start=pct_start, anneal_strategy=anneal_strategy,
                         cycle_momentum=cycle_momentum, base_momentum=base_momentum,
                         max_momentum=max_momentum, div_factor=div_factor,
                         final_div_factor=final_div_factor, three_phase=three_phase)

    def _configure(self, *, max_lr: Any, total_steps: int, pct_start: float,
                   anneal_strategy: str, cycle_momentum: bool, base_momentum: Any,
                   max_momentum: Any, div_factor: float, final_div_factor: float,
                   three_phase: bool) -> None:
        name = "OneCycleLR"
        groups = lr_groups(self.optimizer)
        count = len(groups)
        self.max_lr = max_lr if not isinstance(max_lr, tuple) else list(max_lr)
        self.max_lrs = _per_group(max_lr, count, f"{name}: max_lr")
        self.total_steps: int = check_int(total_steps, f"{name}: total_steps", low=1)
        self.pct_start: float = check_number(pct_start, f"{name}: pct_start", low=0.0, high=1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear'. "
                             f"Received: {anneal_strategy!r}.")
        self.anneal_strategy: str = anneal_strategy
        self.cycle_momentum: bool = check_bool(cycle_momentum, f"{name}: cycle_momentum")
        self.base_momentum = base_momentum
        self.max_momentum = max_momentum
        self.base_momentums = _per_group(base_momentum, count, f"{name}: base_momentum")
        self.max_momentums = _per_group(max_momentum, count, f"{name}: max_momentum")
        self.div_factor: float = check_number(div_factor, f"{name}: div_factor", low=0.0,
                                              low_inclusive=False)
        self.final_div_factor: float = check_number(final_div_factor,
                                                    f"{name}: final_div_factor", low=0.0,
                                                    low_inclusive=False)
        self.three_phase: bool = check_bool(three_phase, f"{name}: three_phase")
        if self.cycle_momentum and not all(_has(g, "momentum") or _has(g, "betas")
                                           for g in groups):
            raise ValueError(f"{name}: cycle_momentum=True needs an optimizer with momentum or "
                             "betas (SGD, RMSprop, Adam, AdamW). Pass cycle_momentum=False.")
        self.use_beta1 = self.cycle_momentum and _has(groups[0], "betas")
        T, p = self.total_steps, self.pct_start
        ends = ([float(p * T) - 1, float(2 * p * T) - 2, T - 1] if self.three_phase
                else [float(p * T) - 1, T - 1])
        for before, end in zip([0.0, *ends[:-1]], ends, strict=True):
            if not end > before:
                raise ValueError(f"{name}: pct_start={p!r} with total_steps={T} leaves a phase "
                                 "without steps; choose pct_start so that pct_start·total_steps "
                                 "> 1 and the warmup ends before the last step.")
        self._ends = ends
        self.initial_lrs = [m / self.div_factor for m in self.max_lrs]
        self.min_lrs = [i / self.final_div_factor for i in self.initial_lrs]

    def hyperparameters(self) -> dict[str, Any]:
        return {"max_lr": self.max_lr, "total_steps": self.total_steps,
                "pct_start": self.pct_start, "anneal_strategy": self.anneal_strategy,
                "cycle_momentum": self.cycle_momentum, "base_momentum": self.base_momentum,
                "max_momentum": self.max_momentum, "div_factor": self.div_factor,
                "final_div_factor": self.final_div_factor, "three_phase": self.three_phase}

    def _initial_base_lrs(self, lrs: list[float]) -> list[float]:
        return list(self.initial_lrs)

    def _phases(self, i: int) -> list[tuple[float, float, float, float, float]]:
        """(end step, start lr, end lr, start momentum, end momentum) of group ``i``."""
        lo, hi, low = self.initial_lrs[i], self.max_lrs[i], self.min_lrs[i]
        mb, mm = self.base_momentums[i], self.max_momentums[i]
        if self.three_phase:
            return [(self._ends[0], lo, hi, mm, mb), (self._ends[1], hi, lo, mb, mm),
                    (self._ends[2], lo, low, mm, mm)]
        return [(self._ends[0], lo, hi, mm, mb), (self._ends[1], hi, low, mb, mm)]

    def _set(self) -> list[float]:
        """Set every group's rate (and momentum) for step ``last_epoch``; return the rates."""
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {t} times; total_steps is "
                             f"{self.total_steps}.")
        anneal = anneal_cos if self.anneal_strategy == "cos" else anneal_linear
        lrs = []
        for i, group in enumerate(lr_groups(self.optimizer)):
            start = 0.0
            phases = self._phases(i)
            for k, (end, lr0, lr1, m0, m1) in enumerate(phases):
                if t <= end or k == len(phases) - 1:
                    pct = (t - start) / (end - start)
                    lrs.append(anneal(lr0, lr1, pct))
                    if self.cycle_momentum:
                        momentum = anneal(m0, m1, pct)
                        if self.use_beta1:
                            group["betas"] = (momentum, *group["betas"][1:])
                        else:
                            group["momentum"] = momentum
                    break
                start = end
        return lrs

    def _restart_lrs(self) -> list[float]:
        self.last_epoch = 0
        return self._set()

    def _start(self) -> None:
        for group, lr in zip(lr_groups(self.optimizer), self._set(), strict=False):
            group["lr"] = lr

    def _next_lrs(self, lrs: list[float]) -> list[float]:
        return self._set()


@SCHEDULES.register("cosine_restarts")
class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter, ICLR 2017), stepped
    per optimizer step.

    ``η = η_min + ½(base_lr − η_min)(1 + cos(π·T_cur/T_i))``, where ``T_cur`` counts the
    steps since the last restart and the ``i``-th cycle lasts ``T_i = T_0·T_mult^i`` steps.
    Building it sets the rate of step 0 (``T_cur = 0``).
    """

    interval = "step"
    _counters = ("T_i", "T_cur")

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1,
                 eta_min: float = 0.0) -> None:
        super().__init__(optimizer, T_0=T_0, T_mult=T_mult, eta_min=eta_min)

    def _configure(self, *, T_0: int, T_mult: int, eta_min: float) -> None:
        name = "CosineAnnealingWarmRestarts"
        self.T_0: int = check_int(T_0, f"{name}: T_0", low=1)
        self.T_mult: int = check_int(T_mult, f"{name}: T_mult", low=1)
        self.eta_min: float = check_number(eta_min, f"{name}: eta_min", low=0.0)

    def hyperparameters(self) -> dict[str, Any]:
        return {"T_0": self.T_0, "T_mult": self.T_mult, "eta_min": self.eta_min}

    def _lrs(self) -> list[float]:
        eta_min = self.eta_min
        return [eta_min + (b - eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for b in self.base_lrs]

    def _restart_lrs(self) -> list[float]:
        self.T_i, self.T_cur = self.T_0, 0
        return self._lrs()

    def _start(self) -> None:
        for group, lr in zip(lr_groups(self.optimizer), self._restart_lrs(), strict=False):
            group["lr"] = lr

    def _next_lrs(self, lrs: list[float]) -> list[float]:
        self.T_cur += 1
        if self.T_cur >= self.T_i:
            self.T_cur = self.T_cur % self.T_i
            self.T_i = self.T_i * self.T_mult
        return self._lrs()

    def _check_counters(self, state: dict[str, Any], owner: str) -> dict[str, Any]:
        out = super()._check_counters(state, owner)
        out["T_i"] = check_int(state["T_i"], f"{owner}: T_i", low=1)
        T_cur = state["T_cur"]
        if isinstance(T_cur, bool) or not isinstance(T_cur, numbers.Integral) or T_cur < 0:
            raise ValueError(f"{owner}: T_cur must be an integer >= 0. Received: {T_cur!r}.")
        out["T_cur"] = int(T_cur)
        return out
