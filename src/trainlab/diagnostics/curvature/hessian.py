"""Hessian-vector products of the mean loss, and what Lanczos and Hutchinson make of them.

The product ``H·v`` (H = ∇²L(θ), n_params × n_params, never formed) is a **central
difference of the closed-form gradient in float64**:

    H·v ≈ ‖v‖·(∇L(θ + h·u) − ∇L(θ − h·u)) / (2h),   u = v/‖v‖,
    h = 10·√ε·max(1, rms(θ)) ≈ 1.5·10⁻⁷·max(1, rms(θ)),  ε = 2.2·10⁻¹⁶.

Why a difference and not an R-operator (forward mode through every backward): it needs
nothing from the layers but the backward they already have, so it holds for every layer
type, in both modes of BatchNorm and for any plugin layer, with one code path and no
second derivation to keep in step with each kernel. It costs two gradients.

Why this step. On a smooth loss the truncation error is (h²/6)·∇³L[u,u,u] ≈ 4·10⁻¹⁵ of
the third derivative and the rounding error about ε·|∇L terms|/h ≈ 1.5·10⁻⁹ of them,
both far below the 10⁻⁶ that the tests demand against PyTorch's exact products. The
step that balances the two, ε^{1/3} ≈ 6·10⁻⁶ (Nocedal & Wright, *Numerical
Optimization*, §8.1), is 40 times longer, and a network's loss is not smooth everywhere:
where a ReLU-like kink lies within h of a pre-activation, the two gradients straddle the
kink and the difference carries the gradient's jump divided by 2h, orders of magnitude
off. A trained ReLU MLP has thousands of pre-activations near 0, and the chance that a
step crosses one grows with h: the short step makes a crossing 40 times rarer for a
rounding error that stays below 10⁻⁸. It cannot rule one out (no difference can: the
Hessian is not defined at a kink).

Eigenvalues: implicitly restarted Lanczos (ARPACK, ``scipy.sparse.linalg.eigsh``) on a
``LinearOperator`` of the product. Trace: Hutchinson's estimator with Rademacher vectors
(Hutchinson 1990; PyHessian, Yao et al. 2020). Spectral density: stochastic Lanczos
quadrature (Golub & Meurant 2010; Ghorbani, Krishnan & Xiao 2019).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg.blas import dgemv as _gemv
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from trainlab._checks import check_int, check_number
from trainlab._rng import RngLike, as_generator
from trainlab.diagnostics.curvature.objective import Objective
from trainlab.nn.losses import Loss
from trainlab.nn.module import Module

EPS = float(np.finfo(np.float64).eps)


def step_size(theta: np.ndarray) -> float:
    """The difference step h = 10·√ε·max(1, rms(θ)) along a unit direction, of the central
    differences here and of the instrument's forward differences (``warm``; see the
    module's docstring for why it is shorter than the smooth optimum ε^{1/3})."""
    rms = float(np.sqrt(np.mean(np.square(theta)))) if theta.size else 0.0
    return float(10.0 * np.sqrt(EPS) * max(1.0, rms))


def hvp(objective: Objective, v: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
    """H(θ)·v (n_params,) for a float64 vector v (n_params,), two gradients of ``objective``."""
    theta = objective.theta0 if theta is None else theta
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        return np.zeros_like(v)
    u = v / norm
    h = step_size(theta)
    plus = objective.gradient(theta + h * u)
    minus = objective.gradient(theta - h * u)
    return (plus - minus) * (norm / (2.0 * h))


def hessian_operator(objective: Objective) -> LinearOperator:
    """The Hessian at the model's parameters as a symmetric ``LinearOperator``."""
    n = objective.n_params
    return LinearOperator((n, n), matvec=lambda v: hvp(objective, np.ravel(v)),
                          dtype=np.float64)


def _operator(objective: Objective, preconditioner: np.ndarray | None) -> LinearOperator:
    """H, or with a positive diagonal P (n_params,) P^{-1/2}·H·P^{-1/2} (the eigenvalues of
    P⁻¹H), as a symmetric LinearOperator."""
    if preconditioner is None:
        return hessian_operator(objective)
    n = objective.n_params
    scale = 1.0 / np.sqrt(preconditioner)
    return LinearOperator((n, n), matvec=lambda v: scale * hvp(objective, scale * np.ravel(v)),
                          dtype=np.float64)


def extreme_eigenvalues(objective: Objective, k: int = 1, which: str = "LA",
                        preconditioner: np.ndarray | None = None, tol: float = 1e-10,
                        maxiter: int | None = None, v0: np.ndarray | None = None) -> np.ndarray:
    """k extreme eigenvalues (ARPACK's ``which``: "LA" largest, "SA" smallest; unsorted)
    of H, or with a positive diagonal ``preconditioner`` P (n_params,) of
    P^{-1/2}·H·P^{-1/2}, which has the eigenvalues of P⁻¹H."""
    return eigsh(_operator(objective, preconditioner), k=k, which=which, v0=v0, tol=tol,
                 maxiter=maxiter, return_eigenvectors=False)


def hessian_vector_product(model: Module, loss_fn: Loss, X: Any, y: Any, v: Any) -> np.ndarray:
    """H·v, the Hessian of the mean loss at the model's parameters times v.

    v: (n_params,), flat in ``model.parameters()`` order  ->  (n_params,) float64.
    A central difference of the closed-form gradient in float64 (see the module).
    """
    objective = Objective(model, loss_fn, X, y, "hessian_vector_product")
    return hvp(objective, objective.check_vector(v, "v"))


def hessian_eigenvalues(model: Module, loss_fn: Loss, X: Any, y: Any, k: int = 1,
                        which: str = "largest", *, tol: float = 1e-10, maxiter: int | None = None,
                        rng: RngLike = 0) -> np.ndarray:
    """The k algebraically largest (sorted descending) or smallest (sorted ascending)
    eigenvalues of the Hessian of the mean loss, by Lanczos on H·v products.

    k: 1 ≤ k < n_params. which: "largest" or "smallest". tol: ARPACK's relative accuracy
    of the eigenvalues. rng: the seed of Lanczos's starting vector (fixed by default, so
    that the same call gives the same numbers). A negative smallest eigenvalue is a
    direction of negative curvature: the point is a saddle, not a minimum.
    """
    owner = "hessian_eigenvalues"
    if which not in ("largest", "smallest"):
        raise ValueError(f"{owner}: expected which to be 'largest' or 'smallest'. "
                         f"Received: {which!r}.")
    objective = Objective(model, loss_fn, X, y, owner)
    n = objective.n_params
    k = check_int(k, f"{owner}: k", low=1)
    if k >= n:
        raise ValueError(f"{owner}: expected k < n_params = {n} (Lanczos finds a few of many "
                         f"eigenvalues). Received k={k}.")
    tol = check_number(tol, f"{owner}: tol", low=0.0)
    v0 = as_generator(rng, f"{owner}: rng").standard_normal(n)
    try:
        values = extreme_eigenvalues(objective, k, "LA" if which == "largest" else "SA",
                                     tol=tol, maxiter=maxiter, v0=v0)
    except ArpackNoConvergence as error:
        raise RuntimeError(f"{owner}: Lanczos did not converge to {k} eigenvalue(s) within "
                           f"maxiter={maxiter}; raise maxiter or tol.") from error
    values = np.sort(values)
    return values[::-1].copy() if which == "largest" else values


def rademacher(rng: np.random.Generator, n: int) -> np.ndarray:
    """A vector of independent ±1 entries (n,), float64."""
    return rng.integers(0, 2, size=n).astype(np.float64) * 2.0 - 1.0


def hessian_trace(model: Module, loss_fn: Loss, X: Any, y: Any, samples: int = 100,
                  rng: RngLike = None) -> float:
    """tr(H) by Hutchinson's estimator: the mean of zᵀHz over ``samples`` Rademacher
    vectors z (E[zzᵀ] = I, so E[zᵀHz] = tr H; Hutchinson 1990). Its variance is
    2·Σ_{i≠j} H_ij² per sample, so the standard error falls as 1/√samples.

    rng: a ``np.random.Generator`` or an int seed (None: a fresh seed).
    """
    owner = "hessian_trace"
    objective = Objective(model, loss_fn, X, y, owner)
    samples = check_int(samples, f"{owner}: samples", low=1)
    generator = as_generator(rng, f"{owner}: rng")
    total = 0.0
    for _ in range(samples):
        z = rademacher(generator, objective.n_params)
        total += float(z @ hvp(objective, z))
    return total / samples


@dataclass(frozen=True)
class SpectralDensity:
    """The Hessian's eigenvalue density by stochastic Lanczos quadrature.

    nodes, weights: (samples, steps): per random start the Ritz values θ_j of the
    tridiagonal Lanczos matrix and the weights τ_j² (squared first components of its
    eigenvectors; each row sums to 1). The density is the average over samples of
    Σ_j τ_j²·δ(λ − θ_j); :meth:`density` smooths it with a Gaussian of width ``sigma``.
    """

    nodes: np.ndarray
    weights: np.ndarray

    def density(self, grid: Any, sigma: float) -> np.ndarray:
        """φ(λ) on ``grid`` (G,): Σ_j τ_j² 𝒩(λ; θ_j, σ²), averaged over samples (G,);
        it integrates to 1."""
        grid = np.asarray(grid, dtype=np.float64)
        sigma = check_number(sigma, "SpectralDensity.density: sigma", low=0.0)
        if sigma == 0:
            raise ValueError("SpectralDensity.density: expected sigma > 0. Received 0.")
        diff = grid[:, None] - self.nodes.ravel()[None, :]
        kernel = np.exp(-0.5 * (diff / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
        return kernel @ self.weights.ravel() / self.nodes.shape[0]

    def moment(self, power: int) -> float:
        """E[λ^power] under the density; power 1 gives tr(H)/n_params."""
        return float(np.sum(self.weights * self.nodes ** power) / self.nodes.shape[0])


def lanczos_basis(matvec: Any, v0: np.ndarray, steps: int, passes: int = 2,
                  work: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``steps`` Lanczos iterations from v0, one product each.

    matvec(q, out): writes H·q (n,) into ``out`` (n,) and returns it; each product goes
    straight into the next row of the basis and is updated there.
    Returns (basis (m, n), alpha (m,), beta (m−1,)): the Lanczos vectors and the
    tridiagonal matrix's diagonal and off-diagonal; m ≤ steps is smaller when an
    invariant subspace is found. passes: full reorthogonalisation, the classical
    Gram-Schmidt passes against all earlier vectors per step (two keep them orthogonal to
    round-off over many steps); 0: the three-term recurrence alone,
    w ← H·q_j − α_j·q_j − β_{j−1}·q_{j−1}, in place, which reads two vectors instead of
    j + 1 and is enough for the few steps of a warm-started estimate (orthogonality is
    lost only as Ritz values converge; Paige 1976). work: a float64 array of at least
    (steps + 1, n) to hold the basis (new when None; v0 may be its row 0); the returned
    basis is a view into it.
    """
    n = v0.size
    if work is not None and (work.dtype != np.float64 or work.ndim != 2
                             or work.shape[0] < steps + 1 or work.shape[1] != n):
        raise ValueError(f"lanczos_basis: expected work to be a float64 array of at least "
                         f"({steps + 1}, {n}). Received shape {work.shape}, dtype {work.dtype}.")
    basis = np.empty((steps + 1, n)) if work is None else work[: steps + 1]
    alpha: list[float] = []
    beta: list[float] = []
    np.divide(v0, np.linalg.norm(v0), out=basis[0])
    for j in range(steps):
        q = basis[j]
        w = matvec(q, basis[j + 1])
        a = float(q @ w)
        alpha.append(a)
        if j == steps - 1:
            break
        if passes == 0:  # w −= [q_{j−1} q_j]·[β_{j−1} α_j]ᵀ, in place (BLAS, one pass)
            w = _gemv(-1.0, basis[max(j - 1, 0): j + 1].T, [beta[-1], a] if j else [a],
                      beta=1.0, y=w, overwrite_y=True)
        for _ in range(passes):  # full reorthogonalisation
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        b = float(np.sqrt(w @ w))
        if b <= 1e-12 * max(1.0, abs(a)):
            break
        beta.append(b)
        np.divide(w, b, out=basis[j + 1])
    return basis[: len(alpha)], np.array(alpha), np.array(beta)


def lanczos(matvec: Any, v0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, beta) of :func:`lanczos_basis`."""
    _, alpha, beta = lanczos_basis(matvec, v0, steps)
    return alpha, beta


def hessian_spectral_density(model: Module, loss_fn: Loss, X: Any, y: Any, steps: int = 30,
                             samples: int = 4, rng: RngLike = None) -> SpectralDensity:
    """The Hessian's eigenvalue density by stochastic Lanczos quadrature: ``samples``
    Lanczos runs of ``steps`` iterations from Rademacher starts; the Ritz values with
    their Gauss-quadrature weights (Ghorbani, Krishnan & Xiao 2019, "An Investigation
    into Neural Net Optimization via Hessian Eigenvalue Density")."""
    owner = "hessian_spectral_density"
    objective = Objective(model, loss_fn, X, y, owner)
    steps = check_int(steps, f"{owner}: steps", low=1)
    samples = check_int(samples, f"{owner}: samples", low=1)
    steps = min(steps, objective.n_params)
    generator = as_generator(rng, f"{owner}: rng")
    nodes = np.zeros((samples, steps))
    weights = np.zeros((samples, steps))

    def product(v: np.ndarray, out: np.ndarray) -> np.ndarray:
        out[:] = hvp(objective, v)
        return out

    for s in range(samples):
        alpha, beta = lanczos(product,
                              rademacher(generator, objective.n_params), steps)
        tri = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
        ritz, vectors = np.linalg.eigh(tri)
        m = ritz.size
        nodes[s, :m] = ritz
        weights[s, :m] = vectors[0] ** 2
    return SpectralDensity(nodes, weights)
