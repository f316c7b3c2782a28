"""The estimators' objective: scikit-learn's output functions and losses, with the L2 term.

With z the model's output (n, k), ψ the output function, p = ψ(z), sample weights w
(ones by default) and S = Σᵢ wᵢ, the losses are scikit-learn's, averaged with w::

    squared_error  (identity ψ)  L = ½ · meanₖ Σᵢ wᵢ (pᵢₖ − yᵢₖ)² / S
    log_loss       (softmax ψ)   L = −Σᵢ wᵢ Σₖ yᵢₖ log pᵢₖ / S
    binary log     (logistic ψ)  L = −Σᵢ wᵢ Σₖ [yᵢₖ log pᵢₖ + (1 − yᵢₖ) log(1 − pᵢₖ)] / S
    poisson        (exp ψ)       L = Σᵢ wᵢ Σₖ [yᵢₖ log(yᵢₖ / pᵢₖ) − yᵢₖ + pᵢₖ] / S

and the objective adds ½·α·Σ‖W‖² / S over the weight matrices (not the biases). The
gradient on z is wᵢ (pᵢₖ − yᵢₖ) / S for the last three (the canonical links) and
wᵢ (pᵢₖ − yᵢₖ) / (S·k) for the squared error: the exact gradient of L. (scikit-learn
omits the 1/k for k > 1 regression outputs.) The log losses are computed from z with
log-sigmoid / log-softmax, so they stay finite where p rounds to 0 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax, xlogy

from trainlab import nn

#: The output function ψ of each loss, by scikit-learn's name for it.
OUTPUT_OF = {"squared_error": "identity", "poisson": "exp", "log_loss": "softmax",
             "binary_log_loss": "logistic"}


def output(z: np.ndarray, kind: str) -> np.ndarray:
    """ψ(z) for ``kind`` in identity, exp, softmax (over axis 1), logistic."""
    if kind == "identity":
        return z
    if kind == "exp":
        return np.exp(z)
    if kind == "softmax":
        return softmax(z, axis=1)
    return expit(z)


def loss_and_grad(loss: str, z: np.ndarray, y: np.ndarray,
                  w: np.ndarray | None) -> tuple[float, np.ndarray]:
    """The weighted mean loss of the outputs z (n, k) for the targets y (n, k), and its
    gradient ∂L/∂z (n, k) in z's dtype."""
    n, k = z.shape
    weights = np.ones(n) if w is None else w
    total = float(weights.sum())
    col = weights[:, None]
    if loss == "squared_error":
        diff = z - y
        value = 0.5 * float(np.sum(col * diff**2)) / (total * k)
        return value, (col * diff / (total * k)).astype(z.dtype, copy=False)
    if loss == "poisson":
        p = np.exp(z)
        value = float(np.sum(col * (xlogy(y, y) - y * z - y + p))) / total
    elif loss == "log_loss":
        p = softmax(z, axis=1)
        value = -float(np.sum(col * y * log_softmax(z, axis=1))) / total
    else:  # binary_log_loss
        p = expit(z)
        value = -float(np.sum(col * (y * log_expit(z) + (1 - y) * log_expit(-z)))) / total
    return value, (col * (p - y) / total).astype(z.dtype, copy=False)


def linears(model: nn.Module) -> list[nn.Linear]:
    """The model's Linear layers, input to output (their weights are ``coefs_``)."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def objective(model: nn.Module, layers: Sequence[nn.Linear], X: np.ndarray, y: np.ndarray,
              w: np.ndarray | None, loss: str, alpha: float) -> float:
    """Forward and backward on (X, y): returns L + ½α Σ‖W‖²/S and leaves its gradient in
    every parameter's ``.grad`` (zeroed first)."""
    for p in model.parameters():
        p.zero_grad()
    z = model.forward(X)
    value, dz = loss_and_grad(loss, z, y, w)
    if np.isfinite(value):
        model.backward(dz, input_grad=False) if isinstance(model, nn.Sequential) \
            else model.backward(dz)
    total = float(X.shape[0] if w is None else w.sum())
    if alpha:
        for layer in layers:
            W = layer.weight.data
            value += 0.5 * alpha * float(np.dot(W.ravel(), W.ravel())) / total
            layer.weight.grad += (alpha / total) * W
    return value
