"""Batch normalisation and layer normalisation (notes §7), with closed-form backward passes.

Both standardise ``x̂ = (x − μ)/√(σ² + ε)`` and then scale and shift, ``y = γ·x̂ + β``.
They differ only in the axis the statistics run over: **batch norm normalises
columns, layer norm normalises rows** — batch norm takes μ, σ² of each feature over
the minibatch (axis 0), layer norm takes them per example over its features (axis 1).

Batch normalisation: Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167.
Layer normalisation: Ba, Kiros & Hinton 2016, https://arxiv.org/abs/1607.06450.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trainlab._checks import (
    check_dtype,
    check_grad_output,
    check_int,
    check_layer_input,
    check_number,
)
from trainlab.nn.module import Module, Parameter

# -- kernels ---------------------------------------------------------------------------


def standardize(
    x: np.ndarray, axis: int, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardise ``x`` with its own statistics along ``axis``.

    x: (N, D); axis 0 (batch norm: per column) or 1 (layer norm: per row)  ->
    x̂ = (x − μ)·inv_std (N, D), inv_std = 1/√(σ² + ε), μ, σ² (biased: divided by the
    count). The statistics keep the reduced axis: (1, D) for axis 0, (N, 1) for axis 1.
    """
    count = x.shape[axis]
    mean = x.mean(axis=axis, keepdims=True)
    x_hat = x - mean  # centred now, standardised in place below
    spec = "ij,ij->j" if axis == 0 else "ij,ij->i"
    var = np.einsum(spec, x_hat, x_hat) / count  # Σ(x − μ)²/n without a squared temporary
    var = var.reshape(mean.shape)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat *= inv_std
    return x_hat, inv_std, mean, var


def scale_shift(x_hat: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None) -> np.ndarray:
    """The affine step ``y = γ·x̂ + β`` (a copy of x̂ when there is no γ, β).

    x_hat: (N, D), gamma, beta: (D,) or None  ->  y: (N, D).
    """
    y = x_hat * gamma if gamma is not None else x_hat.copy()
    if beta is not None:
        y += beta
    return y


def batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Batch norm in training mode: ``y = γ·(x − μ_B)/√(σ²_B + ε) + β`` with batch statistics.

    x: (N, D), gamma, beta: (D,) or None  ->
    y (N, D), x̂ (N, D), inv_std = 1/√(σ²_B + ε) (D,), μ_B (D,), σ²_B (D,).
    μ_B and σ²_B (biased: divided by N) are per feature, over the N examples; the layer
    updates its running statistics from them.
    """
    x_hat, inv_std, mean, var = standardize(x, 0, eps)
    y = scale_shift(x_hat, gamma, beta)
    return y, x_hat, inv_std.reshape(-1), mean.reshape(-1), var.reshape(-1)


def batchnorm_eval_forward(
    x: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    eps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch norm in evaluation mode: ``y = γ·(x − μ*)/√(σ²* + ε) + β`` with the running
    statistics μ*, σ²* (constants, not functions of x).

    x: (N, D), running_mean, running_var: (D,), gamma, beta: (D,) or None  ->
    y (N, D), x̂ (N, D), inv_std = 1/√(σ²* + ε) (D,).
    """
    inv_std = 1.0 / np.sqrt(running_var + eps)
    x_hat = x - running_mean
    x_hat *= inv_std
    return scale_shift(x_hat, gamma, beta), x_hat, inv_std


def batchnorm_backward(
    dy: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, gamma: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of batch norm in training mode (μ_B and σ²_B depend on x).

    dy, x_hat: (N, D), inv_std: (D,) or (1, D), gamma: (D,) or None (γ = 1)  ->
    dβ = Σₙ dy,  dγ = Σₙ dy·x̂  (D,),
    dx = (γ·inv_std/N)·(N·dy − Σₙdy − x̂·Σₙ(dy·x̂))  (N, D).
    """
    n = dy.shape[0]
    dbeta = dy.sum(axis=0)
    tmp = dy * x_hat
    dgamma = tmp.sum(axis=0)
    # The same formula with 1/N moved inside: γ·inv_std·(dy − Σdy/N − x̂·Σ(dy·x̂)/N).
    np.multiply(x_hat, dgamma / n, out=tmp)
    dx = dy - dbeta / n
    dx -= tmp
    dx *= inv_std if gamma is None else gamma * inv_std
    return dx, dgamma, dbeta


def batchnorm_eval_backward(
    dy: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, gamma: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of batch norm in evaluation mode (running statistics are constants).

    dy, x_hat: (N, D), inv_std = 1/√(running_var + ε): (D,), gamma: (D,) or None  ->
    dx = dy·γ·inv_std (N, D),  dγ = Σₙ dy·x̂,  dβ = Σₙ dy  (D,).
    """
    dx = dy * (inv_std if gamma is None else gamma * inv_std)
    dgamma = np.einsum("ij,ij->j", dy, x_hat)
    dbeta = dy.sum(axis=0)
    return dx, dgamma, dbeta


def layernorm_forward(
    x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer norm: ``y = γ·(x − μ)/√(σ² + ε) + β`` with μ, σ² (biased) of each row.

    x: (N, D), gamma, beta: (D,) or None  ->  y (N, D), x̂ (N, D), inv_std (N, 1).
    """
    x_hat, inv_std, _, _ = standardize(x, 1, eps)
    return scale_shift(x_hat, gamma, beta), x_hat, inv_std


def layernorm_backward(
    dy: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, gamma: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of layer norm.

    dy, x_hat: (N, D), inv_std: (N, 1), gamma: (D,) or None  ->
    dβ = Σₙ dy,  dγ = Σₙ dy·x̂  (D,);  with g = dy·γ and sums over the D features,
    dx = (inv_std/D)·(D·g − Σ_d g − x̂·Σ_d(g·x̂))  (N, D).
    """
    d = dy.shape[1]
    dbeta = dy.sum(axis=0)
    tmp = dy * x_hat
    dgamma = tmp.sum(axis=0)
    if gamma is None:
        g = dy
    else:
        g = dy * gamma
        np.multiply(g, x_hat, out=tmp)  # g·x̂
    row_gx = tmp.sum(axis=1, keepdims=True)
    row_g = g.sum(axis=1, keepdims=True)
    np.multiply(x_hat, row_gx, out=tmp)  # x̂·Σ(g·x̂)
    dx = g * d
    dx -= row_g
    dx -= tmp
    dx *= inv_std / d
    return dx, dgamma, dbeta


def _affine_sq_norms(dy: np.ndarray, x_hat: np.ndarray, affine: bool) -> np.ndarray:
    """‖dyᵢ ⊙ x̂ᵢ‖² + ‖dyᵢ‖² per row (N,) float64 (zeros when not ``affine``)."""
    if not affine:
        return np.zeros(dy.shape[0])
    scaled = np.multiply(dy, x_hat, dtype=np.float64)
    return (np.einsum("ij,ij->i", scaled, scaled)
            + np.einsum("ij,ij->i", dy, dy, dtype=np.float64))


# -- layers ----------------------------------------------------------------------------


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool. Received: {value!r}.")
    return bool(value)


class BatchNorm(Module):
    """Batch normalisation over the minibatch, as ``torch.nn.BatchNorm1d``.

    Shapes: input (N, num_features) -> output (N, num_features).
    Parameters (when ``affine``): ``weight`` γ (init 1), ``bias`` β (init 0), (num_features,).
    Buffers (when ``track_running_stats``): ``running_mean`` (init 0), ``running_var``
    (init 1), ``num_batches_tracked`` (0-d int64).

    Training: ``y = γ·(x − μ_B)/√(σ²_B + ε) + β`` with the batch mean and the *biased*
    batch variance; then, with the *unbiased* variance ``σ²_B·N/(N−1)``,

        running ← (1 − momentum)·running + momentum·batch,

    the notes' exponentially weighted moving average ``μ* ← β·μ* + (1−β)·μ_B`` with
    β = 1 − momentum. ``momentum=None`` gives the cumulative average (factor
    1/num_batches_tracked). Evaluation: the running statistics replace the batch's
    (the batch's are still used when ``track_running_stats=False``).
    A batch of one example has no variance: training on it raises ValueError.
    With Numba installed, the training-mode forward and backward run as compiled loops
    (``trainlab.backend``), bit for bit the numbers of the NumPy kernels here.

    Ioffe & Szegedy 2015, "Batch Normalization: Accelerating Deep Network Training
    by Reducing Internal Covariate Shift".
    """

    # Buffers with track_running_stats, None without (registered in __init__).
    running_mean: np.ndarray | None
    running_var: np.ndarray | None
    num_batches_tracked: np.ndarray | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = check_int(num_features, f"{name}: num_features", low=1)
        self.eps = check_number(eps, f"{name}: eps", low=0.0)
        self.momentum = (
            None if momentum is None
            else check_number(momentum, f"{name}: momentum", low=0.0, high=1.0)
        )
        self.affine = _check_bool(affine, f"{name}: affine")
        self.track_running_stats = _check_bool(track_running_stats, f"{name}: track_running_stats")
        self.dtype = check_dtype(dtype, f"{name}: dtype")
        d = self.num_features
        self.weight = Parameter(np.ones(d, dtype=self.dtype)) if self.affine else None
        self.bias = Parameter(np.zeros(d, dtype=self.dtype)) if self.affine else None
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(d, dtype=self.dtype))
            self.register_buffer("running_var", np.ones(d, dtype=self.dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.running_mean = None
            self.running_var = None
            self.num_batches_tracked = None
        self._x_hat: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None
        self._batch_stats = True  # whether the cached forward used the batch's statistics

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, num_features) -> y (N, num_features); caches x̂ and 1/√(σ² + ε)."""
        name = type(self).__name__
        x = check_layer_input(x, name, features=self.num_features, dtype=self.dtype)
        gamma = beta = None
        if self.affine:
            assert self.weight is not None and self.bias is not None  # created with affine
            gamma, beta = self.weight.data, self.bias.data
        use_batch_stats = self.training or not self.track_running_stats
        if use_batch_stats:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    f"{name}: Expected more than 1 value per channel when training, "
                    f"got input of shape {x.shape}."
                )
            # The compiled kernel gives standardize's and scale_shift's numbers (trainlab.backend).
            fast = self.backend.batchnorm_forward(x, gamma, beta, self.eps)
            if fast is not None:
                y, x_hat, inv_std, mean, var = fast
            else:
                y, x_hat, inv_std, mean, var = batchnorm_forward(x, gamma, beta, self.eps)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var, n)
        else:
            # Evaluation with track_running_stats: the running statistics are buffers.
            assert self.running_mean is not None and self.running_var is not None
            y, x_hat, inv_std = batchnorm_eval_forward(
                x, self.running_mean, self.running_var, gamma, beta, self.eps
            )
        self._x_hat, self._inv_std, self._batch_stats = x_hat, inv_std, use_batch_stats
        return y

    def _update_running_stats(self, mean: np.ndarray, var: np.ndarray, n: int) -> None:
        """running ← (1 − m)·running + m·batch, with the unbiased batch variance."""
        # Called only with track_running_stats, where the three are buffers.
        assert self.num_batches_tracked is not None
        assert self.running_mean is not None and self.running_var is not None
        self.num_batches_tracked += 1
        if self.momentum is None:  # cumulative moving average
            factor = 1.0 / float(self.num_batches_tracked)
        else:
            factor = self.momentum
        self.running_mean *= 1.0 - factor
        self.running_mean += factor * mean
        self.running_var *= 1.0 - factor
        self.running_var += (factor * n / (n - 1)) * var

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy: (N, num_features) -> dx; adds Σdy·x̂ to weight.grad and Σdy to bias.grad."""
        if self._x_hat is None or self._inv_std is None:  # both set by forward
            raise self._backward_before_forward()
        x_hat = self._x_hat
        dy = check_grad_output(dy, type(self).__name__, x_hat.shape)
        dy = dy.astype(x_hat.dtype, copy=False)
        gamma = None
        if self.affine:
            assert self.weight is not None  # created with affine
            gamma = self.weight.data
        fast = (
            self.backend.batchnorm_backward(dy, x_hat, self._inv_std, gamma)
            if self._batch_stats else None
        )
        if fast is not None:  # batchnorm_backward's numbers, compiled (trainlab.backend)
            dx, dgamma, dbeta = fast
        else:
            kernel = batchnorm_backward if self._batch_stats else batchnorm_eval_backward
            dx, dgamma, dbeta = kernel(dy, x_hat, self._inv_std, gamma)
        if self.affine:
            assert self.weight is not None and self.bias is not None
            self.weight.grad += dgamma
            self.bias.grad += dbeta
        return dx

    def per_example_grad_sq_norms(self, dy: np.ndarray) -> np.ndarray | None:
        """Each example's squared gradient norm in γ and β (N,) float64, from dy
        (N, num_features), the gradient of a loss Σᵢ ℓᵢ (ℓᵢ a function of row i of the
        output) with respect to the last forward's output. With the running statistics
        (evaluation) row i adds dyᵢ ⊙ x̂ᵢ to γ's gradient and dyᵢ to β's:

            ‖∂ℓᵢ/∂θ‖² = ‖dyᵢ ⊙ x̂ᵢ‖² + ‖dyᵢ‖²   (0 without ``affine``).

        None after a forward with the batch's statistics (training mode): every x̂ⱼ then
        depends on every row, and an example has no gradient of its own.
        """
        if self._x_hat is None:
            raise self._backward_before_forward()
        if self._batch_stats:
            return None
        x_hat = self._x_hat
        dy = check_grad_output(dy, type(self).__name__, x_hat.shape)
        return _affine_sq_norms(dy, x_hat, self.affine)

    def _on_astype(self) -> None:
        self._x_hat = None
        self._inv_std = None

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class LayerNorm(Module):
    """Layer normalisation over the features of each example, as ``torch.nn.LayerNorm(D)``.

    Shapes: input (N, num_features) -> output (N, num_features).
    Parameters (when ``elementwise_affine``): ``weight`` γ (init 1), ``bias`` β (init 0).

        y = γ·(x − μ)/√(σ² + ε) + β,  μ, σ² (biased) over the row's num_features values.

    The same in training and evaluation: no running statistics.
    Ba, Kiros & Hinton 2016, "Layer Normalization".
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = check_int(num_features, f"{name}: num_features", low=1)
        self.normalized_shape = (self.num_features,)
        self.eps = check_number(eps, f"{name}: eps", low=0.0)
        self.elementwise_affine = _check_bool(elementwise_affine, f"{name}: elementwise_affine")
        self.dtype = check_dtype(dtype, f"{name}: dtype")
        d = self.num_features
        self.weight = Parameter(np.ones(d, dtype=self.dtype)) if self.elementwise_affine else None
        self.bias = Parameter(np.zeros(d, dtype=self.dtype)) if self.elementwise_affine else None
        self._x_hat: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, num_features) -> y (N, num_features); caches x̂ and 1/√(σ² + ε) per row."""
        x = check_layer_input(x, type(self).__name__, features=self.num_features, dtype=self.dtype)
        gamma = beta = None
        if self.elementwise_affine:
            assert self.weight is not None and self.bias is not None  # created with the flag
            gamma, beta = self.weight.data, self.bias.data
        y, self._x_hat, self._inv_std = layernorm_forward(x, gamma, beta, self.eps)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy: (N, num_features) -> dx; adds Σdy·x̂ to weight.grad and Σdy to bias.grad."""
        if self._x_hat is None or self._inv_std is None:  # both set by forward
            raise self._backward_before_forward()
        x_hat = self._x_hat
        dy = check_grad_output(dy, type(self).__name__, x_hat.shape)
        dy = dy.astype(x_hat.dtype, copy=False)
        gamma = None
        if self.elementwise_affine:
            assert self.weight is not None  # created with elementwise_affine
            gamma = self.weight.data
        dx, dgamma, dbeta = layernorm_backward(dy, x_hat, self._inv_std, gamma)
        if self.elementwise_affine:
            assert self.weight is not None and self.bias is not None
            self.weight.grad += dgamma
            self.bias.grad += dbeta
        return dx

    def per_example_grad_sq_norms(self, dy: np.ndarray) -> np.ndarray:
        """Each example's squared gradient norm in γ and β (N,) float64, from dy
        (N, num_features), the gradient of a loss Σᵢ ℓᵢ (ℓᵢ a function of row i of the
        output) with respect to the last forward's output. The statistics are the row's
        own, so row i adds dyᵢ ⊙ x̂ᵢ to γ's gradient and dyᵢ to β's:

            ‖∂ℓᵢ/∂θ‖² = ‖dyᵢ ⊙ x̂ᵢ‖² + ‖dyᵢ‖²   (0 without ``elementwise_affine``).
        """
        if self._x_hat is None:
            raise self._backward_before_forward()
        x_hat = self._x_hat
        dy = check_grad_output(dy, type(self).__name__, x_hat.shape)
        return _affine_sq_norms(dy, x_hat, self.elementwise_affine)

    def _on_astype(self) -> None:
        self._x_hat = None
        self._inv_std = None

    def extra_repr(self) -> str:
        return (
            f"({self.num_features},), eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}"
        )
