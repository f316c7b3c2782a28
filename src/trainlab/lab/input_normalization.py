"""Experiment 13: input normalisation — raw inputs with a large mean and variance train badly.

Notes §7: data with E[x] ≫ 0 or Var[x] ≫ 1 trains badly; standardise with the training
set's statistics, (x − x̄)/√(s² + ε). Why, in the notes' own terms (§4): the first layer's
output has variance k·Var(w)·E[x²], and E[x²] = E[x]² + Var[x] is in the thousands for
pixels on a 0–255 scale, so a tanh layer starts saturated and the gradient scale is off
by the same factor. Digits images on the 0–255 scale (mean ≈ 78, std ≈ 96) are compared
with the same images standardised: the first layer's variance against the theory, the
saturation the monitor sees at initialisation, and training with SGD + momentum over a
grid of learning rates.
"""

from __future__ import annotations

import numpy as np

from trainlab import data
from trainlab.diagnostics.monitor import Monitor
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.diagnostics.theory import predict_for_input
from trainlab.lab.common import Split, load_split, mlp, optimizer, test_accuracy, train
from trainlab.lab.experiment import Context, Experiment

PIXEL_SCALE = 255.0 / 16.0  # digits pixels are 0..16; raw 8-bit images are 0..255


def both_inputs(seed: int) -> dict[str, Split]:
    raw = load_split("digits", seed=seed, standardize=False)
    R = Split(raw.name, raw.X_train * PIXEL_SCALE, raw.y_train, raw.X_val * PIXEL_SCALE, raw.y_val,
              raw.X_test * PIXEL_SCALE, raw.y_test, raw.n_classes)
    scaler = data.Standardizer().fit(R.X_train)
    S = Split(raw.name, scaler.transform(R.X_train), R.y_train, scaler.transform(R.X_val), R.y_val,
              scaler.transform(R.X_test), R.y_test, R.n_classes)
    return {"raw (0–255)": R, "standardised": S}


def run(ctx: Context) -> None:
    lrs = ctx.pick((1e-4, 1e-3, 1e-2, 1e-1), (1e-3, 1e-2, 1e-1))
    activations = ctx.pick(("tanh", "relu"), ("tanh",))
    acc: dict[tuple[str, str, float], list[float]] = {}
    init_stats: dict[str, dict] = {}
    for seed in ctx.seeds(2, 1):
        splits = both_inputs(seed)
        for kind, split in splits.items():
            for act in activations:
                for lr in lrs:
                    model = mlp(split.n_features, [100, 100], split.n_classes, act, seed=seed)
                    theory = predict_for_input(model, split.X_train[:256])[0]
                    monitor = Monitor(every=50, warn=False)
                    trainer, _ = train(model, split, optimizer(model, "sgd", lr=lr, momentum=0.9),
                                       epochs=10, batch_size=32, seed=seed, callbacks=[monitor])
                    acc.setdefault((kind, act, lr), []).append(test_accuracy(trainer, split))
                    if seed == ctx.seed and act == "tanh" and lr == lrs[0]:
                        first = monitor.first_record
                        init_stats[kind] = {
                            "var": first.layers[0].out_std ** 2, "theory": theory.out_var,
                            "saturated": next(s.saturated for s in first.layers
                                              if s.kind == "Tanh"),
                            "warned": any(w.kind == "saturated" for w in monitor.warnings),
                            "x2": float(np.mean(np.square(split.X_train, dtype=np.float64)))}
    raw, std = init_stats["raw (0–255)"], init_stats["standardised"]
    ok = all(abs(s["var"] / s["theory"] - 1) < 0.2 for s in init_stats.values())
    ctx.check("the first layer's variance is k·Var(w)·E[x²]: huge for raw inputs",
              "measured within 20% of the theory for both inputs; raw ≥ 100× standardised",
              f"raw {raw['var']:.0f} (theory {raw['theory']:.0f}, E[x²] = {raw['x2']:.0f}); "
              f"standardised {std['var']:.3f} (theory {std['theory']:.3f})",
              ok and raw["var"] >= 100 * std["var"])
    ctx.check("raw inputs saturate the first tanh layer at initialisation (seen by the monitor)",
              "saturated fraction > 50% raw (and a 'saturated' warning), < 5% standardised",
              f"raw {raw['saturated']:.0%} (warning: {'yes' if raw['warned'] else 'no'}), "
              f"standardised {std['saturated']:.0%}",
              raw["saturated"] > 0.5 and raw["warned"] and std["saturated"] < 0.05)
    best = {kind: max(np.mean(acc[(kind, "tanh", lr)]) for lr in lrs) for kind in init_stats}
    ctx.check("standardised inputs train better (tanh MLP, best learning rate of the grid for "
              "each)",
              "best test accuracy: standardised > raw + 0.02",
              f"standardised {best['standardised']:.3f}, raw {best['raw (0–255)']:.3f}",
              best["standardised"] > best["raw (0–255)"] + 0.02)
    good_lr = max(lrs, key=lambda lr: np.mean(acc[("standardised", "tanh", lr)]))
    raw_at_good = float(np.mean(acc[("raw (0–255)", "tanh", good_lr)]))
    ctx.check("the learning rate that suits standardised inputs fails on raw ones",
              f"raw test accuracy < 0.5 at γ = {good_lr:g}", f"{raw_at_good:.3f}",
              raw_at_good < 0.5)
    ctx.table("test accuracy after 10 epochs (mean over seeds)",
              ["inputs", "activation", *[f"γ = {lr:g}" for lr in lrs]],
              [[kind, act, *[f"{np.mean(acc[(kind, act, lr)]):.3f}" for lr in lrs]]
               for kind in init_stats for act in activations])
    ctx.main(f"first-layer variance raw {raw['var']:.0f} vs {std['var']:.2f}; best accuracy "
             f"standardised {best['standardised']:.3f} vs raw {best['raw (0–255)']:.3f}")

    fig, ax = new_figure(1, 1, width=7.0)
    for i, kind in enumerate(init_stats):
        for j, act in enumerate(activations):
            ax.semilogx(lrs, [np.mean(acc[(kind, act, lr)]) for lr in lrs],
                        "o-" if j == 0 else "s--", color=COLORS[i], label=f"{kind}, {act}")
    ax.set_xlabel("learning rate γ (SGD + momentum 0.9)")
    ax.set_ylabel("test accuracy after 10 epochs")
    ax.set_ylim(0, 1)
    ax.set_title("digits MLP: raw 0–255 pixels against standardised inputs")
    ax.legend()
    ctx.figure(fig, "input_normalization",
               "test accuracy against learning rate, raw and standardised")


EXPERIMENT = Experiment(
    "input-normalization",
    "Input normalisation",
    "Raw inputs with a large mean and variance saturate the first layer and train badly; "
    "standardised inputs train well at the usual learning rates.",
    run,
)
