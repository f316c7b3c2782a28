"""Experiment 19: the critical batch size, and gradient descent against SGD against
minibatches (notes §5).

The notes compare gradient descent (the whole training set per step), stochastic gradient
descent (one example) and minibatch descent. McCandlish, Kaplan, Amodei et al. (2018), "An
Empirical Model of Large-Batch Training": with the best learning rate for each batch size
B, the steps to reach a target loss follow

    S(B) ≈ S_min·(1 + B_crit/B),

so doubling a small batch halves the steps, while beyond B_crit bigger batches barely
help; and B_crit is predicted by the gradient noise scale B_simple = tr(Σ)/|G|² (per-example
gradient covariance Σ, mean gradient G), which grows as the loss falls.

Softmax regression on digits (float64), plain SGD; for each B the best learning rate of a
grid; the steps until the training-set loss is below the target. B_simple is measured by
:func:`trainlab.diagnostics.curvature.gradient_noise_scale` along a full-batch run, from
initialisation to the target.
"""

from __future__ import annotations

import math

import numpy as np

from trainlab import nn, optim
from trainlab.diagnostics.curvature import gradient_noise_scale
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import load_split
from trainlab.lab.experiment import Context, Experiment

TARGET = 0.15
RATES = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
CAP = 3000


def softmax_regression(seed: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(64, 10, rng=seed, dtype=np.float64))


def steps_to_target(X: np.ndarray, y: np.ndarray, batch: int, lr: float, cap: int,
                    seed: int) -> float:
    """SGD steps (minibatches of ``batch`` rows, reshuffled every epoch) until the mean loss
    over all of X is below TARGET; inf if not within ``cap`` steps or when it diverges."""
    model = softmax_regression(seed)
    loss_fn, full = nn.CrossEntropyLoss(), nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    order, cursor = rng.permutation(len(X)), 0
    for step in range(1, cap + 1):
        if cursor + batch > len(X):
            order, cursor = rng.permutation(len(X)), 0
        rows = order[cursor:cursor + batch]
        cursor += batch
        model.zero_grad()
        with np.errstate(all="ignore"):
            loss_fn(model.forward(X[rows]), y[rows])
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()
            if step > 50 and step % (step // 50):
                continue  # the loss over X is checked to 2% of the step count
            value = full(model.forward(X), y)
        if value < TARGET:
            return float(step)
        if not math.isfinite(value) or value > 5.0:
            return math.inf
    return math.inf


def best_steps(X: np.ndarray, y: np.ndarray, batch: int, seed: int) -> tuple[float, float]:
    """(fewest steps to the target over the rate grid, the rate that gave them)."""
    best, best_lr = math.inf, math.nan
    for lr in RATES:
        cap = CAP if math.isinf(best) else int(1.5 * best)
        steps = steps_to_target(X, y, batch, lr, cap, seed)
        if steps < best:
            best, best_lr = steps, lr
        elif math.isinf(steps) and not math.isinf(best):
            break  # a larger rate than one that failed after a success fails too
    return best, best_lr


def noise_scales(X: np.ndarray, y: np.ndarray, seed: int) -> list[tuple[float, float]]:
    """(loss, B_simple) along full-batch gradient descent (lr 1) until the target."""
    model = softmax_regression(seed)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=1.0)
    out = []
    for step in range(200):
        model.zero_grad()
        value = loss_fn(model.forward(X), y)
        if step in (0, 1, 2, 4, 8, 16, 32, 64, 128) or value < TARGET:
            out.append((value, gradient_noise_scale(model, loss_fn, X, y)))
        if value < TARGET:
            break
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()
    return out


def fit_critical(batches: np.ndarray, steps: np.ndarray) -> tuple[float, float]:
    """(S_min, B_crit) of S = S_min + S_min·B_crit/B, least squares in relative error."""
    A = np.column_stack([np.ones_like(batches), 1.0 / batches]) / steps[:, None]
    (a, b), *_ = np.linalg.lstsq(A, np.ones_like(steps), rcond=None)
    return float(a), float(b / a)


def run(ctx: Context) -> None:
    split = load_split("digits", seed=ctx.seed)
    X, y = split.X_train.astype(np.float64), split.y_train
    n = len(X)
    batches = [1, 4, 16, 64, 256, n]
    found = [best_steps(X, y, b, ctx.seed) for b in batches]
    steps = np.array([s for s, _ in found])
    B = np.array(batches, dtype=float)
    ok = np.isfinite(steps)
    s_min, b_crit = fit_critical(B[ok], steps[ok])
    scales = noise_scales(X, y, ctx.seed)
    b_init, b_end = scales[0][1], scales[-1][1]
    rows = [[str(b), f"{lr:g}", f"{s:.0f}", f"{s * b:.0f}", f"{s_min * (1 + b_crit / b):.0f}"]
            for b, (s, lr) in zip(batches, found, strict=True)]
    ctx.table(f"softmax regression on digits ({n} examples): SGD steps to loss {TARGET}",
              ["batch size", "best rate", "steps", "examples seen", "fit S_min(1 + B_crit/B)"],
              rows)
    ctx.table("gradient noise scale along full-batch descent",
              ["training loss", "B_simple"], [[f"{v:.3f}", f"{bs:.0f}"] for v, bs in scales])
    ctx.check("small batches: steps fall in proportion to 1/B",
              "S(1)/S(4) > 2.5 and S(4)/S(16) > 2.5 (4× the batch, ≥ 2.5× fewer steps)",
              f"S(1) = {steps[0]:.0f}, S(4) = {steps[1]:.0f}, S(16) = {steps[2]:.0f}",
              bool(ok[:3].all()) and steps[0] / steps[1] > 2.5 and steps[1] / steps[2] > 2.5)
    ctx.check("large batches: the curve flattens",
              f"S(256)/S({n}) < 2 although the batch grows {n / 256:.1f}×",
              f"S(256) = {steps[4]:.0f}, S({n}) = {steps[5]:.0f}",
              bool(ok[4:].all()) and steps[4] / steps[5] < 2)
    ctx.check("the bend lies at the gradient noise scale measured during training",
              "fitted B_crit between B_simple at initialisation and at the target loss",
              f"B_crit = {b_crit:.0f}; B_simple from {b_init:.0f} (init) to {b_end:.0f} "
              f"(loss {scales[-1][0]:.3f})", b_init <= b_crit <= b_end)
    near = int(np.argmin(np.abs(np.log(B[:-1] / b_crit))))
    gd_steps, gd_examples = steps[-1], steps[-1] * n
    mb_steps, mb_examples = steps[near], steps[near] * B[near]
    ctx.check("GD vs SGD vs minibatch: a minibatch near B_crit has most of both worlds",
              f"B = {batches[near]}: steps < 3× GD's and examples < 1/3 of GD's; SGD (B = 1) "
              "the most steps",
              f"GD {gd_steps:.0f} steps / {gd_examples:.0f} examples; B = {batches[near]}: "
              f"{mb_steps:.0f} / {mb_examples:.0f}; SGD {steps[0]:.0f} / {steps[0]:.0f}",
              mb_steps < 3 * gd_steps and mb_examples < gd_examples / 3
              and steps[0] == steps.max())
    ctx.main(f"B_crit = {b_crit:.0f} (fit), B_simple {b_init:.0f} → {b_end:.0f} during training")

    fig, (ax_s, ax_n) = new_figure(2, 1)
    grid = np.geomspace(1, n, 100)
    ax_s.loglog(B[ok], steps[ok], "o", color=COLORS[0], label="measured (best rate)")
    ax_s.loglog(grid, s_min * (1 + b_crit / grid), "-", color=COLORS[1],
                label=f"S_min(1 + B_crit/B), B_crit = {b_crit:.0f}")
    ax_s.axvspan(b_init, b_end, color=COLORS[2], alpha=0.15, label="B_simple during training")
    ax_s.set_xlabel("batch size B")
    ax_s.set_ylabel(f"steps to loss {TARGET}")
    ax_s.set_title("steps against batch size (McCandlish et al. 2018)")
    ax_s.legend(fontsize=8)
    ax_n.semilogy([v for v, _ in scales], [b for _, b in scales], "o-", color=COLORS[2])
    ax_n.invert_xaxis()
    ax_n.set_xlabel("training loss (falling →)")
    ax_n.set_ylabel("B_simple = tr Σ / |G|²")
    ax_n.set_title("the gradient noise scale grows as the loss falls")
    ctx.figure(fig, "critical_batch_size", "steps to a target loss against batch size, and the "
               "gradient noise scale")


EXPERIMENT = Experiment(
    "critical-batch-size",
    "Critical batch size: GD, SGD and minibatches",
    "Steps to a target loss fall as 1/B for small batches and flatten past a critical batch "
    "size that the gradient noise scale predicts (McCandlish et al. 2018).",
    run,
)
