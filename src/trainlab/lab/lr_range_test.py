"""Experiment 18: the learning-rate range test finds a good learning rate (notes §3, §5).

Smith (2017), "Cyclical Learning Rates for Training Neural Networks": one short run with
an exponentially growing learning rate shows where the loss starts to fall and where it
blows up; a rate a little below the blow-up trains well. The finder
(:func:`trainlab.diagnostics.lr_range.lr_find`, also ``trainlab lr-find``) suggests a
tenth of the rate at the smoothed loss's minimum.

Checked against the truth it approximates: a grid of learning rates (half-decade steps),
each trained for a few epochs on digits (ReLU MLP 64-128-64-10), the best by validation
loss. The suggestion should land within 3× of the grid's best, for less than the cost of
one point of the grid.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from trainlab import nn
from trainlab.diagnostics.lr_range import lr_find, plot_lr_range
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import load_split, mlp, optimizer, train
from trainlab.lab.experiment import Context, Experiment
from trainlab.train.guard import DivergenceWarning

ARMS = {"SGD + momentum 0.9": ("sgd", {"momentum": 0.9}), "Adam": ("adam", {})}


def run(ctx: Context) -> None:
    split = load_split("digits", seed=ctx.seed)
    epochs = 3
    grid = 10.0 ** np.arange(ctx.pick(-4.0, -3.5), ctx.pick(0.51, 0.01), 0.5)
    arms = ARMS if not ctx.quick else dict(list(ARMS.items())[:1])
    found, curves = {}, {}
    rows = []
    for arm, (name, settings) in arms.items():
        model = mlp(split.n_features, [128, 64], split.n_classes, "relu", "he_normal",
                    seed=ctx.seed)
        result = lr_find(model, nn.CrossEntropyLoss(), split.X_train, split.y_train,
                         optimizer(model, name, lr=1e-3, **settings), start_lr=1e-5,
                         end_lr=10.0, steps=100, batch_size=32, rng=ctx.seed)
        losses = []
        for lr in grid:
            m = mlp(split.n_features, [128, 64], split.n_classes, "relu", "he_normal",
                    seed=ctx.seed)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", DivergenceWarning)  # a too-large rate
                trainer, _ = train(m, split, optimizer(m, name, lr=float(lr), **settings),
                                   epochs=epochs, batch_size=32, seed=ctx.seed)
                value = trainer.evaluate(split.X_val, split.y_val)["loss"]
            losses.append(value if math.isfinite(value) else math.inf)
        best = float(grid[int(np.argmin(losses))])
        ratio = max(result.suggestion / best, best / result.suggestion)
        found[arm] = (result, best, ratio)
        curves[arm] = np.array(losses)
        steps_grid = len(grid) * epochs * math.ceil(len(split.X_train) / 32)
        rows.append([arm, f"{result.suggestion:.3g}", f"{best:.3g}", f"{ratio:.2f}",
                     str(len(result.lrs)), str(steps_grid)])
        ctx.check(f"{arm}: the range test's suggestion is close to the grid's best rate",
                  "suggestion within 3× of the best rate of the grid",
                  f"suggestion {result.suggestion:.3g}, grid best {best:.3g} (×{ratio:.2f})",
                  ratio <= 3.0)
    per_arm = epochs * math.ceil(len(split.X_train) / 32)
    longest = max(len(r.lrs) for r, _, _ in found.values())
    ctx.check("the range test costs less than training one point of the grid",
              f"range-test steps < the {per_arm} steps of one grid point ({len(grid)} points)",
              f"at most {longest} steps", longest < per_arm)
    ctx.table(f"digits MLP: range test against a grid ({epochs} epochs each, validation loss)",
              ["optimizer", "suggestion", "grid best", "ratio", "range-test steps",
               "grid steps"], rows)
    ctx.main("; ".join(f"{arm}: {r.suggestion:.2g} vs grid {b:.2g}"
                       for arm, (r, b, _) in found.items()))

    fig, axes = new_figure(2, 1)
    ax_f, ax_g = axes
    first = next(iter(found.values()))[0]
    plot_lr_range(first, ax_f)
    ax_f.set_title(f"range test, {next(iter(found))}")
    for i, (arm, curve) in enumerate(curves.items()):
        finite = np.where(np.isfinite(curve), curve, np.nan)
        ax_g.semilogx(grid, finite, "o-", color=COLORS[i], label=f"{arm}: grid")
        ax_g.axvline(found[arm][0].suggestion, ls="--", color=COLORS[i],
                     label=f"{arm}: suggestion")
    ax_g.set_xlabel("learning rate")
    ax_g.set_ylabel(f"validation loss after {epochs} epochs")
    ax_g.set_title("the grid, and where the range test points")
    ax_g.legend(fontsize=7)
    ctx.figure(fig, "lr_range_test", "the learning-rate range test (Smith 2017) against a grid")


EXPERIMENT = Experiment(
    "lr-range-test",
    "Learning-rate range test",
    "One short run with an exponentially growing learning rate suggests a rate within 3× of "
    "the best of a grid, for less than one grid point's cost (Smith 2017).",
    run,
)
