"""Experiment 11: layer normalisation against batch normalisation (notes §7; Ba et al. 2016).

"Batch norm normalises columns, layer norm normalises rows": batch norm takes each
feature's statistics over the minibatch, layer norm each example's over its features. So

- batch norm depends on the minibatch: with batches of 2 its statistics are noise and
  its running averages are poor, while layer norm does not care about the batch size;
- their invariances differ (Ba, Kiros & Hinton 2016, table 1): for a block
  ``Linear (no bias) -> Norm`` on a batch, the normalised output is unchanged by
  re-scaling the whole weight matrix (both), re-centring it — adding one vector to every
  unit's weights — (layer norm only), re-scaling one unit's weights (batch norm only),
  re-scaling one example (layer norm only), re-scaling the dataset (both) and re-centring
  the dataset (batch norm only).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from trainlab import nn
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import load_split, mlp, optimizer, test_accuracy, train
from trainlab.lab.experiment import Context, Experiment

Change = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _one_unit(W: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    W = W.copy()
    W[:, 0] *= 3.7
    return W, x


def _one_example(W: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = x.copy()
    x[0] *= 3.7
    return W, x


# name -> (change of (weights (in, out), inputs (N, in)), invariant under batch norm,
#          invariant under layer norm)
CHANGES: dict[str, tuple[Change, bool, bool]] = {
    "weight matrix re-scaling (W·3.7)": (lambda W, x: (3.7 * W, x), True, True),
    "weight matrix re-centring (W + δ1ᵀ)": (lambda W, x: (W + 0.5 * np.ones((W.shape[0], 1)), x),
                                            False, True),
    "one unit's weight vector re-scaling": (_one_unit, True, False),
    "one example re-scaling (x₀·3.7)": (_one_example, False, True),
    "dataset re-scaling (x·3.7)": (lambda W, x: (W, 3.7 * x), True, True),
    "dataset re-centring (x + 2)": (lambda W, x: (W, x + 2.0), True, False),
}


def normalised(W: np.ndarray, x: np.ndarray, norm: nn.Module) -> np.ndarray:
    """The output of ``x @ W -> norm`` (training mode for batch norm: batch statistics)."""
    return norm.forward(x @ W)


def invariances(seed: int) -> dict[str, tuple[float, float]]:
    """Relative change ‖y' − y‖/‖y‖ of the batch-norm and layer-norm outputs under each change."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 20)) + rng.standard_normal(20)
    W = rng.standard_normal((20, 30)) / np.sqrt(20)
    out = {}
    for name, (change, _, _) in CHANGES.items():
        W2, x2 = change(W, x)
        changes = []
        for norm in (nn.BatchNorm(30, eps=1e-12, dtype=np.float64),
                     nn.LayerNorm(30, eps=1e-12, dtype=np.float64)):
            y, y2 = normalised(W, x, norm), normalised(W2, x2, norm)
            changes.append(float(np.linalg.norm(y2 - y) / np.linalg.norm(y)))
        out[name] = (changes[0], changes[1])
    return out


def _join(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def run(ctx: Context) -> None:
    split = load_split("digits", seed=ctx.seed)
    split = split.subset(split.X_train.shape[0] // 64 * 64)  # no batch of one for batch norm
    sizes = ctx.pick((2, 4, 16, 64), (2, 64))
    epochs = ctx.pick(4, 3)
    acc: dict[tuple[str, int], list[float]] = {}
    for norm in ("batch", "layer"):
        for size in sizes:
            for seed in ctx.seeds(2, 1):
                model = mlp(split.n_features, [100, 100], split.n_classes, "relu", "he_normal",
                            norm=norm, seed=seed)
                lr = 0.002 if size < 32 else 0.01 * size / 32  # the same step per example
                trainer, _ = train(model, split, optimizer(model, "sgd", lr=lr, momentum=0.9),
                                   epochs=epochs, batch_size=size, seed=seed)
                acc.setdefault((norm, size), []).append(test_accuracy(trainer, split))
    small, large = min(sizes), max(sizes)
    gaps = [ln - bn for ln, bn in zip(acc[("layer", small)], acc[("batch", small)], strict=True)]
    ctx.check(f"with batches of {small} layer norm trains and batch norm does not train as well",
              "test accuracy: layer norm ≥ batch norm + 0.10 in every seed",
              f"layer {_join(acc[('layer', small)])}; batch {_join(acc[('batch', small)])}",
              min(gaps) >= 0.10)
    big_gap = max(abs(ln - bn)
                  for ln, bn in zip(acc[("layer", large)], acc[("batch", large)], strict=True))
    ctx.check(f"with batches of {large} both work", "test accuracies within 0.03 of each other",
              f"largest difference {big_gap:.3f}", big_gap <= 0.03)
    measured = invariances(ctx.seed)
    mismatches = []
    rows = []
    for name, (bn_change, ln_change) in measured.items():
        _, bn_expected, ln_expected = CHANGES[name]
        for label, change, expected in (("batch", bn_change, bn_expected),
                                        ("layer", ln_change, ln_expected)):
            invariant = change < 1e-6
            if invariant != expected or (not invariant and change < 1e-2):
                mismatches.append(f"{label} norm, {name}")
        rows.append([name, f"{bn_change:.1e}", "yes" if bn_expected else "no", f"{ln_change:.1e}",
                     "yes" if ln_expected else "no"])
    ctx.check("the invariances of Ba et al. (2016), table 1",
              "relative output change < 1e-6 where invariant, > 1e-2 where not "
              "(6 changes × 2 norms)",
              "all 12 as expected" if not mismatches else "; ".join(mismatches), not mismatches)
    ctx.table("relative change of the normalised output ‖y' − y‖/‖y‖",
              ["change", "batch norm", "BN invariant (paper)", "layer norm",
               "LN invariant (paper)"], rows)
    ctx.table("test accuracy (digits, mean over seeds)", ["batch size", "batch norm", "layer norm"],
              [[s, f"{np.mean(acc[('batch', s)]):.3f}", f"{np.mean(acc[('layer', s)]):.3f}"]
               for s in sizes])
    ctx.main(f"batches of {small}: layer norm {np.mean(acc[('layer', small)]):.3f} vs batch norm "
             f"{np.mean(acc[('batch', small)]):.3f}; 12/12 invariances as in the paper"
             if not mismatches else f"{len(mismatches)} invariance mismatches")

    fig, ax = new_figure(1, 1, width=6.5)
    for i, norm in enumerate(("batch", "layer")):
        means = [np.mean(acc[(norm, s)]) for s in sizes]
        ax.semilogx(sizes, means, "o-", color=COLORS[i], label=f"{norm} norm", base=2)
    ax.set_xlabel("batch size")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"digits MLP with batch or layer norm, {epochs} epochs")
    ax.legend()
    ctx.figure(fig, "layernorm_batch_size", "layer norm against batch norm across batch sizes")


EXPERIMENT = Experiment(
    "layernorm",
    "Layer normalisation against batch normalisation",
    "Layer norm works at any batch size where batch norm fails at tiny batches, and the two "
    "have the invariances of Ba et al. (2016).",
    run,
)
