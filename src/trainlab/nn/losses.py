"""Loss functions with fused, numerically stable closed-form gradients (notes §1, output layer ψ).

A loss is called ``loss_fn(pred, target) -> float`` (the mean over the batch, PyTorch's
``reduction="mean"``) and then ``loss_fn.backward() -> dpred``, the gradient of that
mean with respect to ``pred`` (same shape and dtype as ``pred``).

Options, as PyTorch's: ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"`` (the call
returns the per-example losses ``l`` (batch,), and ``backward(grad)`` takes the gradient
with respect to them, ones by default); ``CrossEntropyLoss(weight, ignore_index,
label_smoothing)`` and ``BCEWithLogitsLoss(weight, pos_weight)`` weigh the examples.
Every loss is ``Σ l_i / Σ d_i`` under ``"mean"``, where ``d_i`` is 1, or the class
weight ``w_{y_i}`` (CrossEntropyLoss with ``weight``), or 0 for an ignored row; with
``loss_fn(pred, target, sample_weight=s)`` it is ``Σ s_i·l_i / Σ s_i·d_i`` (``"sum"``:
``Σ s_i·l_i``). The default options take the fused kernels below, unchanged.

As in PyTorch, the values are not checked: NaN or infinity in ``pred`` or ``target``
gives a ``nan`` (or infinite) loss. Inside ``trainlab.detect_anomaly()`` a loss whose
value or gradient is not finite raises :class:`~trainlab.NonFiniteError` instead.

The output nonlinearity is fused into the loss, as in PyTorch: ``BCEWithLogitsLoss``
takes logits (sigmoid + binary cross-entropy) and ``CrossEntropyLoss`` takes logits
(softmax + negative log-likelihood). The fused forms stay finite for logits of ±1000,
and their gradients are the famous ``σ(z) − t`` and ``softmax(z) − onehot``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trainlab._checks import all_finite, check_int, check_number
from trainlab.nn import anomaly
from trainlab.registry import Registry

# -- kernels ---------------------------------------------------------------------------


def mse_forward(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error ``L = (1/M)·Σ(pred − target)²`` over all M elements.

    pred, target: same shape  ->  L, diff = pred − target (cached for the backward).
    """
    diff = pred - target
    return float(np.einsum("i,i->", diff.ravel(), diff.ravel()) / diff.size), diff


def mse_backward(diff: np.ndarray) -> np.ndarray:
    """dL/dpred = 2·(pred − target)/M."""
    return diff * (2.0 / diff.size)


def bce_with_logits_forward(z: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy on logits, ``L = mean(−t·log σ(z) − (1−t)·log(1 − σ(z)))``.

    z, t: (N,)  ->  L and e = exp(−|z|) (cached for the backward).
    Stable form: ``max(z, 0) − z·t + log1p(exp(−|z|))``: exp never sees a positive argument.
    """
    e = np.exp(-np.abs(z))
    losses = np.maximum(z, 0)
    losses -= z * t
    losses += np.log1p(e)
    return float(losses.mean()), e


def bce_with_logits_backward(z: np.ndarray, t: np.ndarray, e: np.ndarray) -> np.ndarray:
    """dL/dz = (σ(z) − t)/N, with σ(z) = 1/(1 + e) for z ≥ 0 and e/(1 + e) below, e = exp(−|z|)."""
    sigmoid = np.where(z >= 0, 1, e)
    sigmoid /= 1 + e
    sigmoid -= t
    sigmoid /= z.shape[0]
    return sigmoid


def cross_entropy_forward(
    z: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Softmax cross-entropy on logits, ``L = mean(log Σ_c exp(z_c) − z_label)``.

    z: (N, C) logits, labels: (N,) integers in [0, C)  ->  L, exp(z − max) (N, C),
    Σ_c exp(z − max) (N, 1), both cached for the backward. Subtracting the row maximum
    (the log-sum-exp shift) keeps every exponent ≤ 0.
    """
    shifted = z - z.max(axis=1, keepdims=True)
    rows = np.arange(z.shape[0])
    picked = shifted[rows, labels]
    np.exp(shifted, out=shifted)
    sum_exp = shifted.sum(axis=1, keepdims=True)
    losses = np.log(sum_exp).ravel()
    losses -= picked
    return float(losses.mean()), shifted, sum_exp


def cross_entropy_backward(
    exp_z: np.ndarray, sum_exp: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """dL/dz = (softmax(z) − onehot(label))/N, softmax(z) = exp(z − max)/Σ exp(z − max)."""
    n = exp_z.shape[0]
    grad = exp_z / (sum_exp * n)
    grad[np.arange(n), labels] -= 1.0 / n
    return grad


# -- validation --------------------------------------------------------------------------


def _as_array(value: Any, owner: str, name: str) -> np.ndarray:
    try:
        return np.asarray(value)
    except Exception as exc:  # ragged lists and other non-arrays
        raise TypeError(
            f"{owner}: expected {name} as an array. Received: {type(value).__name__}."
        ) from exc


def _check_pred(pred: Any, owner: str, ranks: tuple[int, ...], expected: str) -> np.ndarray:
    pred = _as_array(pred, owner, "pred")
    if pred.dtype.kind != "f":
        raise TypeError(
            f"{owner}: expected pred of a floating-point dtype (float32 or float64). "
            f"Received dtype {pred.dtype}."
        )
    if pred.dtype.itemsize not in (4, 8):  # float16, longdouble
        pred = pred.astype(np.float32 if pred.dtype.itemsize < 4 else np.float64)
    if pred.ndim not in ranks:
        raise ValueError(
            f"{owner}: expected pred of shape {expected}. Received shape {pred.shape}."
        )
    if pred.shape[0] == 0:
        raise ValueError(f"{owner}: expected a non-empty batch. Received shape {pred.shape}.")
    return pred


def _check_real_target(target: Any, owner: str, dtype: np.dtype) -> np.ndarray:
    """A numeric (float, int or bool) target, cast to ``dtype``."""
    target = _as_array(target, owner, "target")
    if target.dtype.kind not in "fiub":
        raise TypeError(f"{owner}: expected a numeric target. Received dtype {target.dtype}.")
    return target.astype(dtype, copy=False)


# -- losses ----------------------------------------------------------------------------


REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: Any, owner: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{owner}: reduction must be one of {list(REDUCTIONS)}. "
                         f"Received: {reduction!r}.")
    return str(reduction)


def _optional_array(value: Any, owner: str, name: str) -> np.ndarray | None:
    """A weight array (float64, finite, >= 0), or None."""
    if value is None:
        return None
    array = np.array(_as_array(value, owner, name), dtype=np.float64)
    if array.dtype.kind not in "fiub" or not all_finite(array) or (array < 0).any():
        raise ValueError(f"{owner}: {name} must hold finite numbers >= 0. Received: {value!r:.80}.")
    return array


def check_sample_weight(sample_weight: Any, n: int, owner: str) -> np.ndarray:
    """Per-example weights: (n,) finite numbers >= 0, not all zero."""
    w = _as_array(sample_weight, owner, "sample_weight")
    if w.dtype.kind not in "fiub" or w.shape != (n,):
        raise ValueError(f"{owner}: expected sample_weight of shape ({n},), numbers >= 0. "
                         f"Received dtype {w.dtype}, shape {w.shape}.")
    w = w.astype(np.float64)
    if not all_finite(w) or (w < 0).any() or not w.any():
        raise ValueError(f"{owner}: sample_weight must be finite, >= 0 and not all zero.")
    return w


class Loss:
    """Base class: ``loss_fn(pred, target) -> float``, then ``loss_fn.backward() -> dpred``.

    ``forward`` is the same as calling; ``last_value`` holds the latest loss (None before).
    A subclass writes ``_forward``/``_backward`` (the fused kernels of the default
    options) and ``_terms(pred, target) -> (l, d)`` with ``_terms_backward(g) -> dpred``
    (the per-example losses, the mean's denominators, and the gradient of ``Σ g_i·l_i``),
    which every other option goes through.
    """

    task: str | None = None
    """The task the loss implies (``"classification"`` or ``"regression"``)."""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = _check_reduction(reduction, type(self).__name__)
        self.last_value: Any = None
        self._ready = False
        self._scale: np.ndarray | None = None  # g of the general path, None for the kernels
        self._dtype: np.dtype = np.dtype(np.float64)  # pred's, set by _terms

    def __call__(self, pred: Any, target: Any, sample_weight: Any = None) -> Any:
        if sample_weight is None:  # (a subclass's forward may take two arguments)
            return self.forward(pred, target)
        return self.forward(pred, target, sample_weight)

    def _plain(self) -> bool:
        """Whether the default options apply (the fused kernels)."""
        return self.reduction == "mean"

    def forward(self, pred: Any, target: Any, sample_weight: Any = None) -> Any:
        self._ready = False  # a call that raises leaves nothing for backward
        owner = type(self).__name__
        if sample_weight is not None and self.reduction == "none":
            raise ValueError(f"{owner}: sample_weight needs reduction 'mean' or 'sum' (with "
                             "'none', weigh the returned losses yourself).")
        value: Any
        if sample_weight is None and self._plain():
            value = self._forward(pred, target)
            self._scale = None
            if not self._plain_after():
                value = None
        else:
            value = None
        if value is None:
            losses, denominators = self._terms(pred, target)
            if sample_weight is not None:
                s = check_sample_weight(sample_weight, losses.shape[0], owner)
                losses, denominators = losses * s, denominators * s
            else:
                s = None
            if self.reduction == "none":
                value, self._scale = losses.astype(self._dtype, copy=False), None
            elif self.reduction == "sum":
                value = float(losses.sum())
                self._scale = np.ones_like(losses) if s is None else s
            else:
                total = denominators.sum()
                with np.errstate(divide="ignore", invalid="ignore"):
                    value = float(losses.sum() / total)
                    base = np.ones_like(losses) if s is None else s
                    self._scale = base / total
        if anomaly.enabled():
            anomaly.check_loss(value, owner, pred, target)
        self.last_value = value
        self._ready = True
        return value

    def _plain_after(self) -> bool:
        """After the fused kernel ran: whether its result stands (CrossEntropyLoss: no row
        holds ``ignore_index``)."""
        return True

    def backward(self, grad: Any = None) -> np.ndarray:
        """Gradient of the last loss with respect to ``pred``; with ``reduction="none"``,
        of ``Σ grad_i·l_i`` (``grad``: (batch,), default ones)."""
        owner = type(self).__name__
        if not self._ready:
            raise RuntimeError(
                f"{owner}.backward was called before the loss: "
                "call loss_fn(pred, target) first, then loss_fn.backward()."
            )
        if self.reduction == "none":
            n = self.last_value.shape[0]
            g = np.ones(n) if grad is None else _as_array(grad, owner, "grad")
            if g.shape != (n,) or g.dtype.kind not in "fiub":
                raise ValueError(f"{owner}.backward: expected grad of shape ({n},). "
                                 f"Received shape {g.shape}.")
            out = self._terms_backward(g.astype(np.float64))
        elif grad is not None:
            raise TypeError(f"{owner}.backward takes no grad with reduction "
                            f"{self.reduction!r} (only with 'none'). Received: {grad!r:.60}.")
        elif self._scale is None:
            out = self._backward()
        else:
            out = self._terms_backward(self._scale)
        if anomaly.enabled():
            anomaly.check_loss_gradient(out, owner)
        return out

    def _forward(self, pred: Any, target: Any) -> float:
        raise NotImplementedError

    def _backward(self) -> np.ndarray:
        raise NotImplementedError

    def _terms(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _terms_backward(self, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _options(self) -> dict[str, Any]:
        return {} if self.reduction == "mean" else {"reduction": self.reduction}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({options})"


def _regression_target(pred: Any, target: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    pred = _check_pred(pred, owner, (1, 2), "(batch, k) or (batch,)")
    target = _check_real_target(target, owner, pred.dtype)
    if target.shape != pred.shape:
        if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == pred.shape[:1]:
            target = target.reshape(pred.shape)
        else:
            column = pred.ndim == 2 and pred.shape[1] == 1
            raise ValueError(
                f"{owner}: expected target of shape {pred.shape} (the shape of pred"
                f"{', or (batch,) since k == 1' if column else ''}). "
                f"Received shape {target.shape}."
            )
    return pred, target


class _ElementwiseLoss(Loss):
    """A regression loss ``ρ(pred − target)`` per element; the per-example loss is the
    mean over the k outputs, ``l_i = (1/k)·Σ_j ρ(d_ij)`` (so ``"mean"`` is the mean over
    all elements and ``"sum"`` the sum of them all, as PyTorch's)."""

    task = "regression"

    def _rho(self, diff: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _rho_prime(self, diff: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _terms(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        pred, target = _regression_target(pred, target, type(self).__name__)
        diff = pred - target
        self._diff, self._dtype = diff, pred.dtype
        per = self._rho(diff).astype(np.float64)
        rows = per.reshape(per.shape[0], -1)
        self._k = rows.shape[1]
        if self.reduction == "sum":  # Σ over all elements: l_i = Σ_j ρ(d_ij)
            self._k = 1
            return rows.sum(axis=1), np.ones(rows.shape[0])
        return rows.mean(axis=1), np.ones(rows.shape[0])

    def _terms_backward(self, g: np.ndarray) -> np.ndarray:
        d = self._rho_prime(self._diff)
        scale = (g / self._k).reshape((-1,) + (1,) * (d.ndim - 1))
        return (d * scale).astype(self._diff.dtype, copy=False)


class MSELoss(_ElementwiseLoss):
    """Mean squared error ``(1/M)·Σ(pred − target)²`` over all M = batch·k elements (regression).

    pred: (batch, k) or (batch,); target: the same shape, or (batch,) when k == 1.
    Gradient: ``2·(pred − target)/M``. ``reduction="none"`` gives each example's mean
    over its k outputs.
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def _forward(self, pred: Any, target: Any) -> float:
        pred, target = _regression_target(pred, target, type(self).__name__)
        value, self._diff = mse_forward(pred, target)
        return value

    def _backward(self) -> np.ndarray:
        return mse_backward(self._diff)

    def _rho(self, diff: np.ndarray) -> np.ndarray:
        return diff * diff

    def _rho_prime(self, diff: np.ndarray) -> np.ndarray:
        return 2.0 * diff


class L1Loss(_ElementwiseLoss):
    """Mean absolute error ``mean |pred − target|``; gradient ``sign(pred − target)/M``
    (0 where they are equal, as PyTorch)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def _plain(self) -> bool:
        return False

    def _rho(self, diff: np.ndarray) -> np.ndarray:
        return np.abs(diff)

    def _rho_prime(self, diff: np.ndarray) -> np.ndarray:
        return np.sign(diff)


class HuberLoss(_ElementwiseLoss):
    """Huber loss: ``½d²`` where ``|d| < δ``, else ``δ·(|d| − ½δ)``, with d = pred − target;
    gradient ``d`` inside, ``δ·sign(d)`` outside (quadratic near 0, linear in the tails)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = check_number(delta, "HuberLoss: delta", low=0.0, low_inclusive=False)

    def _plain(self) -> bool:
        return False

    def _rho(self, diff: np.ndarray) -> np.ndarray:
        a, delta = np.abs(diff), self.delta
        return np.where(a < delta, 0.5 * diff * diff, delta * (a - 0.5 * delta))

    def _rho_prime(self, diff: np.ndarray) -> np.ndarray:
        return np.where(np.abs(diff) < self.delta, diff, self.delta * np.sign(diff))

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), **({} if self.delta == 1.0 else {"delta": self.delta})}


class BCEWithLogitsLoss(Loss):
    """Sigmoid + binary cross-entropy on logits (binary classification).

    pred: logits z (batch,) or (batch, 1); target t: (batch,) or (batch, 1) values in [0, 1]
    (0/1 labels; soft labels allowed).
    ``L = mean(max(z, 0) − z·t + log1p(exp(−|z|)))``, gradient ``(σ(z) − t)/batch``.

    weight: a rescaling weight per example (broadcast to (batch,)); pos_weight p: the
    weight of the positive term, ``l = w·(p·t·softplus(−z) + (1 − t)·softplus(z))``,
    ``∂l/∂z = w·((1 − t) − (1 + (p − 1)·t)·σ(−z))``. The mean divides by the batch size.
    """

    task = "classification"

    def __init__(self, weight: Any = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__(reduction)
        owner = type(self).__name__
        self.weight = _optional_array(weight, owner, "weight")
        self.pos_weight = _optional_array(pos_weight, owner, "pos_weight")
        if self.pos_weight is not None and self.pos_weight.size != 1:
            raise ValueError(f"{owner}: pos_weight must be one number (one output). "
                             f"Received shape {self.pos_weight.shape}.")

    def _plain(self) -> bool:
        return self.reduction == "mean" and self.weight is None and self.pos_weight is None

    def _check(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
        owner = type(self).__name__
        pred = _check_pred(pred, owner, (1, 2), "(batch,) or (batch, 1)")
        if pred.ndim == 2 and pred.shape[1] != 1:
            raise ValueError(
                f"{owner}: expected logits of shape (batch,) or (batch, 1): one logit per "
                f"example (use CrossEntropyLoss for several classes). Received shape {pred.shape}."
            )
        target = _check_real_target(target, owner, pred.dtype)
        n = pred.shape[0]
        if target.shape not in ((n,), (n, 1)):
            raise ValueError(
                f"{owner}: expected target of shape ({n},) or ({n}, 1), one label per logit. "
                f"Received shape {target.shape}."
            )
        z, t = pred.reshape(n), target.reshape(n)
        if t.min() < 0 or t.max() > 1:
            raise ValueError(
                f"{owner}: expected targets in [0, 1] (0/1 labels). "
                f"Received values in [{float(t.min())!r}, {float(t.max())!r}]."
            )
        return z, t, pred.shape

    def _forward(self, pred: Any, target: Any) -> float:
        z, t, self._shape = self._check(pred, target)
        value, self._e = bce_with_logits_forward(z, t)
        self._z, self._t = z, t
        return value

    def _backward(self) -> np.ndarray:
        return bce_with_logits_backward(self._z, self._t, self._e).reshape(self._shape)

    def _terms(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        z, t, self._shape = self._check(pred, target)
        n = z.shape[0]
        z64, t64 = z.astype(np.float64), t.astype(np.float64)
        w = np.ones(n)
        if self.weight is not None:
            try:
                w = np.broadcast_to(self.weight, (n,))
            except ValueError:
                raise ValueError(f"{type(self).__name__}: weight of shape {self.weight.shape} "
                                 f"does not fit a batch of {n}.") from None
        p = 1.0 if self.pos_weight is None else float(self.pos_weight.reshape(-1)[0])
        softplus_neg = np.log1p(np.exp(-np.abs(z64))) + np.maximum(-z64, 0)  # −log σ(z)
        losses = w * ((1 - t64) * z64 + (1 + (p - 1) * t64) * softplus_neg)
        self._z, self._t, self._w, self._p, self._dtype = z64, t64, w, p, z.dtype
        return losses, np.ones(n)

    def _terms_backward(self, g: np.ndarray) -> np.ndarray:
        z, t = self._z, self._t
        e = np.exp(-np.abs(z))
        sigmoid_neg = np.where(z >= 0, e, 1.0) / (1 + e)  # σ(−z)
        grad = g * self._w * ((1 - t) - (1 + (self._p - 1) * t) * sigmoid_neg)
        return grad.reshape(self._shape).astype(self._dtype, copy=False)

    def _options(self) -> dict[str, Any]:
        out = super()._options()
        if self.weight is not None:
            out["weight"] = self.weight.tolist()
        if self.pos_weight is not None:
            out["pos_weight"] = self.pos_weight.tolist()
        return out


class CrossEntropyLoss(Loss):
    """Softmax + cross-entropy on logits (multiclass classification).

    pred: logits z (batch, classes); target: integer class labels (batch,) in [0, classes)
    (float arrays holding whole numbers are accepted; 1.5 is not a class).
    ``L = mean(log Σ_c exp(z_c) − z_label)``, gradient ``(softmax(z) − onehot)/batch``.

    weight: one weight per class w_c; ignore_index: a label whose rows count for nothing;
    label_smoothing ε: the target is ``(1 − ε)·onehot + ε/C``. Per example, with
    ``nll_c = log Σ exp(z) − z_c``: ``l = (1 − ε)·w_y·nll_y + (ε/C)·Σ_c w_c·nll_c`` and
    ``d = w_y`` (0 for an ignored row); the mean is ``Σ l / Σ d``, as PyTorch's. Gradient
    ``∂l/∂z_c = (1 − ε)·w_y·(p_c − [c = y]) + (ε/C)·(W·p_c − w_c)``, W = Σ_c w_c.
    """

    task = "classification"

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        owner = type(self).__name__
        self.weight = _optional_array(weight, owner, "weight")
        if self.weight is not None and self.weight.ndim != 1:
            raise ValueError(f"{owner}: weight must be one number per class, shape (classes,). "
                             f"Received shape {self.weight.shape}.")
        self.ignore_index = check_int(ignore_index, f"{owner}: ignore_index")
        self.label_smoothing = check_number(label_smoothing, f"{owner}: label_smoothing",
                                            low=0.0, high=1.0)

    def _plain(self) -> bool:
        return (self.reduction == "mean" and self.weight is None
                and self.label_smoothing == 0.0)

    def _plain_after(self) -> bool:
        return not self._has_ignored

    def _labels(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        owner = type(self).__name__
        pred = _check_pred(pred, owner, (2,), "(batch, classes)")
        n, classes = pred.shape
        labels = _as_array(target, owner, "target")
        if labels.dtype.kind == "f":
            if not all_finite(labels):
                raise ValueError(f"{owner}: target contains NaN or infinite values.")
            if np.any(labels != np.round(labels)):
                bad = float(labels[labels != np.round(labels)].flat[0])
                raise ValueError(
                    f"{owner}: expected integer class labels. "
                    f"Received a non-integer label: {bad!r}."
                )
            labels = labels.astype(np.int64)
        elif labels.dtype.kind not in "iu":
            raise TypeError(
                f"{owner}: expected integer class labels (batch,). Received dtype {labels.dtype}."
            )
        if labels.shape != (n,):
            raise ValueError(
                f"{owner}: expected target of shape ({n},), one integer label per row of logits "
                f"{pred.shape}. Received shape {labels.shape}."
            )
        ignored = labels == self.ignore_index
        self._has_ignored = bool(ignored.any())
        kept = labels[~ignored]
        if kept.size:
            low, high = kept.min(), kept.max()
            if low < 0 or high >= classes:
                raise ValueError(
                    f"{owner}: class labels must be in [0, {classes - 1}] for {classes} "
                    f"classes. Received label {int(low if low < 0 else high)}."
                )
        if self.weight is not None and self.weight.shape != (classes,):
            raise ValueError(f"{owner}: weight has {self.weight.shape[0]} entries for "
                             f"{classes} classes.")
        return pred, labels

    def _forward(self, pred: Any, target: Any) -> float:
        pred, labels = self._labels(pred, target)
        if self._has_ignored:
            return math.nan  # not used: the general path runs
        value, self._exp_z, self._sum_exp = cross_entropy_forward(pred, labels)
        self._labels_ = labels
        return value

    def _backward(self) -> np.ndarray:
        return cross_entropy_backward(self._exp_z, self._sum_exp, self._labels_)

    def _terms(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        pred, labels = self._labels(pred, target)
        n, classes = pred.shape
        z = pred.astype(np.float64)
        shifted = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        nll = lse - shifted  # (n, C): −log p_c
        kept = labels != self.ignore_index
        safe = np.where(kept, labels, 0)
        w = np.ones(classes) if self.weight is None else self.weight
        wy = w[safe] * kept
        eps = self.label_smoothing
        losses = (1 - eps) * wy * nll[np.arange(n), safe]
        if eps:
            losses = losses + (eps / classes) * (nll @ w) * kept
        self._p, self._safe, self._wy, self._w, self._kept = np.exp(-nll), safe, wy, w, kept
        self._dtype = pred.dtype
        return losses, wy

    def _terms_backward(self, g: np.ndarray) -> np.ndarray:
        n, classes = self._p.shape
        eps, p = self.label_smoothing, self._p
        grad = ((1 - eps) * self._wy)[:, None] * p
        grad[np.arange(n), self._safe] -= (1 - eps) * self._wy
        if eps:
            grad += (eps / classes) * (self._w.sum() * p - self._w[None, :]) * self._kept[:, None]
        grad *= g[:, None]
        return grad.astype(self._dtype, copy=False)

    def _options(self) -> dict[str, Any]:
        out = super()._options()
        if self.weight is not None:
            out["weight"] = self.weight.tolist()
        if self.ignore_index != -100:
            out["ignore_index"] = self.ignore_index
        if self.label_smoothing:
            out["label_smoothing"] = self.label_smoothing
        return out


LOSSES: Registry[type[Loss]] = Registry("loss")
"""Losses by name."""
for _name, _cls in (("mse", MSELoss), ("bce_with_logits", BCEWithLogitsLoss),
                    ("cross_entropy", CrossEntropyLoss), ("l1", L1Loss), ("huber", HuberLoss)):
    LOSSES.add(_name, _cls)
