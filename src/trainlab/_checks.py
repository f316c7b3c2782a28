"""Argument and input validation shared by every part of trainlab.

Every check raises ``ValueError`` or ``TypeError`` with a message that names the
argument (or the layer), says what was expected and shows what was received, in
the style ``"Linear: expected input with 3 features, received shape (4, 5)."``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class NonFiniteError(ValueError):
    """NaN or infinity where the caller asked for finite values.

    Layers and losses let non-finite values through (as PyTorch's do); inside
    ``trainlab.detect_anomaly()`` the first layer whose output or input gradient holds
    NaN or infinity raises this error, naming the layer. Its own type lets the training
    loop's NaN guard tell a diverging network from any other bad input (a plain ValueError).
    """


def check_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise TypeError."""
    resolved = None
    if dtype is not None:  # np.dtype(None) would be float64
        try:
            resolved = np.dtype(dtype)
        except (TypeError, ValueError, SyntaxError):  # np.dtype parses strings and lists
            pass
    # (a dtype compares equal to None, so test for None before comparing)
    if resolved is None or not any(resolved == d for d in FLOAT_DTYPES):
        raise TypeError(
            f"{name} must be np.float32 or np.float64. Received: {dtype!r}."
        )
    return resolved


def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``float(value)`` after checking it is a real number within the bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number. Received: {value!r}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite. Received: {value!r}.")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}. Received: {value!r}.")
    return value


def check_int(value: Any, name: str, *, low: int | None = None) -> int:
    """Return ``int(value)`` after checking it is an integer (not a bool) >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer. Received: {value!r}.")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be an integer >= {low}. Received: {value!r}.")
    return value


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool; only True, False (or a NumPy bool) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False. Received: {value!r}.")
    return bool(value)


def check_probability(value: Any, name: str = "p") -> float:
    """A drop probability: a real number in [0, 1)."""
    return check_number(value, name, low=0.0, high=1.0, high_inclusive=False)


def all_finite(x: np.ndarray) -> bool:
    """True when every element of ``x`` is finite.

    One reduction pass instead of a boolean temporary: a NaN or an infinity
    anywhere makes the sum non-finite. A non-finite sum of finite values
    (overflow) is rare and is confirmed elementwise.
    """
    if x.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(x, axis=None)
    if np.isfinite(total):
        return True
    return bool(np.isfinite(x).all())


def check_layer_input(
    x: Any,
    owner: str,
    *,
    features: int | None = None,
    dtype: np.dtype | None = None,
    name: str = "input",
) -> np.ndarray:
    """Validate a layer input of shape ``(batch, features)`` and return it as an array.

    The cheap checks every forward pass makes: x is an array-like (N, D) of floats, of
    ``features`` columns when that is given. The values are not read: as in PyTorch,
    NaN and infinity pass through the layers (``trainlab.detect_anomaly`` finds where
    they start).
    features: the expected D, or None to accept any.
    dtype: cast to this float dtype (no copy when it already matches); None keeps
        the input's own float dtype.
    """
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as exc:  # ragged lists and other non-arrays
            raise TypeError(
                f"{owner}: expected {name} as a 2-D float array. Received: {type(x).__name__}."
            ) from exc
    if x.dtype.kind not in "f":
        raise TypeError(
            f"{owner}: expected {name} of a floating-point dtype (float32 or float64). "
            f"Received dtype {x.dtype}."
        )
    if x.ndim != 2:
        raise ValueError(
            f"{owner}: expected {name} of rank 2, shape (batch, features). "
            f"Received shape {x.shape}."
        )
    if features is not None and x.shape[1] != features:
        raise ValueError(
            f"{owner}: expected {name} with {features} features, shape (batch, {features}). "
            f"Received shape {x.shape}."
        )
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)
    elif x.dtype not in FLOAT_DTYPES:  # float16 and longdouble become float32/float64
        x = x.astype(np.float64 if x.dtype.itemsize > 8 else np.float32)
    return x


def check_input(
    x: Any,
    owner: str,
    *,
    features: int | None = None,
    dtype: np.dtype | None = None,
    name: str = "input",
) -> np.ndarray:
    """Validate data entering the library (the trainer's X, a scaler's input, a
    diagnostic batch): :func:`check_layer_input`'s checks, and every element finite.

    x: array-like (N, D) of floats, every element finite; arguments as
    :func:`check_layer_input`.
    """
    x = check_layer_input(x, owner, features=features, dtype=dtype, name=name)
    if not all_finite(x):
        raise ValueError(f"{owner}: {name} contains NaN or infinite values.")
    return x


def check_grad_output(dy: Any, owner: str, shape: tuple[int, ...]) -> np.ndarray:
    """Validate the upstream gradient passed to ``backward``: same shape as the output."""
    dy = np.asarray(dy)
    if dy.dtype.kind != "f":
        raise TypeError(
            f"{owner}.backward: expected a floating-point gradient. Received dtype {dy.dtype}."
        )
    if dy.shape != shape:
        raise ValueError(
            f"{owner}.backward: expected a gradient of shape {shape} (the output's shape). "
            f"Received shape {dy.shape}."
        )
    return dy
