"""Experiment 14: the data of the practical checklist — look at it, transform it, augment it
(notes §9).

The notes end with a checklist: forward pass, training loop, weight initialisation, data
preprocessing, theory (the experiments before this one) — and the data: look at it,
augment it, transform it. On the digits images (8×8 pixels, 0–16):

- look at it: the class balance, the scale of the raw pixels (their mean and variance
  are far from 0 and 1, which §7 says trains badly) and the pixels that never change;
- transform it: standardised with the training set's statistics the training features
  have mean 0 and variance 1, and held-out data, transformed with the same statistics,
  comes close;
- augment it: shifted and rotated copies are new training examples with the same label;
  a network trained on them recognises shifted test images that a network trained on the
  originals alone misses. (Here the pixels are scaled with one global mean and std: per
  pixel, a shift would move ink into border pixels whose training variance is 0 or tiny
  and blow them up — something that looking at the data shows.)
"""

from __future__ import annotations

import numpy as np

from trainlab import data
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import Split, load_split, mlp, optimizer, train
from trainlab.lab.experiment import Context, Experiment
from trainlab.train import accuracy, predicted_classes

SIDE = 8  # digits images are 8×8
DEGREES = 10.0  # largest rotation of the augmentation


def shifted(X: np.ndarray, seed: int, scaling: tuple[float, float]) -> np.ndarray:
    """Each scaled image moved by one pixel in a random direction (up, down, left or
    right), in pixel space and scaled again with the same (mean, std)."""
    mean, std = scaling
    rng = np.random.default_rng(seed)
    moves = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])[rng.integers(0, 4, size=X.shape[0])]
    pixels = X * std + mean
    moved = data.shift_rotate(pixels, (SIDE, SIDE), moves, np.zeros(X.shape[0]), mode="constant")
    return ((moved - mean) / std).astype(X.dtype)


def augmenter(scaling: tuple[float, float]):
    """Random shifts of up to one pixel and rotations of up to ``DEGREES``, in pixel space."""
    mean, std = scaling
    move = data.RandomShiftRotate((SIDE, SIDE), max_shift=1, max_degrees=DEGREES, mode="constant")

    def transform(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return ((move(X * std + mean, rng) - mean) / std).astype(X.dtype)

    return transform


def globally_scaled(raw: Split) -> tuple[Split, tuple[float, float]]:
    """The split with every pixel scaled by the training set's one mean and one std."""
    mean, std = float(raw.X_train.mean()), float(raw.X_train.std())

    def scale(X: np.ndarray) -> np.ndarray:
        return ((X - mean) / std).astype(np.float32)

    return Split(raw.name, scale(raw.X_train), raw.y_train, scale(raw.X_val), raw.y_val,
                 scale(raw.X_test), raw.y_test, raw.n_classes), (mean, std)


def robustness(split: Split, scaling: tuple[float, float], augment: bool, seed: int,
               epochs: int) -> dict[str, float]:
    """Test accuracy on the original and on shifted test images of a 2×128 ReLU MLP."""
    model = mlp(split.n_features, [128, 128], split.n_classes, "relu", "he_normal", seed=seed)
    trainer, _ = train(model, split, optimizer(model, "sgd", lr=0.01, momentum=0.9),
                       epochs=epochs, batch_size=32, seed=seed,
                       transform=augmenter(scaling) if augment else None)
    model.eval()
    moved = shifted(split.X_test, seed + 99, scaling)
    return {"original": trainer.evaluate(split.X_test, split.y_test)["accuracy"],
            "shifted": accuracy(split.y_test, predicted_classes(model.forward(moved)))}


def run(ctx: Context) -> None:
    raw = load_split("digits", seed=ctx.seed, standardize=False)
    counts = np.bincount(raw.y_train, minlength=raw.n_classes)
    pixel_mean, pixel_var = raw.X_train.mean(axis=0), raw.X_train.var(axis=0)
    constant = int(np.sum(pixel_var == 0))
    ctx.check("look at it: the classes are balanced",
              "largest / smallest class count in the training set < 1.1",
              f"{counts.min()}–{counts.max()} images per class "
              f"(×{counts.max() / counts.min():.3f})",
              counts.max() / counts.min() < 1.1)
    ctx.check("look at it: the raw pixels are far from mean 0 and variance 1 "
              "(§7: that trains badly)",
              "mean pixel > 1 and largest pixel variance > 10; some pixels never change",
              f"mean {raw.X_train.mean():.2f}, pixel variance up to {pixel_var.max():.1f}; "
              f"{constant} constant pixel(s)",
              raw.X_train.mean() > 1 and pixel_var.max() > 10 and constant >= 1)

    scaler = data.Standardizer().fit(raw.X_train)
    moving = pixel_var > 0
    train_z, val_z = scaler.transform(raw.X_train), scaler.transform(raw.X_val)
    train_err = max(np.abs(train_z.mean(0)).max(), np.abs(train_z.var(0)[moving] - 1).max())
    val_mean, val_var = np.abs(val_z.mean(0)[moving]), val_z.var(0)[moving]
    ctx.check("transform it: standardise with the training set's statistics",
              "training features: mean 0 and variance 1 (± 1e-4); validation, with the same "
              "statistics: mean of |mean| < 0.1 and median variance within 0.8–1.25",
              f"training error {train_err:.1e}; validation mean |mean| {val_mean.mean():.3f}, "
              f"median variance {np.median(val_var):.3f}",
              train_err < 1e-4 and val_mean.mean() < 0.1 and 0.8 < np.median(val_var) < 1.25)

    split, scaling = globally_scaled(raw)
    epochs = ctx.pick(10, 6)
    results = {augment: [robustness(split, scaling, augment, seed, epochs)
                         for seed in ctx.seeds(2, 1)]
               for augment in (False, True)}
    plain, augmented = results[False], results[True]
    ctx.check("augment it: a network trained on shifted/rotated copies recognises shifted images",
              "accuracy on test images moved by one pixel: augmented ≥ plain + 0.2, every seed; "
              "on the original images augmented still ≥ 0.85",
              "shifted: plain " + ", ".join(f"{r['shifted']:.3f}" for r in plain) + "; augmented "
              + ", ".join(f"{r['shifted']:.3f}" for r in augmented) + "; original: plain "
              + ", ".join(f"{r['original']:.3f}" for r in plain) + ", augmented "
              + ", ".join(f"{r['original']:.3f}" for r in augmented),
              all(a["shifted"] >= p["shifted"] + 0.2 and a["original"] >= 0.85
                  for p, a in zip(plain, augmented, strict=True)))
    ctx.table("test accuracy (mean over seeds)", ["training data", "original test images",
                                                  "test images moved by one pixel"],
              [[name, f"{np.mean([r['original'] for r in rs]):.3f}",
                f"{np.mean([r['shifted'] for r in rs]):.3f}"]
               for name, rs in (("originals", plain),
                                ("originals + shifted/rotated copies", augmented))])
    ctx.main(f"moved test images: {np.mean([r['shifted'] for r in plain]):.2f} without "
             f"augmentation, {np.mean([r['shifted'] for r in augmented]):.2f} with; "
             f"pixel mean {raw.X_train.mean():.1f}, {constant} constant pixel(s)")
    _figure(ctx, raw, pixel_mean, pixel_var, split, scaling)


def _figure(ctx: Context, raw: Split, pixel_mean: np.ndarray, pixel_var: np.ndarray, split: Split,
            scaling: tuple[float, float]) -> None:
    fig, axes = new_figure(4, 1, width=3.6, height=3.8)
    first = [int(np.argmax(raw.y_train == c)) for c in range(raw.n_classes)]
    grid = np.concatenate([raw.X_train[i].reshape(SIDE, SIDE) for i in first], axis=1)
    moved = (augmenter(scaling)(split.X_train[first], np.random.default_rng(ctx.seed))
             * scaling[1] + scaling[0])
    moved_grid = np.concatenate([m.reshape(SIDE, SIDE) for m in moved], axis=1)
    axes[0].imshow(np.concatenate([grid, moved_grid], axis=0), cmap="gray_r")
    axes[0].set_title("one image per class; below: an augmented copy", fontsize=9)
    axes[0].axis("off")
    for ax, values, title in ((axes[1], pixel_mean, "pixel mean (raw)"),
                              (axes[2], pixel_var, "pixel variance (raw)")):
        image = ax.imshow(values.reshape(SIDE, SIDE), cmap="viridis")
        ax.set_title(title, fontsize=10)
        ax.axis("off")
        fig.colorbar(image, ax=ax, shrink=0.8)
    counts = np.bincount(raw.y_train, minlength=raw.n_classes)
    axes[3].bar(range(raw.n_classes), counts, color=COLORS[0])
    axes[3].set_xlabel("class")
    axes[3].set_ylabel("training images")
    axes[3].set_title("class balance", fontsize=10)
    ctx.figure(fig, "checklist_data", "the digits data: samples, pixel statistics, class balance")


EXPERIMENT = Experiment(
    "checklist",
    "The data of the checklist: look at it, transform it, augment it",
    "Looking at the digits shows balanced classes and raw pixels far from mean 0 / variance 1; "
    "standardising with training statistics fixes the scale; training on shifted copies makes "
    "the network recognise shifted images.",
    run,
)
