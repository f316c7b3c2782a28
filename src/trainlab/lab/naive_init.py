"""Experiment 4: naive U[−1/√k, 1/√k] initialisation divides the variance by 3 per layer.

Notes §4: for y = Σᵢ wᵢxᵢ with independent zero-mean w and x, Var(y) = k·Var(w)·Var(x).
The naive uniform has Var(w) = (2/√k)²/12 = 1/(3k), so each linear layer divides the
variance by 3 and after L layers Var(h_L) = (1/3)ᴸ·Var(x): about 1.9e-48 ≈ 0 after the
notes' 100. Calibrating with 1/√fan_in (LeCun, Var(w) = 1/k; the notes' numpy recipe
``np.random.randn(fan_in, fan_out)/np.sqrt(fan_in)``) keeps it. Measured layer by layer
through 100 linear layers on Gaussian inputs, over several seeds.
"""

from __future__ import annotations

import numpy as np

from trainlab import nn
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import fmt, linear_at, per_layer_signal
from trainlab.lab.experiment import Context, Experiment


def linear_stack(depth: int, width: int, init: str, seed: int) -> nn.Sequential:
    """``depth`` bias-free linear layers (the notes' derivation has no activation)."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(*[nn.Linear(width, width, bias=False, init=init, rng=rng, dtype=np.float64)
                           for _ in range(depth)])


def run(ctx: Context) -> None:
    depth, width, batch = 100, ctx.pick(512, 256), ctx.pick(500, 200)
    layers = np.arange(1, depth + 1)
    predicted = (1 / 3) ** layers
    runs, worst, slopes, weight_var = [], 0.0, [], []
    for seed in ctx.seeds(3, 2):
        model = linear_stack(depth, width, "naive_uniform", seed)
        x = np.random.default_rng(10_000 + seed).standard_normal((batch, width))
        _, out_var, _ = per_layer_signal(model, x)
        ratio = out_var / x.var()
        runs.append(ratio)
        worst = max(worst, float(np.max(np.abs(np.log10(ratio / predicted)))))
        slopes.append(float(np.polyfit(layers, np.log10(ratio), 1)[0]))
        weight_var.append(np.mean([linear_at(model, i).weight.data.var() * width
                                   for i in range(len(model))]))
    calibrated = linear_stack(depth, width, "lecun_normal", ctx.seed)
    x = np.random.default_rng(ctx.seed).standard_normal((batch, width))
    _, kept, _ = per_layer_signal(calibrated, x)
    kept = kept / x.var()

    kvar = float(np.mean(weight_var))
    ctx.check("the naive uniform has k·Var(w) = 1/3", "k·Var(w) = 0.333 ± 2%",
              f"k·Var(w) = {kvar:.4f}", abs(kvar * 3 - 1) < 0.02)
    factor = 10 ** float(np.mean(slopes))
    ctx.check("each linear layer divides the variance by 3", "fitted factor per layer 1/3 ± 3%",
              f"×{factor:.4f} per layer (1/{1 / factor:.3f})", abs(factor * 3 - 1) < 0.03)
    final = float(np.exp(np.mean(np.log([r[-1] for r in runs]))))
    ctx.check(f"Var(h_L)/Var(x) follows (1/3)ᴸ at every one of the {depth} layers",
              "within a factor 2 (|log₁₀ error| < 0.3) at every layer and seed",
              f"largest |log₁₀ error| {worst:.3f}; after {depth}: {final:.2e} vs "
              f"{predicted[-1]:.2e}",
              worst < 0.3)
    ctx.check("calibrating with 1/√fan_in (LeCun) keeps the variance",
              f"1/10 < Var(h_{depth})/Var(x) < 10", f"{kept[-1]:.3g}", 0.1 < kept[-1] < 10)
    ctx.main(f"Var after {depth} naive layers = {final:.2e} (theory (1/3)^{depth} = "
             f"{predicted[-1]:.2e}); ×{factor:.4f} per layer")
    ctx.table("variance relative to the input (first seed)",
              ["layer", "measured", "(1/3)ᴸ", "LeCun"],
              [[int(layer), fmt(m), fmt(p), fmt(k)]
               for layer, m, p, k in zip(layers, runs[0], predicted, kept, strict=True)
               if layer in (1, 2, 5, 10, 20, 50, 75, 100)])

    fig, ax = new_figure(1, 1, width=7.0)
    for i, ratio in enumerate(runs):
        ax.semilogy(layers, ratio, "o", ms=3, color=COLORS[0],
                    label="naive U[−1/√k, 1/√k], measured" if i == 0 else None)
    ax.semilogy(layers, predicted, "k--", label="theory (1/3)ᴸ")
    ax.semilogy(layers, kept, "s", ms=3, color=COLORS[2], label="LeCun N(0, 1/k), measured")
    ax.axhline(1.0, color=COLORS[2], lw=0.8)
    ax.set_xlabel("linear layer L")
    ax.set_ylabel("Var(h_L) / Var(x)")
    ax.set_title(f"variance through {depth} linear layers of width {width}")
    ax.legend()
    ctx.figure(fig, "naive_init", "variance per layer: naive init falls as (1/3)ᴸ, LeCun keeps it")


EXPERIMENT = Experiment(
    "naive-init",
    "Naive initialisation: the variance falls as (1/3)ᴸ",
    "With w ~ U[−1/√k, 1/√k], Var(w) = 1/(3k), so through 100 linear layers the variance "
    "falls as (1/3)ᴸ, layer by layer, to (1/3)¹⁰⁰ ≈ 2e-48.",
    run,
)
