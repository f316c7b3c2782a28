"""solver="lbfgs": scipy's L-BFGS-B on the flat vector of every parameter, full batch.

The vector θ is the model's parameters flattened in scikit-learn's order (every
``coefs_`` matrix, then every ``intercepts_`` vector, then any other parameters, such
as normalisation's); the
function is the objective of :mod:`trainlab.sklearn._losses` on all of (X, y) with
its gradient (one forward and one backward per evaluation), in float64 for scipy and
in the model's dtype inside. As scikit-learn calls it::

    scipy.optimize.minimize(f, θ₀, method="L-BFGS-B", jac=True,
                            options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol})

``n_iter_`` is the number of L-BFGS iterations (at most ``max_iter``), ``loss_`` the final
objective, ``loss_curve_`` the objective after each iteration. A run that ends without
meeting its tolerance warns with :class:`~sklearn.exceptions.ConvergenceWarning`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from trainlab import nn
from trainlab.sklearn._losses import linears, objective


def ordered(model: nn.Module) -> list[nn.Parameter]:
    """The parameters in scikit-learn's packing order: weights, biases, the rest."""
    layers = linears(model)
    weights = [layer.weight for layer in layers]
    biases = [layer.bias for layer in layers if layer.bias is not None]
    seen = {id(p) for p in weights + biases}
    return weights + biases + [p for p in model.parameters() if id(p) not in seen]


def flat(params: list[nn.Parameter], attribute: str = "data") -> np.ndarray:
    """The parameters' values (or ``"grad"``) as one float64 vector."""
    return np.concatenate([getattr(p, attribute).ravel() for p in params]).astype(np.float64)


def assign(params: list[nn.Parameter], theta: np.ndarray) -> None:
    """Write the flat vector θ back into the parameters (in place, in their dtype)."""
    start = 0
    for p in params:
        size = p.data.size
        p.data[...] = theta[start:start + size].reshape(p.data.shape)
        start += size


def run(est: Any, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None, loss: str,
        alpha: float, max_iter: int, max_fun: int, tol: float) -> None:
    """Minimise the objective over ``est.model_``'s parameters; sets n_iter_, loss_,
    loss_curve_."""
    model = est.model_
    params, layers = ordered(model), linears(model)
    model.train()

    def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
        assign(params, theta)
        with np.errstate(over="ignore"):
            value = objective(model, layers, X, Y, w, loss, alpha)
        return value, flat(params, "grad")

    curve: list[float] = []

    def record(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        curve.append(float(intermediate_result.fun))

    result = scipy.optimize.minimize(
        f, flat(params), method="L-BFGS-B", jac=True,
        callback=record,
        options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol},
    )
    model.eval()
    assign(params, result.x)
    if result.status != 0:
        warnings.warn(
            f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}):"
            f" {result.message}. Increase the number of iterations (max_iter) or the number "
            "of function evaluations (max_fun), or scale the data.",
            ConvergenceWarning, stacklevel=4,
        )
    est.n_iter_ = min(int(result.nit), max_iter)
    est.loss_ = float(result.fun)
    est.loss_curve_ = est.loss_curve_ + curve if est.loss_curve_ else curve
