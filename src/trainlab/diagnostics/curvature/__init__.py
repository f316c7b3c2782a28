"""Curvature of the loss surface, gradient noise and loss landscapes, measured through the
layers' closed-form backward passes.

All functions take ``(model, loss_fn, X, y)`` and work on the mean loss over X, in a
float64 copy of the model (its mode as it is; Dropout or DropConnect in training mode is
an error). Vectors are flat, in ``model.parameters()`` order.

    hessian_vector_product(model, loss_fn, X, y, v)       # H·v, (n_params,)
    hessian_eigenvalues(model, loss_fn, X, y, k=1, which="largest")
    hessian_trace(model, loss_fn, X, y, samples=100, rng=None)
    hessian_spectral_density(model, loss_fn, X, y, steps=30, samples=4, rng=None)
    gradient_noise_scale(model, loss_fn, X, y)             # B_simple = tr Σ / |G|²
    loss_along(model, loss_fn, X, y, direction, alphas)
    loss_landscape(model, loss_fn, X, y, steps=21, span=1.0, rng=None)
    stability_threshold(optimizer)                         # 2/η, (2+2β)/η, Adam's
    CurvatureMonitor(X, y, every=100)                      # a training callback
"""

from trainlab.diagnostics.curvature.hessian import (
    SpectralDensity,
    hessian_eigenvalues,
    hessian_spectral_density,
    hessian_trace,
    hessian_vector_product,
)
from trainlab.diagnostics.curvature.instrument import CurvatureMonitor, CurvatureRecord
from trainlab.diagnostics.curvature.landscape import Landscape, loss_along, loss_landscape
from trainlab.diagnostics.curvature.noise import gradient_noise_scale
from trainlab.diagnostics.curvature.objective import Objective
from trainlab.diagnostics.curvature.stability import Stability, stability_threshold

__all__ = [
    "CurvatureMonitor",
    "CurvatureRecord",
    "Stability",
    "stability_threshold",
    "Landscape",
    "Objective",
    "SpectralDensity",
    "gradient_noise_scale",
    "hessian_eigenvalues",
    "hessian_spectral_density",
    "hessian_trace",
    "hessian_vector_product",
    "loss_along",
    "loss_landscape",
]
