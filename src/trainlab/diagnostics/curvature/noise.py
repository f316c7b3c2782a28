"""The gradient noise scale B_simple (McCandlish, Kaplan, Amodei et al. 2018, "An
Empirical Model of Large-Batch Training").

With gᵢ the gradient of example i's own loss, G = (1/N)Σgᵢ the mean gradient over X and
Σ = (1/(N−1))Σ(gᵢ − G)(gᵢ − G)ᵀ their covariance,

    B_simple = tr(Σ) / |G|².

A minibatch of B examples has gradient noise tr(Σ)/B; B_simple is the batch size at which
that noise equals the signal |G|². Batches much smaller than B_simple waste steps to noise;
much larger ones waste examples: B_simple predicts the critical batch size.

**How it is computed.** The trace needs only each example's squared gradient norm:

    tr(Σ) = (Σᵢ‖gᵢ‖² − N·‖G‖²) / (N − 1).

One batched forward and backward pass gives them all (Goodfellow 2015, "Efficient
Per-Example Gradient Computations"): the backward is walked layer by layer, and each
layer that owns parameters turns its cached input and the upstream gradient δ into the
per-example squared norms (``per_example_grad_sq_norms``: (‖xᵢ‖² + 1)·‖δᵢ‖² for a Linear
layer). When the loss is the plain mean of the examples' own losses (no class or example
weights, no ignored rows), example i's own gradient is N·δᵢ of the batch-mean loss, and
the batch's gradient is G itself. That costs about one gradient instead of N.

It applies to a :class:`~trainlab.nn.Sequential` of layers without children whose
parameter-owning layers have the method (Linear, DropConnect, LayerNorm, BatchNorm with
its running statistics), under MSELoss, L1Loss, HuberLoss, BCEWithLogitsLoss (with or
without ``pos_weight``) and CrossEntropyLoss (with label smoothing) without ``weight``.
Anything else (a Residual or other container, a plugin layer without the method, a
weighted loss, a row of CrossEntropyLoss's ``ignore_index``) takes the reference path:
one closed-form backward pass per example, and the covariance of the N gradients.

The subtraction cancels when the examples' gradients nearly agree: its rounding error
is about ε·Σ‖gᵢ‖², relative to tr(Σ) about ε·N/((N − 1)·B_simple). Where tr(Σ) is below
10⁻⁶ of Σ‖gᵢ‖²/(N − 1) (B_simple below about 10⁻⁶, fewer than ten digits left), the
reference path computes it from the differences gᵢ − G instead.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import numpy as np

from trainlab.diagnostics.curvature.objective import Objective
from trainlab.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, Loss, MSELoss
from trainlab.nn.module import Module, Sequential


class _PerExampleNorms(Protocol):
    def per_example_grad_sq_norms(self, dy: np.ndarray) -> np.ndarray | None: ...


_MEAN_OF_OWN_LOSSES = (MSELoss, L1Loss, HuberLoss, BCEWithLogitsLoss, CrossEntropyLoss)
CANCELLATION = 1e-6
"""The fast path's result stands while tr(Σ) ≥ CANCELLATION·Σ‖gᵢ‖²/(N − 1)."""


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


def mean_of_own_losses(loss_fn: Loss, y: np.ndarray) -> bool:
    """Whether ``loss_fn`` on targets y is the plain mean of the examples' own losses
    (every example weighs 1/N), so that example i's own gradient is N times its row of
    the batch-mean loss's gradient."""
    if type(loss_fn) not in _MEAN_OF_OWN_LOSSES or loss_fn.reduction != "mean":
        return False
    if getattr(loss_fn, "weight", None) is not None:  # class or example weights
        return False
    if isinstance(loss_fn, CrossEntropyLoss):
        return not bool(np.any(np.asarray(y) == loss_fn.ignore_index))
    return True


def _separable_layers(model: Module) -> list[Module] | None:
    """The children of a plain Sequential, when each is a leaf whose parameters (if any)
    report per-example squared norms; None otherwise."""
    if type(model) is not Sequential:
        return None
    layers = model.children()
    for layer in layers:
        if layer.children():
            return None
        if layer.parameters() and not callable(getattr(layer, "per_example_grad_sq_norms",
                                                        None)):
            return None
    return layers


def per_example_sq_norms(objective: Objective) -> tuple[np.ndarray, np.ndarray] | None:
    """(‖gᵢ‖² (N,), G (n_params,)) at the objective's parameters from one batched forward
    and backward pass, or None where the fast path does not apply (see the module).

    G is the same array as ``objective.gradient()``: the backward calls are the same,
    made one layer at a time.
    """
    layers = _separable_layers(objective.model)
    if layers is None or objective.batch_statistics() or not mean_of_own_losses(
            objective.loss_fn, objective.y):
        return None
    n = objective.X.shape[0]
    objective.set(objective.theta0)
    objective.zero_grad()
    objective.loss_fn(objective.model.forward(objective.X), objective.y)
    dy = objective.loss_fn.backward()
    total = np.zeros(n)
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        if layer.parameters():
            sq = cast(_PerExampleNorms, layer).per_example_grad_sq_norms(dy)
            if sq is None:  # a layer that couples the examples
                return None
            total += sq
        if index == 0 and getattr(layer, "can_skip_input_grad", False):
            cast(Any, layer).backward(dy, input_grad=False)
        else:
            dy = layer.backward(dy)
    total *= float(n) ** 2  # gᵢ = N·(row i's share of the batch-mean gradient)
    return total, objective.flat_grad()


def noise_scale(objective: Objective,
                fast: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """B_simple over the objective's rows, by the fast path where it applies and is
    accurate, else from the per-example gradients (see the module). ``fast``: the
    result of :func:`per_example_sq_norms`, when the caller has it already."""
    fast = per_example_sq_norms(objective) if fast is None else fast
    if fast is not None:
        sq, mean = fast
        n = sq.shape[0]
        signal = float(mean @ mean)
        total = float(np.sum(sq))
        trace = (total - n * signal) / (n - 1)
        if trace >= CANCELLATION * total / (n - 1):
            return trace / signal if signal > 0 else float("inf")
    return noise_scale_of(per_example_gradients(objective))[0]


def gradient_noise_scale(model: Module, loss_fn: Loss, X: Any, y: Any) -> float:
    """B_simple = tr(Σ)/|G|² from the per-example gradients over the rows of X (N ≥ 2).

    Evaluated in a float64 copy, by one batched backward pass with per-example squared
    norms where the model and loss allow it, else by one backward pass per example (see
    the module; the two agree to 10⁻¹⁰ relative or better). A model whose BatchNorm normalises
    with the batch's statistics (training mode) couples the examples and has no
    per-example gradient: that is an error (call ``model.eval()``). ``inf`` when G = 0.
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
    return noise_scale(objective)
