"""Experiment 8: the optimizers of the notes on 2-D surfaces and on a real MLP.

Notes §5: plain gradient descent W ← W − γ∇L stalls at saddle points and local minima
and crawls along curved valleys; momentum (V ← ρV + ∇L, W ← W − γV), AdaGrad, RMSProp
and Adam change the step. Each of the six is run with trainlab.optim on

- the saddle f = x² − y², from (1, 10⁻³) at γ = 0.01: steps until f < −1 (escape);
- the Rosenbrock valley f = (1 − x)² + 100(y − x²)², from (−1.2, 1), 2,000 steps, with the
  best γ of a grid for each optimizer: distance to the minimum (1, 1);
- the tilted double well f = (x² − 1)² + x/2 + y², from (2, 1) at γ = 0.01: which of the
  two minima (local x ≈ 0.93, global x ≈ −1.06) it ends in;

and then trains the same MLP on real digits with each of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from trainlab.diagnostics.plots import COLORS, new_figure, positive
from trainlab.lab.common import load_split, mlp, optimizer, test_accuracy, train
from trainlab.lab.experiment import Context, Experiment
from trainlab.nn.module import Parameter

Surface = Callable[[np.ndarray], tuple[float, np.ndarray]]

ARMS: dict[str, dict[str, Any]] = {
    "SGD": {"optimizer": "sgd"},
    "momentum": {"optimizer": "sgd", "momentum": 0.9},
    "Nesterov": {"optimizer": "sgd", "momentum": 0.9, "nesterov": True},
    "AdaGrad": {"optimizer": "adagrad"},
    "RMSProp": {"optimizer": "rmsprop"},
    "Adam": {"optimizer": "adam"},
}
"""The compared update rules, as recipe settings (every other hyperparameter: its default)."""
OPTIMIZERS = tuple(ARMS)


def make_optimizer(name: str, params: list[Parameter], lr: float) -> Any:
    """Arm ``name``'s optimizer over ``params`` with learning rate ``lr``."""
    settings = dict(ARMS[name])
    return optimizer(params, settings.pop("optimizer"), lr=lr, **settings)
# The usual learning rate of each for the MLP (SGD family 0.01, adaptive 1e-3, AdaGrad 0.01).
MLP_LR = {"SGD": 0.01, "momentum": 0.01, "Nesterov": 0.01, "AdaGrad": 0.01, "RMSProp": 1e-3,
          "Adam": 1e-3}


def saddle(v: np.ndarray) -> tuple[float, np.ndarray]:
    x, y = v
    return x * x - y * y, np.array([2 * x, -2 * y])


def rosenbrock(v: np.ndarray) -> tuple[float, np.ndarray]:
    x, y = v
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2, np.array([-2 * (1 - x) - 400 * x * (y - x * x),
                                                            200 * (y - x * x)])


def double_well(v: np.ndarray) -> tuple[float, np.ndarray]:
    x, y = v
    return (x * x - 1) ** 2 + 0.5 * x + y * y, np.array([4 * x * (x * x - 1) + 0.5, 2 * y])


def trajectory(f: Surface, start: tuple[float, float], name: str, lr: float,
               steps: int) -> np.ndarray:
    """The iterates (steps + 1, 2) of optimizer ``name`` on ``f``; stops early at non-finite
    values."""
    p = Parameter(np.array(start, dtype=np.float64))
    opt = make_optimizer(name, [p], lr)
    path = [p.data.copy()]
    for _ in range(steps):
        _, grad = f(p.data)
        np.copyto(p.grad, grad)
        opt.step()
        path.append(p.data.copy())
        if not np.isfinite(p.data).all():
            break
    return np.array(path)


def values(f: Surface, path: np.ndarray) -> np.ndarray:
    return np.array([f(q)[0] for q in path])


def best_on_rosenbrock(name: str, steps: int) -> tuple[float, np.ndarray]:
    """The γ of the grid that ends closest to (1, 1), and its path."""
    best: tuple[float, float, np.ndarray] | None = None
    for lr in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1):
        path = trajectory(rosenbrock, (-1.2, 1.0), name, lr, steps)
        distance = float(np.hypot(*(path[-1] - 1.0)))
        if math.isfinite(distance) and (best is None or distance < best[0]):
            best = (distance, lr, path)
    assert best is not None
    return best[1], best[2]


def run(ctx: Context) -> None:
    steps = ctx.pick(2000, 1000)
    saddle_paths = {n: trajectory(saddle, (1.0, 1e-3), n, 0.01, 3000) for n in OPTIMIZERS}
    escape = {n: int(np.argmax(values(saddle, p) < -1)) if (values(saddle, p) < -1).any()
              else math.inf for n, p in saddle_paths.items()}
    rosen = {n: best_on_rosenbrock(n, steps) for n in OPTIMIZERS}
    distance = {n: float(np.hypot(*(p[-1] - 1.0))) for n, (_, p) in rosen.items()}
    well_paths = {n: trajectory(double_well, (2.0, 1.0), n, 0.01, 1500) for n in OPTIMIZERS}
    end_x = {n: float(p[-1, 0]) for n, p in well_paths.items()}

    fast = ("momentum", "Nesterov", "RMSProp", "Adam")
    ctx.check("at the saddle x² − y² plain gradient descent lingers",
              "momentum, Nesterov, RMSProp and Adam escape (f < −1) in at most half GD's steps "
              "(γ = 0.01)",
              ", ".join(f"{n} {escape[n]}" for n in OPTIMIZERS),
              all(escape[n] <= escape["SGD"] / 2 for n in fast))
    ctx.check("in the Rosenbrock valley momentum and Adam beat plain GD "
              f"({steps} steps, best γ each)",
              "distance to (1, 1): momentum and Adam < 0.01 while GD > 0.05",
              ", ".join(f"{n} {distance[n]:.1e}" for n in OPTIMIZERS),
              distance["momentum"] < 0.01 and distance["Adam"] < 0.01 and distance["SGD"] > 0.05)
    in_local = [n for n, x in end_x.items() if abs(x - 0.93) < 0.05]
    in_global = [n for n, x in end_x.items() if abs(x + 1.057) < 0.05]
    ctx.check("plain GD stops in the nearest local minimum; momentum carries over the bump",
              "GD ends at x ≈ 0.93 (local), momentum and Nesterov at x ≈ −1.06 (global), γ = 0.01",
              f"local: {', '.join(in_local)}; global: {', '.join(in_global)}",
              "SGD" in in_local and {"momentum", "Nesterov"} <= set(in_global))

    split = load_split("mnist5k" if not ctx.quick else "digits", seed=ctx.seed, fallback="digits")
    epochs = ctx.pick(10, 6)
    curves: dict[str, list[list[float]]] = {n: [] for n in OPTIMIZERS}
    accuracy: dict[str, list[float]] = {n: [] for n in OPTIMIZERS}
    for seed in ctx.seeds(2, 1):
        for name in OPTIMIZERS:
            model = mlp(split.n_features, [128, 64], split.n_classes, "relu", "he_normal",
                        seed=seed)
            opt = make_optimizer(name, model.parameters(), MLP_LR[name])
            trainer, history = train(model, split, opt, epochs=epochs, batch_size=32, seed=seed)
            curves[name].append(history["loss"])
            accuracy[name].append(test_accuracy(trainer, split))
    final = {n: max(c[-1] for c in curves[n]) for n in OPTIMIZERS}
    ctx.check(f"on the {split.name} MLP momentum trains faster than plain SGD at the same "
              "γ = 0.01",
              f"momentum's and Nesterov's training loss after {epochs} epochs < SGD's / 3 in "
              "every seed",
              f"SGD {final['SGD']:.3f}, momentum {final['momentum']:.3f}, "
              f"Nesterov {final['Nesterov']:.3f}",
              all(max(c[-1] for c in curves[n]) * 3 < min(c[-1] for c in curves["SGD"])
                  for n in ("momentum", "Nesterov")))
    worst = min(min(a) for a in accuracy.values())
    ctx.check(f"every optimizer trains the {split.name} MLP", "test accuracy > 0.8 for all six",
              ", ".join(f"{n} {np.mean(a):.3f}" for n, a in accuracy.items()), worst > 0.8)
    ctx.table("2-D surfaces", ["optimizer", "saddle: steps to escape", "Rosenbrock: best γ",
                               "Rosenbrock: distance to (1, 1)", "double well: final x"],
              [[n, escape[n], rosen[n][0], f"{distance[n]:.2e}", f"{end_x[n]:.3f}"]
               for n in OPTIMIZERS])
    ctx.table(f"{split.name} MLP", ["optimizer", "γ", "final training loss", "test accuracy"],
              [[n, MLP_LR[n], f"{np.mean([c[-1] for c in curves[n]]):.4f}",
                f"{np.mean(accuracy[n]):.3f}"] for n in OPTIMIZERS])
    ctx.main(f"saddle escape: GD {escape['SGD']} vs Adam {escape['Adam']} steps; "
             f"Rosenbrock distance GD {distance['SGD']:.2f} vs momentum {distance['momentum']:.0e}")
    _figures(ctx, saddle_paths, rosen, well_paths, curves, split.name)


def _contour(ax, f: Surface, box: tuple[float, float, float, float], log: bool) -> None:
    xs = np.linspace(box[0], box[1], 300)
    ys = np.linspace(box[2], box[3], 300)
    X, Y = np.meshgrid(xs, ys)
    Z = f(np.array([X, Y]))[0]
    if log:
        ax.contour(X, Y, np.log10(Z + 1e-3), levels=20, cmap="Greys", linewidths=0.6)
    else:
        ax.contour(X, Y, Z, levels=25, cmap="Greys", linewidths=0.6)


def _figures(ctx: Context, saddle_paths: dict, rosen: dict, well_paths: dict,
             curves: dict, data_name: str) -> None:
    fig, axes = new_figure(3, 1, width=5.0, height=4.6)
    panels = ((saddle_paths, saddle, (-1.2, 1.2, -2.0, 2.0), False, "saddle x² − y² (γ = 0.01)",
               [(0, 0)]),
              ({n: p for n, (_, p) in rosen.items()}, rosenbrock, (-2.0, 2.0, -1.0, 3.0), True,
               "Rosenbrock valley (best γ each)", [(1, 1)]),
              (well_paths, double_well, (-2.0, 2.2, -1.2, 1.2), False,
               "tilted double well (γ = 0.01)", [(-1.057, 0), (0.93, 0)]))
    for ax, (paths, f, box, log, title, marks) in zip(axes, panels, strict=True):
        _contour(ax, f, box, log)
        ax.plot(*np.array(marks).T, "o", mfc="none", mec="k", ms=11, mew=1.5)
        for i, (name, path) in enumerate(paths.items()):
            inside = path[(path[:, 0] > box[0] - 1) & (path[:, 0] < box[1] + 1)
                          & (path[:, 1] > box[2] - 1) & (path[:, 1] < box[3] + 1)]
            ax.plot(inside[:, 0], inside[:, 1], "-", color=COLORS[i], lw=1.3, label=name)
        ax.plot(*paths["SGD"][0], "k*", ms=10)
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(title)
    axes[0].legend(fontsize=8, loc="lower left")
    ctx.figure(fig, "optimizer_trajectories", "optimizer trajectories on three 2-D surfaces "
               "(★ start, ○ saddle point or minima)")

    fig, ax = new_figure(1, 1, width=7.0)
    for i, (name, runs) in enumerate(curves.items()):
        for j, loss in enumerate(runs):
            ax.semilogy(np.arange(1, len(loss) + 1), positive(loss), "o-" if j == 0 else "--",
                        color=COLORS[i], ms=3, label=name if j == 0 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_title(f"the same MLP on {data_name} with each optimizer")
    ax.legend()
    ctx.figure(fig, "optimizer_mlp", f"training loss per epoch on {data_name}")


EXPERIMENT = Experiment(
    "optimizers",
    "Optimizers on 2-D surfaces and on an MLP",
    "Momentum and adaptive steps escape saddles, follow curved valleys and (momentum) roll over "
    "bumps where plain gradient descent stalls; on a real MLP momentum trains faster.",
    run,
)
