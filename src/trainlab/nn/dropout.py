"""Dropout (drop units) and DropConnect (drop weights), both inverted (notes §8).

"Inverted" means the kept values are scaled by ``1/(1-p)`` during training, so the
expected output is unchanged and evaluation uses the layer as it is, with no rescaling.

Masks are ``bool`` arrays drawn from the layer's own generator ``rng`` as
``keep = u >= p`` with ``u ~ U[0, 1)`` drawn in float64, so one seed gives the same
masks in float32 and float64 models. The last mask is kept in the attribute ``mask``
(None in evaluation mode). To hold a mask fixed (e.g. for a gradient check), give the
layer a freshly seeded generator before each forward: ``layer.rng = np.random.default_rng(s)``.
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np

from trainlab import init as _init
from trainlab._checks import (
    check_bool,
    check_dtype,
    check_grad_output,
    check_int,
    check_layer_input,
    check_probability,
)
from trainlab._rng import RngLike, as_generator
from trainlab.nn.linear import linear_forward
from trainlab.nn.module import Module, Parameter

# -- kernels ---------------------------------------------------------------------------


def keep_mask(shape: tuple[int, ...], p: float, rng: np.random.Generator) -> np.ndarray:
    """A bool mask of ``shape``: each entry is True (kept) with probability ``1 - p``."""
    return rng.random(shape) >= p


def dropout_forward(x: np.ndarray, mask: np.ndarray, p: float) -> np.ndarray:
    """Inverted dropout ``y = x ⊙ mask / (1-p)``.  x, mask: (N, D) -> y: (N, D), x's dtype."""
    y = np.multiply(x, mask)
    y *= 1.0 / (1.0 - p)
    return y


def dropout_backward(dy: np.ndarray, mask: np.ndarray, p: float) -> np.ndarray:
    """Gradient of inverted dropout: ``dx = dy ⊙ mask / (1-p)`` (the same linear map)."""
    return dropout_forward(dy, mask, p)


def dropconnect_weight(
    W: np.ndarray, mask: np.ndarray, p: float, out: np.ndarray | None = None
) -> np.ndarray:
    """The effective weight ``W̃ = W ⊙ mask / (1-p)``.  W, mask: (D_in, D_out)."""
    out = np.multiply(W, mask, out=out)
    out *= 1.0 / (1.0 - p)
    return out


def dropconnect_forward(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    mask: np.ndarray | None,
    p: float,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """DropConnect ``y = x @ W̃ + b`` with ``W̃ = W ⊙ mask / (1-p)`` (Wan et al. 2013,
    inverted scaling).

    x: (N, D_in), W and mask: (D_in, D_out), b: (D_out,) or None  ->
    y: (N, D_out) and W̃ (D_in, D_out), which the backward needs (written into ``out``
    when given). mask None (evaluation, or p = 0): nothing is dropped, W̃ is W itself.
    """
    W_eff = W if mask is None else dropconnect_weight(W, mask, p, out=out)
    return linear_forward(x, W_eff, b), W_eff


def dropconnect_backward(
    dy: np.ndarray,
    x: np.ndarray,
    W_eff: np.ndarray,
    mask: np.ndarray | None,
    p: float,
    bias: bool = True,
    *,
    dW: np.ndarray | None = None,
    db: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of DropConnect, from the W̃ = W ⊙ mask / (1-p) of the forward pass:

    dx = dy @ W̃ᵀ,  dW = (xᵀ @ dy) ⊙ mask / (1-p),  db = Σₙ dy (the bias is never dropped).

    dy: (N, D_out), x: (N, D_in), W_eff and mask: (D_in, D_out); mask None: nothing was
    dropped (W̃ = W, dW = xᵀ @ dy).
    dW, db: arrays to *add* the gradients into, in place (a layer's ``weight.grad`` and
        ``bias.grad``); they are returned. None: fresh arrays are returned.
    scratch: a (D_in, D_out) array for xᵀ @ dy when accumulating into ``dW`` (None: one
        is allocated).
    input_grad: False skips the dx product (dx is None).
    """
    product = np.matmul(x.T, dy, out=scratch if dW is not None else None)
    if mask is not None:
        dropconnect_weight(product, mask, p, out=product)
    if dW is None:
        dW = product
    else:
        dW += product
    if not bias:
        db = None
    elif db is None:
        db = np.add.reduce(dy, axis=0)
    else:
        db += np.add.reduce(dy, axis=0)
    dx = dy @ W_eff.T if input_grad else None
    return dx, dW, db


# -- layers ----------------------------------------------------------------------------


class Dropout(Module):
    """Inverted dropout: in training each unit is zeroed with probability ``p`` and the
    kept ones are scaled by ``1/(1-p)``; in evaluation it is the identity (Srivastava et al. 2014).

    Shapes: (N, D) -> (N, D), the input's dtype. p: drop probability in [0, 1).
    rng: a ``np.random.Generator`` or an int seed, kept as the attribute ``rng``.
    With Numba installed, the mask, the scaling and the backward run as compiled passes
    (``trainlab.backend``) on the same draws, bit for bit the NumPy kernels' numbers.
    """

    def __init__(self, p: float = 0.5, rng: RngLike = None) -> None:
        super().__init__()
        self.p = check_probability(p, "Dropout: p")
        self.rng = as_generator(rng)
        self.mask: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None
        self._dtype: np.dtype | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Draws a fresh bool mask (N, D) in training; returns x itself in evaluation."""
        x = check_layer_input(x, type(self).__name__)
        self._shape, self._dtype = x.shape, x.dtype
        if not self.training or self.p == 0.0:
            self.mask = None
            return x
        if self.backend.takes(x):  # the same numbers in one pass (trainlab.backend)
            u = self.rng.random(x.shape)  # keep_mask's draws
            y, self.mask = self.backend.dropout_forward(x, u, self.p)
            return y
        self.mask = keep_mask(x.shape, self.p, self.rng)
        return dropout_forward(x, self.mask, self.p)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ mask / (1-p) after a training forward; dx = dy after an evaluation one."""
        if self._shape is None:
            raise self._backward_before_forward()
        dy = check_grad_output(dy, type(self).__name__, self._shape)
        dy = dy.astype(self._dtype, copy=False)
        if self.mask is None:
            return dy
        dx = self.backend.masked_scale(dy, self.mask, 1.0 / (1.0 - self.p))
        return dx if dx is not None else dropout_backward(dy, self.mask, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class DropConnect(Module):
    """A Linear layer whose *weights* are dropped: in training each weight is zeroed with
    probability ``p`` (a fresh (in, out) mask per forward) and the kept ones are scaled by
    ``1/(1-p)``; in evaluation it computes ``x @ W + b`` unchanged. The bias is not dropped.
    (Wan et al. 2013, "Regularization of Neural Networks using DropConnect", with
    inverted scaling instead of the paper's Gaussian moment matching at test time.)

    Shapes: (N, in_features) -> (N, out_features); ``weight`` (in, out), ``bias`` (out,).
    Arguments as :class:`~trainlab.nn.Linear`, plus ``p`` in [0, 1).
    """

    can_skip_input_grad = True  # backward(dy, input_grad=False) skips the dx product

    def __init__(
        self,
        in_features: int,
        out_features: int,
        p: float = 0.5,
        bias: bool = True,
        init: str | _init.Initializer = "torch_default",
        rng: RngLike = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_features = check_int(in_features, f"{name}: in_features", low=1)
        self.out_features = check_int(out_features, f"{name}: out_features", low=1)
        self.p = check_probability(p, f"{name}: p")
        self.dtype = check_dtype(dtype, f"{name}: dtype")
        self.rng = as_generator(rng)
        weight, b = _init.linear_parameters(
            init, self.in_features, self.out_features,
            check_bool(bias, f"{type(self).__name__}: bias"), self.rng, self.dtype
        )
        self.weight = Parameter(weight)
        self.bias = Parameter(b) if b is not None else None
        self.mask: np.ndarray | None = None
        self._x: np.ndarray | None = None
        self._W_eff: np.ndarray | None = None  # the buffer for W ⊙ mask/(1-p) in training
        self._W_used: np.ndarray | None = None  # W̃ of the last forward (W itself in evaluation)
        self._dW_scratch: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in) -> (N, out); caches x (and the mask and W̃ in training) for backward."""
        x = check_layer_input(x, type(self).__name__, features=self.in_features, dtype=self.dtype)
        self._x = x
        b = None if self.bias is None else self.bias.data
        if not self.training or self.p == 0.0:
            self.mask = None
        else:
            self.mask = keep_mask(self.weight.shape, self.p, self.rng)
            if self._W_eff is None:
                self._W_eff = np.empty_like(self.weight.data)
        y, self._W_used = dropconnect_forward(
            x, self.weight.data, b, self.mask, self.p, out=self._W_eff
        )
        return y

    @overload
    def backward(self, dy: np.ndarray, input_grad: Literal[True] = ...) -> np.ndarray: ...
    @overload
    def backward(self, dy: np.ndarray, input_grad: bool) -> np.ndarray | None: ...
    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dy: (N, out) -> dx = dy @ W̃ᵀ; adds (xᵀdy) ⊙ mask/(1-p) to weight.grad, Σdy to bias.grad.

        input_grad=False skips the dx product and returns None (the input is data).
        """
        if not isinstance(input_grad, (bool, np.bool_)):
            raise TypeError(
                f"{type(self).__name__}.backward: input_grad must be True or False. "
                f"Received: {input_grad!r}."
            )
        if self._x is None or self._W_used is None:  # both set by forward
            raise self._backward_before_forward()
        x = self._x
        dy = check_grad_output(dy, type(self).__name__, (x.shape[0], self.out_features))
        dy = dy.astype(self.dtype, copy=False)
        if self._dW_scratch is None:
            self._dW_scratch = np.empty_like(self.weight.data)
        dx, _, _ = dropconnect_backward(
            dy, x, self._W_used, self.mask, self.p, self.bias is not None,
            dW=self.weight.grad, db=None if self.bias is None else self.bias.grad,
            scratch=self._dW_scratch, input_grad=bool(input_grad),
        )
        return dx

    def per_example_grad_sq_norms(self, dy: np.ndarray) -> np.ndarray:
        """Each example's squared gradient norm in this layer (N,) float64, from dy
        (N, out), the gradient of a loss Σᵢ ℓᵢ (ℓᵢ a function of row i of the output)
        with respect to the last forward's output. Row i adds (xᵢ·dyᵢᵀ) ⊙ mask/(1−p) to
        the weight gradient and dyᵢ to the bias gradient:

            ‖∂ℓᵢ/∂θ‖² = Σ_jk x_ij²·m_jk·dy_ik² / (1−p)² + ‖dyᵢ‖²,

        ``(‖xᵢ‖² + 1)·‖dyᵢ‖²`` when nothing was dropped (evaluation), as for Linear.
        """
        if self._x is None or self._W_used is None:  # both set by forward
            raise self._backward_before_forward()
        x = self._x
        dy = check_grad_output(dy, type(self).__name__, (x.shape[0], self.out_features))
        dy_sq = np.einsum("ij,ij->i", dy, dy, dtype=np.float64)
        if self.mask is None:
            weight = np.einsum("ij,ij->i", x, x, dtype=np.float64) * dy_sq
        else:
            kept = np.square(x, dtype=np.float64) @ self.mask.astype(np.float64)
            weight = np.einsum("ij,ij->i", kept, np.square(dy, dtype=np.float64))
            weight /= (1.0 - self.p) ** 2
        return weight + dy_sq if self.bias is not None else weight

    def _on_astype(self) -> None:
        self._x = None
        self.mask = None
        self._W_eff = None
        self._W_used = None
        self._dW_scratch = None

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"p={self.p}, bias={self.bias is not None}"
        )
