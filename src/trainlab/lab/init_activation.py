"""Experiment 5: initialisation against activation in deep networks (≥ 30 layers).

Notes §3-§4: with k·Var(w) < 1 the signal collapses, with > 1 it explodes; each
activation needs its own variance — Xavier (Var(w) = 2/(k+m)) for linear and tanh, He
(2/k) for ReLU because it zeroes half of the units, LeCun (1/k) for SELU. For every pair
of {naive, Xavier, He, LeCun} × {linear, tanh, ReLU, SELU} this measures, at
initialisation on a digits batch, the forward ratio Var(h_L)/Var(x) and the backward
ratio E[g₁²]/E[g_L²] (a unit-variance gradient sent back from the output), classifies
each as keeps / collapses (< 1e-3) / explodes (> 1e3), compares with the mean-field
theory, and then trains each network with SGD + momentum to see whether it learns.
"""

from __future__ import annotations

import math

import numpy as np

from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.diagnostics.theory import input_statistics, predict_signal
from trainlab.lab.common import (
    fmt,
    load_split,
    mlp,
    optimizer,
    per_layer_signal,
    test_accuracy,
    train,
)
from trainlab.lab.experiment import Context, Experiment

INITS = ("naive_uniform", "xavier_normal", "he_normal", "lecun_normal")
ACTIVATIONS = ("identity", "tanh", "relu", "selu")
KINDS = ("Identity", "Tanh", "ReLU", "SELU")
LIMIT = 1e3  # collapse below 1/LIMIT, explode above LIMIT
TRAINS = 0.5  # test accuracy that counts as training (chance is 0.1)
SHORT = {"naive_uniform": "naive", "xavier_normal": "Xavier", "he_normal": "He",
         "lecun_normal": "LeCun", "identity": "linear", "tanh": "tanh", "relu": "ReLU",
         "selu": "SELU"}


def verdict(forward: float, backward: float) -> str:
    """'collapses', 'explodes' or 'keeps', from the ratio that moved most (in decades)."""
    if not (math.isfinite(forward) and math.isfinite(backward)):
        return "explodes"
    worst = max((math.log10(max(r, 1e-300)) for r in (forward, backward)), key=abs)
    if worst > math.log10(LIMIT):
        return "explodes"
    return "collapses" if worst < -math.log10(LIMIT) else "keeps"


def signal_ratios(model, x: np.ndarray,
                  seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Per-activation output variance / Var(x), E[g²] / E[g²] at the top, and the theory's
    (forward, backward) ratios."""
    dy = np.random.default_rng(seed).standard_normal((x.shape[0], model[-1].out_features))
    _, out_var, grad_ms = per_layer_signal(model, x, dy, kinds=KINDS)
    stats = input_statistics(x)
    theory = [t for t in predict_signal(model, **stats) if t.kind in KINDS]
    t_fwd = theory[-1].out_var / stats["input_var"]
    t_bwd = theory[0].grad_var / theory[-1].grad_var
    return out_var / x.var(), grad_ms / grad_ms[-1], (t_fwd, t_bwd)


def run(ctx: Context) -> None:
    depth, width = 30, ctx.pick(128, 64)
    epochs = ctx.pick(10, 8)
    trained = None if not ctx.quick else {("identity", "lecun_normal"), ("tanh", "xavier_normal"),
                                          ("relu", "xavier_normal"), ("identity", "he_normal")}
    split = load_split("digits", seed=ctx.seed)
    x = split.X_train[:256].astype(np.float64)
    cells: dict[tuple[str, str], dict] = {}
    for act in ACTIVATIONS:
        for init in INITS:
            model = mlp(split.n_features, [width] * depth, split.n_classes, act, init,
                        seed=ctx.seed, dtype="float64")
            fwd, bwd, (t_fwd, t_bwd) = signal_ratios(model, x, ctx.seed)
            cell = {"fwd": fwd[-1], "bwd": bwd[0], "t_fwd": t_fwd, "t_bwd": t_bwd,
                    "profile": fwd, "class": verdict(fwd[-1], bwd[0]),
                    "theory": verdict(t_fwd, t_bwd),
                    "acc": math.nan}
            if trained is None or (act, init) in trained:
                model = mlp(split.n_features, [width] * depth, split.n_classes, act, init,
                            seed=ctx.seed)
                opt = optimizer(model, "sgd", lr=0.003, momentum=0.9)
                trainer, _ = train(model, split, opt, epochs=epochs, batch_size=64, seed=ctx.seed)
                cell["acc"] = test_accuracy(trainer, split)
            cells[(act, init)] = cell

    agree = [k for k, c in cells.items() if c["class"] == c["theory"]]
    ctx.check("measured forward/backward verdict matches the variance theory",
              "same verdict (keeps / collapses / explodes) in all 16 cells",
              f"{len(agree)}/16 agree", len(agree) == 16)
    expected = {("identity", "naive_uniform"): "collapses", ("tanh", "naive_uniform"): "collapses",
                ("relu", "naive_uniform"): "collapses", ("selu", "naive_uniform"): "collapses",
                ("relu", "xavier_normal"): "collapses", ("identity", "he_normal"): "explodes",
                ("identity", "xavier_normal"): "keeps", ("tanh", "xavier_normal"): "keeps",
                ("relu", "he_normal"): "keeps", ("selu", "lecun_normal"): "keeps"}
    wrong = [f"{SHORT[i]}+{SHORT[a]}: {cells[(a, i)]['class']}" for (a, i), e in expected.items()
             if cells[(a, i)]["class"] != e]
    ctx.check(f"the notes' verdicts through {depth} layers",
              "naive collapses with every activation; Xavier+ReLU collapses; He+linear explodes; "
              "Xavier keeps linear and tanh, He keeps ReLU, LeCun keeps SELU",
              "all as expected" if not wrong else "; ".join(wrong), not wrong)
    keeps = [c["acc"] for c in cells.values() if c["class"] == "keeps" and not math.isnan(c["acc"])]
    collapses = [c["acc"] for c in cells.values() if c["class"] == "collapses"
                 and not math.isnan(c["acc"])]
    ctx.check("networks that keep the signal train (SGD + momentum)",
              f"test accuracy ≥ {TRAINS} for every 'keeps' cell trained",
              f"min {min(keeps):.3f} over {len(keeps)}", bool(keeps) and min(keeps) >= TRAINS)
    ctx.check("networks whose signal collapses do not train",
              f"test accuracy < {TRAINS} for every 'collapses' cell trained",
              f"max {max(collapses):.3f} over {len(collapses)}",
              bool(collapses) and max(collapses) < TRAINS)
    he_linear = cells[("identity", "he_normal")]
    ctx.check("the exploding network (He + linear) diverges without clipping",
                  "test accuracy NaN (non-finite outputs) or at chance", f"{he_linear['acc']:.3f}",
                  not he_linear["acc"] >= TRAINS)
    ctx.table(f"{depth} layers of width {width}: forward Var(h_L)/Var(x), backward E[g₁²]/E[g_L²] "
              "(theory in brackets), verdict, test accuracy",
              ["init", "activation", "forward", "backward", "verdict", "test accuracy"],
              [[SHORT[i], SHORT[a], f"{fmt(c['fwd'])} ({fmt(c['t_fwd'])})",
                f"{fmt(c['bwd'])} ({fmt(c['t_bwd'])})", c["class"], fmt(c["acc"])]
               for (a, i), c in cells.items()])
    ctx.main(f"{len(agree)}/16 verdicts match theory; 'keeps' cells reach ≥ {min(keeps):.2f} "
             f"accuracy, 'collapses' cells ≤ {max(collapses):.2f}")
    _figures(ctx, cells, depth, width)


def _figures(ctx: Context, cells: dict, depth: int, width: int) -> None:
    fig, axes = new_figure(3, 1, width=4.6, height=4.2)
    panels = (("fwd", "forward log₁₀ Var(h_L)/Var(x)"), ("bwd", "backward log₁₀ E[g₁²]/E[g_L²]"),
              ("acc", "test accuracy after training"))
    for ax, (key, title) in zip(axes, panels, strict=True):
        grid = np.array([[cells[(a, i)][key] for i in INITS] for a in ACTIVATIONS], dtype=float)
        shown = grid if key == "acc" else np.log10(np.clip(grid, 1e-300, None))
        limits = (0, 1) if key == "acc" else (-12, 12)
        image = ax.imshow(shown, cmap="viridis" if key == "acc" else "coolwarm", vmin=limits[0],
                          vmax=limits[1])
        for r in range(len(ACTIVATIONS)):
            for c in range(len(INITS)):
                value = shown[r, c]
                text = ("NaN" if math.isnan(value) else f"{value:.2f}" if key == "acc"
                        else f"{int(round(value))}")
                dark = key == "acc" and value < 0.5
                ax.text(c, r, text, ha="center", va="center", fontsize=10,
                        color="w" if dark else "k")
        ax.set_xticks(range(len(INITS)), [SHORT[i] for i in INITS])
        ax.set_yticks(range(len(ACTIVATIONS)), [SHORT[a] for a in ACTIVATIONS])
        ax.set_xlabel("initialisation")
        ax.set_ylabel("activation")
        ax.set_title(title, fontsize=10)
        ax.grid(False)
        fig.colorbar(image, ax=ax, shrink=0.8)
    ctx.figure(fig, "init_activation_grid", f"{depth}-layer networks: signal at init and training")

    fig, ax = new_figure(1, 1, width=7.0)
    shown = [("tanh", "naive_uniform"), ("tanh", "xavier_normal"), ("relu", "xavier_normal"),
             ("relu", "he_normal"), ("identity", "he_normal"), ("selu", "lecun_normal")]
    for k, (a, i) in enumerate(shown):
        profile = cells[(a, i)]["profile"]
        ax.semilogy(np.arange(1, len(profile) + 1), np.clip(profile, 1e-300, None), "o-", ms=3,
                    color=COLORS[k], label=f"{SHORT[a]} + {SHORT[i]}")
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("Var(h_l) / Var(x)")
    ax.set_title(f"forward variance through {depth} layers of width {width} at initialisation")
    ax.legend(fontsize=9)
    ctx.figure(fig, "init_activation_depth", "forward variance per layer for six pairs")


EXPERIMENT = Experiment(
    "init-activation",
    "Initialisation against activation",
    "In 30-layer networks each activation needs its initialisation: naive collapses, He with "
    "ReLU, Xavier with tanh/linear and LeCun with SELU keep the signal — and only those train.",
    run,
)
