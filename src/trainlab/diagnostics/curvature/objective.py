"""The mean loss of a model as a function of one flat float64 parameter vector.

Every curvature measurement works on a float64 *copy* of the model (a float32 model is
evaluated in float64; the caller's model, its gradients and its running statistics are
never touched). The copy keeps the model's mode: BatchNorm in training mode normalises
with the batch's statistics, in evaluation mode with the running ones. Dropout and
DropConnect in training mode draw a fresh random mask on every forward, so the loss is
not a function of the parameters; that is an error (call ``model.eval()`` first).

The flat vector lists ``model.parameters()`` in order, each array flattened in C order.
The copy's parameters and gradients are views into two flat float64 arrays, so that
writing θ, zeroing the gradient and reading ∇L(θ) are one array operation each.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from trainlab.backend import BackendLike
from trainlab.nn.dropout import DropConnect, Dropout
from trainlab.nn.losses import Loss
from trainlab.nn.module import Module, Sequential
from trainlab.nn.normalization import BatchNorm


def check_model_and_loss(owner: str, model: Any, loss_fn: Any) -> None:
    """A TypeError naming ``owner`` unless ``model`` is a trainlab Module and ``loss_fn``
    a trainlab Loss (the diagnostics run their closed-form backward passes)."""
    if not isinstance(model, Module):
        raise TypeError(f"{owner}: expected model to be a trainlab.nn.Module. "
                        f"Received: {type(model).__name__}.")
    if not isinstance(loss_fn, Loss):
        raise TypeError(f"{owner}: expected loss_fn to be a trainlab.nn.Loss (e.g. "
                        f"CrossEntropyLoss()). Received: {type(loss_fn).__name__}.")


def check_curvature_inputs(owner: str, model: Any, loss_fn: Any) -> None:
    """Raise a clear error unless ``model`` is a Module whose loss is a deterministic
    function of its parameters, and ``loss_fn`` a trainlab Loss."""
    check_model_and_loss(owner, model, loss_fn)
    _check_deterministic(owner, model)


def _check_deterministic(owner: str, model: Module) -> None:
    for name, module in model.named_modules():
        if isinstance(module, (Dropout, DropConnect)) and module.training:
            raise ValueError(
                f"{owner}: expected a model whose loss is a function of its parameters; "
                f"{type(module).__name__} '{name or type(model).__name__}' is in training "
                "mode and draws a new random mask on every forward. Received a model in "
                "training mode: call model.eval() first (BatchNorm then uses its running "
                "statistics), or evaluate a copy with only the dropout layers in eval mode."
            )
    if not model.parameters():
        raise ValueError(f"{owner}: expected a model with parameters. Received "
                         f"{type(model).__name__} with none.")


class Objective:
    """L(θ) = loss_fn(model_θ(X), y), the mean over the rows of X, in float64.

    X: (N, D) inputs; y: the targets loss_fn takes. ``theta0`` (n_params,) holds the
    model's parameters. ``loss(θ)`` runs one forward pass; ``gradient(θ)`` one forward
    and one closed-form backward pass and returns ∇L(θ) (n_params,).
    dropout_eval: put the copy's Dropout and DropConnect layers in evaluation mode (the
    other layers keep their mode) instead of refusing them in training mode.
    backend: the compute backend of the copy (``trainlab.backend``; None: the model's).
    """

    def __init__(self, model: Module, loss_fn: Loss, X: Any, y: Any, owner: str, *,
                 dropout_eval: bool = False, backend: BackendLike = None) -> None:
        check_model_and_loss(owner, model, loss_fn)
        if not dropout_eval:
            _check_deterministic(owner, model)
        X = np.asarray(X)
        if X.dtype.kind not in "biuf" or X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"{owner}: expected X to be a non-empty (N, D) array of real "
                             f"numbers. Received shape {X.shape}, dtype {X.dtype}.")
        y = np.asarray(y)
        if len(y) != X.shape[0]:
            raise ValueError(f"{owner}: expected one target per row of X ({X.shape[0]}). "
                             f"Received {len(y)} targets.")
        self.owner = owner
        self.dropout_eval = dropout_eval
        self.model = copy.deepcopy(model).astype(np.float64)
        if backend is not None:
            self.model.use_backend(backend)
        self._modes()
        self.loss_fn = copy.deepcopy(loss_fn)
        self.X = X.astype(np.float64)
        self.y = y.astype(np.float64) if y.dtype.kind == "f" else y
        self.params = self.model.parameters()
        self.sizes = [p.size for p in self.params]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.n_params = int(self.offsets[-1])
        self._theta = np.empty(self.n_params)  # the copy's p.data are views into these two
        self._grad = np.zeros(self.n_params)
        for p, start, stop in zip(self.params, self.offsets[:-1], self.offsets[1:], strict=True):
            self._theta[start:stop] = p.data.ravel()
            p.data = self._theta[start:stop].reshape(p.shape)
            p.grad = self._grad[start:stop].reshape(p.shape)
        self.theta0 = self.flat_data()

    def _modes(self) -> None:
        if self.dropout_eval:
            for module in self.model.modules():
                if isinstance(module, (Dropout, DropConnect)):
                    object.__setattr__(module, "training", False)

    def reload(self, model: Module) -> bool:
        """Copy ``model``'s parameters (as float64), buffers and modes into this copy again,
        as a new Objective of ``model`` would hold them, and return True: cheaper than a
        new copy when the same model is measured again (as during training). False, with
        nothing changed, when its layers, parameter shapes or buffers no longer match.
        Other layer settings (a Dropout's p, an activation's slope) are those of the
        first copy."""
        theirs, mine = model.modules(), self.model.modules()
        params = model.parameters()
        buffers, targets = model.named_buffers(), self.model.named_buffers()
        if (len(theirs) != len(mine) or len(params) != len(self.params)
                or len(buffers) != len(targets)
                or any(type(a) is not type(b) for a, b in zip(theirs, mine, strict=True))
                or any(p.shape != q.shape for p, q in zip(params, self.params, strict=True))
                or any(a[0] != b[0] or np.shape(a[1]) != np.shape(b[1])
                       for a, b in zip(buffers, targets, strict=True))):
            return False
        if not self.dropout_eval:
            _check_deterministic(self.owner, model)
        for p, start, stop in zip(params, self.offsets[:-1], self.offsets[1:], strict=True):
            self._theta[start:stop] = p.data.ravel()
        np.copyto(self.theta0, self._theta)
        for (_, value), (_, target) in zip(buffers, targets, strict=True):
            np.copyto(target, value, casting="unsafe")
        for a, b in zip(theirs, mine, strict=True):
            object.__setattr__(b, "training", a.training)
        self._modes()
        return True

    # -- the flat vector ------------------------------------------------------------
    def flat_data(self) -> np.ndarray:
        """The copy's parameters as one float64 vector (n_params,)."""
        return self._theta.copy()

    def flat_grad(self) -> np.ndarray:
        self._settle()
        return self._grad.copy()

    def zero_grad(self) -> None:
        """Set every gradient of the copy to zero (marked: see ``nn.Parameter``; a Linear
        layer then writes its gradient instead of adding it to a filled array)."""
        for p in self.params:
            p.zero_grad()

    def _settle(self) -> None:
        """Write the zeros of the gradients still marked zero (parameters that a backward
        pass did not reach) into the flat array, which is read directly."""
        for p in self.params:
            p.grad  # noqa: B018 (reading a marked gradient writes its zeros)

    def set(self, theta: np.ndarray) -> None:
        """Write the flat vector θ into the copy's parameters."""
        np.copyto(self._theta, theta)

    def check_vector(self, v: Any, name: str) -> np.ndarray:
        """``v`` as a finite float64 vector (n_params,), or a clear error."""
        v = np.asarray(v)
        if v.dtype.kind not in "biuf" or v.shape != (self.n_params,):
            raise ValueError(f"{self.owner}: expected {name} to be a real vector of shape "
                             f"({self.n_params},), one entry per parameter in "
                             f"model.parameters() order. Received shape {v.shape}, "
                             f"dtype {v.dtype}.")
        v = v.astype(np.float64)
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{self.owner}: {name} holds NaN or infinite values.")
        return v

    # -- evaluation ----------------------------------------------------------------------
    def loss(self, theta: np.ndarray | None = None, rows: slice | None = None) -> float:
        """L(θ) on the rows ``rows`` of X (all when None); θ None: the model's own."""
        self.set(self.theta0 if theta is None else theta)
        X, y = (self.X, self.y) if rows is None else (self.X[rows], self.y[rows])
        with np.errstate(over="ignore", invalid="ignore"):
            return float(self.loss_fn(self.model.forward(X), y))

    def gradient(self, theta: np.ndarray | None = None, rows: slice | None = None) -> np.ndarray:
        """∇L(θ) (n_params,) on the rows ``rows`` of X (all when None), by the layers'
        closed-form backward passes."""
        self.set(self.theta0 if theta is None else theta)
        self._backprop(rows)
        return self.flat_grad()

    def gradient_along(self, v: np.ndarray, t: float, minus: np.ndarray,
                       out: np.ndarray | None = None) -> np.ndarray:
        """∇L(θ₀ + t·v) − ``minus`` (n_params,) on all rows, for v and minus (n_params,);
        θ₀ + t·v is written straight into the copy's parameters, and the difference is
        taken as the gradient is read out. out: a float64 array (n_params,) to write the
        result into (a new one when None)."""
        np.multiply(v, t, out=self._theta)
        self._theta += self.theta0
        self._backprop(None)
        self._settle()
        return np.subtract(self._grad, minus, out=out)

    def _backprop(self, rows: slice | None) -> None:
        """One forward and closed-form backward pass at the copy's current parameters,
        leaving ∇L in the parameters' gradients (views into the flat gradient array; read
        it after :meth:`_settle`)."""
        X, y = (self.X, self.y) if rows is None else (self.X[rows], self.y[rows])
        self.zero_grad()
        self.loss_fn(self.model.forward(X), y)
        dy = self.loss_fn.backward()
        if isinstance(self.model, Sequential):
            self.model.backward(dy, input_grad=False)
        else:
            self.model.backward(dy)

    def batch_statistics(self) -> bool:
        """Whether a BatchNorm of the copy normalises with the batch's statistics, which
        couples the examples of a batch (no per-example gradient exists then)."""
        return any(isinstance(m, BatchNorm) and (m.training or not m.track_running_stats)
                   for m in self.model.modules())

    # -- directions -------------------------------------------------------------------------
    def split(self, v: np.ndarray) -> list[np.ndarray]:
        """The flat vector v as views shaped like the parameters."""
        return [v[start:stop].reshape(p.shape)
                for p, start, stop in zip(self.params, self.offsets[:-1], self.offsets[1:],
                                          strict=True)]
