"""Activation functions and their closed-form derivatives (notes §2).

Each activation is a pair of pure kernels, ``<name>_forward(z)`` returning the output
(and, where the derivative needs it, a ``bool`` mask or an intermediate) and
``<name>_backward(dy, ...) -> dz``, wrapped by a layer that keeps that cache. The cache
is the least that the derivative needs (the input, the output or a ``bool`` mask), so
backward never recomputes forward work. Every kernel keeps the input's dtype.

All act elementwise on (N, D) arrays except Softmax, which acts on each row.

What the diagnostics (``trainlab.diagnostics``) ask of an activation layer; every
elementwise activation here answers the first two, Sigmoid, Tanh and ReLU the third.
An activation that answers none of them (a plugin with only ``forward`` and
``backward``) is still monitored for everything that does not need them.

- ``function(z)``: φ(z) of any float array, by the forward kernel, caching nothing;
- ``derivative(z)``: φ′(z), by the backward kernel with dy = 1 — the formula backward runs;
- ``saturation(y) -> float``: from a batch of outputs y (N, D), the fraction of outputs
  that pass almost no gradient; ``saturation_kind`` says which fraction it is:
  ``"saturated"`` (Sigmoid, Tanh: the derivative below ``SATURATION`` = 1% of its maximum)
  or ``"dead"`` (ReLU: units that are zero for every example of the batch).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from trainlab._checks import check_grad_output, check_layer_input, check_number
from trainlab.nn.module import Module
from trainlab.registry import Registry

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
SATURATION = 0.01
"""A sigmoid or tanh output whose derivative is below this fraction of the derivative's
maximum counts as saturated (σ′ < 0.0025, tanh′ < 0.01)."""

# -- kernels ---------------------------------------------------------------------------


def sigmoid_forward(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1+e⁻ᶻ), computed without overflow for any z.

    With e = exp(−|z|) ∈ (0, 1]: σ(z) = 1/(1+e) for z ≥ 0 and e/(1+e) for z < 0.
    """
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)
    s = e + 1
    np.reciprocal(s, out=s)
    np.multiply(s, e, out=s, where=z < 0)
    return s


def sigmoid_backward(dy: np.ndarray, s: np.ndarray) -> np.ndarray:
    """dz = dy ⊙ σ(1 − σ), from the cached output s = σ(z). Note σ' ≤ 1/4."""
    dz = 1 - s
    dz *= s
    dz *= dy
    return dz


def tanh_forward(z: np.ndarray) -> np.ndarray:
    """tanh(z) = (eᶻ − e⁻ᶻ)/(eᶻ + e⁻ᶻ) = 2σ(2z) − 1."""
    return np.tanh(z)


def tanh_backward(dy: np.ndarray, t: np.ndarray) -> np.ndarray:
    """dz = dy ⊙ (1 − tanh²), from the cached output t = tanh(z). Note tanh' ≤ 1."""
    dz = np.square(t)
    np.subtract(1, dz, out=dz)
    dz *= dy
    return dz


def relu_forward(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max(0, z); returns (y, mask) with the bool mask z > 0."""
    return np.maximum(z, 0), z > 0


def relu_backward(dy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """dz = dy ⊙ [z > 0]: derivative 1 for z > 0, 0 for z ≤ 0 (0 at exactly 0, as PyTorch)."""
    return np.multiply(dy, mask)


def leaky_relu_forward(z: np.ndarray, negative_slope: float) -> tuple[np.ndarray, np.ndarray]:
    """z for z > 0, negative_slope·z otherwise; returns (y, mask) with the bool mask z > 0."""
    mask = z > 0
    y = z * negative_slope
    np.copyto(y, z, where=mask)
    return y, mask


def leaky_relu_backward(dy: np.ndarray, mask: np.ndarray, negative_slope: float) -> np.ndarray:
    """dz = dy for z > 0, negative_slope·dy for z ≤ 0 (the slope at exactly 0, as PyTorch)."""
    dz = dy * negative_slope
    np.copyto(dz, dy, where=mask)
    return dz


def elu_forward(z: np.ndarray, alpha: float, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """scale·z for z > 0, scale·α(eᶻ − 1) otherwise; returns (y, mask), mask = z > 0.

    eᶻ − 1 is computed with ``expm1`` on min(z, 0), so large positive z cannot overflow.
    ``scale`` is 1 for ELU and λ for SELU.
    """
    mask = z > 0
    y = np.minimum(z, 0)
    np.expm1(y, out=y)
    y *= alpha
    np.copyto(y, z, where=mask)
    if scale != 1.0:
        y *= scale
    return y, mask


def elu_backward(
    dy: np.ndarray, z: np.ndarray, mask: np.ndarray, alpha: float, scale: float = 1.0
) -> np.ndarray:
    """dz = scale·dy for z > 0, scale·α·eᶻ·dy for z ≤ 0 (scale·α at exactly 0, as PyTorch).

    The slope is taken from the cached input z, not from the output as y + scale·α:
    for very negative z that sum cancels to 0, while α·eᶻ keeps full precision.
    """
    dz = np.minimum(z, 0)
    np.exp(dz, out=dz)
    dz *= scale * alpha
    np.copyto(dz, scale, where=mask)
    dz *= dy
    return dz


_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu_forward(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact GELU z·Φ(z) with Φ(z) = ½(1 + erf(z/√2)) (Hendrycks & Gimpel 2016); returns (y, Φ)."""
    cdf = z * _INV_SQRT2
    erf(cdf, out=cdf)
    cdf += 1
    cdf *= 0.5
    return z * cdf, cdf


def gelu_backward(dy: np.ndarray, z: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """dz = dy ⊙ (Φ(z) + z·φ(z)) with φ(z) = exp(−z²/2)/√(2π), from the cached z and Φ(z)."""
    with np.errstate(over="ignore"):  # z² overflows to inf for huge |z|: exp(−inf) = 0 is right
        pdf = np.square(z)
    pdf *= -0.5
    np.exp(pdf, out=pdf)
    pdf *= _INV_SQRT_2PI
    pdf *= z
    pdf += cdf
    pdf *= dy
    return pdf


def softmax_forward(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax sᵢ = exp(zᵢ − max z)/Σⱼ exp(zⱼ − max z), shifted by the row max
    so that no exponential overflows.  z: (N, C) -> s: (N, C), each row sums to 1."""
    with np.errstate(over="ignore"):  # a row spanning more than the float range: exp(−inf) = 0
        s = z - z.max(axis=1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=1, keepdims=True)
    return s


def softmax_backward(dy: np.ndarray, s: np.ndarray) -> np.ndarray:
    """dz = s ⊙ (dy − Σⱼ dyⱼsⱼ) per row (the Jacobian diag(s) − s sᵀ applied to dy)."""
    dz = dy * s
    dot = dz.sum(axis=1, keepdims=True)
    dz -= s * dot
    return dz


# -- layers ----------------------------------------------------------------------------


def _check_dy(dy: np.ndarray, owner: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Validate ``dy`` (the output's shape) and cast it to the forward pass's dtype."""
    return check_grad_output(dy, owner, shape).astype(dtype, copy=False)


class Sigmoid(Module):
    """σ(z) = 1/(1+e⁻ᶻ); σ'(z) = σ(z)(1 − σ(z)) ≤ 1/4, so a chain of k sigmoids scales the
    gradient by at most 4⁻ᵏ (notes §3). Caches the output."""

    def __init__(self) -> None:
        super().__init__()
        self._s: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._s = sigmoid_forward(check_layer_input(x, "Sigmoid"))
        return self._s

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._s is None:
            raise self._backward_before_forward()
        dy = _check_dy(dy, "Sigmoid", self._s.shape, self._s.dtype)
        return sigmoid_backward(dy, self._s)

    saturation_kind = "saturated"

    def function(self, z: np.ndarray) -> np.ndarray:
        """σ(z) for any float array z, caching nothing."""
        return sigmoid_forward(z)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """σ′(z) = σ(z)(1 − σ(z)), by the backward kernel with dy = 1."""
        s = sigmoid_forward(z)
        return sigmoid_backward(np.ones_like(s), s)

    def saturation(self, y: np.ndarray) -> float:
        """The fraction of the outputs y = σ(z) (N, D) where σ′ = σ(1 − σ) is below 1% of
        its maximum 1/4."""
        return float(np.mean(sigmoid_backward(np.ones_like(y), y) < SATURATION * 0.25))


class Tanh(Module):
    """tanh(z) = 2σ(2z) − 1; tanh'(z) = 1 − tanh²(z) = 4σ(2z)(1 − σ(2z)) ≤ 1. Caches the output."""

    def __init__(self) -> None:
        super().__init__()
        self._t: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._t = tanh_forward(check_layer_input(x, "Tanh"))
        return self._t

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._t is None:
            raise self._backward_before_forward()
        dy = _check_dy(dy, "Tanh", self._t.shape, self._t.dtype)
        return tanh_backward(dy, self._t)

    saturation_kind = "saturated"

    def function(self, z: np.ndarray) -> np.ndarray:
        """tanh(z) for any float array z, caching nothing."""
        return tanh_forward(z)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """tanh′(z) = 1 − tanh²(z), by the backward kernel with dy = 1."""
        t = tanh_forward(z)
        return tanh_backward(np.ones_like(t), t)

    def saturation(self, y: np.ndarray) -> float:
        """The fraction of the outputs y = tanh(z) (N, D) where tanh′ = 1 − y² is below 1% of
        its maximum 1."""
        return float(np.mean(tanh_backward(np.ones_like(y), y) < SATURATION))


class ReLU(Module):
    """max(0, z); derivative 1 for z > 0 and 0 for z < 0.

    At exactly z = 0 the derivative is taken as 0, as in PyTorch; the notes take 1
    (z ≥ 0). The two agree everywhere else. Caches the bool mask z > 0.
    With Numba installed, forward and backward run as one compiled pass each
    (``trainlab.backend``), bit for bit the numbers of ``relu_forward``/``relu_backward``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._mask: np.ndarray | None = None
        self._dtype: np.dtype | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        z = check_layer_input(x, "ReLU")
        self._dtype = z.dtype
        fast = self.backend.relu_forward(z)  # the same numbers in one pass (trainlab.backend)
        y, self._mask = fast if fast is not None else relu_forward(z)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._mask is None or self._dtype is None:
            raise self._backward_before_forward()
        dy = _check_dy(dy, "ReLU", self._mask.shape, self._dtype)
        dz = self.backend.masked_scale(dy, self._mask, 1.0)
        return dz if dz is not None else relu_backward(dy, self._mask)

    saturation_kind = "dead"

    def function(self, z: np.ndarray) -> np.ndarray:
        """max(0, z) for any float array z, caching nothing."""
        return relu_forward(z)[0]

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """[z > 0] (0 at exactly 0), by the backward kernel with dy = 1."""
        return relu_backward(np.ones_like(z), relu_forward(z)[1])

    def saturation(self, y: np.ndarray) -> float:
        """The dead fraction: units (columns of the outputs y (N, D)) that are zero for every
        example of the batch, so that no gradient reaches their weights."""
        return 1.0 - np.count_nonzero(y.max(axis=0) > 0) / y.shape[1]


class LeakyReLU(Module):
    """z for z > 0, negative_slope·z otherwise; derivative 1 for z > 0 and negative_slope
    for z ≤ 0 (PyTorch's choice at exactly 0). Caches the bool mask z > 0."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = check_number(negative_slope, "LeakyReLU: negative_slope")
        self._mask: np.ndarray | None = None
        self._dtype: np.dtype | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        z = check_layer_input(x, "LeakyReLU")
        self._dtype = z.dtype
        y, self._mask = leaky_relu_forward(z, self.negative_slope)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._mask is None or self._dtype is None:
            raise self._backward_before_forward()
        dy = _check_dy(dy, "LeakyReLU", self._mask.shape, self._dtype)
        return leaky_relu_backward(dy, self._mask, self.negative_slope)

    def function(self, z: np.ndarray) -> np.ndarray:
        """z for z > 0, negative_slope·z otherwise, for any float array z, caching nothing."""
        return leaky_relu_forward(z, self.negative_slope)[0]

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """1 for z > 0, negative_slope otherwise, by the backward kernel with dy = 1."""
        mask = leaky_relu_forward(z, self.negative_slope)[1]
        return leaky_relu_backward(np.ones_like(z), mask, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """z for z > 0, α(eᶻ − 1) otherwise (Clevert et al. 2015); derivative 1 for z > 0 and
    α·eᶻ for z ≤ 0. Caches the input and the bool mask z > 0."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_number(alpha, "ELU: alpha")
        self._z: np.ndarray | None = None
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._z = check_layer_input(x, "ELU")
        y, self._mask = elu_forward(self._z, self.alpha)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._z is None or self._mask is None:
            raise self._backward_before_forward()
        dy = _check_dy(dy, "ELU", self._z.shape, self._z.dtype)
        return elu_backward(dy, self._z, self._mask, self.alpha)

    def function(self, z: np.ndarray) -> np.ndarray:
        """ELU_α(z) for any float array z, caching nothing."""
        return elu_forward(z, self.alpha)[0]

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """1 for z > 0, α·eᶻ otherwise, by the backward kernel with dy = 1."""
        mask = elu_forward(z, self.alpha)[1]
        return elu_backward(np.ones_like(z), z, mask, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(Module):
    """λ·ELU_α(z) with λ = 1.0507009873554805, α = 1.6732632423543772 (Klambauer et al. 2017).

    Derivative λ for z > 0 and λα·eᶻ for z ≤ 0. With LeCun-normal weights
    N(0, 1/fan_in) and standardised inputs, activations keep mean 0 and variance 1 from
    layer to layer (self-normalisation). Caches the input and the bool mask z > 0.
    """

    def __init__(self) -> None:
        super().__init__()
        self._z: np.ndarray | None = None
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._z = check_layer_input(x, "SELU")
        y, self._mask = elu_forward(self._z, SELU_ALPHA, SELU_SCALE)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._z is None or self._mask is None:
            raise self._backward_before_forward()
        dy = _check_dy(dy, "SELU", self._z.shape, self._z.dtype)
        return elu_backward(dy, self._z, self._mask, SELU_ALPHA, SELU_SCALE)

    def function(self, z: np.ndarray) -> np.ndarray:
        """λ·ELU_α(z) for any float array z, caching nothing."""
        return elu_forward(z, SELU_ALPHA, SELU_SCALE)[0]

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """λ for z > 0, λα·eᶻ otherwise, by the backward kernel with dy = 1."""
        mask = elu_forward(z, SELU_ALPHA, SELU_SCALE)[1]
        return elu_backward(np.ones_like(z), z, mask, SELU_ALPHA, SELU_SCALE)


class GELU(Module):
    """Exact GELU z·Φ(z), Φ the standard normal CDF (the erf form, not the tanh
    approximation); derivative Φ(z) + z·φ(z), φ the standard normal density.
    Caches z and Φ(z)."""

    def __init__(self) -> None:
        super().__init__()
        self._z: np.ndarray | None = None
        self._cdf: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._z = check_layer_input(x, "GELU")
        y, self._cdf = gelu_forward(self._z)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._z is None or self._cdf is None:
            raise self._backward_before_forward()
        dy = _check_dy(dy, "GELU", self._z.shape, self._z.dtype)
        return gelu_backward(dy, self._z, self._cdf)

    def function(self, z: np.ndarray) -> np.ndarray:
        """z·Φ(z) for any float array z, caching nothing."""
        return gelu_forward(z)[0]

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """Φ(z) + z·φ(z), by the backward kernel with dy = 1."""
        return gelu_backward(np.ones_like(z), z, gelu_forward(z)[1])


class Softmax(Module):
    """Softmax over the feature axis: each row of (N, C) becomes a probability vector.

    Jacobian ∂sᵢ/∂zⱼ = sᵢ(δᵢⱼ − sⱼ); backward applies it as s ⊙ (dy − ⟨dy, s⟩).
    Caches the output. ``dim`` may only be 1 (or -1), the feature axis; it is accepted
    so that PyTorch's ``Softmax(dim=1)`` reads the same. For a classifier, prefer raw
    logits with ``CrossEntropyLoss``, which fuses softmax and the loss stably.
    """

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        if isinstance(dim, bool) or dim not in (1, -1):
            raise ValueError(
                "Softmax: dim must be 1 (or -1), the feature axis of a (batch, features) "
                f"input. Received: {dim!r}."
            )
        self.dim = 1
        self._s: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._s = softmax_forward(check_layer_input(x, "Softmax"))
        return self._s

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._s is None:
            raise self._backward_before_forward()
        dy = _check_dy(dy, "Softmax", self._s.shape, self._s.dtype)
        return softmax_backward(dy, self._s)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Identity(Module):
    """y = z; derivative 1 (the regression output layer ψ of the notes §1)."""

    def __init__(self) -> None:
        super().__init__()
        self._shape: tuple[int, ...] | None = None
        self._dtype: np.dtype | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        z = check_layer_input(x, "Identity")
        self._shape, self._dtype = z.shape, z.dtype
        return z

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._shape is None or self._dtype is None:
            raise self._backward_before_forward()
        return _check_dy(dy, "Identity", self._shape, self._dtype)

    def function(self, z: np.ndarray) -> np.ndarray:
        """z itself."""
        return z

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """1 everywhere (backward passes dy through)."""
        return np.ones_like(z)


ACTIVATIONS: Registry[type[Module]] = Registry("activation", "trainlab.activations")
"""Hidden-layer activations by name (``--activation``, ``MLPConfig.activation``, the
estimators); plugins come from the ``trainlab.activations`` entry points."""
for _name, _cls in (("relu", ReLU), ("leaky_relu", LeakyReLU), ("elu", ELU), ("selu", SELU),
                    ("gelu", GELU), ("tanh", Tanh), ("sigmoid", Sigmoid), ("identity", Identity)):
    ACTIVATIONS.add(_name, _cls)
