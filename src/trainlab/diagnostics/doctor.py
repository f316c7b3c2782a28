"""Sanity checks of a model before training (CS231n, "Neural Networks Part 3: Learning and
Evaluation": the notes' practical checklist).

- **Loss at initialisation.** With small random weights a C-class softmax predicts about
  1/C for every class, so the cross-entropy starts near ln C (ln 2 for one logit with
  BCE; for standardised regression targets the MSE starts near their variance, 1).
- **Overfit one small batch.** A network that cannot drive the loss on a handful of
  examples to near zero has a bug (or regularisation that is too strong).
- **Gradient check.** The closed-form gradient of the model's loss against central
  differences in float64, along random directions: relative error
  |gᵀd − (L(θ+hd) − L(θ−hd))/2h| / max(|gᵀd|, |numeric|) < 10⁻⁶.
- **Dead and saturated units at initialisation.** ReLU units that are zero for every
  example, sigmoid/tanh outputs pinned at their limits (each activation's own
  ``saturation``): a fraction above 1/2 starves the gradient.
- **Update/weight ratio after one step.** ‖Δθ‖/‖θ‖ of each weight matrix after one
  optimizer step should be around 10⁻³ (within 30× either way): far below, learning
  crawls; far above, it is unstable.

Each check gives a verdict and, when it fails, the remedy from the notes. The checks run
on copies: the caller's model and optimizer are not changed.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab._rng import RngLike, as_generator
from trainlab.diagnostics.curvature.objective import Objective, check_model_and_loss
from trainlab.diagnostics.health import REMEDIES
from trainlab.diagnostics.probe import tap
from trainlab.nn.dropout import DropConnect, Dropout
from trainlab.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss
from trainlab.nn.module import Module, Sequential

UPDATE_RATIO = (3e-5, 3e-2)  # within 30× of CS231n's 1e-3
OVERFIT_STEPS = 500
OVERFIT_ROWS = 16


@dataclass(frozen=True)
class Check:
    """One sanity check: its name, what was expected, what was measured, the verdict, and
    the remedy (empty when it passed)."""

    name: str
    expected: str
    measured: str
    passed: bool
    remedy: str = ""


def _without_dropout(model: Module) -> Module:
    """A copy of ``model`` whose Dropout and DropConnect layers are in evaluation mode."""
    clone = copy.deepcopy(model)
    for module in clone.modules():
        if isinstance(module, (Dropout, DropConnect)):
            object.__setattr__(module, "training", False)
    return clone


def _backward(model: Module, dy: np.ndarray) -> None:
    if isinstance(model, Sequential):
        model.backward(dy, input_grad=False)
    else:
        model.backward(dy)


def check_initial_loss(model: Module, loss_fn: Loss, X: np.ndarray, y: np.ndarray,
                       n_classes: int | None) -> Check:
    """The loss at initialisation against ln C (classification) or Var(y) (regression)."""
    clone = _without_dropout(model)
    with np.errstate(all="ignore"):
        value = float(loss_fn(clone.forward(X), y))
    if isinstance(loss_fn, CrossEntropyLoss) and n_classes:
        expected, what = math.log(n_classes), f"ln C = ln {n_classes}"
    elif isinstance(loss_fn, BCEWithLogitsLoss):
        expected, what = math.log(2), "ln 2"
    else:
        expected, what = float(np.var(np.asarray(y, dtype=np.float64))), "Var(y)"
    ok = math.isfinite(value) and abs(value / expected - 1) <= 0.3
    return Check("loss at initialisation", f"within 30% of {what} = {expected:.3f}",
                 f"{value:.3f} ({value / expected:.2f}×)", ok,
                 "" if ok else "the initial outputs are too large or the labels are wrong: use "
                 "Xavier/He initialisation with a small last layer (notes §4) and check that "
                 "the targets are the classes the loss expects")


def check_overfit(model: Module, loss_fn: Loss, optimizer: Any, X: np.ndarray,
                  y: np.ndarray) -> Check:
    """Train copies on ``OVERFIT_ROWS`` examples for up to ``OVERFIT_STEPS`` full-batch
    steps (dropout off); pass when the loss falls below 1% of its start (or 10⁻³)."""
    clone, opt = copy.deepcopy((model, optimizer))
    for module in clone.modules():
        if isinstance(module, (Dropout, DropConnect)):
            object.__setattr__(module, "training", False)
    fn = copy.deepcopy(loss_fn)
    Xb, yb = X[:OVERFIT_ROWS], y[:OVERFIT_ROWS]
    first = last = math.nan
    steps = 0
    with np.errstate(all="ignore"):
        for steps in range(1, OVERFIT_STEPS + 1):
            clone.zero_grad()
            last = float(fn(clone.forward(Xb), yb))
            if steps == 1:
                first = last
            if not math.isfinite(last) or last < max(0.01 * first, 1e-3):
                break
            _backward(clone, fn.backward())
            opt.step()
    ok = math.isfinite(last) and last < max(0.01 * first, 1e-3)
    rose = not math.isfinite(last) or last > first
    remedy = "" if ok else (
        "the loss rose on a tiny batch: lower the learning rate or clip the gradients "
        "(notes §3, §6)" if rose else
        "the network cannot memorise a tiny batch: check the loss and the labels, raise the "
        "learning rate, and remove regularisation (weight decay) for this test (notes §9, "
        "the checklist)")
    return Check(f"overfit {len(Xb)} examples", f"loss < 1% of its start within "
                 f"{OVERFIT_STEPS} steps", f"{first:.3g} → {last:.3g} in {steps} steps", ok,
                 remedy)


def check_gradient(model: Module, loss_fn: Loss, X: np.ndarray, y: np.ndarray,
                   rng: np.random.Generator, directions: int = 5) -> Check:
    """The closed-form gradient against central differences in float64 along random
    directions (dropout off)."""
    objective = Objective(_without_dropout(model), loss_fn, X[:8], y[:8], "doctor")
    g = objective.gradient()
    worst = 0.0
    for _ in range(directions):
        d = rng.standard_normal(objective.n_params)
        d /= np.linalg.norm(d)
        h = 1e-6 * max(1.0, float(np.linalg.norm(objective.theta0)) / math.sqrt(d.size))
        numeric = (objective.loss(objective.theta0 + h * d)
                   - objective.loss(objective.theta0 - h * d)) / (2 * h)
        analytic = float(g @ d)
        scale = max(abs(analytic), abs(numeric), 1e-12)
        worst = max(worst, abs(analytic - numeric) / scale)
    ok = worst < 1e-5
    return Check("gradient check", "relative error < 1e-5 along random directions (float64)",
                 f"{worst:.1e}", ok,
                 "" if ok else "a layer's backward does not match its forward: check each "
                 "layer alone with a gradient check (notes §2, backpropagation)")


def check_saturation(model: Module, X: np.ndarray) -> Check:
    """Dead (ReLU) and saturated (sigmoid/tanh) fractions of every activation at init."""
    clone = _without_dropout(model)
    found: list[tuple[str, str, float]] = []

    def on_forward(i: int, layer: Module, x: np.ndarray, out: np.ndarray) -> None:
        measure = getattr(layer, "saturation", None)
        if callable(measure):
            kind = getattr(layer, "saturation_kind", "saturated")
            found.append((f"{i} {type(layer).__name__}", kind, float(measure(out))))

    with np.errstate(all="ignore"), tap(clone, on_forward):
        clone.forward(X)
    if not found:
        return Check("dead and saturated units at initialisation",
                     "below 50% in every activation", "no activation with a saturation", True)
    worst = max(found, key=lambda f: f[2])
    ok = worst[2] < 0.5
    text = ", ".join(f"{name}: {frac:.0%} {kind}" for name, kind, frac in found)
    return Check("dead and saturated units at initialisation", "below 50% in every activation",
                 text, ok, "" if ok else REMEDIES[worst[1]])


def check_update_ratio(model: Module, loss_fn: Loss, optimizer: Any, X: np.ndarray,
                       y: np.ndarray) -> Check:
    """‖Δθ‖/‖θ‖ of each weight matrix after one optimizer step on a batch."""
    clone, opt = copy.deepcopy((model, optimizer))
    fn = copy.deepcopy(loss_fn)
    weights = [(name, p) for name, p in clone.named_parameters() if p.data.ndim == 2]
    before = [p.data.copy() for _, p in weights]
    clone.zero_grad()
    with np.errstate(all="ignore"):
        fn(clone.forward(X), y)
        _backward(clone, fn.backward())
        opt.step()
    ratios = [float(np.linalg.norm(p.data - b)) / max(float(np.linalg.norm(b)), 1e-30)
              for (_, p), b in zip(weights, before, strict=True)]
    low, high = UPDATE_RATIO
    ok = bool(ratios) and all(low <= r <= high for r in ratios)
    text = ", ".join(f"{name}: {r:.1e}" for (name, _), r in zip(weights, ratios, strict=True))
    small = bool(ratios) and min(ratios) < low
    remedy = "" if ok else (
        "updates are too small to learn: raise the learning rate (notes §3; try trainlab "
        "lr-find)" if small else
        "updates are large against the weights: lower the learning rate, clip the gradients "
        "or warm up (notes §3, §6)")
    return Check("update/weight ratio after one step", f"every weight matrix in "
                 f"[{low:g}, {high:g}] (about 1e-3)", text or "no weight matrix", ok, remedy)


def run_checks(model: Module, loss_fn: Loss, optimizer: Any, X: Any, y: Any, *,
               n_classes: int | None = None, batch_size: int = 32,
               rng: RngLike = None) -> list[Check]:
    """All five checks on a model before training, on copies of model and optimizer.

    X: (N, D) training inputs; y: the targets ``loss_fn`` takes; n_classes: C for the
    ln C check of a cross-entropy classifier. batch_size: the rows of the batch that the
    loss, saturation and update checks use.
    """
    check_model_and_loss("run_checks", model, loss_fn)
    X, y = np.asarray(X), np.asarray(y)
    generator = as_generator(rng, "run_checks: rng")
    rows = generator.permutation(len(X))[: max(batch_size, OVERFIT_ROWS)]
    dtype = model.parameters()[0].data.dtype if model.parameters() else np.float32
    Xb = X[rows].astype(dtype, copy=False)
    yb = y[rows]
    batch = slice(0, batch_size)
    return [
        check_initial_loss(model, loss_fn, Xb[batch], yb[batch], n_classes),
        check_overfit(model, loss_fn, optimizer, Xb, yb),
        check_gradient(model, loss_fn, Xb, yb, generator),
        check_saturation(model, Xb[batch]),
        check_update_ratio(model, loss_fn, optimizer, Xb[batch], yb[batch]),
    ]
