"""Loss functions with fused, numerically stable closed-form gradients (notes §1, output layer ψ).

A loss is called ``loss_fn(pred, target) -> float`` (the mean over the batch, PyTorch's
``reduction="mean"``) and then ``loss_fn.backward() -> dpred``, the gradient of that
mean with respect to ``pred`` (same shape and dtype as ``pred``).

As in PyTorch, the values are not checked: NaN or infinity in ``pred`` or ``target``
gives a ``nan`` (or infinite) loss. Inside ``trainlab.detect_anomaly()`` a loss whose
value or gradient is not finite raises :class:`~trainlab.NonFiniteError` instead.

The output nonlinearity is fused into the loss, as in PyTorch: ``BCEWithLogitsLoss``
takes logits (sigmoid + binary cross-entropy) and ``CrossEntropyLoss`` takes logits
(softmax + negative log-likelihood). The fused forms stay finite for logits of ±1000,
and their gradients are the famous ``σ(z) − t`` and ``softmax(z) − onehot``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trainlab._checks import all_finite
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


class Loss:
    """Base class: ``loss_fn(pred, target) -> float``, then ``loss_fn.backward() -> dpred``.

    ``forward`` is the same as calling; ``last_value`` holds the latest loss (None before).
    """

    def __init__(self) -> None:
        self.last_value: float | None = None
        self._ready = False

    def __call__(self, pred: Any, target: Any) -> float:
        return self.forward(pred, target)

    def forward(self, pred: Any, target: Any) -> float:
        self._ready = False  # a call that raises leaves nothing for backward
        value = self._forward(pred, target)
        if anomaly.enabled():
            anomaly.check_loss(value, type(self).__name__, pred, target)
        self.last_value = value
        self._ready = True
        return value

    def backward(self) -> np.ndarray:
        """Gradient of the last mean loss with respect to ``pred``."""
        if not self._ready:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before the loss: "
                "call loss_fn(pred, target) first, then loss_fn.backward()."
            )
        grad = self._backward()
        if anomaly.enabled():
            anomaly.check_loss_gradient(grad, type(self).__name__)
        return grad

    def _forward(self, pred: Any, target: Any) -> float:
        raise NotImplementedError

    def _backward(self) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSELoss(Loss):
    """Mean squared error ``(1/M)·Σ(pred − target)²`` over all M = batch·k elements (regression).

    pred: (batch, k) or (batch,); target: the same shape, or (batch,) when k == 1.
    Gradient: ``2·(pred − target)/M``.
    """

    def _forward(self, pred: Any, target: Any) -> float:
        owner = type(self).__name__
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
        value, self._diff = mse_forward(pred, target)
        return value

    def _backward(self) -> np.ndarray:
        return mse_backward(self._diff)


class BCEWithLogitsLoss(Loss):
    """Sigmoid + binary cross-entropy on logits (binary classification).

    pred: logits z (batch,) or (batch, 1); target t: (batch,) or (batch, 1) values in [0, 1]
    (0/1 labels; soft labels allowed).
    ``L = mean(max(z, 0) − z·t + log1p(exp(−|z|)))``, gradient ``(σ(z) − t)/batch``.
    """

    def _forward(self, pred: Any, target: Any) -> float:
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
        value, self._e = bce_with_logits_forward(z, t)
        self._z, self._t, self._shape = z, t, pred.shape
        return value

    def _backward(self) -> np.ndarray:
        return bce_with_logits_backward(self._z, self._t, self._e).reshape(self._shape)


class CrossEntropyLoss(Loss):
    """Softmax + cross-entropy on logits (multiclass classification).

    pred: logits z (batch, classes); target: integer class labels (batch,) in [0, classes)
    (float arrays holding whole numbers are accepted; 1.5 is not a class).
    ``L = mean(log Σ_c exp(z_c) − z_label)``, gradient ``(softmax(z) − onehot)/batch``.
    """

    def _forward(self, pred: Any, target: Any) -> float:
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
        low, high = labels.min(), labels.max()
        if low < 0 or high >= classes:
            raise ValueError(
                f"{owner}: class labels must be in [0, {classes - 1}] for {classes} classes. "
                f"Received label {int(low if low < 0 else high)}."
            )
        value, self._exp_z, self._sum_exp = cross_entropy_forward(pred, labels)
        self._labels = labels
        return value

    def _backward(self) -> np.ndarray:
        return cross_entropy_backward(self._exp_z, self._sum_exp, self._labels)


LOSSES: Registry[type[Loss]] = Registry("loss")
"""Losses by name."""
for _name, _cls in (("mse", MSELoss), ("bce_with_logits", BCEWithLogitsLoss),
                    ("cross_entropy", CrossEntropyLoss)):
    LOSSES.add(_name, _cls)
