"""Signal propagation at initialisation: predicted and measured variance, layer by layer
(notes §3, §4).

Forward, through a linear layer with independent zero-mean weights (notes §4)::

    Var(y) = k·Var(w)·E[x²] (+ E[b²])                 k = fan-in

so the naive U[−1/√k, 1/√k] (Var(w) = 1/(3k)) divides the variance by 3 per layer and
Var(w) = 1/k keeps it. Through an activation φ with pre-activation z ~ N(μ, v) the output
has mean E[φ(z)] and second moment E[φ(z)²]: ReLU halves the second moment (E[relu(z)²] =
v/2), tanh is the identity near 0, sigmoid shifts the mean to ½, and SELU with Var(w) = 1/k
has the fixed point (mean 0, variance 1) (Klambauer et al. 2017).

Backward, for the gradient g reaching each layer's output::

    E[g_x²] = m·Var(w)·E[g_y²]       linear layer, m = fan-out
    E[g_z²] = E[φ'(z)²]·E[g_y²]      activation; sigmoid: φ' ≤ 1/4, so the factor is ≤ 1/16

Batch and layer normalisation output variance γ² and scale the gradient by γ²/Var(x);
inverted dropout scales both by 1/(1 − p) in training. These Gaussian expectations
are computed by quadrature (Gauss–Legendre, split at 0 where φ has a kink), with φ and φ′
from the activation layer itself: its ``function(z)`` and ``derivative(z)`` methods run
the kernels of its forward and backward, so a subclass or a plugin that has them is
covered. A layer the theory does not know gives NaN from there on.

The input statistics that matter for a linear layer are the mean over units of the
second moment; for the next normalisation layer the variance *within* each unit
matters, so three numbers are carried from layer to layer: the pooled mean, the pooled
variance (over all examples and units) and the mean per-unit variance over examples.

:func:`predict_signal` gives the theory for a model; :func:`measure_signal` runs one
batch forward and one random gradient backward and measures the same quantities,
leaving the model exactly as it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trainlab._checks import check_input, check_number
from trainlab._rng import RngLike, as_generator
from trainlab.diagnostics.probe import Snapshot, layer_chain, tap
from trainlab.nn.dropout import DropConnect, Dropout
from trainlab.nn.linear import Linear
from trainlab.nn.module import Module
from trainlab.nn.normalization import BatchNorm, LayerNorm

Pair = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class LayerSignal:
    """The signal at one layer's output: pooled mean and variance of the output over the
    batch and units, and ``grad_var`` = E[g²] of the gradient reaching the output (its
    mean is ≈ 0, so this is its variance)."""

    index: int
    name: str
    kind: str
    out_mean: float
    out_var: float
    grad_var: float

    @property
    def label(self) -> str:
        return f"{self.name} {self.kind}"


# -- activations: φ and φ′ from the layer's own kernels ----------------------------------


def _activation(layer: Module) -> Pair | None:
    """(φ, φ′) of an elementwise activation layer — its ``function`` and ``derivative``
    methods, the kernels its forward and backward run — or None for other layers."""
    function = getattr(layer, "function", None)
    derivative = getattr(layer, "derivative", None)
    if callable(function) and callable(derivative):
        return function, derivative
    return None


# -- Gaussian expectations by quadrature ------------------------------------------------

_LEG_X, _LEG_W = np.polynomial.legendre.leggauss(64)
_HERM_X, _HERM_W = np.polynomial.hermite_e.hermegauss(16)
_HERM_W = _HERM_W / _HERM_W.sum()


def _normal_nodes(mean: np.ndarray, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and weights for E[f(z)], z ~ N(mean, std²), one row per mean: Gauss–Legendre
    on [mean − 10·std, mean + 10·std], split at 0 so that kinks of φ at 0 are exact."""
    mean = np.atleast_1d(mean)[:, None]
    lo, hi = mean - 10.0 * std, mean + 10.0 * std
    mid = np.clip(0.0, lo, hi)
    nodes, weights = [], []
    for a, b in ((lo, mid), (mid, hi)):
        half = (b - a) / 2.0
        z = a + half * (_LEG_X + 1.0)
        nodes.append(z)
        weights.append(half * _LEG_W * np.exp(-0.5 * ((z - mean) / std) ** 2))
    z = np.concatenate(nodes, axis=1)
    w = np.concatenate(weights, axis=1)
    return z, w / w.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class _Moments:
    mean: float  # pooled mean over examples and units
    var: float  # pooled variance over examples and units
    within: float  # mean over units of the variance over examples

    @property
    def second(self) -> float:
        return self.var + self.mean**2


def _through_activation(phi: Pair, m: _Moments) -> tuple[_Moments, float]:
    """Moments after φ and the backward factor E[φ'(z)²].

    Unit means μ ~ N(m.mean, var − within) (16 Gauss–Hermite nodes); within each
    unit z ~ N(μ, within) (Gauss–Legendre)."""
    f, df = phi
    between = max(m.var - m.within, 0.0)
    within = max(m.within, 1e-300)
    mus = m.mean + math.sqrt(between) * _HERM_X
    z, w = _normal_nodes(mus, math.sqrt(within))
    with np.errstate(over="ignore", invalid="ignore"):
        y = f(z)
        e1 = (w * y).sum(axis=1)
        e2 = (w * y * y).sum(axis=1)
        d2 = (w * df(z) ** 2).sum(axis=1)
    mean = float(_HERM_W @ e1)
    second = float(_HERM_W @ e2)
    unit_var = float(_HERM_W @ np.maximum(e2 - e1**2, 0.0))
    return _Moments(mean, max(second - mean**2, 0.0), unit_var), float(_HERM_W @ d2)


def _mean_square(a: np.ndarray | None) -> float:
    return 0.0 if a is None else float(np.mean(np.square(a, dtype=np.float64)))


def _step(layer: Module, m: _Moments) -> tuple[_Moments, float]:
    """Moments after ``layer`` and its backward factor E[g_in²]/E[g_out²] (NaN if unknown)."""
    phi = _activation(layer)
    if phi is not None:
        return _through_activation(phi, m)
    if isinstance(layer, (Linear, DropConnect)):
        w = layer.weight.data
        b = None if layer.bias is None else layer.bias.data
        k, n_out = w.shape
        w2 = _mean_square(w)
        if isinstance(layer, DropConnect) and layer.training and layer.p > 0:
            w2 /= 1.0 - layer.p  # inverted scaling: E[(w·mask/(1−p))²] = E[w²]/(1−p)
        w_mean = float(np.mean(w, dtype=np.float64))
        b_mean = 0.0 if b is None else float(np.mean(b, dtype=np.float64))
        mean = k * w_mean * m.mean + b_mean
        second = k * w2 * m.second + _mean_square(b)
        within = k * w2 * m.within
        return _Moments(mean, max(second - mean**2, within), within), n_out * w2
    if isinstance(layer, Dropout):
        if not layer.training or layer.p == 0:
            return m, 1.0
        keep = 1.0 - layer.p
        within = m.within / keep + (m.second - m.within) * layer.p / keep
        return _Moments(m.mean, m.second / keep - m.mean**2, within), 1.0 / keep
    if isinstance(layer, (BatchNorm, LayerNorm)):
        gamma = layer.weight.data if layer.weight is not None else None
        beta = layer.bias.data if layer.bias is not None else None
        g2 = 1.0 if gamma is None else _mean_square(gamma)
        b_mean = 0.0 if beta is None else float(np.mean(beta, dtype=np.float64))
        b_var = 0.0 if beta is None else float(np.var(beta, dtype=np.float64))
        eps = layer.eps
        batch_norm = isinstance(layer, BatchNorm)
        if (
            isinstance(layer, BatchNorm) and not layer.training and layer.track_running_stats
            and layer.running_mean is not None and layer.running_var is not None
        ):  # evaluation on the running statistics (buffers with track_running_stats)
            scale2 = float(np.mean(g2 / (layer.running_var.astype(np.float64) + eps)))
            shift = m.mean - float(np.mean(layer.running_mean, dtype=np.float64))
            within = scale2 * m.within
            var = scale2 * m.var + b_var
            mean = math.sqrt(scale2) * shift + b_mean
            return _Moments(mean, var, within), scale2
        if batch_norm:  # batch statistics: each unit gets mean β, variance γ²
            shrink = m.within / (m.within + eps)
            return _Moments(b_mean, g2 * shrink + b_var, g2 * shrink), g2 / (m.within + eps)
        # LayerNorm: each row gets mean 0, variance 1, then γ, β per feature.
        shrink = m.var / (m.var + eps)
        frac = m.within / m.var if m.var > 0 else 1.0
        return (
            _Moments(b_mean, g2 * shrink + b_var, g2 * shrink * frac),
            g2 / (m.var + eps),
        )
    nan = float("nan")
    return _Moments(nan, nan, nan), nan


def predict_signal(
    model: Module,
    input_var: float = 1.0,
    input_mean: float = 0.0,
    grad_var: float = 1.0,
    input_within_var: float | None = None,
) -> list[LayerSignal]:
    """The theory's mean and variance of every layer's output and E[g²] of the gradient
    reaching it, for inputs of the given pooled mean and variance and a gradient of
    second moment ``grad_var`` at the model's output.

    input_within_var: the mean per-feature variance of the input over examples
        (default: ``input_var``, i.e. features with equal means).
    Layers the theory does not cover (e.g. Softmax) give NaN from there on.
    """
    input_var = check_number(input_var, "predict_signal: input_var", low=0.0)
    input_mean = check_number(input_mean, "predict_signal: input_mean")
    grad_var = check_number(grad_var, "predict_signal: grad_var", low=0.0)
    within = input_var if input_within_var is None else min(
        check_number(input_within_var, "predict_signal: input_within_var", low=0.0), input_var
    )
    chain = layer_chain(model)
    moments = _Moments(input_mean, input_var, within)
    forward: list[_Moments] = []
    factors: list[float] = []
    for _, layer in chain:
        moments, factor = _step(layer, moments)
        forward.append(moments)
        factors.append(factor)
    grads = [0.0] * len(chain)
    g = grad_var
    for i in range(len(chain) - 1, -1, -1):
        grads[i] = g
        g *= factors[i]
    return [
        LayerSignal(i, name, type(layer).__name__, m.mean, m.var, gv)
        for i, ((name, layer), m, gv) in enumerate(zip(chain, forward, grads, strict=False))
    ]


def input_statistics(x: np.ndarray) -> dict[str, float]:
    """Pooled mean, pooled variance and mean per-feature variance of a batch (N, D)."""
    x64 = np.asarray(x, dtype=np.float64)
    return {
        "input_mean": float(x64.mean()),
        "input_var": float(x64.var()),
        "input_within_var": float(x64.var(axis=0).mean()),
    }


def predict_for_input(model: Module, x: np.ndarray, grad_var: float = 1.0) -> list[LayerSignal]:
    """:func:`predict_signal` with the input statistics taken from a batch ``x`` (N, D)."""
    x = check_input(x, "predict_for_input")
    return predict_signal(model, grad_var=grad_var, **input_statistics(x))


def measure_signal(
    model: Module,
    x: np.ndarray,
    grad_var: float = 1.0,
    rng: RngLike = 0,
) -> list[LayerSignal]:
    """Measure every layer's output mean and variance on the batch ``x`` (N, D) and E[g²]
    of the gradient reaching it when a random gradient N(0, grad_var) is sent back
    from the output. The model (parameters, gradients, buffers, random generators)
    is left exactly as it was."""
    x = check_input(x, "measure_signal")
    grad_var = check_number(grad_var, "measure_signal: grad_var", low=0.0)
    chain = layer_chain(model)
    out = [(math.nan, math.nan)] * len(chain)
    grads = [math.nan] * len(chain)

    def on_forward(i: int, layer: Module, x_in: np.ndarray, y: np.ndarray) -> None:
        y64 = y.astype(np.float64, copy=False)
        out[i] = (float(y64.mean()), float(y64.var()))

    def on_backward(i: int, layer: Module, dy: np.ndarray) -> None:
        grads[i] = float(np.mean(np.square(dy, dtype=np.float64)))

    snapshot = Snapshot(model)
    try:
        with np.errstate(all="ignore"), tap(model, on_forward, on_backward):
            y = model.forward(x)
            dy = as_generator(rng).normal(0.0, math.sqrt(grad_var), size=y.shape)
            model.backward(dy.astype(y.dtype))
    finally:
        snapshot.restore()
    return [
        LayerSignal(i, name, type(layer).__name__, out[i][0], out[i][1], grads[i])
        for i, (name, layer) in enumerate(chain)
    ]


def signal_table(
    predicted: list[LayerSignal], measured: list[LayerSignal]
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of predicted against measured output variance and gradient E[g²]."""
    header = ["layer", "Var(out) theory", "Var(out) measured", "E[g²] theory", "E[g²] measured"]
    rows = [
        [p.label, f"{p.out_var:.3g}", f"{m.out_var:.3g}", f"{p.grad_var:.3g}", f"{m.grad_var:.3g}"]
        for p, m in zip(predicted, measured, strict=False)
    ]
    return header, rows


def log_ratio_error(predicted: list[float], measured: list[float]) -> float:
    """The largest |log10(measured/predicted)| over finite positive pairs (0 = exact)."""
    worst = 0.0
    for p, m in zip(predicted, measured, strict=False):
        if p > 0 and m > 0 and math.isfinite(p) and math.isfinite(m):
            worst = max(worst, abs(math.log10(m / p)))
    return worst
