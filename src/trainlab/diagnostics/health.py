"""Health checks on what the monitor measured: warnings that name the layer and the remedy.

The checks and the remedies are the notes' (§3 vanishing and exploding gradients, §4
initialisation, §6 clipping, §7 normalisation):

- vanishing: the RMS of the weight gradient falls by more than ``ratio`` (100×) from
  the last layer to the first;
- exploding: it rises by more than ``ratio`` from the last layer to the first, or the
  global gradient norm jumps to more than ``jump`` (100×) times its recent median;
- saturated: more than ``saturated`` (half) of a sigmoid/tanh layer's outputs have a
  derivative below 1% of its maximum;
- dead: more than ``dead`` (half) of a ReLU layer's units are zero on the whole batch;
- non-finite: a NaN or infinity in a layer's output, a gradient or the loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trainlab.diagnostics.records import StepRecord

REMEDIES = {
    "vanishing": "use ReLU-family activations, Xavier/He initialisation or batch normalisation "
    "(notes §3, §4, §7)",
    "exploding": "clip the gradients by norm or value, lower the learning rate or decay it, "
    "and use Xavier/He initialisation (notes §3, §6)",
    "saturated": "standardise the inputs, use a smaller initial weight scale (Xavier) or put "
    "batch normalisation before the activation (notes §4, §7)",
    "dead": "lower the learning rate, use He initialisation or batch normalisation before the "
    "ReLU (notes §3, §4, §7)",
    "non-finite": "clip the gradients, lower the learning rate or decay it, and standardise "
    "the inputs (notes §3, §6, §7)",
}


@dataclass(frozen=True)
class Thresholds:
    """When a warning fires (see the module docstring)."""

    ratio: float = 100.0
    jump: float = 100.0
    saturated: float = 0.5
    dead: float = 0.5


@dataclass(frozen=True)
class HealthWarning:
    """One problem seen at ``step`` in ``layer``, with the notes' remedy."""

    step: int
    kind: str
    layer: str
    message: str

    @property
    def remedy(self) -> str:
        return REMEDIES[self.kind]

    def __str__(self) -> str:
        return f"step {self.step}: {self.message} Remedy: {self.remedy}."


def _weight_gradients(record: StepRecord) -> list[tuple[str, float]]:
    return [(p.name, p.grad_rms) for p in record.params if p.is_weight]


def check_record(record: StepRecord, limits: Thresholds) -> list[HealthWarning]:
    """The warnings one sampled step gives."""
    out: list[HealthWarning] = []
    step = record.step
    for s in record.layers:
        if not s.finite:
            out.append(HealthWarning(
                step, "non-finite", s.label,
                f"non-finite values in layer '{s.label}' (output or gradient)."))
        if s.saturated > limits.saturated:
            out.append(HealthWarning(
                step, "saturated", s.label,
                f"layer '{s.label}' is saturated: {100 * s.saturated:.0f}% of its outputs have a "
                f"derivative below 1% of its maximum, so almost no gradient passes."))
        if s.dead > limits.dead:
            out.append(HealthWarning(
                step, "dead", s.label,
                f"layer '{s.label}' has {100 * s.dead:.0f}% dead units "
                f"(zero for the whole batch)."))
    weights = [(n, g) for n, g in _weight_gradients(record) if math.isfinite(g)]
    if len(weights) >= 2:
        (first, g_first), (last, g_last) = weights[0], weights[-1]
        if g_first * limits.ratio < g_last:
            ratio = g_last / g_first if g_first > 0 else math.inf
            out.append(HealthWarning(
                step, "vanishing", first,
                f"vanishing gradients: the gradient RMS at '{first}' is {g_first:.2g}, "
                f"{ratio:.3g}× smaller than at the last layer '{last}' ({g_last:.2g})."))
        elif g_last * limits.ratio < g_first:
            ratio = g_first / g_last if g_last > 0 else math.inf
            out.append(HealthWarning(
                step, "exploding", first,
                f"exploding gradients: the gradient RMS at '{first}' is {g_first:.2g}, "
                f"{ratio:.3g}× larger than at the last layer '{last}' ({g_last:.2g})."))
    if not math.isfinite(record.loss) and not any(w.kind == "non-finite" for w in out):
        out.append(HealthWarning(step, "non-finite", "loss", f"the loss is {record.loss}."))
    return out


def check_global_norm(step: int, norm: float, recent: Sequence[float],
                      limits: Thresholds) -> HealthWarning | None:
    """A warning when the global gradient norm is non-finite or jumps above ``jump`` × the
    median of the ``recent`` finite norms."""
    if not math.isfinite(norm):
        return HealthWarning(step, "non-finite", "global",
                             f"the global gradient norm is {norm}.")
    finite = sorted(v for v in recent if math.isfinite(v))
    if len(finite) >= 5:
        median = finite[len(finite) // 2]
        if median > 0 and norm > limits.jump * median:
            return HealthWarning(
                step, "exploding", "global",
                f"the global gradient norm jumped to {norm:.3g}, {norm / median:.3g}× its recent "
                f"median {median:.3g}.")
    return None
