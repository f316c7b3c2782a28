"""Gradient-check helper shared by the layer tests (float64 central differences)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradcheck import numerical_gradient
from trainlab.nn import Module


def check_layer_gradients(
    layer: Module,
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    before_forward: Callable[[], None] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> None:
    """Check ``backward`` of ``layer`` at ``x`` against central differences.

    The scalar checked is L = Σ y ⊙ g for a random upstream gradient g, so
    dL/dx = layer.backward(g) and dL/dp = p.grad. Checks dx and every parameter
    gradient, and that a second ``backward`` call adds the same gradient again.
    ``before_forward`` runs before every forward (e.g. to re-seed a dropout mask).
    """
    assert x.dtype == np.float64

    def forward() -> np.ndarray:
        if before_forward is not None:
            before_forward()
        return layer.forward(x)

    y = forward()
    g = rng.standard_normal(y.shape)

    def loss() -> float:
        return float(np.sum(forward() * g))

    layer.zero_grad()
    forward()
    dx = layer.backward(g)
    assert dx.shape == x.shape and dx.dtype == np.float64
    grads = {name: p.grad.copy() for name, p in layer.named_parameters()}

    dx_again = layer.backward(g)  # the cache survives: same dx, gradients add up
    np.testing.assert_allclose(dx_again, dx, rtol=1e-14, atol=0)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * grads[name], rtol=1e-14, atol=0, err_msg=name)

    num_dx = numerical_gradient(loss, x)
    assert np.abs(num_dx).max() > 1e-3, "degenerate check: the input gradient is ~0"
    np.testing.assert_allclose(dx, num_dx, rtol=rtol, atol=atol, err_msg="dx")
    for name, p in layer.named_parameters():
        num = numerical_gradient(loss, p.data)
        assert np.abs(num).max() > 1e-3, f"degenerate check: d/d{name} is ~0"
        np.testing.assert_allclose(grads[name], num, rtol=rtol, atol=atol, err_msg=name)
