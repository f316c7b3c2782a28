"""Cheap curvature estimates for monitoring during training (:class:`CurvatureMonitor`).

**Products from the base gradient.** The instrument computes g₀ = ∇L(θ) once per
measurement anyway (it is G of the gradient noise scale), so its Hessian-vector products
are *forward* differences from it, one gradient each instead of the central difference's
two:

    H·v ≈ ‖v‖·(∇L(θ + h·u) − g₀) / h,   u = v/‖v‖,   h = 10·√ε·max(1, rms(θ)) ≈ 1.5·10⁻⁷.

The truncation error is (h/2)·∇³L[u,u,·]; the rounding error is δg/h, where δg, the
rounding error of a computed gradient, is a few hundred ε of the terms it sums (the
examples and the layer widths). The step balances the two, near √(100·ε); on the digits
MLP (50.8k parameters, 64 rows) the products were within 10⁻⁷ to 5·10⁻⁷ of PyTorch's
exact ones: far below what a few warm Lanczos steps leave (a Ritz value's error is of
the order of the squared angle between the start and the eigenvector). The
public :func:`~trainlab.diagnostics.curvature.hessian_vector_product` keeps the central
difference, exact to 10⁻¹⁰ and more (see :mod:`~trainlab.diagnostics.curvature.hessian`).
A small step has a second benefit at a ReLU-like kink: the difference is wrong only when
a pre-activation lies within the step's reach of 0, and the chance of that is
proportional to h.

**Warm Ritz pairs.** A handful of Lanczos iterations (one product each) from the previous
measurement's eigenvectors, which move little between measurements; the Ritz values at
both ends of the tridiagonal matrix bound λ_max from below and λ_min from above and
tighten with each step. One run gives both ends: its start is the sum of the previous
top and bottom eigenvectors, and a Krylov space that contains both directions converges
at both ends at once (Golub & Van Loan, *Matrix Computations*, §10.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trainlab.diagnostics.curvature.hessian import lanczos_basis
from trainlab.diagnostics.curvature.objective import Objective

Matvec = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""A product ``matvec(q, out)``: writes H·q (n,) into ``out`` (n,) and returns it."""

def forward_hvp(objective: Objective, v: np.ndarray, base: np.ndarray, h: float,
                norm: float | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """H(θ₀)·v ≈ ‖v‖·(∇L(θ₀ + h·v/‖v‖) − base)/h (n_params,), one gradient of ``objective``;
    ``base`` is ∇L(θ₀) (n_params,) and h the step of
    :func:`~trainlab.diagnostics.curvature.hessian.step_size`. norm: ‖v‖
    when the caller knows it (1 for a Lanczos vector), else it is computed. out: a float64
    array (n_params,) to write the product into (a new one when None)."""
    norm = float(np.linalg.norm(v)) if norm is None else norm
    if norm == 0.0:
        if out is None:
            return np.zeros_like(v)
        out.fill(0.0)
        return out
    change = objective.gradient_along(v, h / norm, minus=base, out=out)
    change *= norm / h
    return change


@dataclass(frozen=True)
class Krylov:
    """A short Lanczos run: basis (m, n) of orthonormal vectors q_j, the tridiagonal
    matrix's diagonal alpha (m,) (α_j = q_jᵀ·H·q_j) and off-diagonal beta (m−1,)."""

    basis: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray

    def extremes(self, out: np.ndarray | None = None) -> tuple[float, np.ndarray, float,
                                                               np.ndarray]:
        """The Ritz pairs at both ends: (λ_min estimate, its unit vector, λ_max estimate,
        its unit vector); an upper bound of λ_min and a lower bound of λ_max up to the
        products' errors, tightening with each step. out: a float64 array (2, n) that
        receives the λ_max vector in row 0 and the λ_min vector in row 1 (new when None)."""
        tri = np.diag(self.alpha) + np.diag(self.beta, 1) + np.diag(self.beta, -1)
        ritz, vectors = np.linalg.eigh(tri)
        pair = vectors[:, [-1, 0]].T @ self.basis if out is None else np.matmul(
            vectors[:, [-1, 0]].T, self.basis, out=out)  # one pass over the basis
        top, low = pair
        top /= np.linalg.norm(top)
        low /= np.linalg.norm(low)
        return float(ritz[0]), low, float(ritz[-1]), top

    def deflated_trace(self, matvec: Matvec, z: np.ndarray) -> float:
        """An unbiased estimate of tr(H) from one product: with Q the basis,

            tr(H) = tr(QᵀHQ) + tr((I − QQᵀ)·H·(I − QQᵀ)) ≈ Σ_j α_j + z'ᵀ·H·z',
            z' = (I − QQᵀ)·z,

        for a Rademacher z (n,) drawn independently of Q. The first term is exact and free
        (the run's α_j); Hutchinson's estimator sees only the rest of the spectrum, whose
        variance 2·‖(I − QQᵀ)H(I − QQᵀ)‖_F² lacks the outlying eigenvalues that the run
        found (Meyer, Musco, Musco & Woodruff 2021, "Hutch++: Optimal Stochastic Trace
        Estimation"). On the digits MLP it cut the standard deviation per sample by about
        2.4×. ``z`` is overwritten by z'."""
        z -= self.basis.T @ (self.basis @ z)
        return float(np.sum(self.alpha)) + float(z @ matvec(z, np.empty_like(z)))


def lanczos_run(matvec: Matvec, v0: np.ndarray, steps: int,
                work: np.ndarray | None = None) -> Krylov:
    """``steps`` Lanczos iterations from v0 (n,) with the three-term recurrence
    (:func:`~trainlab.diagnostics.curvature.hessian.lanczos_basis` with ``passes=0``),
    one product each, written into the basis rows of ``work`` (at least (steps + 1, n),
    float64; new when None): a step allocates nothing."""
    return Krylov(*lanczos_basis(matvec, v0, min(steps, v0.size), passes=0, work=work))


def joint_start(top: np.ndarray, bottom: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The start of one Lanczos run for both ends: the sum of the two previous unit
    eigenvectors (orthogonal as Ritz vectors of one run; a random pair is nearly so),
    written into ``out`` (n,) when given."""
    out = np.divide(top, np.linalg.norm(top), out=out)
    out += bottom / np.linalg.norm(bottom)
    return out
