"""``Residual``: a skip connection around a chain of layers, ``y = x + f(x)``.

He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016). The backward is
closed form: ``dx = dy + f.backward(dy)``. The identity path carries the gradient to
the input unattenuated, whatever ``f``'s Jacobian does: the modern answer to the notes'
vanishing gradient, where a product of many small factors (σ′ ≤ 1/4 per layer) goes
to zero.
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np

from trainlab.nn.module import Module, Sequential


class Residual(Sequential):
    """``y = x + f(x)``, with ``f`` the chain of ``modules`` (a Sequential), whose output
    width must equal its input width.

    x: (batch, features) -> y: (batch, features). backward: ``dx = dy + f.backward(dy)``;
    ``f``'s parameters get their gradients as in a Sequential. Children are named
    ``"0"``, ``"1"``, … as in a Sequential, so the diagnostics see every layer inside.
    """

    def __init__(self, *modules: Module) -> None:
        if not modules:
            raise ValueError("Residual: expected at least one module for f in x + f(x). "
                             "Received none.")
        super().__init__(*modules)

    def forward(self, x: np.ndarray) -> np.ndarray:
        fx = super().forward(x)
        if np.shape(fx) != np.shape(x):
            raise ValueError(f"Residual: f must keep the input's shape for x + f(x); "
                             f"expected {np.shape(x)}. Received {np.shape(fx)}.")
        return x + fx

    @overload
    def backward(self, dy: np.ndarray, input_grad: Literal[True] = ...) -> np.ndarray: ...
    @overload
    def backward(self, dy: np.ndarray, input_grad: bool) -> np.ndarray | None: ...
    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dy (batch, features) -> dx = dy + f.backward(dy) (None when ``input_grad`` is
        False: f's parameter gradients are still accumulated)."""
        df = super().backward(dy, input_grad)
        if df is None:
            return None
        return dy + df
