"""Experiment 6: SELU with LeCun-normal weights keeps mean 0 and variance 1 (self-normalisation).

Notes §2: SELU(z) = λ·ELU_α(z), λ ≈ 1.0507, α ≈ 1.6733; with weights N(0, 1/n) the map
(mean, variance) ↦ (mean, variance) of the next layer has the stable fixed point (0, 1)
(Klambauer et al. 2017, "Self-Normalizing Neural Networks"). Measured through a deep
Linear–SELU stack: centred inputs stay at (0, 1) at every layer, and off-centre inputs
(large mean, large or tiny variance) are pulled back to it. The mean-field theory of
:mod:`trainlab.diagnostics.theory` is drawn next to the measurements; ReLU with He
initialisation is the contrast (its mean is not 0).
"""

from __future__ import annotations

import math

import numpy as np

from trainlab import nn
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.diagnostics.theory import input_statistics, predict_signal
from trainlab.lab.common import fmt
from trainlab.lab.experiment import Context, Experiment

STARTS = ((0.0, 1.0), (3.0, 4.0), (0.0, 10.0), (-2.0, 0.1))  # input (mean, variance)


def stack(depth: int, width: int, activation: type[nn.Module], init: str,
          seed: int) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, init=init, rng=rng, dtype=np.float64), activation()]
    return nn.Sequential(*layers)


def exact_lecun(model: nn.Sequential) -> nn.Sequential:
    """Rescale each weight matrix so that k·mean(w²) = 1 exactly (the theory's Var(w) = 1/k,
    without the sampling error of one draw)."""
    for layer in model:
        if isinstance(layer, nn.Linear):
            w = layer.weight.data
            w *= 1.0 / math.sqrt(w.shape[0] * float(np.mean(w * w)))
    return model


def moments(model: nn.Sequential, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of every activation's output (over the batch and units)."""
    means: list[float] = []
    variances: list[float] = []
    h = x
    for layer in model:
        h = layer.forward(h)
        if not isinstance(layer, nn.Linear):
            means.append(float(h.mean()))
            variances.append(float(h.var()))
    return np.array(means), np.array(variances)


def run(ctx: Context) -> None:
    depth, width, batch = ctx.pick(100, 50), 256, 500
    tail = 10
    centred_ok, worst_mean, var_range = True, 0.0, [math.inf, -math.inf]
    offcentre: dict[tuple[float, float], list[tuple[float, float, float]]] = {
        s: [] for s in STARTS[1:]}
    curves = {}
    for seed in ctx.seeds(3, 1):
        model = stack(depth, width, nn.SELU, "lecun_normal", seed)
        for mean0, var0 in STARTS:
            noise = np.random.default_rng(1000 + seed).standard_normal((batch, width))
            x = mean0 + math.sqrt(var0) * noise
            m, v = moments(model, x)
            if seed == ctx.seed:
                curves[(mean0, var0)] = (m, v, predict_signal(model, **input_statistics(x)))
            if (mean0, var0) == (0.0, 1.0):
                worst_mean = max(worst_mean, float(np.abs(m).max()))
                var_range = [min(var_range[0], v.min()), max(var_range[1], v.max())]
                centred_ok &= bool(np.all(np.abs(m) < 0.1) and np.all((v > 0.8) & (v < 1.25)))
            else:
                first = math.hypot(m[0], v[0] - 1)
                offcentre[(mean0, var0)].append((first, float(m[-tail:].mean()),
                                                 float(v[-tail:].mean())))

    ctx.check(f"centred inputs keep mean 0 and variance 1 through {depth} SELU layers",
              "every layer: |mean| < 0.1 and 0.8 < var < 1.25",
              f"|mean| ≤ {worst_mean:.3f}, var in [{var_range[0]:.3f}, {var_range[1]:.3f}]",
              centred_ok)
    rows, pulled = [], True
    for (mean0, var0), runs in offcentre.items():
        for first, m_end, v_end in runs:
            pulled &= first > 1.0 and abs(m_end) < 0.1 and abs(v_end - 1) < 0.15
        first, m_end, v_end = runs[0]
        rows.append([f"mean {mean0:g}, var {var0:g}", fmt(first), fmt(m_end), fmt(v_end)])
    summary = "; ".join(f"({r[0]}) → mean {r[2]}, var {r[3]}" for r in rows)
    ctx.check("off-centre inputs are pulled back to the fixed point (0, 1)",
              f"distance > 1 at layer 1; last {tail} layers: |mean| < 0.1, |var − 1| < 0.15",
              summary, pulled)
    ideal = exact_lecun(stack(depth, width, nn.SELU, "lecun_normal", ctx.seed))
    theory_end = [predict_signal(ideal, input_var=v, input_mean=m)[-1] for m, v in STARTS]
    theory_gap = max(math.hypot(t.out_mean, t.out_var - 1) for t in theory_end)
    ctx.check("the mean-field theory has the same fixed point",
              f"theory (k·Var(w) = 1 exactly) at layer {depth}: distance from (0, 1) < 0.01 "
              "for every start", f"largest distance {theory_gap:.2e}", theory_gap < 0.01)
    ctx.table(f"distance from (0, 1) at layer 1 and mean/variance over the last {tail} layers",
              ["input", "distance at layer 1", "mean (end)", "variance (end)"], rows)
    ctx.main(f"centred: |mean| ≤ {worst_mean:.3f}, var {var_range[0]:.2f}–{var_range[1]:.2f} over "
             f"{depth} layers; off-centre starts end at distance ≤ "
             f"{max(math.hypot(m, v - 1) for runs in offcentre.values() for _, m, v in runs):.3f}")

    relu = stack(depth, width, nn.ReLU, "he_normal", ctx.seed)
    x = np.random.default_rng(ctx.seed).standard_normal((batch, width))
    relu_m, relu_v = moments(relu, x)
    fig, (ax_m, ax_v) = new_figure(2, 1)
    layers = np.arange(1, depth + 1)
    for i, start in enumerate(STARTS):
        m, v, theory = curves[start]
        act = [t for t in theory if t.kind == "SELU"]
        label = f"input mean {start[0]:g}, var {start[1]:g}"
        ax_m.plot(layers, m, "-", color=COLORS[i], label=label)
        ax_v.plot(layers, v, "-", color=COLORS[i], label=label)
        ax_m.plot(layers, [t.out_mean for t in act], ":", color=COLORS[i])
        ax_v.plot(layers, [t.out_var for t in act], ":", color=COLORS[i])
    ax_m.plot(layers, relu_m, "--", color="gray", label="ReLU + He (contrast)")
    ax_v.plot(layers, relu_v, "--", color="gray", label="ReLU + He (contrast)")
    ax_m.axhline(0, color="k", lw=0.8)
    ax_v.axhline(1, color="k", lw=0.8)
    for ax, what in ((ax_m, "mean"), (ax_v, "variance")):
        ax.set_xlabel("SELU layer")
        ax.set_ylabel(f"{what} of the layer's output")
        ax.set_title(f"SELU + LeCun normal: {what} per layer (dotted: theory)")
    ax_m.legend(fontsize=8)
    ctx.figure(fig, "selu_fixed_point", "SELU's fixed point (0, 1): centred and off-centre inputs")


EXPERIMENT = Experiment(
    "selu",
    "SELU's self-normalising fixed point",
    "SELU with LeCun-normal weights keeps mean 0 and variance 1 through 50+ layers, and pulls "
    "off-centre inputs back to that fixed point.",
    run,
)
