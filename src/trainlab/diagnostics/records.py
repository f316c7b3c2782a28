"""What the monitor records on a sampled training step (plain data, no behaviour)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class LayerStats:
    """One layer on one sampled step.

    out_mean, out_std: over the batch and the units of the layer's output.
    saturated: sigmoid/tanh (layers whose ``saturation_kind`` is "saturated"), the
        fraction of outputs whose derivative is below 1% of its maximum (σ' < 0.0025,
        tanh' < 0.01); NaN for other layers.
    dead: ReLU (layers whose ``saturation_kind`` is "dead"), the fraction of units that
        are zero for every example of the batch; NaN for other layers.
    grad_norm, grad_std, grad_rms: of the gradient of the loss reaching the layer's
        output, ∂L/∂y over the batch (N, units).
    """

    name: str
    kind: str
    out_mean: float = math.nan
    out_std: float = math.nan
    saturated: float = math.nan
    dead: float = math.nan
    grad_norm: float = math.nan
    grad_std: float = math.nan
    grad_rms: float = math.nan
    finite: bool = True

    @property
    def label(self) -> str:
        return f"{self.name} {self.kind}"


@dataclass
class ParamStats:
    """One parameter on one sampled step: ‖∂L/∂θ‖ (before clipping), its RMS, and the
    update-to-weight ratio ‖Δθ‖/‖θ‖ of the optimizer step that followed."""

    name: str
    layer_kind: str
    grad_norm: float
    grad_rms: float
    update_ratio: float = math.nan
    weight_matrix: bool | None = None  # set by the monitor from the layer (None: not recorded)

    @property
    def is_weight(self) -> bool:
        """True for the weight matrix of a Linear or DropConnect layer (subclasses included).

        Records stored before ``weight_matrix`` was kept hold only the class name, and are
        judged by it."""
        if self.weight_matrix is not None:
            return self.weight_matrix
        return self.layer_kind in ("Linear", "DropConnect") and self.name.split(".")[-1] == "weight"


@dataclass
class BatchNormStats:
    """A BatchNorm layer's batch statistics against its running statistics.

    mean_gap: mean over features of |μ_B − μ*|/√(σ²* + ε) (0: the running mean is the batch's).
    var_ratio: mean over features of σ²_B/σ²* (1: the running variance is the batch's).
    """

    name: str
    mean_gap: float
    var_ratio: float


@dataclass
class StepRecord:
    """Everything measured on one sampled step (``step``: optimizer steps taken before it)."""

    step: int
    epoch: int
    loss: float = math.nan
    layers: list[LayerStats] = field(default_factory=list)
    params: list[ParamStats] = field(default_factory=list)
    batchnorm: list[BatchNormStats] = field(default_factory=list)
    grad_norm: float = math.nan
    clipped_norm: float = math.nan
    step_size: float = math.nan
    adam_lr: float = math.nan

    def param(self, name: str) -> ParamStats | None:
        return next((p for p in self.params if p.name == name), None)
