"""Experiment 1: the network and the two tasks (notes §1).

An MLP is a chain of affine maps and nonlinearities, ŷ = ψ(θ⁽ᴸ⁾ … φ(θ⁽¹⁾ φ(θ⁽⁰⁾x))), used
for inference ŷ = F_MLP(x) and trained by gradient descent from random ("noise")
initial weights, θ* = argmin_θ L(F_MLP(X), Y). The output layer ψ depends on the task:
the identity for regression (diabetes, MSE), the sigmoid for binary classification
(breast cancer, BCE) and the softmax for multiclass (digits, cross-entropy); trainlab's
models output the pre-ψ values and the losses fuse ψ. Measured:

- for each task, the loss at the random initial weights and after training (SGD + momentum);
- ψ: the sigmoid/softmax outputs are probabilities whose threshold/argmax is the prediction;
- the noise in the initial weights matters: from all-zero weights every hidden unit gets the
  same update (none at all here), the symmetry is never broken and the network stays at the
  best constant prediction;
- the hidden vectors h⁽ⁱ⁾ are representations: after training, the classes of held-out
  digits are separated better in the last hidden layer than in the input (nearest class
  mean), and better than at initialisation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trainlab import data, nn
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.lab.common import mlp, optimizer
from trainlab.lab.experiment import Context, Experiment
from trainlab.train import Trainer

# task -> (dataset, loss, output units, what ψ is)
EPOCHS = 20
WEIGHT_DECAY = {"regression": 0.05}  # 331 training rows: without it the MLP overfits (R² ≈ 0.3)
TASKS = {
    "regression": ("diabetes", nn.MSELoss, 1, "identity"),
    "binary": ("breast_cancer", nn.BCEWithLogitsLoss, 1, "sigmoid"),
    "multiclass": ("digits", nn.CrossEntropyLoss, 10, "softmax"),
}


def task_data(name: str, seed: int) -> tuple[np.ndarray, ...]:
    """(X_train, y_train, X_test, y_test) of ``TASKS[name]``, inputs standardised with
    training statistics (and the regression target too); float32."""
    dataset, _, _, _ = TASKS[name]
    ds = data.load_dataset(dataset)
    X_tr, y_tr, _, _, X_te, y_te = data.train_val_test_split(ds.X, ds.y, 0.0, 0.25, seed=seed)
    scaler = data.Standardizer().fit(X_tr)
    X_tr = scaler.transform(X_tr).astype(np.float32)
    X_te = scaler.transform(X_te).astype(np.float32)
    if name == "regression":
        target = data.Standardizer().fit(y_tr.reshape(-1, 1))
        y_tr = target.transform(y_tr.reshape(-1, 1)).astype(np.float32)
        y_te = target.transform(y_te.reshape(-1, 1)).astype(np.float32)
    return X_tr, y_tr, X_te, y_te


def fit_task(name: str, seed: int, epochs: int, init: str = "he_normal") -> dict[str, Any]:
    """Train a 2×64 ReLU MLP on task ``name`` (SGD, γ = 0.01, momentum 0.9); the loss before
    and after, the test metric, the test outputs and the model."""
    _, loss_cls, out, _ = TASKS[name]
    X_tr, y_tr, X_te, y_te = task_data(name, seed)
    model = mlp(X_tr.shape[1], [64, 64], out, "relu", init, seed=seed)
    opt = optimizer(model, "sgd", lr=0.01, momentum=0.9,
                    weight_decay=WEIGHT_DECAY.get(name, 0.0))
    trainer = Trainer(model, loss_cls(), opt, rng=seed, verbose=0)
    before = trainer.evaluate(X_tr, y_tr)["loss"]
    history = trainer.fit(X_tr, y_tr, epochs=epochs, batch_size=32)
    test = trainer.evaluate(X_te, y_te)
    return {"before": before, "after": trainer.evaluate(X_tr, y_tr)["loss"],
            "curve": history["loss"],
            "metric": test["r2"] if name == "regression" else test["accuracy"],
            "z": trainer.predict(X_te), "y": y_te, "model": model, "X_test": X_te}


def probabilities(name: str, z: np.ndarray) -> np.ndarray:
    """ψ applied to the model's outputs z: sigmoid (n, 1) or softmax (n, C), with trainlab's
    layers."""
    layer = nn.Sigmoid() if name == "binary" else nn.Softmax()
    return layer.forward(z.astype(np.float64))


def hidden(model: nn.Sequential, x: np.ndarray) -> np.ndarray:
    """The last hidden representation h⁽ᴸ⁾ (the input of the output layer), eval mode."""
    model.eval()
    h = x
    for layer in list(model)[:-1]:
        h = layer.forward(h)
    return h.astype(np.float64)


def nearest_mean_accuracy(h_train: np.ndarray, y_train: np.ndarray, h_test: np.ndarray,
                          y_test: np.ndarray) -> float:
    """Accuracy of the nearest class mean (Euclidean) on representations h; h: (n, d)."""
    classes = np.unique(y_train)
    means = np.stack([h_train[y_train == c].mean(axis=0) for c in classes])
    # ‖h − μ‖² = ‖h‖² − 2·h·μ + ‖μ‖², for every (test row, class mean)
    d2 = (np.square(h_test).sum(1)[:, None] - 2 * h_test @ means.T
          + np.square(means).sum(1)[None, :])
    return float(np.mean(classes[d2.argmin(axis=1)] == y_test))


def run(ctx: Context) -> None:
    epochs = EPOCHS
    seeds = ctx.seeds(2, 1)
    runs = {name: [fit_task(name, seed, epochs) for seed in seeds] for name in TASKS}

    drops = {name: [r["after"] / r["before"] for r in rs] for name, rs in runs.items()}
    ctx.check("gradient descent from random weights lowers each task's loss",
              "training loss after / at initialisation < 0.5 for all three tasks, every seed",
              "; ".join(f"{n} ×{max(d):.3f}" for n, d in drops.items()),
              all(max(d) < 0.5 for d in drops.values()))
    r2 = min(r["metric"] for r in runs["regression"])
    acc_b = min(r["metric"] for r in runs["binary"])
    acc_m = min(r["metric"] for r in runs["multiclass"])
    ctx.check("the trained networks predict held-out data",
              "test R² > 0.3 (regression; a constant gives 0), accuracy > 0.9 (binary, multiclass)",
              f"R² {r2:.3f}, binary {acc_b:.3f}, multiclass {acc_m:.3f}",
              r2 > 0.3 and acc_b > 0.9 and acc_m > 0.9)

    worst_sum, agree = 0.0, True
    for name in ("binary", "multiclass"):
        for r in runs[name]:
            p = probabilities(name, r["z"])
            labels = np.asarray(r["y"]).reshape(-1)
            if name == "binary":
                inside = bool(np.all((p > 0) & (p < 1)))
                predicted = (p[:, 0] > 0.5).astype(int)
                from_z = (r["z"][:, 0] > 0).astype(int)
            else:
                worst_sum = max(worst_sum, float(np.max(np.abs(p.sum(axis=1) - 1))))
                inside = bool(np.all(p >= 0))
                predicted, from_z = p.argmax(axis=1), r["z"].argmax(axis=1)
            agree &= inside and bool(np.array_equal(predicted, from_z))
            agree &= abs(float(np.mean(predicted == labels)) - r["metric"]) < 1e-12
    ctx.check("ψ turns the outputs into probabilities: sigmoid (binary), softmax (multiclass)",
              "σ(z) ∈ (0, 1), softmax rows sum to 1 (± 1e-12); threshold / argmax of ψ = the "
              "prediction and gives the test accuracy",
              f"largest |Σ softmax − 1| = {worst_sum:.1e}; "
              f"predictions agree: {'yes' if agree else 'no'}",
              agree and worst_sum < 1e-12)

    zero = {name: fit_task(name, ctx.seed, epochs, init="zeros")
            for name in ("binary", "multiclass")}
    distinct, zero_acc, majority = {}, {}, {}
    for name, r in zero.items():
        w = r["model"][0].weight.data
        distinct[name] = int(np.unique(np.round(w, 12), axis=1).shape[1])
        zero_acc[name] = r["metric"]
        labels = np.asarray(r["y"]).reshape(-1).astype(int)
        majority[name] = float(np.bincount(labels).max() / labels.size)
    width = runs["multiclass"][0]["model"][0].weight.shape[1]
    random_distinct = int(np.unique(np.round(runs["multiclass"][0]["model"][0].weight.data, 12),
                                    axis=1).shape[1])
    ctx.check("without noise in the initial weights the symmetry is never broken",
              f"all-zero init: 1 distinct hidden unit of {width} after training and test accuracy "
              "≤ the majority class + 0.02; random init: all units distinct",
              "; ".join(f"{n}: {distinct[n]} distinct, accuracy {zero_acc[n]:.3f} (majority "
                        f"{majority[n]:.3f})" for n in zero)
              + f"; random: {random_distinct} distinct",
              all(distinct[n] == 1 and zero_acc[n] <= majority[n] + 0.02 for n in zero)
              and random_distinct == width)

    X_tr, y_tr, X_te, y_te = task_data("multiclass", ctx.seed)
    trained = runs["multiclass"][0]["model"]
    untrained = mlp(X_tr.shape[1], [64, 64], 10, "relu", "he_normal", seed=ctx.seed)
    separation = {
        "input x": nearest_mean_accuracy(X_tr.astype(np.float64), y_tr,
                                         X_te.astype(np.float64), y_te),
        "h⁽ᴸ⁾ at initialisation": nearest_mean_accuracy(hidden(untrained, X_tr), y_tr,
                                                        hidden(untrained, X_te), y_te),
        "h⁽ᴸ⁾ after training": nearest_mean_accuracy(hidden(trained, X_tr), y_tr,
                                                     hidden(trained, X_te), y_te),
    }
    s_in, s_init, s_tr = separation.values()
    ctx.check("the hidden vectors are learned representations (embeddings) of the input",
              "nearest-class-mean test accuracy on the trained h⁽ᴸ⁾ > on x + 0.02 and > at "
              "initialisation + 0.02",
              f"x {s_in:.3f}, h at init {s_init:.3f}, trained h {s_tr:.3f}",
              s_tr > s_in + 0.02 and s_tr > s_init + 0.02)

    ctx.table("the three tasks (first seed)",
              ["task", "dataset", "ψ", "loss at init", "loss trained", "test metric"],
              [[n, TASKS[n][0], TASKS[n][3], f"{rs[0]['before']:.3f}", f"{rs[0]['after']:.4f}",
                f"{'R²' if n == 'regression' else 'accuracy'} {rs[0]['metric']:.3f}"]
               for n, rs in runs.items()])
    ctx.table("nearest-class-mean accuracy on held-out digits", ["representation", "accuracy"],
              [[k, f"{v:.3f}"] for k, v in separation.items()])
    ctx.main(f"loss ×{max(max(d) for d in drops.values()):.3f} or less after training; "
             f"R² {r2:.2f}, accuracy {acc_b:.3f} / {acc_m:.3f}; "
             f"zero init stays at {zero_acc['multiclass']:.2f}")

    fig, (ax_l, ax_e) = new_figure(2, 1)
    for i, (name, rs) in enumerate(runs.items()):
        curve = np.asarray(rs[0]["curve"], dtype=float)
        ax_l.semilogy(np.arange(0, len(curve) + 1), np.concatenate([[rs[0]["before"]], curve]),
                      "o-", ms=3, color=COLORS[i],
                      label=f"{name} ({TASKS[name][0]}, ψ = {TASKS[name][3]})")
    ax_l.set_xlabel("epoch (0 = random initial weights)")
    ax_l.set_ylabel("training loss")
    ax_l.set_title("θ* = argmin L by gradient descent from noise")
    ax_l.legend(fontsize=8)
    ax_e.bar(range(3), list(separation.values()), color=[COLORS[3], COLORS[1], COLORS[2]])
    ax_e.set_xticks(range(3), list(separation))
    ax_e.set_ylim(0.5, 1.0)
    ax_e.set_ylabel("nearest-class-mean test accuracy")
    ax_e.set_title("digits: how well each representation separates the classes")
    ctx.figure(fig, "tasks",
               "training loss of the three tasks; class separation in the hidden layer")


EXPERIMENT = Experiment(
    "tasks",
    "The network and the two tasks",
    "Gradient descent from random weights trains an MLP for regression (ψ = identity), binary "
    "(sigmoid) and multiclass (softmax) tasks; zero weights never break the symmetry; the hidden "
    "vectors become representations that separate the classes.",
    run,
)
