"""Experiment 9: learning-rate decay, lr_n = lr_{n−1}·α (notes §3, §5).

A large constant learning rate makes fast progress at first and then bounces around at a
high loss: the steps never shrink. Decaying it exponentially (ExponentialLR, α = 0.8 per
epoch) keeps the fast start and then settles: lower loss than the large constant rate,
and lower than a small constant rate that was safe from the start. SGD with momentum 0.9
on a digits MLP, over several seeds; the loss is measured on the whole training set.
"""

from __future__ import annotations

import numpy as np

from trainlab.diagnostics.plots import COLORS, new_figure, positive
from trainlab.lab.common import load_split, mlp, optimizer, schedule_for, test_accuracy, train
from trainlab.lab.experiment import Context, Experiment

ARMS = {"constant γ = 0.1": (0.1, None), "exponential decay from 0.1 (α = 0.8)": (0.1, 0.8),
        "constant γ = 0.01": (0.01, None)}


def _losses(runs: list[dict]) -> str:
    return ", ".join(f"{r['final']:.3g}" for r in runs)


def run(ctx: Context) -> None:
    split = load_split("digits", seed=ctx.seed)
    epochs = ctx.pick(15, 8)
    results: dict[str, list[dict]] = {arm: [] for arm in ARMS}
    for seed in ctx.seeds(3, 1):
        for arm, (lr, gamma) in ARMS.items():
            model = mlp(split.n_features, [128, 64], split.n_classes, "relu", "he_normal",
                        seed=seed)
            opt = optimizer(model, "sgd", lr=lr, momentum=0.9)
            schedule = None if gamma is None else schedule_for(opt, "exponential", gamma=gamma)
            trainer, history = train(model, split, opt, epochs=epochs, batch_size=32, seed=seed,
                                     schedule=schedule)
            final = trainer.evaluate(split.X_train, split.y_train)["loss"]
            results[arm].append({"final": final, "curve": history["loss"], "lr": history["lr"],
                                 "acc": test_accuracy(trainer, split)})
    big, decay, small = (results[a] for a in ARMS)
    ratios = [b["final"] / d["final"] for b, d in zip(big, decay, strict=True)]
    ctx.check("a large constant rate stalls; decaying it settles much lower",
              f"training loss after {epochs} epochs: decayed < constant 0.1 / 5 in every seed",
              f"constant {_losses(big)}; decayed {_losses(decay)}", min(ratios) > 5)
    ctx.check("decay from a large rate beats a small constant rate",
              "decayed loss < constant 0.01 loss in every seed",
              f"constant 0.01: {_losses(small)}",
              all(d["final"] < s["final"] for d, s in zip(decay, small, strict=True)))
    ctx.table(f"digits MLP, SGD + momentum 0.9, {epochs} epochs (mean over seeds)",
              ["learning rate", "final lr", "training loss", "test accuracy"],
              [[arm, f"{runs[0]['lr'][-1]:.3g}", f"{np.mean([r['final'] for r in runs]):.4f}",
                f"{np.mean([r['acc'] for r in runs]):.3f}"] for arm, runs in results.items()])
    ctx.main(f"training loss: constant 0.1 {np.median([r['final'] for r in big]):.3f} vs decayed "
             f"{np.median([r['final'] for r in decay]):.4f} (×{np.median(ratios):.0f} lower)")

    fig, (ax_l, ax_r) = new_figure(2, 1)
    for i, (arm, runs) in enumerate(results.items()):
        for j, r in enumerate(runs):
            ax_l.semilogy(np.arange(1, epochs + 1), positive(r["curve"]), "o-" if j == 0 else "--",
                          ms=3, color=COLORS[i], label=arm if j == 0 else None)
        ax_r.semilogy(np.arange(1, epochs + 1), runs[0]["lr"], "o-", ms=3, color=COLORS[i],
                      label=arm)
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel("training loss (epoch mean)")
    ax_l.set_title("constant against exponentially decayed learning rate")
    ax_l.legend(fontsize=8)
    ax_r.set_xlabel("epoch")
    ax_r.set_ylabel("learning rate γ")
    ax_r.set_title("the schedules: γ_n = γ_{n−1}·α")
    ax_r.legend(fontsize=8)
    ctx.figure(fig, "lr_decay", "learning-rate decay: loss per epoch and the learning rate")


EXPERIMENT = Experiment(
    "lr-decay",
    "Learning-rate decay",
    "Exponential decay lr_n = lr_{n−1}·α keeps a large rate's fast start and then settles at a "
    "much lower loss than the same rate held constant.",
    run,
)
