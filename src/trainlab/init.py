"""Weight initialisation by variance (notes §4).

For ``y = Σᵢ wᵢxᵢ + b`` with independent zero-mean ``w`` and ``x``,
``Var(y) = k·Var(w)·Var(x)`` (k = fan-in). Every named initializer here is a preset
of one function, :func:`variance_scaling`, which draws weights with

    Var(w) = scale / n,   n = fan_in | fan_out | (fan_in + fan_out)/2  (``mode``)

from a normal ``N(0, scale/n)`` or a uniform ``U[-√(3·scale/n), +√(3·scale/n)]``
(a uniform on [-a, a] has variance a²/3).

| name | scale, mode, distribution | Var(w) |
| --- | --- | --- |
| naive_uniform, torch_default | 1/3, fan_in, uniform | 1/(3k) |
| xavier_uniform / glorot_uniform | 1, fan_avg, uniform | 2/(k+m) (Glorot & Bengio 2010) |
| xavier_normal / glorot_normal | 1, fan_avg, normal | 2/(k+m) |
| he_uniform / kaiming_uniform | 2, fan_in, uniform | 2/k (He et al. 2015) |
| he_normal / kaiming_normal | 2, fan_in, normal | 2/k |
| lecun_uniform | 1, fan_in, uniform | 1/k (LeCun et al. 1998) |
| lecun_normal | 1, fan_in, normal | 1/k (for SELU, Klambauer et al. 2017) |

One more is not a preset: :func:`orthogonal` (PyTorch's ``orthogonal_``, with a ``gain``).

Draws are made in float64 and then cast, so one seed gives the same weights (to
rounding) in float32 and float64 models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from trainlab._checks import check_dtype, check_int, check_number
from trainlab._rng import RngLike, as_generator
from trainlab.registry import Registry

Initializer = Callable[..., np.ndarray]

_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("normal", "uniform")


def variance_scaling(
    fan_in: int,
    fan_out: int,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "normal",
    rng: RngLike = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Draw a ``(fan_in, fan_out)`` weight matrix with ``Var(w) = scale / n``.

    mode: ``"fan_in"`` (n = fan_in), ``"fan_out"`` (n = fan_out) or ``"fan_avg"``
        (n = (fan_in + fan_out) / 2).
    distribution: ``"normal"`` → N(0, scale/n); ``"uniform"`` → U[-a, a], a = √(3·scale/n).
    """
    fan_in = check_int(fan_in, "fan_in", low=1)
    fan_out = check_int(fan_out, "fan_out", low=1)
    scale = check_number(scale, "scale", low=0.0)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {list(_MODES)}. Received: {mode!r}.")
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(
            f"distribution must be one of {list(_DISTRIBUTIONS)}. Received: {distribution!r}."
        )
    dtype = check_dtype(dtype)
    gen = as_generator(rng)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
    variance = scale / n
    if distribution == "normal":
        w = gen.normal(0.0, math.sqrt(variance), size=(fan_in, fan_out))
    else:
        limit = math.sqrt(3.0 * variance)
        w = gen.uniform(-limit, limit, size=(fan_in, fan_out))
    return w.astype(dtype, copy=False)


def _preset(name: str, scale: float, mode: str, distribution: str, doc: str) -> Initializer:
    def initializer(
        fan_in: int, fan_out: int, rng: RngLike = None, dtype: Any = np.float32
    ) -> np.ndarray:
        return variance_scaling(fan_in, fan_out, scale, mode, distribution, rng, dtype)

    initializer.__name__ = initializer.__qualname__ = name
    initializer.__doc__ = (
        f"{doc}\n\nReturns a ``(fan_in, fan_out)`` array: "
        f"``variance_scaling(scale={scale:g}, mode={mode!r}, distribution={distribution!r})``."
    )
    return initializer


naive_uniform = _preset(
    "naive_uniform", 1 / 3, "fan_in", "uniform",
    "U[-1/√k, 1/√k], the notes' starting point: Var(w) = 1/(3k), so Var(y) = Var(x)/3 per layer.",
)
torch_default = _preset(
    "torch_default", 1 / 3, "fan_in", "uniform",
    "PyTorch's nn.Linear default: U[-1/√k, 1/√k] (bias drawn from the same range).",
)
xavier_uniform = _preset(
    "xavier_uniform", 1.0, "fan_avg", "uniform",
    "Glorot/Xavier uniform: U[-√6/√(k+m), +√6/√(k+m)], Var(w) = 2/(k+m).",
)
xavier_normal = _preset(
    "xavier_normal", 1.0, "fan_avg", "normal", "Glorot/Xavier normal: N(0, 2/(k+m))."
)
he_uniform = _preset(
    "he_uniform", 2.0, "fan_in", "uniform", "He/Kaiming uniform for ReLU: U[-√(6/k), +√(6/k)]."
)
he_normal = _preset("he_normal", 2.0, "fan_in", "normal", "He/Kaiming normal for ReLU: N(0, 2/k).")
lecun_uniform = _preset(
    "lecun_uniform", 1.0, "fan_in", "uniform", "LeCun uniform: U[-√(3/k), +√(3/k)], Var(w) = 1/k."
)
lecun_normal = _preset(
    "lecun_normal", 1.0, "fan_in", "normal", "LeCun normal: N(0, 1/k), the SELU initialisation."
)
glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def zeros(fan_in: int, fan_out: int, rng: RngLike = None, dtype: Any = np.float32) -> np.ndarray:
    """All zeros, shape ``(fan_in, fan_out)`` (every unit then computes the same thing)."""
    fan_in = check_int(fan_in, "fan_in", low=1)
    fan_out = check_int(fan_out, "fan_out", low=1)
    as_generator(rng)  # draws nothing, but a wrong rng is still an error
    return np.zeros((fan_in, fan_out), dtype=check_dtype(dtype))


def orthogonal_from_normal(a: np.ndarray) -> np.ndarray:
    """PyTorch's ``orthogonal_`` procedure on a drawn normal matrix ``a`` (rows, cols):
    QR of ``a`` (of ``aᵀ`` when rows < cols), each column of Q multiplied by the sign of
    the matching diagonal entry of R (so that the result is uniform over the orthogonal
    matrices, Mezzadri 2007), transposed back. Orthonormal columns (rows ≥ cols) or rows."""
    rows, cols = a.shape
    flat = a.T if rows < cols else a
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    return q.T if rows < cols else q


def orthogonal(fan_in: int, fan_out: int, rng: RngLike = None, dtype: Any = np.float32,
               gain: float = 1.0) -> np.ndarray:
    """A (semi-)orthogonal weight ``(fan_in, fan_out)`` times ``gain`` (Saxe et al., 2014).

    Drawn as PyTorch's ``nn.init.orthogonal_`` draws the weight of an ``nn.Linear``
    (``(fan_out, fan_in)``, the transpose of ours): a standard normal ``(fan_out,
    fan_in)`` matrix through :func:`orthogonal_from_normal`, transposed. ``W·Wᵀ = gain²·I``
    when fan_in ≤ fan_out, ``Wᵀ·W = gain²·I`` otherwise; every singular value is ``gain``,
    so a linear layer keeps the norm of its input (the exploding/vanishing product of the
    notes stays at 1 in a deep linear network).
    """
    fan_in = check_int(fan_in, "orthogonal: fan_in", low=1)
    fan_out = check_int(fan_out, "orthogonal: fan_out", low=1)
    gain = check_number(gain, "orthogonal: gain")
    dtype = check_dtype(dtype)
    a = as_generator(rng, "orthogonal: rng").standard_normal((fan_out, fan_in))
    return (orthogonal_from_normal(a).T * gain).astype(dtype)


INITIALIZERS: Registry[Initializer] = Registry("initializer", "trainlab.initializers")
"""Every initializer by name; plugins come from the ``trainlab.initializers`` entry points."""
INITIALIZERS.add("naive_uniform", naive_uniform)
INITIALIZERS.add("torch_default", torch_default)
INITIALIZERS.add("xavier_uniform", xavier_uniform)
INITIALIZERS.add("glorot_uniform", glorot_uniform)
INITIALIZERS.add("xavier_normal", xavier_normal)
INITIALIZERS.add("glorot_normal", glorot_normal)
INITIALIZERS.add("he_uniform", he_uniform)
INITIALIZERS.add("kaiming_uniform", kaiming_uniform)
INITIALIZERS.add("he_normal", he_normal)
INITIALIZERS.add("kaiming_normal", kaiming_normal)
INITIALIZERS.add("lecun_normal", lecun_normal)
INITIALIZERS.add("lecun_uniform", lecun_uniform)
INITIALIZERS.add("zeros", zeros)
INITIALIZERS.add("orthogonal", orthogonal)

RECOMMENDED: dict[str, str] = {
    "relu": "he_normal",
    "leaky_relu": "he_normal",
    "elu": "he_normal",
    "gelu": "he_normal",
    "selu": "lecun_normal",
    "identity": "lecun_normal",
    "tanh": "xavier_normal",
    "sigmoid": "xavier_normal",
}
"""The initializer each activation is designed for (notes §2, §4): He for the ReLU family
(half the units are off), LeCun for SELU (self-normalisation) and for the identity
(Var(θ) = 1/k, derived for linear activations), Glorot/Xavier for the symmetric
saturating tanh and sigmoid."""


def recommended(activation: str) -> str:
    """The initializer :data:`RECOMMENDED` for ``activation``; LeCun normal (variance
    1/fan_in, the linear case) for an activation it does not list, such as a plugin."""
    return RECOMMENDED.get(activation, "lecun_normal")


# Var(w)·fan-in factor of each named initializer: Var(w) = factor / n (see the table above).
VARIANCE: dict[str, tuple[float, str]] = {
    "naive_uniform": (1 / 3, "fan_in"),
    "torch_default": (1 / 3, "fan_in"),
    "xavier_uniform": (1.0, "fan_avg"),
    "glorot_uniform": (1.0, "fan_avg"),
    "xavier_normal": (1.0, "fan_avg"),
    "glorot_normal": (1.0, "fan_avg"),
    "he_uniform": (2.0, "fan_in"),
    "kaiming_uniform": (2.0, "fan_in"),
    "he_normal": (2.0, "fan_in"),
    "kaiming_normal": (2.0, "fan_in"),
    "lecun_normal": (1.0, "fan_in"),
    "lecun_uniform": (1.0, "fan_in"),
    "zeros": (0.0, "fan_in"),
}
"""(scale, mode) of the variance-scaling presets."""


def weight_variance(name: str, fan_in: int, fan_out: int) -> float:
    """The variance ``Var(w)`` that the named initializer draws with (orthogonal:
    ``1/max(fan_in, fan_out)``, the mean square of a unit-norm row or column)."""
    resolve(name)
    if name == "orthogonal":
        return 1.0 / max(fan_in, fan_out)
    scale, mode = VARIANCE[name]
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
    return scale / n


def resolve(init: str | Initializer) -> Initializer:
    """Return the initializer for a name from this module, or the callable itself."""
    if callable(init):
        return init
    if isinstance(init, str):
        return INITIALIZERS.get_named(init, "init")
    raise ValueError(
        f"init must be one of {INITIALIZERS.names()} or a callable "
        f"(fan_in, fan_out, rng, dtype) -> array. Received: {init!r}."
    )


def linear_parameters(
    init: str | Initializer,
    fan_in: int,
    fan_out: int,
    bias: bool,
    rng: np.random.Generator,
    dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Weight ``(fan_in, fan_out)`` and bias ``(fan_out,)`` (or None) for a linear layer.

    The bias is zero, except under ``"torch_default"`` where, as in PyTorch, it is drawn
    from U[-1/√fan_in, 1/√fan_in] after the weight, from the same generator.
    """
    initializer = resolve(init)
    weight = np.asarray(initializer(fan_in, fan_out, rng, dtype))
    if weight.shape != (fan_in, fan_out):
        raise ValueError(
            f"init returned shape {weight.shape}; expected (fan_in, fan_out) = "
            f"({fan_in}, {fan_out})."
        )
    if weight.dtype.kind not in "fiu":
        raise TypeError(f"init returned an array of dtype {weight.dtype}; expected real numbers.")
    weight = weight.astype(dtype, copy=False)
    if not np.isfinite(weight).all():
        raise ValueError("init returned NaN or infinite weights; every weight must be finite.")
    if not bias:
        return weight, None
    if initializer is torch_default:  # the name or the function itself
        bound = 1.0 / math.sqrt(fan_in)
        b = rng.uniform(-bound, bound, size=fan_out).astype(dtype)
    else:
        b = np.zeros(fan_out, dtype=dtype)
    return weight, b


_GAINS = {
    "linear": 1.0,
    "identity": 1.0,
    "conv1d": 1.0,
    "conv2d": 1.0,
    "conv3d": 1.0,
    "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0,
    "conv_transpose3d": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    "selu": 3.0 / 4.0,
}


def gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as PyTorch's ``calculate_gain``.

    linear/identity/conv/sigmoid: 1; tanh: 5/3; relu: √2; selu: 3/4;
    leaky_relu: √(2/(1 + slope²)) with ``param`` the negative slope (default 0.01).
    """
    if not isinstance(nonlinearity, str):
        raise TypeError(
            f"nonlinearity must be a string such as 'relu'. Received: {nonlinearity!r}."
        )
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_number(param, "param")
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity in _GAINS:
        return _GAINS[nonlinearity]
    raise ValueError(
        f"nonlinearity must be one of {sorted([*_GAINS, 'leaky_relu'])}. "
        f"Received: {nonlinearity!r}."
    )
