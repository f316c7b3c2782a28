"""The affine layer ``y = x @ W + b`` (notes §1) and its closed-form gradients.

The weight is stored as ``(in_features, out_features)``, as in the notes'
``np.random.randn(fan_in, fan_out)``; PyTorch stores the transpose ``(out, in)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np

from trainlab import init as _init
from trainlab._checks import (
    check_bool,
    check_dtype,
    check_grad_output,
    check_int,
    check_layer_input,
)
from trainlab._rng import RngLike, as_generator
from trainlab.nn.module import Module, Parameter

# -- kernels ---------------------------------------------------------------------------


def linear_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """Affine map ``y = x @ W + b``.

    x: (N, D_in), W: (D_in, D_out), b: (D_out,) or None  ->  y: (N, D_out).
    """
    y = x @ W
    if b is not None:
        y += b
    return y


def linear_backward(
    dy: np.ndarray,
    x: np.ndarray,
    W: np.ndarray,
    bias: bool = True,
    *,
    dW: np.ndarray | None = None,
    db: np.ndarray | None = None,
    scratch: Callable[[], np.ndarray] | None = None,
    input_grad: bool = True,
    write_dW: bool = False,
    write_db: bool = False,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of ``y = x @ W + b``.

    dy: (N, D_out), x: (N, D_in), W: (D_in, D_out)  ->
    dx = dy @ Wᵀ (N, D_in),  dW = xᵀ @ dy (D_in, D_out),  db = Σₙ dy (D_out,) or None.

    dW, db: arrays to *add* the gradients into, in place (a layer's ``weight.grad`` and
        ``bias.grad``); they are returned. None: fresh arrays are returned.
    scratch: when accumulating into ``dW``, returns a (D_in, D_out) array for the product
        (see :func:`accumulate_matmul`); None allocates one when it is needed.
    input_grad: False when the input needs no gradient (it is the data): the dx product
        is skipped and dx is None.
    write_dW, write_db: the given dW (db) is marked zero (``Parameter.grad_to_write``):
        the gradient is written into it instead of added (0 + g is g).
    """
    if dW is None:
        dW = np.matmul(x.T, dy)
    elif write_dW:
        np.matmul(x.T, dy, out=dW)
    else:
        accumulate_matmul(x.T, dy, dW, scratch or (lambda: np.empty_like(dW)))
    if not bias:
        db = None
    elif db is None:
        db = np.add.reduce(dy, axis=0)
    elif write_db:
        np.add.reduce(dy, axis=0, out=db)
    else:
        np.add(db, np.add.reduce(dy, axis=0), out=db)
    dx = np.matmul(dy, W.T) if input_grad else None
    return dx, dW, db


def accumulate_matmul(
    a: np.ndarray, b: np.ndarray, grad: np.ndarray, scratch: Callable[[], np.ndarray]
) -> None:
    """``grad += a @ b`` without allocating: the product goes into the array ``scratch()``
    of grad's shape, then is added. (A gradient marked zero by ``zero_grad`` is not added
    to but written: ``linear_backward``'s ``write_dW``.)"""
    product = np.matmul(a, b, out=scratch())
    grad += product


# -- layer -----------------------------------------------------------------------------


class Linear(Module):
    """Fully connected layer ``y = x @ W + b``.

    Shapes: input (N, in_features) -> output (N, out_features);
    ``weight`` (in_features, out_features), ``bias`` (out_features,) or None.

    init: a name from :mod:`trainlab.init` or a callable ``(fan_in, fan_out, rng, dtype)``.
        The default ``"torch_default"`` draws weight and bias from U[-1/√in, 1/√in]
        as ``torch.nn.Linear`` does; every other name gives a zero bias.
    rng: a ``np.random.Generator`` or an int seed (None: a fresh seed).
    dtype: np.float32 (default) or np.float64; inputs are cast to it.
    """

    can_skip_input_grad = True  # backward(dy, input_grad=False) skips the dx product

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str | _init.Initializer = "torch_default",
        rng: RngLike = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_features = check_int(in_features, f"{name}: in_features", low=1)
        self.out_features = check_int(out_features, f"{name}: out_features", low=1)
        self.dtype = check_dtype(dtype, f"{name}: dtype")
        weight, b = _init.linear_parameters(
            init, self.in_features, self.out_features,
            check_bool(bias, f"{type(self).__name__}: bias"), as_generator(rng), self.dtype
        )
        self.weight = Parameter(weight)
        self.bias = Parameter(b) if b is not None else None
        self._x: np.ndarray | None = None
        self._dW_scratch: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in_features) -> (N, out_features); caches x for backward (train and eval)."""
        x = check_layer_input(x, type(self).__name__, features=self.in_features, dtype=self.dtype)
        self._x = x
        b = None if self.bias is None else self.bias.data
        fast = self.backend.linear_forward(x, self.weight.data, b)  # (trainlab.backend)
        return linear_forward(x, self.weight.data, b) if fast is None else fast

    @overload
    def backward(self, dy: np.ndarray, input_grad: Literal[True] = ...) -> np.ndarray: ...
    @overload
    def backward(self, dy: np.ndarray, input_grad: bool) -> np.ndarray | None: ...
    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dy: (N, out_features) -> dx = dy @ Wᵀ; adds xᵀdy to weight.grad and Σdy to bias.grad.

        input_grad=False: the input needs no gradient (it is the data), so the dx product
        is skipped and None is returned — as PyTorch skips it for an input tensor
        without ``requires_grad``. The parameter gradients are the same either way.
        """
        if not isinstance(input_grad, (bool, np.bool_)):
            raise TypeError(
                f"{type(self).__name__}.backward: input_grad must be True or False. "
                f"Received: {input_grad!r}."
            )
        if self._x is None:
            raise self._backward_before_forward()
        x = self._x
        dy = check_grad_output(dy, type(self).__name__, (x.shape[0], self.out_features))
        dy = dy.astype(self.dtype, copy=False)
        # gradients marked zero (zero_grad) are written, not added to: no fill, no read
        dW, write_dW = self.weight.grad_to_write()
        db, write_db = (None, False) if self.bias is None else self.bias.grad_to_write()
        fast = self.backend.linear_backward(
            dy, x, self.weight.data, dW, db, bool(input_grad), write_dW, write_db,
        )  # the backend's GEMM provider, when it has one (trainlab.backend)
        if fast is not None:
            return fast[0]
        dx, _, _ = linear_backward(
            dy, x, self.weight.data, self.bias is not None, dW=dW, db=db,
            scratch=self._scratch, input_grad=bool(input_grad), write_dW=write_dW,
            write_db=write_db,
        )
        return dx

    def per_example_grad_sq_norms(self, dy: np.ndarray) -> np.ndarray:
        """Each example's squared gradient norm in this layer, without the N outer products.

        dy: (N, out_features), the gradient of a loss Σᵢ ℓᵢ (ℓᵢ a function of row i of the
        last forward's output alone) with respect to that output  ->  (N,) float64,
        ‖∂ℓᵢ/∂W‖² + ‖∂ℓᵢ/∂b‖². Row i adds the outer product xᵢ·dyᵢᵀ to the weight
        gradient and dyᵢ to the bias gradient, and ‖xᵢ·dyᵢᵀ‖² = ‖xᵢ‖²·‖dyᵢ‖², so

            ‖∂ℓᵢ/∂θ‖² = (‖xᵢ‖² + 1)·‖dyᵢ‖²   (without the 1 when there is no bias)

        (Goodfellow 2015, "Efficient Per-Example Gradient Computations"). The gradient
        noise scale reads it (:mod:`trainlab.diagnostics.curvature.noise`).
        """
        if self._x is None:
            raise self._backward_before_forward()
        x = self._x
        dy = check_grad_output(dy, type(self).__name__, (x.shape[0], self.out_features))
        x_sq = np.einsum("ij,ij->i", x, x, dtype=np.float64)
        dy_sq = np.einsum("ij,ij->i", dy, dy, dtype=np.float64)
        return (x_sq + 1.0) * dy_sq if self.bias is not None else x_sq * dy_sq

    def _scratch(self) -> np.ndarray:
        if self._dW_scratch is None:
            self._dW_scratch = np.empty_like(self.weight.data)
        return self._dW_scratch

    def _on_astype(self) -> None:
        self._x = None
        self._dW_scratch = None

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
