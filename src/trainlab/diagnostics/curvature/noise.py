"""The gradient noise scale B_simple (McCandlish, Kaplan, Amodei et al. 2018, "An
Empirical Model of Large-Batch Training").

With gᵢ the gradient of example i's own loss, G = (1/N)Σgᵢ the mean gradient over X and
Σ = (1/(N−1))Σ(gᵢ − G)(gᵢ − G)ᵀ their covariance,

    B_simple = tr(Σ) / |G|².

A minibatch of B examples has gradient noise tr(Σ)/B; B_simple is the batch size at which
that noise equals the signal |G|². Batches much smaller than B_simple waste steps to noise;
much larger ones waste examples: B_simple predicts the critical batch size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trainlab.diagnostics.curvature.objective import Objective
from trainlab.nn.losses import Loss
from trainlab.nn.module import Module


def per_example_gradients(objective: Objective) -> np.ndarray:
    """gᵢ (N, n_params): each row the gradient of one example's own loss, by one
    closed-form backward pass on that example alone."""
    n = objective.X.shape[0]
    out = np.empty((n, objective.n_params))
    for i in range(n):
        out[i] = objective.gradient(rows=slice(i, i + 1))
    return out


def noise_scale_of(grads: np.ndarray) -> tuple[float, float, float]:
    """(B_simple, tr Σ, |G|²) from per-example gradients (N, n_params), N ≥ 2."""
    mean = grads.mean(axis=0)
    trace = float(np.sum((grads - mean) ** 2) / (grads.shape[0] - 1))
    signal = float(mean @ mean)
    return (trace / signal if signal > 0 else float("inf")), trace, signal


def gradient_noise_scale(model: Module, loss_fn: Loss, X: Any, y: Any) -> float:
    """B_simple = tr(Σ)/|G|² from the per-example gradients over the rows of X (N ≥ 2).

    Evaluated in a float64 copy. A model whose BatchNorm normalises with the batch's
    statistics (training mode) couples the examples and has no per-example gradient:
    that is an error (call ``model.eval()``). ``inf`` when G = 0.
    """
    owner = "gradient_noise_scale"
    objective = Objective(model, loss_fn, X, y, owner)
    if objective.X.shape[0] < 2:
        raise ValueError(f"{owner}: expected at least 2 rows of X (a covariance needs two "
                         f"examples). Received {objective.X.shape[0]}.")
    if objective.batch_statistics():
        raise ValueError(f"{owner}: expected a model whose examples are independent; a "
                         "BatchNorm normalises with the batch's statistics (training mode), so "
                         "one example has no gradient of its own. Received a model in "
                         "training mode: call model.eval() first.")
    return noise_scale_of(per_example_gradients(objective))[0]
