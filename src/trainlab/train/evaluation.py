"""Evaluation without training: the loss and metrics of a model on (X, y), no optimizer."""

from __future__ import annotations

from typing import Any

import numpy as np

from trainlab.nn.module import Module
from trainlab.train.metrics import accuracy, mse, predicted_classes, r2
from trainlab.train.protocols import Loss
from trainlab.train.scores import compute_metrics
from trainlab.train.targets import infer_task, prepare


def forward_batches(model: Module, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The model's outputs for checked inputs X (n, features), in evaluation mode,
    ``batch_size`` rows per forward pass: (n, outputs)."""
    model.eval()
    starts = range(0, max(X.shape[0], 1), batch_size)
    return np.concatenate([model.forward(X[i : i + batch_size]) for i in starts])


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Class probabilities (n, K) from logits: softmax for K >= 2 outputs,
    ``[1 − σ(z), σ(z)]`` for one output (binary), in float64."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"probabilities: expected logits of shape (n, K). Received {z.shape}.")
    if z.shape[1] == 1:
        z = np.concatenate([np.zeros_like(z), z], axis=1)  # softmax([0, z]) = [1 − σ, σ]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def evaluate_batches(model: Module, loss: Loss, X: np.ndarray, y: np.ndarray,
                     labels: np.ndarray | None, task: str,
                     batch_size: int = 1024, metrics: tuple[str, ...] = ()) -> dict[str, float]:
    """Loss and metrics of checked arrays (see :func:`evaluate_model`), in evaluation mode,
    ``batch_size`` rows per forward pass: ``{"loss", "accuracy"}`` or ``{"loss", "mse", "r2"}``,
    and for classification the ``metrics`` named (:mod:`trainlab.train.scores`).
    The loss is the mean over the rows: Σ_batches loss_b · n_b / n."""
    model.eval()
    outputs = []
    loss_sum = 0.0
    for i in range(0, X.shape[0], batch_size):
        out = model.forward(X[i : i + batch_size])
        loss_sum += loss(out, y[i : i + batch_size]) * out.shape[0]
        outputs.append(out)
    out = np.concatenate(outputs)
    result = {"loss": loss_sum / X.shape[0]}
    if task == "classification":
        result["accuracy"] = accuracy(labels, predicted_classes(out))
        if metrics:
            assert labels is not None
            result.update(compute_metrics(metrics, labels, out))
    else:
        result["mse"] = mse(y, out)
        result["r2"] = r2(y, out)
    return result


def evaluate_model(model: Module, loss: Loss, X: Any, y: Any, *, task: str | None = None,
                   batch_size: int = 1024) -> dict[str, float]:
    """The loss and metrics of ``model`` on (X, y), in evaluation mode; nothing is trained.

    X: (n, features), cast to the model's dtype. y: class labels (n,) for classification,
    targets (n,) or (n, k) for regression. task: inferred from the loss when None.
    """
    task = infer_task(loss) if task is None else task
    params = model.parameters()
    dtype = params[0].data.dtype if params else np.dtype(np.float32)
    widths = (getattr(m, "in_features", None) for m in model.modules())
    features = next((w for w in widths if isinstance(w, int)), None)
    X, target, labels = prepare(X, y, task=task, loss=loss, dtype=dtype, features=features,
                                owner="evaluate_model")
    return evaluate_batches(model, loss, X, target, labels, task, batch_size)
