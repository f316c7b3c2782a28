"""``Backend``: the compute backend as an object, and ``NumpyBackend``, the reference.

A backend offers fused kernels: one pass over memory where the NumPy code makes one per
operation (the Adam and SGD updates; BatchNorm's forward and backward; ReLU; Dropout).
Every kernel may **decline** (return None, or False for the in-place updates), and then
the caller runs its own NumPy code, which is the reference. A backend that does run a
kernel gives that code's numbers (bit for bit, when the arithmetic is done in the same
order, as it is for :class:`~trainlab.backend.compiled.NumbaBackend`).

A layer reaches its backend as ``module.backend`` and an optimizer as
``optimizer.backend``; ``use_backend(spec)`` changes it (``trainlab.backend.get``).

:class:`Backend` declines everything. :class:`NumpyBackend` ("numpy") is that: the
reference, which never compiles anything.

The matrix products go through a GEMM provider (``backend.gemm``): :class:`Backend`
declines ``linear_forward`` and ``linear_backward``, and ``Linear`` runs its own
``np.matmul`` code; a backend with another provider runs them (``NumbaBackend``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trainlab.registry import Registry

BACKENDS: Registry[type[Backend]] = Registry("backend")
"""Backend classes by name ("numpy", "numba"); ``trainlab.backend.get`` resolves them."""


@dataclass(frozen=True, eq=False)
class AdamScalars:
    r"""The scalars of one Adam (AdamW) step at step ``t``, the same for every parameter.

    ``step_size`` is γ/(1 − β₁ᵗ) and ``bias_correction2_sqrt`` √(1 − β₂ᵗ). Weight decay
    is either coupled (``weight_decay`` λ: g ← g + λ·W) or decoupled (``shrink`` = 1 − γλ:
    W ← W·shrink before the update); 0 and 1 mean none.
    """

    beta1: float
    beta2: float
    eps: float
    step_size: float
    bias_correction2_sqrt: float
    weight_decay: float = 0.0
    shrink: float = 1.0
    cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)
    """Where a backend keeps these scalars in its own form (e.g. cast to each dtype)."""


@dataclass(frozen=True, eq=False)
class SGDScalars:
    """The scalars of one SGD step, the same for every parameter: learning rate γ,
    momentum μ, dampening τ, Nesterov or not, coupled weight decay λ."""

    lr: float
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)
    """Where a backend keeps these scalars in its own form (e.g. cast to each dtype)."""


class Backend(ABC):
    """Base class of compute backends: every kernel declines (the NumPy code runs).

    A subclass sets ``name`` and overrides the kernels it runs. Arrays are those of the
    reference code; a kernel returns its results as new arrays (the layers' kernels) or
    updates its arguments in place (the optimizers'), and declines arrays it does not
    take (not C-contiguous, another dtype, too small to gain). Backends hold no state
    that changes: copies of a module or optimizer share their backend.
    """

    @property
    @abstractmethod
    def name(self) -> str:
        """The backend's name in :data:`BACKENDS`."""

    # -- matrix products (the GEMM provider) ------------------------------------------------
    @property
    def gemm(self) -> str:
        """The name of the GEMM provider that runs this backend's matrix products
        (``backend.gemm.GEMMS``); "numpy" here."""
        return "numpy"

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``a @ b`` (into ``out`` when given), as ``np.matmul``."""
        return np.matmul(a, b, out=out)

    def linear_forward(
        self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None
    ) -> np.ndarray | None:
        """``nn.linear.linear_forward``: x @ W + b (N, D_out) as a new array, or None."""
        return None

    def linear_backward(
        self,
        dy: np.ndarray,
        x: np.ndarray,
        W: np.ndarray,
        dW: np.ndarray,
        db: np.ndarray | None,
        input_grad: bool,
        write_dW: bool = False,
        write_db: bool = False,
    ) -> tuple[np.ndarray | None] | None:
        """``nn.linear.linear_backward`` accumulating into the gradients: dW += xᵀ·dy,
        db += Σₙ dy (when db is given), in place (written instead, dW ← xᵀ·dy or
        db ← Σₙ dy, where ``write_dW`` or ``write_db``: a gradient marked zero); returns
        (dx = dy·Wᵀ or None when not ``input_grad``,), or None when declined (nothing
        changed)."""
        return None

    # -- layers ----------------------------------------------------------------------------
    def takes(self, *arrays: np.ndarray, elementwise: bool = True) -> bool:
        """Whether the layer kernels run on these arrays (``elementwise``: ReLU, Dropout;
        else BatchNorm). The base class takes none."""
        return False

    def relu_forward(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``activations.relu_forward``: (max(z, 0), the bool mask z > 0), or None."""
        return None

    def masked_scale(self, dy: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray | None:
        """(dy ⊙ mask)·scale in dy's dtype (ReLU's backward with scale 1, Dropout's with
        1/(1−p)), or None."""
        return None

    def dropout_forward(
        self, x: np.ndarray, u: np.ndarray, p: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """From the uniform draws u (float64, x's shape): (x ⊙ mask/(1−p), mask = u >= p),
        as ``dropout.keep_mask`` and ``dropout.dropout_forward``. Only for an x that
        :meth:`takes`."""
        raise ValueError(
            f"{type(self).__name__}.dropout_forward: expected x that takes(x) accepts. "
            f"Received x {x.dtype} {x.shape}, which this backend does not take."
        )

    def batchnorm_forward(
        self, x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, eps: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Training-mode batch norm of x (N, D): (y, x̂ (N, D), inv_std, μ, σ² (D,)), as
        ``normalization.standardize(x, 0, eps)`` and ``scale_shift``; or None."""
        return None

    def batchnorm_backward(
        self, dy: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, gamma: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``normalization.batchnorm_backward`` (inv_std (D,)): (dx, dγ, dβ), or None."""
        return None

    # -- optimizers (in place) ----------------------------------------------------------------
    def adam_update(
        self,
        param: np.ndarray,
        grad: np.ndarray,
        exp_avg: np.ndarray,
        exp_avg_sq: np.ndarray,
        max_exp_avg_sq: np.ndarray | None,
        scalars: AdamScalars,
        cache: dict[str, Any] | None = None,
    ) -> bool:
        """One Adam step of ``optim.Adam`` on these arrays, in place (``max_exp_avg_sq``:
        AMSGrad's running maximum, or None); False when declined (nothing changed).

        cache: a dict that the caller keeps for this parameter from step to step, where
        the backend may keep what it prepared for these arrays (and recognise them by
        identity at the next step); it must not survive a copy of the arrays.
        """
        return False

    def sgd_update(
        self,
        param: np.ndarray,
        grad: np.ndarray,
        momentum_buffer: np.ndarray | None,
        scalars: SGDScalars,
        first: bool,
        cache: dict[str, Any] | None = None,
    ) -> bool:
        """One SGD step of ``optim.SGD`` on these arrays, in place (``momentum_buffer``
        None without momentum; ``first``: the buffer is to start as the gradient); False
        when declined (nothing changed). ``cache``: as in :meth:`adam_update`."""
        return False

    # -- identity -----------------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        return dict(vars(self))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._settings() == self._settings()

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self._settings().items()))))

    def __copy__(self) -> Backend:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Backend:
        return self

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"{type(self).__name__}({settings})"


@BACKENDS.register("numpy")
class NumpyBackend(Backend):
    """The reference: every layer and optimizer runs its own NumPy code; nothing compiles."""

    name = "numpy"
