"""Experiment 17: the loss along the line from initialisation to solution has no bump (notes §5).

Goodfellow, Vinyals & Saxe (2015), "Qualitatively characterizing neural network
optimization problems": for many networks the loss along the straight line
θ(α) = θ₀ + α·(θ₁ − θ₀), from the initialisation θ₀ to the trained θ₁, falls steadily with
no barrier to cross. Li, Xu, Taylor, Studer & Goldstein (2018), "Visualizing the Loss
Landscape of Neural Nets": on a plane through θ₁ spanned by two random filter-normalised
directions the solution sits at the bottom of a basin.

A ReLU MLP (64-128-64-10, He init) trained on digits with SGD + momentum; the loss is the
mean cross-entropy on the training set (trainlab.diagnostics.curvature.loss_along and
loss_landscape, in float64).
"""

from __future__ import annotations

import numpy as np

from trainlab import nn
from trainlab.diagnostics.curvature import loss_along, loss_landscape
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import load_split, mlp, optimizer, train
from trainlab.lab.experiment import Context, Experiment


def flat(model: nn.Module) -> np.ndarray:
    return np.concatenate([p.data.ravel().astype(np.float64) for p in model.parameters()])


def run(ctx: Context) -> None:
    split = load_split("digits", seed=ctx.seed)
    epochs = ctx.pick(10, 5)
    start = mlp(split.n_features, [128, 64], split.n_classes, "relu", "he_normal", seed=ctx.seed)
    model = mlp(split.n_features, [128, 64], split.n_classes, "relu", "he_normal", seed=ctx.seed)
    train(model, split, optimizer(model, "sgd", lr=0.05, momentum=0.9), epochs=epochs,
          batch_size=32, seed=ctx.seed)
    model.eval()
    start.eval()
    X, y = split.X_train, split.y_train
    loss_fn = nn.CrossEntropyLoss()
    alphas = np.linspace(-0.25, 1.25, ctx.pick(61, 31))
    line = loss_along(start, loss_fn, X, y, flat(model) - flat(start), alphas)
    inside = line[(alphas >= 0) & (alphas <= 1 + 1e-12)]
    rise = float(np.max(np.diff(inside)))
    l0, l1 = float(inside[0]), float(inside[-1])
    ctx.check("the loss along initialisation → solution has no bump",
              "between consecutive points of α ∈ [0, 1] the loss never rises by more than "
              "1% of L(θ₀)",
              f"largest rise {rise:.2e} (1% of L(θ₀) = {0.01 * l0:.3f})", rise <= 0.01 * l0)
    ctx.check("the line spans the whole descent: the solution is far below the start",
              "L(θ₁) < L(θ₀)/10",
              f"L(θ₀) = {l0:.3f}, L(θ₁) = {l1:.4f} (past it, L(α = 1.25) = {line[-1]:.4f})",
              l1 < l0 / 10)
    n_plane = ctx.pick(400, 200)
    plane = loss_landscape(model, loss_fn, X[:n_plane], y[:n_plane], steps=ctx.pick(15, 9),
                           span=1.0, rng=ctx.seed)
    centre = plane.loss[len(plane.alphas) // 2, len(plane.betas) // 2]
    ctx.check("on a filter-normalised plane the solution is at the bottom of a basin",
              "the centre is the lowest point of the grid, and the rim (|α| or |β| = 1) is > 2× it",
              f"centre {centre:.4f}, grid minimum {plane.loss.min():.4f}, lowest rim "
              f"{min(plane.loss[[0, -1], :].min(), plane.loss[:, [0, -1]].min()):.4f}",
              plane.loss.min() >= centre and
              min(plane.loss[[0, -1], :].min(), plane.loss[:, [0, -1]].min()) > 2 * centre)
    ctx.table("loss along θ₀ + α(θ₁ − θ₀)", ["α", "training loss"],
              [[f"{a:.2f}", f"{v:.4f}"] for a, v in zip(alphas[::5], line[::5], strict=True)])
    ctx.main(f"L falls from {l0:.3f} to {l1:.4f} along the line; largest rise {rise:.1e}")

    fig, (ax_l, ax_p) = new_figure(2, 1)
    ax_l.plot(alphas, line, "o-", ms=3, color=COLORS[0])
    ax_l.axvline(0, ls=":", color="gray")
    ax_l.axvline(1, ls=":", color="gray")
    ax_l.set_xlabel("α (0: initialisation, 1: solution)")
    ax_l.set_ylabel("training loss")
    ax_l.set_title("the line from initialisation to solution (Goodfellow et al. 2015)")
    levels = np.quantile(plane.loss, np.linspace(0, 1, 15))
    contour = ax_p.contour(plane.alphas, plane.betas, plane.loss.T, levels=np.unique(levels))
    ax_p.clabel(contour, fontsize=6, fmt="%.2g")
    ax_p.plot([0], [0], "k*", ms=8)
    ax_p.set_xlabel("α (direction 1)")
    ax_p.set_ylabel("β (direction 2)")
    ax_p.set_title("filter-normalised plane (Li et al. 2018)")
    ctx.figure(fig, "linear_interpolation", "the loss along the line θ₀ → θ₁, and on a "
               "filter-normalised plane through θ₁")


EXPERIMENT = Experiment(
    "linear-interpolation",
    "Linear interpolation and the loss landscape",
    "The loss along the straight line from initialisation to the trained ReLU MLP falls with "
    "no bump (Goodfellow et al. 2015), and the solution sits in a basin of a filter-normalised "
    "plane (Li et al. 2018).",
    run,
)
