"""The loss along a line and on a filter-normalised plane through the parameters.

Goodfellow, Vinyals & Saxe (2015), "Qualitatively characterizing neural network
optimization problems": the loss along θ(α) = θ_init + α·(θ_final − θ_init) has, for
many networks, no bump between initialisation and solution.

Li, Xu, Taylor, Studer & Goldstein (2018), "Visualizing the Loss Landscape of Neural
Nets": L(θ + α·δ + β·η) on a grid, with random Gaussian directions δ, η *filter
normalised*: for each weight matrix W (in, out) each column (one output unit's incoming
weights, a "filter") of the direction is rescaled to the norm of the same column of W,
so that the plot is not an artefact of the network's scale. As in their code, biases and
normalisation parameters (1-D arrays) are left out of the directions (set to zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab._checks import check_int, check_number
from trainlab._rng import RngLike, as_generator
from trainlab.diagnostics.curvature.objective import Objective
from trainlab.nn.losses import Loss
from trainlab.nn.module import Module


def loss_along(model: Module, loss_fn: Loss, X: Any, y: Any, direction: Any,
               alphas: Any) -> np.ndarray:
    """L(θ + α·d) for each α of ``alphas`` (A,) -> (A,) float64.

    direction d: (n_params,) flat in ``model.parameters()`` order; from a model at
    initialisation, d = θ_final − θ_init and α ∈ [0, 1] walk to the solution.
    """
    owner = "loss_along"
    objective = Objective(model, loss_fn, X, y, owner)
    d = objective.check_vector(direction, "direction")
    alphas = np.asarray(alphas)
    if alphas.ndim != 1 or alphas.dtype.kind not in "biuf" or not np.all(np.isfinite(alphas)):
        raise ValueError(f"{owner}: expected alphas to be a 1-D array of finite numbers. "
                         f"Received shape {alphas.shape}, dtype {alphas.dtype}.")
    return np.array([objective.loss(objective.theta0 + float(a) * d) for a in alphas])


def filter_normalized_direction(objective: Objective, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian direction (n_params,) with each filter (column of a weight matrix)
    rescaled to the norm of the same filter of the parameters; 1-D parameters get 0."""
    d = rng.standard_normal(objective.n_params)
    for part, theta in zip(objective.split(d), objective.split(objective.theta0), strict=True):
        if part.ndim < 2:
            part[...] = 0.0
            continue
        cols = part.reshape(-1, part.shape[-1])
        target = np.linalg.norm(theta.reshape(-1, part.shape[-1]), axis=0)
        norms = np.linalg.norm(cols, axis=0)
        cols *= target / np.where(norms > 0, norms, 1.0)
    return d


@dataclass(frozen=True)
class Landscape:
    """A loss surface on a plane: ``loss[i, j] = L(θ + alphas[i]·d1 + betas[j]·d2)``.

    alphas, betas: (steps,); loss: (steps, steps); d1, d2: (n_params,) the directions.
    """

    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray
    d1: np.ndarray
    d2: np.ndarray


def loss_landscape(model: Module, loss_fn: Loss, X: Any, y: Any, steps: int = 21,
                   span: float = 1.0, rng: RngLike = None) -> Landscape:
    """The loss on the plane through the model's parameters spanned by two random
    filter-normalised directions (Li et al. 2018), on a steps × steps grid of
    α, β ∈ [−span, span].

    rng: a ``np.random.Generator`` or an int seed for the directions (None: a fresh seed).
    """
    owner = "loss_landscape"
    objective = Objective(model, loss_fn, X, y, owner)
    steps = check_int(steps, f"{owner}: steps", low=2)
    span = check_number(span, f"{owner}: span", low=0.0)
    if span == 0:
        raise ValueError(f"{owner}: expected span > 0. Received 0.")
    generator = as_generator(rng, f"{owner}: rng")
    d1 = filter_normalized_direction(objective, generator)
    d2 = filter_normalized_direction(objective, generator)
    grid = np.linspace(-span, span, steps)
    loss = np.array([[objective.loss(objective.theta0 + a * d1 + b * d2) for b in grid]
                     for a in grid])
    return Landscape(grid, grid.copy(), loss, d1, d2)
