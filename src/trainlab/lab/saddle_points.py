"""Experiment 16: gradient descent stalls at saddle points; noise or momentum escapes (notes §5).

The notes: plain gradient descent gets stuck at saddle points and local minima. Dauphin,
Pascanu, Gulcehre, Cho, Ganguli & Bengio (2014), "Identifying and attacking the saddle
point problem in high-dimensional non-convex optimization": in high dimension most
critical points with a high loss are saddles — their Hessian has negative eigenvalues
(index > 0) — and the index falls with the loss; minima (index 0) lie low.

A tanh network with two hidden units fits y = tanh(4(x − 1)) − tanh(4(x + 1)), a well that
needs both units. From a symmetric start (both units equal) gradient descent keeps them
equal — it is a one-unit network — and stalls at the best one-unit fit: a saddle of the
two-unit loss, with one negative Hessian eigenvalue along the direction that tells the
units apart. Gaussian noise on the parameters after each step (perturbed gradient
descent, Jin, Ge, Netrapalli, Kakade & Jordan 2017, "How to Escape Saddle Points
Efficiently") escapes; from a 10⁻⁶ asymmetry heavy-ball momentum (0.9) escapes within
the budget while plain gradient descent has not. The Hessian is formed from
Hessian-vector products (trainlab.diagnostics.curvature) and diagonalised.
"""

from __future__ import annotations

import numpy as np

from trainlab import nn, optim
from trainlab.diagnostics.curvature import hessian_vector_product
from trainlab.diagnostics.plots import COLORS, new_figure, positive
from trainlab.lab.experiment import Context, Experiment

LR = 0.1
NOISE = 1e-3
ASYMMETRY = 1e-6


def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(seed).uniform(-2, 2, (100, 1))
    return X, np.tanh(4 * (X - 1)) - np.tanh(4 * (X + 1))


def symmetric_net(asymmetry: float) -> nn.Sequential:
    """1-2-1 tanh network whose two hidden units start equal (the first weight + asymmetry)."""
    model = nn.Sequential(nn.Linear(1, 2, dtype=np.float64, rng=0), nn.Tanh(),
                          nn.Linear(2, 1, dtype=np.float64, rng=1))
    first, last = model[0], model[2]
    assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear) and last.bias is not None
    first.weight.data[:] = 0.5
    assert first.bias is not None
    first.bias.data[:] = 0.1
    last.weight.data[:] = 0.3
    last.bias.data[:] = 0.0
    first.weight.data[0, 0] += asymmetry
    return model


def spectrum(model: nn.Module, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """All Hessian eigenvalues (ascending), the Hessian formed column by column from H·eᵢ."""
    n = model.num_parameters()
    H = np.column_stack([hessian_vector_product(model, nn.MSELoss(), X, Y, e) for e in np.eye(n)])
    return np.linalg.eigvalsh((H + H.T) / 2)


def index_of(eigenvalues: np.ndarray) -> int:
    """The number of clearly negative eigenvalues (below −10⁻⁶·max|λ|)."""
    return int(np.sum(eigenvalues < -1e-6 * np.max(np.abs(eigenvalues))))


def descend(X: np.ndarray, Y: np.ndarray, steps: int, asymmetry: float, momentum: float,
            noise: float, seed: int, every: int) -> dict:
    model = symmetric_net(asymmetry)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=momentum)
    loss_fn, rng = nn.MSELoss(), np.random.default_rng(seed)
    losses, points = [], []
    for t in range(steps + 1):
        model.zero_grad()
        loss = loss_fn(model.forward(X), Y)
        model.backward(loss_fn.backward(), input_grad=False)
        if t % every == 0:
            eig = spectrum(model, X, Y)
            grad = float(np.sqrt(sum(np.sum(p.grad ** 2) for p in model.parameters())))
            points.append((float(loss), index_of(eig), float(eig[0]), grad))
        if t == steps:
            break
        losses.append(loss)
        opt.step()
        if noise:
            for p in model.parameters():
                p.data += noise * rng.standard_normal(p.shape)
    return {"loss": np.array(losses), "points": points}


def run(ctx: Context) -> None:
    X, Y = data(ctx.seed)
    steps, every = 3000, ctx.pick(100, 250)
    arms = {
        "GD, symmetric start": (0.0, 0.0, 0.0),
        f"GD + noise {NOISE:g} (perturbed GD)": (0.0, 0.0, NOISE),
        f"GD, asymmetry {ASYMMETRY:g}": (ASYMMETRY, 0.0, 0.0),
        f"momentum 0.9, asymmetry {ASYMMETRY:g}": (ASYMMETRY, 0.9, 0.0),
    }
    runs = {name: descend(X, Y, steps, a, m, s, ctx.seed, every)
            for name, (a, m, s) in arms.items()}
    sym, noisy, tiny, mom = (runs[a] for a in arms)
    stall_loss, stall_index, stall_min, _ = sym["points"][-1]
    tail = sym["loss"][int(0.75 * steps):]
    drop = 1 - tail[-1] / tail[0]
    ctx.check("gradient descent from a symmetric start stalls at a saddle point",
              "loss falls < 5% over the last quarter, and the Hessian there has index ≥ 1 "
              "(λ_min < 0)",
              f"loss {stall_loss:.4f} (fell {100 * drop:.1f}%), index {stall_index}, "
              f"λ_min = {stall_min:.2e}", drop < 0.05 and stall_index >= 1)
    end_loss, end_index, _, _ = noisy["points"][-1]
    ctx.check("noise escapes the saddle to a minimum",
              "perturbed GD: final loss < stall loss / 10, index 0 at the end",
              f"loss {end_loss:.4f}, index {end_index}",
              end_loss < stall_loss / 10 and end_index == 0)
    mom_loss, tiny_loss = mom["points"][-1][0], tiny["points"][-1][0]
    ctx.check("momentum escapes where plain gradient descent is still stuck",
              f"from a {ASYMMETRY:g} asymmetry after {steps} steps: momentum's loss < stall/10, "
              "plain GD's > stall/2",
              f"momentum {mom_loss:.2e}, plain GD {tiny_loss:.4f}",
              mom_loss < stall_loss / 10 and tiny_loss > stall_loss / 2)
    # Near-critical points of the noise-free runs: |∇L| below 1% of its value at the start.
    critical = [p for r in (sym, tiny, mom) for p in r["points"]
                if p[3] < 0.01 * r["points"][0][3]]
    saddle = [p[0] for p in critical if p[1] > 0]
    minima = [p[0] for p in critical if p[1] == 0]
    holds = bool(saddle) and bool(minima) and min(saddle) > 10 * max(minima)
    ctx.check("near-critical points with a high loss are saddles, low ones minima "
              "(Dauphin et al.)",
              "at points of the noise-free runs with |∇L| < 1% of its start: every one with "
              "index > 0 has a loss above 10× every one with index 0",
              f"index > 0: loss ≥ {min(saddle) if saddle else float('nan'):.3g} "
              f"({len(saddle)} points); index 0: loss ≤ "
              f"{max(minima) if minima else float('nan'):.3g} ({len(minima)} points)", holds)
    ctx.table(f"after {steps} steps of η = {LR}",
              ["arm", "loss", "index (negative eigenvalues)", "λ_min"],
              [[name, f"{r['points'][-1][0]:.4g}", str(r["points"][-1][1]),
                f"{r['points'][-1][2]:.3g}"] for name, r in runs.items()])
    ctx.main(f"symmetric GD stalls at loss {stall_loss:.3f} with index {stall_index}; "
             f"noise reaches {end_loss:.4f}, momentum {mom_loss:.1e}")

    fig, (ax_l, ax_i) = new_figure(2, 1)
    for i, (name, r) in enumerate(runs.items()):
        ax_l.semilogy(np.arange(1, steps + 1), positive(r["loss"]), color=COLORS[i], label=name)
        loss_at = [p[0] for p in r["points"]]
        index_at = [p[1] + 0.04 * (i - 1.5) for p in r["points"]]
        ax_i.semilogx(positive(loss_at), index_at, "o", ms=4, color=COLORS[i], label=name)
    ax_l.set_xlabel("step")
    ax_l.set_ylabel("training loss (MSE)")
    ax_l.set_title("the plateau of a saddle, and the escapes")
    ax_l.legend(fontsize=7)
    ax_i.set_xlabel("loss")
    ax_i.set_ylabel("index: negative Hessian eigenvalues")
    ax_i.set_title("index against loss along the runs (Dauphin et al. 2014)")
    ax_i.legend(fontsize=7)
    ctx.figure(fig, "saddle_points", "gradient descent at a saddle point: loss curves, and the "
               "Hessian's index against the loss")


EXPERIMENT = Experiment(
    "saddle-points",
    "Saddle points",
    "Gradient descent from a symmetric start stalls at a saddle (a negative Hessian "
    "eigenvalue); noise or momentum escapes it, and high-loss critical points are saddles "
    "(Dauphin et al. 2014).",
    run,
)
