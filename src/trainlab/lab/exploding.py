"""Experiment 7: exploding gradients end in NaN; clipping by norm or by value prevents it.

Notes §3 and §6: when the per-layer factor exceeds 1 the gradient grows with depth and a
step of gradient descent throws the weights to infinity (NaN). Clipping caps the step:

    by norm:  g ← ε·g/‖g‖₂ when ‖g‖₂ > ε;    by value:  g ← max(min(g, ε), −ε).

Two ways to explode a 10-layer ReLU network on digits: weights 3× too large in variance
(Var(w) = 6/k instead of He's 2/k) and a learning rate too large (0.5 with momentum).
Each is trained without clipping, with clipping by norm (ε = 1) and by value (ε = 0.1),
over several seeds. The monitor of :mod:`trainlab.diagnostics` watches the unclipped run.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trainlab import init as _init
from trainlab import nn
from trainlab.diagnostics.monitor import Monitor
from trainlab.diagnostics.plots import COLORS, new_figure, positive
from trainlab.lab.common import Split, load_split, optimizer, test_accuracy, train
from trainlab.lab.experiment import Context, Experiment

CLIPPING = {"no clipping": {}, "clip by norm ε=1": {"clip_norm": 1.0},
            "clip by value ε=0.1": {"clip_value": 0.1}}


def too_large(fan_in: int, fan_out: int, rng: Any = None, dtype: Any = np.float32) -> np.ndarray:
    """N(0, 6/fan_in): three times He's variance, so the ReLU signal grows ×3 per layer."""
    return _init.variance_scaling(fan_in, fan_out, 6.0, "fan_in", "normal", rng, dtype)


def relu_net(init: Any, depth: int, width: int, n_in: int, n_out: int, seed: int) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(n_in if i == 0 else width, width, init=init, rng=rng), nn.ReLU()]
    layers.append(nn.Linear(width, n_out, init=init, rng=rng))
    return nn.Sequential(*layers)


def run_one(split: Split, init: Any, lr: float, clipping: dict, seed: int, epochs: int,
            monitor: Monitor | None = None) -> dict[str, Any]:
    model = relu_net(init, 10, 64, split.n_features, split.n_classes, seed)
    opt = optimizer(model, "sgd", lr=lr, momentum=0.9)
    trainer, history = train(model, split, opt, epochs=epochs, batch_size=32, seed=seed,
                             callbacks=[monitor] if monitor else [], **clipping)
    finite = history.diverged is None and all(np.isfinite(p.data).all() for p in model.parameters())
    return {"finite": finite, "acc": test_accuracy(trainer, split) if finite else math.nan,
            "loss": history["loss"], "diverged": history.diverged, "monitor": monitor}


def run(ctx: Context) -> None:
    split = load_split("digits", seed=ctx.seed)
    epochs = ctx.pick(10, 4)
    scenarios = {"weights too large (Var(w) = 6/k)": (too_large, 0.01),
                 "learning rate too large (0.5)": ("he_normal", 0.5)}
    results: dict[tuple[str, str], list[dict]] = {}
    for scenario, (init, lr) in scenarios.items():
        for name, clipping in CLIPPING.items():
            runs = []
            for seed in ctx.seeds(3, 1):
                monitor = (Monitor(every=1 if not clipping else 5, warn=False)
                           if seed == ctx.seed else None)
                runs.append(run_one(split, init, lr, clipping, seed, epochs, monitor))
            results[(scenario, name)] = runs

    rows = []
    for (scenario, name), runs in results.items():
        diverged = [r["diverged"]["global_step"] for r in runs if r["diverged"]]
        rows.append([scenario, name, f"{sum(r['finite'] for r in runs)}/{len(runs)}",
                     f"step {min(diverged)}" if diverged else "-",
                     " ".join(f"{r['acc']:.2f}" for r in runs)])
    ctx.table("finite runs, first step at NaN, test accuracy per seed",
              ["explosion", "clipping", "finite", "NaN at", "test accuracy"], rows)

    for scenario in scenarios:
        plain = results[(scenario, "no clipping")]
        steps = [r["diverged"]["global_step"] for r in plain if r["diverged"]]
        ctx.check(f"{scenario}: without clipping training diverges to NaN",
                  "NaN/inf in every seed within the first epoch",
                  f"{len(steps)}/{len(plain)} diverged, at step ≤ {max(steps) if steps else '-'}",
                  len(steps) == len(plain) and max(steps) <= split.X_train.shape[0] // 32 + 1)
        for name in list(CLIPPING)[1:]:
            runs = results[(scenario, name)]
            finite = all(r["finite"] for r in runs)
            if scenario.startswith("weights"):
                accs = [r["acc"] for r in runs]
                ctx.check(f"{scenario}: {name} keeps training finite and learning",
                          "finite in every seed and test accuracy > 0.3 (chance 0.1) after "
                          f"{epochs} epochs",
                          f"finite {sum(r['finite'] for r in runs)}/{len(runs)}; accuracy "
                          f"{min(accs):.2f}–{max(accs):.2f}", finite and min(accs) > 0.3)
            else:
                ctx.check(f"{scenario}: {name} keeps the weights finite",
                          "finite in every seed (the rate itself must still come down)",
                          f"finite {sum(r['finite'] for r in runs)}/{len(runs)}", finite)
    watched = results[(list(scenarios)[0], "no clipping")][0]["monitor"]
    kinds = sorted({w.kind for w in watched.warnings})
    ctx.check("the monitor flags the unclipped run", "an 'exploding' or 'non-finite' warning",
              ", ".join(kinds) or "none", bool({"exploding", "non-finite"} & set(kinds)))
    best = results[(list(scenarios)[0], "clip by value ε=0.1")]
    ctx.main(f"too-large weights: NaN at step {watched_step(results, scenarios)} without clipping; "
             f"clipped by value: accuracy {np.mean([r['acc'] for r in best]):.2f}")
    _figure(ctx, results, list(scenarios)[0])


def watched_step(results: dict, scenarios: dict) -> str:
    run = results[(list(scenarios)[0], "no clipping")][0]
    return str(run["diverged"]["global_step"]) if run["diverged"] else "-"


def _figure(ctx: Context, results: dict, scenario: str) -> None:
    fig, (ax_n, ax_l) = new_figure(2, 1)
    for i, name in enumerate(CLIPPING):
        run = results[(scenario, name)][0]
        monitor = run["monitor"]
        steps = np.arange(len(monitor.global_norms))
        ax_n.semilogy(steps, positive(monitor.global_norms), "-", color=COLORS[i],
                      label=f"{name}: ‖g‖ before clipping")
        if name != "no clipping":
            ax_n.semilogy(steps, positive(monitor.clipped_norms), ":", color=COLORS[i],
                          label=f"{name}: after")
        loss = run["loss"]  # positive() makes it a float64 array
        ax_l.semilogy(np.arange(1, len(loss) + 1), positive(loss), "o-", color=COLORS[i],
                      label=name + (" (NaN)" if run["diverged"] else ""))
    ax_n.set_xlabel("training step")
    ax_n.set_ylabel("global gradient norm ‖g‖₂")
    ax_n.set_title(f"{scenario}: gradient norm per step")
    ax_n.legend(fontsize=8)
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel("training loss")
    ax_l.set_title("training loss (a run that hit NaN stops)")
    ax_l.legend(fontsize=8)
    ctx.figure(fig, "exploding_clipping",
               "exploding gradients against clipping by norm and by value")


EXPERIMENT = Experiment(
    "exploding",
    "Exploding gradients and clipping",
    "A deep network with too-large weights or learning rate diverges to NaN; clipping by norm "
    "or by value keeps it finite (and, with sane rates, training).",
    run,
)
