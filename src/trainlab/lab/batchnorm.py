"""Experiment 10: batch normalisation on a 3×100 sigmoid MLP (Ioffe & Szegedy 2015, figure 1).

Notes §7: normalise each pre-activation with its minibatch statistics,
ẑ = (z − μ_B)/√(σ²_B + ε), then γ·ẑ + β, used as φ(BN(Wh + b)); keep moving averages
μ*, σ²* for test time. The same MLP (three hidden layers of 100 sigmoid units, plain SGD)
is trained on MNIST-like data with and without BatchNorm, and measured:

- validation accuracy against training steps;
- the 15th, 50th and 85th percentiles, over a fixed probe batch, of the input to the
  sigmoids of the last hidden layer during training — the "internal covariate shift";
- evaluation mode (running statistics) against training mode (batch statistics).
"""

from __future__ import annotations

import math

import numpy as np

from trainlab import nn
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.diagnostics.probe import Snapshot, tap
from trainlab.lab.common import Split, load_split, optimizer, train
from trainlab.lab.experiment import Context, Experiment
from trainlab.train import LambdaCallback, accuracy, predicted_classes

PERCENTILES = (15, 50, 85)


def sigmoid_mlp(split: Split, batchnorm: bool, seed: int) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    width = split.n_features
    for _ in range(3):
        layers.append(nn.Linear(width, 100, rng=rng))
        if batchnorm:
            layers.append(nn.BatchNorm(100))
        layers.append(nn.Sigmoid())
        width = 100
    layers.append(nn.Linear(100, split.n_classes, rng=rng))
    return nn.Sequential(*layers)


def sigmoid_inputs(model: nn.Sequential, x: np.ndarray) -> np.ndarray:
    """The input (N, 100) of the last hidden sigmoid layer as training sees it (training
    mode: batch statistics); the model is restored afterwards, running statistics included."""
    last = max(i for i, layer in enumerate(model) if isinstance(layer, nn.Sigmoid))
    seen: dict[str, np.ndarray] = {}

    def grab(i: int, layer: nn.Module, x_in: np.ndarray, y: np.ndarray) -> None:
        if i == last:
            seen["z"] = x_in.copy()

    snapshot = Snapshot(model)
    try:
        model.train()
        with tap(model, grab):
            model.forward(x)
    finally:
        snapshot.restore()
    return seen["z"]


def train_watched(split: Split, batchnorm: bool, seed: int, epochs: int, every: int) -> dict:
    """Train with SGD (γ = 0.5, batches of 50) and log accuracy and percentiles every ``every``
    steps."""
    model = sigmoid_mlp(split, batchnorm, seed)
    probe = split.X_val[:500]
    log: dict[str, list] = {"step": [], "acc": [], "q": []}

    def watch(trainer, batch: int, loss: float) -> None:
        if trainer.global_step % every == 0 or trainer.global_step == 1:
            log["step"].append(trainer.global_step)
            log["acc"].append(trainer.evaluate(split.X_val, split.y_val)["accuracy"])
            log["q"].append(np.percentile(sigmoid_inputs(model, probe), PERCENTILES, axis=0))

    trainer, _ = train(model, split, optimizer(model, "sgd", lr=0.5), epochs=epochs,
                       batch_size=50, seed=seed, callbacks=[LambdaCallback(on_batch_end=watch)])
    q = np.array(log["q"])  # (checkpoints, 3 percentiles, 100 units)
    spread = (q[:, 2] - q[:, 0]).mean(axis=1)
    reached = [s for s, a in zip(log["step"], log["acc"], strict=True) if a >= 0.8]
    return {"model": model, "trainer": trainer, "log": log, "q": q,
            "spread_change": float(spread.max() / spread.min()),
            "median_drift": float(np.mean(np.abs(q[-1, 1] - q[0, 1]))),
            "steps_to_80": reached[0] if reached else math.inf}


def eval_against_train_mode(model: nn.Sequential, split: Split) -> dict[str, float]:
    """Test accuracy in evaluation mode (running statistics) and in training mode (batch
    statistics) with the whole test set as one batch and with batches of 2; the model is
    restored afterwards (a training-mode forward updates the running statistics)."""
    X, y = split.X_test, split.y_test
    snapshot = Snapshot(model)
    try:
        model.eval()
        out = {"eval": accuracy(y, predicted_classes(model.forward(X)))}
        model.train()
        out["train, one batch"] = accuracy(y, predicted_classes(model.forward(X)))
        n = X.shape[0] // 2 * 2
        small = np.concatenate([model.forward(X[i:i + 2]) for i in range(0, n, 2)])
        out["train, batches of 2"] = accuracy(y[:n], predicted_classes(small))
        bn = next(layer for layer in model if isinstance(layer, nn.BatchNorm))
        snapshot.restore()
        z = _first_bn_input(model, split.X_train)
        scale = np.sqrt(z.var(axis=0) + bn.eps)
        out["mean gap"] = float(np.mean(np.abs(bn.running_mean - z.mean(axis=0)) / scale))
        out["var ratio"] = float(np.median(bn.running_var / z.var(axis=0)))
    finally:
        snapshot.restore()
    return out


def _first_bn_input(model: nn.Sequential, x: np.ndarray) -> np.ndarray:
    model.eval()
    return model[0].forward(x)


def _join(runs: list[dict], key: str) -> str:
    return ", ".join(f"{r[key]:.2f}" for r in runs)


def run(ctx: Context) -> None:
    split = load_split("mnist5k", seed=ctx.seed)
    epochs, every = ctx.pick(25, 10), ctx.pick(100, 50)
    runs = {bn: [train_watched(split, bn, seed, epochs, every) for seed in ctx.seeds(2, 1)]
            for bn in (False, True)}
    plain, normed = runs[False], runs[True]
    ctx.check("batch norm trains much faster (same SGD, γ = 0.5)",
              "steps to 80% validation accuracy with BN ≤ half of those without, every seed",
              f"without: {', '.join(str(r['steps_to_80']) for r in plain)}; with: "
              f"{', '.join(str(r['steps_to_80']) for r in normed)}",
              all(b["steps_to_80"] * 2 <= p["steps_to_80"]
                  for b, p in zip(normed, plain, strict=True)))
    ctx.check("without BN the last layer's sigmoid inputs shift during training; with BN they stay",
              "15–85 percentile spread changes < 2× with BN, > 10× without",
              f"without ×{min(r['spread_change'] for r in plain):.0f}, with "
              f"×{max(r['spread_change'] for r in normed):.2f}",
              max(r["spread_change"] for r in normed) < 2
              and min(r["spread_change"] for r in plain) > 10)
    ctx.check("the median of the sigmoid inputs moves less with BN",
              "mean |Δ median| over the 100 units: with BN < half of without, every seed",
              f"without {_join(plain, 'median_drift')}; with {_join(normed, 'median_drift')}",
              all(b["median_drift"] * 2 < p["median_drift"]
                  for b, p in zip(normed, plain, strict=True)))
    modes = eval_against_train_mode(normed[0]["model"], split)
    ctx.check("evaluation mode uses the running statistics, which match the data's",
              "eval accuracy within 2 points of one-batch training mode; running mean within 0.1 σ "
              "and running var within ×1.25 of the training set's",
              f"eval {modes['eval']:.3f}, train-mode batch {modes['train, one batch']:.3f}; "
              f"mean gap {modes['mean gap']:.3f} σ, var ratio {modes['var ratio']:.2f}",
              abs(modes["eval"] - modes["train, one batch"]) <= 0.02 and modes["mean gap"] < 0.1
              and 0.8 < modes["var ratio"] < 1.25)
    ctx.check("batch statistics of tiny batches are noisy: predict in eval mode",
              "training-mode accuracy with batches of 2 ≥ 5 points below eval mode",
              f"batches of 2: {modes['train, batches of 2']:.3f} vs eval {modes['eval']:.3f}",
              modes["train, batches of 2"] <= modes["eval"] - 0.05)
    ctx.table("test accuracy by mode (BN network)", ["mode", "test accuracy"],
              [[k, f"{v:.3f}"] for k, v in modes.items() if k not in ("mean gap", "var ratio")])
    ctx.main(f"steps to 80% accuracy: {plain[0]['steps_to_80']} without BN, "
             f"{normed[0]['steps_to_80']} with; sigmoid-input spread "
             f"×{plain[0]['spread_change']:.0f} vs ×{normed[0]['spread_change']:.2f}")
    _figure(ctx, plain[0], normed[0], split.name)


def _figure(ctx: Context, plain: dict, normed: dict, data_name: str) -> None:
    fig, axes = new_figure(3, 1, width=5.0)
    ax_acc, ax_plain, ax_bn = axes
    for i, (r, name) in enumerate(((plain, "without BN"), (normed, "with BN"))):
        ax_acc.plot(r["log"]["step"], r["log"]["acc"], "o-", ms=3, color=COLORS[i], label=name)
    ax_acc.set_xlabel("training step")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.set_title(f"3×100 sigmoid MLP on {data_name}")
    ax_acc.set_ylim(0, 1)
    ax_acc.legend()
    unit = 0
    lo = min(plain["q"][:, :, unit].min(), normed["q"][:, :, unit].min())
    hi = max(plain["q"][:, :, unit].max(), normed["q"][:, :, unit].max())
    for ax, r, name in ((ax_plain, plain, "without BN"), (ax_bn, normed, "with BN")):
        for k, pct in enumerate(PERCENTILES):
            ax.plot(r["log"]["step"], r["q"][:, k, unit], "-", color=COLORS[2 + k],
                    label=f"{pct}th percentile")
        ax.set_ylim(lo - 0.2, hi + 0.2)
        ax.set_xlabel("training step")
        ax.set_ylabel("input to a last-layer sigmoid")
        ax.set_title(f"{name}: one sigmoid's input distribution")
        ax.legend(fontsize=8)
    ctx.figure(fig, "batchnorm",
               "batch norm: accuracy against steps and the internal covariate shift")


EXPERIMENT = Experiment(
    "batchnorm",
    "Batch normalisation",
    "With batch norm the same 3×100 sigmoid MLP trains in a fraction of the steps, the inputs of "
    "its last sigmoids stop drifting, and evaluation uses the running statistics.",
    run,
)
