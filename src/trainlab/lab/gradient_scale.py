"""Experiment 3: the gradient scales as M^depth (notes §3).

The notes' rule of thumb ``|dL/dW_l| ≈ |x|·|W_l|·M^depth``: every layer the gradient
passes multiplies it by a factor M, so with M > 1 it explodes and with M < 1 it vanishes,
geometrically in the depth. For weights N(0, Var(w)) of fan-in k the factor is

    M = √(k·Var(w))          linear layers,
    M = √(k·Var(w)/2)        ReLU layers (half of the units pass nothing back),

so Xavier/LeCun (k·Var(w) = 1) gives M = 1 for linear layers and He (k·Var(w) = 2) M = 1
for ReLU. Measured: ‖∂L/∂W₁‖ (the first layer's weight gradient) for stacks of width 256
and depth D = 5 … 40 (each the first D blocks of one 40-block draw), with a fixed random
upstream gradient (L = ⟨y, r⟩, r ~ N(0, 1)), for M from 0.8 to 1.25; the per-layer factor
is fitted from log‖∂L/∂W₁‖ against D. The input factor |x| is measured too: with zero
biases both stacks are positively homogeneous, so scaling x by c scales every weight
gradient by exactly c.
"""

from __future__ import annotations

import math

import numpy as np

from trainlab import nn
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import linear_at
from trainlab.lab.experiment import Context, Experiment

FACTORS = (0.8, 0.9, 1.0, 1.1, 1.25)
KINDS = {"linear": (nn.Identity, 1.0), "ReLU": (nn.ReLU, 2.0)}  # activation, k·Var(w) for M = 1


def stack(depth: int, width: int, kind: str, factor: float, seed: int) -> nn.Sequential:
    """``depth`` blocks Linear (no bias, N(0, gain·M²/k)) -> activation, gain from ``KINDS``."""
    activation, gain = KINDS[kind]
    std = factor * math.sqrt(gain / width)
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for _ in range(depth):
        layer = nn.Linear(width, width, bias=False, init="zeros", dtype=np.float64)
        layer.weight.data[...] = rng.normal(0.0, std, size=(width, width))
        layers += [layer, activation()]
    return nn.Sequential(*layers)


def first_layer_gradient(model: nn.Sequential, x: np.ndarray, r: np.ndarray) -> float:
    """‖∂L/∂W₁‖_F for L = ⟨model(x), r⟩ (so ∂L/∂y = r), from trainlab's backward."""
    model.zero_grad()
    model.forward(x)
    model.backward(r)
    return float(np.linalg.norm(linear_at(model, 0).weight.grad))


def depth_profile(kind: str, factor: float, depths: tuple[int, ...], width: int, batch: int,
                  seed: int) -> np.ndarray:
    """‖∂L/∂W₁‖ for each depth; the stack of depth D is the first D blocks of one draw."""
    rng = np.random.default_rng(10_000 + seed)
    x = rng.standard_normal((batch, width))
    r = rng.standard_normal((batch, width))
    deepest = list(stack(max(depths), width, kind, factor, seed))
    return np.array([first_layer_gradient(nn.Sequential(*deepest[:2 * d]), x, r) for d in depths])


def fitted_factor(depths: tuple[int, ...], grads: np.ndarray) -> float:
    """exp of the slope of log‖∂L/∂W₁‖ against the depth: the measured per-layer factor."""
    return float(np.exp(np.polyfit(np.asarray(depths, dtype=float), np.log(grads), 1)[0]))


def run(ctx: Context) -> None:
    depths = ctx.pick((5, 10, 20, 30, 40), (5, 10, 20, 30))
    width, batch = ctx.pick(256, 128), 64
    fits: dict[tuple[str, float], list[float]] = {}
    profiles: dict[tuple[str, float], np.ndarray] = {}
    for kind in KINDS:
        for factor in FACTORS:
            for seed in ctx.seeds(2, 1):
                grads = depth_profile(kind, factor, depths, width, batch, seed)
                fits.setdefault((kind, factor), []).append(fitted_factor(depths, grads))
                profiles.setdefault((kind, factor), grads / grads[0])
    errors = {key: max(abs(m / key[1] - 1) for m in ms) for key, ms in fits.items()}
    worst = max(errors.values())
    ctx.check("each layer multiplies the gradient by M = √(k·Var(w)) (linear) or √(k·Var(w)/2) "
              "(ReLU)",
              "fitted per-layer factor of ‖∂L/∂W₁‖ within 3% of M, every M, kind and seed",
              f"largest relative error {worst:.2%}", worst < 0.03)
    span = depths[-1] - depths[0]
    vanish = {kind: profiles[(kind, 0.8)][-1] for kind in KINDS}
    explode = {kind: profiles[(kind, 1.25)][-1] for kind in KINDS}
    ctx.check(f"M < 1 vanishes and M > 1 explodes geometrically (depth {depths[0]} → {depths[-1]})",
              f"‖∂L/∂W₁‖ changes by M^{span} within a factor 2: ×{0.8 ** span:.1e} (M = 0.8), "
              f"×{1.25 ** span:.1e} (M = 1.25)",
              "; ".join(f"{k}: ×{vanish[k]:.1e}, ×{explode[k]:.1e}" for k in KINDS),
              all(abs(math.log(vanish[k] / 0.8 ** span)) < math.log(2)
                  and abs(math.log(explode[k] / 1.25 ** span)) < math.log(2) for k in KINDS))
    keep = {kind: profiles[(kind, 1.0)][-1] for kind in KINDS}
    ctx.check("M = 1 (LeCun for linear, He for ReLU) keeps it",
              f"1/2 < ‖∂L/∂W₁‖ at depth {depths[-1]} / at depth {depths[0]} < 2",
              ", ".join(f"{k} ×{v:.2f}" for k, v in keep.items()),
              all(0.5 < v < 2 for v in keep.values()))
    rng = np.random.default_rng(ctx.seed)
    x = rng.standard_normal((batch, width))
    r = rng.standard_normal((batch, width))
    homogeneity = 0.0
    for kind in KINDS:
        model = stack(depths[1], width, kind, 1.1, ctx.seed)
        base = first_layer_gradient(model, x, r)
        scaled = first_layer_gradient(model, 10.0 * x, r)
        homogeneity = max(homogeneity, abs(scaled / (10.0 * base) - 1))
    ctx.check("the gradient is proportional to |x|",
              "‖∂L/∂W₁‖ at 10·x = 10 × at x (± 1e-12), linear and ReLU",
              f"largest relative error {homogeneity:.1e}", homogeneity < 1e-12)
    ctx.table("fitted per-layer factor of ‖∂L/∂W₁‖ (mean over seeds)",
              ["M", *[f"{k}: fitted" for k in KINDS], f"M^{span}",
               *[f"{k}: measured ×" for k in KINDS]],
              [[f"{m:g}", *[f"{np.mean(fits[(k, m)]):.4f}" for k in KINDS], f"{m ** span:.3g}",
                *[f"{profiles[(k, m)][-1]:.3g}" for k in KINDS]] for m in FACTORS])
    ctx.main(f"per-layer factor = M within {worst:.1%}; depth {depths[0]}→{depths[-1]}: M = 0.8 "
             f"×{vanish['linear']:.0e}, M = 1.25 ×{explode['linear']:.0e}")

    fig, ax = new_figure(1, 1, width=7.0)
    for i, factor in enumerate(FACTORS):
        for kind, style in zip(KINDS, ("o-", "s--"), strict=True):
            ax.semilogy(depths, profiles[(kind, factor)], style, ms=4, color=COLORS[i],
                        label=f"M = {factor:g}" if kind == "linear" else None)
        ax.semilogy(depths, [factor ** (d - depths[0]) for d in depths], ":", color="k", lw=0.8)
    ax.set_xlabel("depth D")
    ax.set_ylabel(f"‖∂L/∂W₁‖ relative to depth {depths[0]}")
    ax.set_title("first-layer gradient against depth (o linear, s ReLU, dotted M^D)")
    ax.legend(fontsize=8)
    ctx.figure(fig, "gradient_scale", "the first layer's gradient grows or shrinks as M^depth")


EXPERIMENT = Experiment(
    "gradient-scale",
    "The gradient scales as M^depth",
    "Each layer multiplies the gradient by M = √(k·Var(w)) (√(k·Var(w)/2) with ReLU): "
    "M < 1 vanishes and M > 1 explodes geometrically in the depth, and the gradient is "
    "proportional to |x|.",
    run,
)
