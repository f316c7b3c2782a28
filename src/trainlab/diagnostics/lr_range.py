"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural
Networks", §3.3): train for a few hundred minibatch steps while the learning rate grows
exponentially from ``start_lr`` to ``end_lr``, and read the loss against the rate.

    lr_k = start_lr·(end_lr/start_lr)^{k/(steps−1)},   k = 0 … steps−1.

The loss is smoothed with a bias-corrected exponential average
``s_k = β·s_{k−1} + (1 − β)·L_k``, ``ŝ_k = s_k/(1 − β^{k+1})``; the test stops early once
``ŝ_k > diverge·min ŝ`` (the loss has blown up). Too small a rate leaves the loss flat,
a good one makes it fall fastest, too large a one makes it climb. The suggestion is the
rate at the smoothed loss's minimum divided by 10 (the rule of thumb popularised by
fastai's ``lr_find``: a tenth of the rate at which the loss stops falling); the rate of
the steepest descent of ŝ against log lr is reported too.

The test trains *copies* of the model and optimizer: the caller's are not changed.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab._checks import check_int, check_number
from trainlab._rng import RngLike, as_generator
from trainlab.diagnostics.curvature.objective import check_model_and_loss
from trainlab.nn.losses import Loss
from trainlab.nn.module import Module, Sequential


@dataclass(frozen=True)
class LRRangeResult:
    """The range test's record.

    lrs, losses, smoothed: (K,) the rate, the minibatch loss and the smoothed loss of each
    step taken (K ≤ steps when it stopped at divergence). suggestion: the suggested
    rate (min/10). steepest: the rate of the steepest fall of the smoothed loss.
    minimum: the rate at the smoothed loss's minimum.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float
    steepest: float
    minimum: float
    diverged: bool


def lr_find(model: Module, loss_fn: Loss, X: Any, y: Any, optimizer: Any, *,
            start_lr: float = 1e-6, end_lr: float = 10.0, steps: int = 100,
            batch_size: int = 32, smoothing: float = 0.9, diverge: float = 4.0,
            rng: RngLike = None) -> LRRangeResult:
    """Run the range test on copies of ``model`` and ``optimizer`` (an optimizer over the
    model's parameters) with minibatches of ``batch_size`` rows of X drawn by ``rng``.

    X: (N, D); y: the targets ``loss_fn`` takes. Returns an :class:`LRRangeResult`.
    """
    owner = "lr_find"
    check_model_and_loss(owner, model, loss_fn)
    start_lr = check_number(start_lr, f"{owner}: start_lr", low=0.0)
    end_lr = check_number(end_lr, f"{owner}: end_lr", low=0.0)
    if not 0 < start_lr < end_lr:
        raise ValueError(f"{owner}: expected 0 < start_lr < end_lr. Received start_lr="
                         f"{start_lr!r}, end_lr={end_lr!r}.")
    steps = check_int(steps, f"{owner}: steps", low=2)
    batch_size = check_int(batch_size, f"{owner}: batch_size", low=1)
    smoothing = check_number(smoothing, f"{owner}: smoothing", low=0.0, high=1.0)
    if smoothing >= 1:
        raise ValueError(f"{owner}: expected smoothing in [0, 1). Received 1.")
    diverge = check_number(diverge, f"{owner}: diverge", low=1.0)
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or len(y) != len(X) or len(X) == 0:
        raise ValueError(f"{owner}: expected X (N, D) with one target per row. Received X of "
                         f"shape {X.shape} and {len(y)} targets.")
    params = model.parameters()
    opt_params = getattr(optimizer, "params", None)
    if opt_params is None or [id(p) for p in opt_params] != [id(p) for p in params]:
        raise ValueError(f"{owner}: expected an optimizer over model.parameters(), in order. "
                         f"Received {type(optimizer).__name__} over other parameters.")
    work_model, work_opt = copy.deepcopy((model, optimizer))
    loss_copy = copy.deepcopy(loss_fn)
    generator = as_generator(rng, f"{owner}: rng")
    dtype = params[0].data.dtype
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))
    losses: list[float] = []
    smoothed: list[float] = []
    average, best, diverged = 0.0, math.inf, False
    order = generator.permutation(len(X))
    cursor = 0
    for k, lr in enumerate(lrs):
        if cursor + batch_size > len(X):
            order, cursor = generator.permutation(len(X)), 0
        rows = order[cursor:cursor + batch_size]
        cursor += batch_size
        for group in work_opt.param_groups:
            group["lr"] = float(lr)
        work_model.zero_grad()
        with np.errstate(all="ignore"):
            value = float(loss_copy(work_model.forward(X[rows].astype(dtype, copy=False)),
                                    y[rows]))
            if math.isfinite(value):
                dy = loss_copy.backward()
                if isinstance(work_model, Sequential):
                    work_model.backward(dy, input_grad=False)
                else:
                    work_model.backward(dy)
                work_opt.step()
        if not math.isfinite(value):
            diverged = True
            break
        average = smoothing * average + (1 - smoothing) * value
        s = average / (1 - smoothing ** (k + 1))
        losses.append(value)
        smoothed.append(s)
        best = min(best, s)
        if s > diverge * best:
            diverged = True
            break
    if len(smoothed) < 2:
        raise RuntimeError(f"{owner}: the loss was not finite from the first steps; lower "
                           f"start_lr (received {start_lr!r}).")
    taken = lrs[: len(smoothed)]
    sm = np.array(smoothed)
    low = int(np.argmin(sm))
    slope = np.gradient(sm[: low + 1], np.log(taken[: low + 1])) if low >= 1 else np.zeros(1)
    steepest = float(taken[int(np.argmin(slope))])
    minimum = float(taken[low])
    return LRRangeResult(taken, np.array(losses), sm, minimum / 10, steepest, minimum, diverged)


def plot_lr_range(result: LRRangeResult, ax: Any) -> None:
    """Draw the smoothed and raw loss against the rate (log axis) on a matplotlib axis,
    with the suggestion marked."""
    ax.semilogx(result.lrs, result.losses, color="#bbbbbb", lw=0.8, label="minibatch loss")
    ax.semilogx(result.lrs, result.smoothed, color="#1f77b4", label="smoothed loss")
    ax.axvline(result.suggestion, ls="--", color="#d62728",
               label=f"suggestion {result.suggestion:.2g} (min/10)")
    ax.axvline(result.steepest, ls=":", color="#2ca02c",
               label=f"steepest fall {result.steepest:.2g}")
    top = float(np.max(result.smoothed[: max(2, len(result.smoothed) // 10)])) * 1.5
    ax.set_ylim(min(result.smoothed.min(), result.losses.min()) * 0.9, top)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("learning-rate range test (Smith 2017)")
    ax.legend(fontsize=8)
