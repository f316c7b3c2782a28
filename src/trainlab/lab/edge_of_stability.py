"""Experiment 15: full-batch gradient descent runs at the edge of stability (notes §5).

On a quadratic, gradient descent with step η diverges along any direction whose curvature
exceeds 2/η. Cohen, Kaur, Li, Kolter & Talwalkar (2021), "Gradient Descent on Neural
Networks Typically Occurs at the Edge of Stability": on a network the sharpness
λ_max(∇²L) first rises during training ("progressive sharpening") until it reaches 2/η,
and then hovers there while the loss keeps falling, non-monotonically. With a smaller η it
rises further and hovers at the new, larger 2/η.

A tanh MLP (64-32-32-10, float64) on 200 digits with the mean squared error on one-hot
targets, trained by full-batch gradient descent at two step sizes; the sharpness is the
Hessian's top eigenvalue by Lanczos (trainlab.diagnostics.curvature) every few steps.
"""

from __future__ import annotations

import numpy as np

from trainlab import nn, optim
from trainlab.diagnostics.curvature import hessian_eigenvalues
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import load_split
from trainlab.lab.experiment import Context, Experiment

STEP_SIZES = (2.5, 1.6)
N_POINTS = 200


def model_for(seed: int) -> nn.Sequential:
    f64 = np.float64
    return nn.Sequential(nn.Linear(64, 32, rng=seed, dtype=f64), nn.Tanh(),
                         nn.Linear(32, 32, rng=seed + 1, dtype=f64), nn.Tanh(),
                         nn.Linear(32, 10, rng=seed + 2, dtype=f64))


def gradient_descent(X: np.ndarray, Y: np.ndarray, lr: float, steps: int, every: int,
                     seed: int) -> dict[str, np.ndarray]:
    """Full-batch GD; the loss at every step and the sharpness every ``every`` steps."""
    model = model_for(seed)
    loss_fn = nn.MSELoss()
    opt = optim.SGD(model.parameters(), lr=lr)
    losses, at, sharp = [], [], []
    for t in range(steps + 1):
        if t % every == 0:
            at.append(t)
            sharp.append(hessian_eigenvalues(model, loss_fn, X, Y, tol=1e-4, rng=seed)[0])
        model.zero_grad()
        losses.append(loss_fn(model.forward(X), Y))
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()
    return {"loss": np.array(losses), "at": np.array(at), "sharpness": np.array(sharp)}


def run(ctx: Context) -> None:
    split = load_split("digits", seed=ctx.seed)
    X = split.X_train[:N_POINTS].astype(np.float64)
    Y = np.eye(split.n_classes)[split.y_train[:N_POINTS]]
    steps, every = ctx.pick(1000, 700), ctx.pick(20, 50)
    runs = {lr: gradient_descent(X, Y, lr, steps, every, ctx.seed) for lr in STEP_SIZES}
    rows, hover, start, peak = [], {}, {}, {}
    for lr, r in runs.items():
        threshold = 2.0 / lr
        tail = r["sharpness"][int(0.7 * len(r["sharpness"])):]
        hover[lr] = float(np.median(tail))
        start[lr] = float(r["sharpness"][0])
        peak[lr] = float(r["sharpness"].max())
        rows.append([f"{lr:g}", f"{threshold:.3f}", f"{start[lr]:.3f}", f"{peak[lr]:.3f}",
                     f"{hover[lr]:.3f}", f"{hover[lr] / threshold:.2f}", f"{r['loss'][-1]:.4f}"])
    ctx.table(f"full-batch GD, {N_POINTS} digits, MSE, {steps} steps",
              ["η", "2/η", "λ_max at init", "largest λ_max", "λ_max over the last 30%",
               "÷ 2/η", "final loss"], rows)
    ctx.check("progressive sharpening: the sharpness rises from well below 2/η up to it",
              "λ_max at init < 0.75·2/η and the largest λ_max ≥ 0.95·2/η, for both η",
              "; ".join(f"η={lr:g}: {start[lr]:.2f} → {peak[lr]:.2f} (2/η = {2 / lr:.2f})"
                        for lr in STEP_SIZES),
              all(start[lr] < 0.75 * 2 / lr and peak[lr] >= 0.95 * 2 / lr for lr in STEP_SIZES))
    ctx.check("then it hovers at 2/η",
              "median λ_max over the last 30% of training within [0.9, 1.15]·2/η, for both η",
              "; ".join(f"η={lr:g}: {hover[lr]:.3f} = {hover[lr] * lr / 2:.2f}·2/η"
                        for lr in STEP_SIZES),
              all(0.9 <= hover[lr] * lr / 2 <= 1.15 for lr in STEP_SIZES))
    big, small = STEP_SIZES
    ratio = hover[small] / hover[big]
    ctx.check("with a smaller η it hovers at the new, larger 2/η",
              f"hovering sharpness ratio (η={small:g} over η={big:g}) within 15% of "
              f"{big / small:.3f}", f"{ratio:.3f}", abs(ratio / (big / small) - 1) < 0.15)
    ctx.main(f"λ_max hovers at {hover[big] * big / 2:.2f}·2/η (η={big:g}) and "
             f"{hover[small] * small / 2:.2f}·2/η (η={small:g})")

    fig, (ax_s, ax_l) = new_figure(2, 1)
    for i, (lr, r) in enumerate(runs.items()):
        ax_s.plot(r["at"], r["sharpness"], "o-", ms=3, color=COLORS[i], label=f"η = {lr:g}")
        ax_s.axhline(2 / lr, ls="--", color=COLORS[i], label=f"2/η = {2 / lr:.2f}")
        ax_l.semilogy(np.arange(len(r["loss"])), r["loss"], color=COLORS[i], label=f"η = {lr:g}")
    ax_s.set_xlabel("step")
    ax_s.set_ylabel("sharpness λ_max(∇²L)")
    ax_s.set_title("progressive sharpening, then the edge of stability")
    ax_s.legend(fontsize=8)
    ax_l.set_xlabel("step")
    ax_l.set_ylabel("training loss (MSE)")
    ax_l.set_title("the loss keeps falling, not monotonically")
    ax_l.legend(fontsize=8)
    ctx.figure(fig, "edge_of_stability", "sharpness against 2/η under full-batch GD (Cohen et al. "
               "2021), and the loss")


EXPERIMENT = Experiment(
    "edge-of-stability",
    "Edge of stability",
    "Under full-batch gradient descent the sharpness λ_max rises until it reaches 2/η and then "
    "hovers there; a smaller η hovers at the larger 2/η (Cohen et al. 2021).",
    run,
)
