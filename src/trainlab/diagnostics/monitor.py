"""``Monitor``: a training callback that watches every layer without changing training.

Every ``every`` optimizer steps the monitor taps the model's layers for one step
(:func:`trainlab.diagnostics.probe.tap`) and records, per layer, the mean and std of its
output, the saturated (sigmoid/tanh) or dead (ReLU) fraction — as the layer's own
``saturation(y)`` measures it, see :mod:`trainlab.nn.activations` — and the norm and std
of the gradient reaching it; per parameter, the gradient norm and the update-to-weight ratio
‖Δθ‖/‖θ‖ of the step; BatchNorm's batch statistics against its running statistics; the
mean step size |Δθ| and, for Adam-family optimizers, the median per-coordinate learning
rate γ/(√v̂ + ε). On every step it keeps the global gradient norm before and after
clipping (which the trainer hands to ``on_after_clip``) and so how often clipping fired.
At the first sampled step it computes the theory's variance profile for the batch's
input statistics (:mod:`trainlab.diagnostics.theory`).

Watching only reads: no random number is drawn, no array of the model or optimizer is
written, so a run with and without the monitor gives identical weights.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import numpy as np

from trainlab._checks import check_input, check_int
from trainlab.diagnostics.health import (
    HealthWarning,
    Thresholds,
    check_global_norm,
    check_record,
)
from trainlab.diagnostics.probe import layer_chain, tap
from trainlab.diagnostics.records import (
    BatchNormStats,
    LayerStats,
    ParamStats,
    StepRecord,
)
from trainlab.diagnostics.theory import LayerSignal, predict_signal
from trainlab.nn.activations import Identity, Softmax
from trainlab.nn.dropout import DropConnect
from trainlab.nn.linear import Linear
from trainlab.nn.module import Module
from trainlab.nn.normalization import BatchNorm
from trainlab.train.callbacks import Callback


def _keeps_histogram(layer: Module) -> bool:
    """Whether the monitor keeps histograms of the layer's outputs: a nonlinear elementwise
    activation (it has a ``derivative`` method; an Identity's outputs are the previous
    layer's) or a Softmax."""
    if isinstance(layer, Identity):
        return False
    return callable(getattr(layer, "derivative", None)) or isinstance(layer, Softmax)


def _record_saturation(layer: Module, y: np.ndarray, stats: LayerStats) -> None:
    """Put the layer's ``saturation(y)`` into ``stats.dead`` or ``stats.saturated``, as its
    ``saturation_kind`` says; nothing for a layer without that method."""
    measure = getattr(layer, "saturation", None)
    if not callable(measure):
        return
    fraction = float(measure(y))
    if getattr(layer, "saturation_kind", "saturated") == "dead":
        stats.dead = fraction
    else:
        stats.saturated = fraction


def _timed(method: Callable[..., None]) -> Callable[..., None]:
    """Add the time a monitor method takes to ``self.seconds`` (the monitor's overhead);
    on sampled steps, overflow in the statistics of a diverging network is not warned about."""

    @functools.wraps(method)
    def timed(self: Monitor, *args: Any) -> None:
        start = time.perf_counter()
        try:
            if self._record is None:  # an unsampled step: nothing that could overflow
                method(self, *args)
            else:
                with np.errstate(all="ignore"):
                    method(self, *args)
        finally:
            self.seconds += time.perf_counter() - start

    return timed


class TrainingHealthWarning(UserWarning):
    """Issued (once per kind and layer) when the monitor sees a health problem."""


def _norm(a: np.ndarray) -> float:
    """‖a‖₂ (callers silence floating-point warnings: an overflow gives inf)."""
    flat = a.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))


def _mean_std(a: np.ndarray) -> tuple[float, float]:
    """Mean and (biased) standard deviation of all entries, accumulated in float64."""
    flat = a.reshape(-1).astype(np.float64)
    mean = float(flat.mean())
    flat -= mean
    return mean, math.sqrt(float(np.dot(flat, flat)) / max(flat.size, 1))


class Monitor(Callback):
    """Record per-layer diagnostics every ``every`` optimizer steps during ``fit``.

    every: sample one step in ``every`` (the first step is always sampled).
    histogram_values: how many output values per activation layer to keep for the
        activation histograms (taken with a fixed stride, no randomness).
    eval_batch: a fixed batch (N, features), e.g. validation rows; when given, a ReLU unit
        counts as dead when it is zero for every row of it, in an evaluation-mode forward
        pass after each sampled step (which reads the model and changes nothing); otherwise
        the sampled training batch is used.
    warn: issue a :class:`TrainingHealthWarning` the first time each problem is seen
        (they are always collected in ``warnings``).
    thresholds: when a warning fires (:class:`~trainlab.diagnostics.health.Thresholds`).

    After training: ``records`` (one :class:`StepRecord` per sampled step),
    ``global_norms`` / ``clipped_norms`` (every step), ``clip_fraction``, ``theory``
    (predicted :class:`LayerSignal` at initialisation), ``samples`` (histogram values,
    ``{"init": {layer: array}, "end": {...}}``) and ``warnings``.
    """

    order = -5  # before checkpoints and early stopping see the epoch

    def __init__(
        self,
        every: int = 50,
        histogram_values: int = 4000,
        warn: bool = True,
        thresholds: Thresholds | None = None,
        eval_batch: np.ndarray | None = None,
    ) -> None:
        self.every = check_int(every, "Monitor: every", low=1)
        self.eval_batch = (
            None if eval_batch is None else check_input(eval_batch, "Monitor: eval_batch")
        )
        self.histogram_values = check_int(histogram_values, "Monitor: histogram_values", low=0)
        self.warn = bool(warn)
        self.thresholds = thresholds or Thresholds()
        self.records: list[StepRecord] = []
        self.global_norms: list[float] = []
        self.clipped_norms: list[float] = []
        self.theory: list[LayerSignal] | None = None
        self.samples: dict[str, dict[str, np.ndarray]] = {"init": {}, "end": {}}
        self.warnings: list[HealthWarning] = []
        self._seen: set[tuple[str, str]] = set()
        self._stack: ExitStack | None = None
        self._record: StepRecord | None = None
        self._before: list[np.ndarray] | None = None
        self._input_stats: dict[str, float] | None = None
        self.seconds = 0.0  # time spent in the monitor's own code
        self._recent: deque[float] = deque(maxlen=20)
        self._jump_bound = math.inf

    # -- summaries -------------------------------------------------------------------
    @property
    def first_record(self) -> StepRecord:
        if not self.records:
            raise RuntimeError("Monitor: no step was recorded; train with the monitor first.")
        return self.records[0]

    @property
    def last_record(self) -> StepRecord:
        if not self.records:
            raise RuntimeError("Monitor: no step was recorded; train with the monitor first.")
        return self.records[-1]

    @property
    def clip_fraction(self) -> float:
        """The fraction of steps on which clipping changed the gradient."""
        pairs = [
            (b, a)
            for b, a in zip(self.global_norms, self.clipped_norms, strict=False)
            if math.isfinite(b)
        ]
        if not pairs:
            return math.nan
        return sum(a < b * (1 - 1e-6) for b, a in pairs) / len(pairs)

    # -- callback hooks --------------------------------------------------------------
    @_timed
    def on_train_begin(self, trainer: Any) -> None:
        self._params = list(trainer.model.named_parameters())
        self._param_layers = _parameter_layers(trainer.model)

    @_timed
    def on_batch_begin(self, trainer: Any, batch: int) -> None:
        step = int(trainer.global_step)
        if step % self.every or self._stack is not None:
            return
        model: Module = trainer.model
        chain = layer_chain(model)
        self._record = StepRecord(
            step=step, epoch=int(getattr(trainer, "current_epoch", 0)),
            layers=[LayerStats(name, type(layer).__name__) for name, layer in chain],
        )
        self._stack = ExitStack()
        self._stack.enter_context(tap(model, self._on_forward, self._on_backward))

    @_timed
    def on_after_backward(self, trainer: Any) -> None:
        record = self._record
        if record is None or self._stack is None:
            return
        self._stack.close()
        for name, p in self._params:
            norm = _norm(p.grad)
            kind, matrix = self._param_layers.get(name, ("", False))
            record.params.append(ParamStats(name, kind, norm, norm / math.sqrt(max(p.grad.size, 1)),
                                            weight_matrix=matrix))
        if self.theory is None and self._input_stats is not None and record.layers:
            # The theory starts from this batch's input statistics and output gradient.
            out_grad = record.layers[-1].grad_rms ** 2
            grad_var = out_grad if math.isfinite(out_grad) else 1.0
            self.theory = predict_signal(trainer.model, grad_var=grad_var, **self._input_stats)

    @_timed
    def on_after_clip(self, trainer: Any, norm_before: float, norm_after: float) -> None:
        norm_before, norm_after = float(norm_before), float(norm_after)
        recent = self._recent
        if not math.isfinite(norm_before) or (len(recent) >= 5 and norm_before > self._jump_bound):
            warning = check_global_norm(
                int(trainer.global_step), norm_before, recent, self.thresholds
            )
            if warning is not None:
                self._report(warning)
        self.global_norms.append(norm_before)
        self.clipped_norms.append(norm_after)
        if math.isfinite(norm_before):
            recent.append(norm_before)
            if len(recent) >= 5:  # jump bound = jump × the median of the last 20 finite norms
                self._jump_bound = self.thresholds.jump * sorted(recent)[len(recent) // 2]
        if self._record is not None:
            self._record.grad_norm = float(norm_before)
            self._record.clipped_norm = float(norm_after)
            self._before = [p.data.copy() for _, p in self._params]

    @_timed
    def on_batch_end(self, trainer: Any, batch: int, loss: float) -> None:
        record = self._record
        if record is None:
            return
        if self._stack is not None:  # backward never ran (e.g. the NaN guard stopped the step)
            self._stack.close()
        self._stack = None
        record.loss = float(loss)
        if self._before is not None:
            steps, count = 0.0, 0
            for (name, p), old in zip(self._params, self._before, strict=False):
                delta = p.data - old
                stats = record.param(name)
                norm_w = _norm(old)
                if stats is not None:
                    stats.update_ratio = _norm(delta) / norm_w if norm_w > 0 else math.nan
                steps += float(np.abs(delta).sum(dtype=np.float64))
                count += delta.size
            record.step_size = steps / max(count, 1)
            record.adam_lr = _adam_learning_rate(trainer.optimizer)
        if self.eval_batch is not None:
            self._dead_on_eval_batch(trainer.model, record)
        self._before = None
        self._record = None
        self.records.append(record)
        for warning in check_record(record, self.thresholds):
            self._report(warning)

    def _dead_on_eval_batch(self, model: Module, record: StepRecord) -> None:
        """Dead ReLU fractions over the fixed evaluation batch (evaluation mode: no batch
        statistics are updated and no dropout mask is drawn; the modes are put back)."""
        eval_batch = self.eval_batch
        assert eval_batch is not None  # checked by the caller
        modes = [(m, m.training) for m in model.modules()]

        def on_forward(i: int, layer: Module, x: np.ndarray, y: np.ndarray) -> None:
            if getattr(layer, "saturation_kind", None) == "dead":
                _record_saturation(layer, y, record.layers[i])

        try:
            model.eval()
            with tap(model, on_forward):
                model.forward(eval_batch.astype(trainer_dtype(model), copy=False))
        finally:
            for module, mode in modes:
                object.__setattr__(module, "training", mode)

    @_timed
    def on_train_end(self, trainer: Any) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
        record = self._record
        if record is not None:  # the step was cut short (the NaN guard): keep what was seen
            record.loss = float(getattr(trainer, "batch_loss", math.nan))
            self.records.append(record)
            for warning in check_record(record, self.thresholds):
                self._report(warning)
        self._record = None
        self._before = None

    # -- notebooks ------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        """The per-layer health table at the last sampled step, its facts and warnings."""
        from trainlab.diagnostics.sections import monitor_html  # (matplotlib, html)

        return monitor_html(self)

    def plot(self) -> Any:
        """A matplotlib Figure: each layer's output spread and gradient size against depth
        (see :func:`~trainlab.diagnostics.plots.depth_profile_figure`)."""
        from trainlab.diagnostics.plots import depth_profile_figure  # imports matplotlib
        from trainlab.train.display import show_inline

        show_inline()
        return depth_profile_figure(self)

    # -- taps ------------------------------------------------------------------------
    @_timed
    def _on_forward(self, i: int, layer: Module, x: np.ndarray, y: np.ndarray) -> None:
        record = self._record
        if record is None:
            return
        stats = record.layers[i]
        if i == 0 and self._input_stats is None:
            x64 = x.astype(np.float64, copy=False)
            self._input_stats = {"input_mean": float(x64.mean()), "input_var": float(x64.var()),
                                 "input_within_var": float(x64.var(axis=0).mean())}
        stats.out_mean, stats.out_std = _mean_std(y)
        stats.finite = math.isfinite(stats.out_mean) and math.isfinite(stats.out_std)
        _record_saturation(layer, y, stats)
        if isinstance(layer, BatchNorm) and layer.training and layer.track_running_stats:
            record.batchnorm.append(_batchnorm_stats(stats.name, layer, x))
        if _keeps_histogram(layer):
            self._keep_sample(stats, y)

    @_timed
    def _on_backward(self, i: int, layer: Module, dy: np.ndarray) -> None:
        record = self._record
        if record is None:
            return
        stats = record.layers[i]
        mean, stats.grad_std = _mean_std(dy)
        stats.grad_rms = math.sqrt(stats.grad_std**2 + mean**2)
        stats.grad_norm = stats.grad_rms * math.sqrt(dy.size)
        stats.finite = stats.finite and math.isfinite(stats.grad_norm)

    def _keep_sample(self, stats: LayerStats, y: np.ndarray) -> None:
        if self.histogram_values == 0:
            return
        flat = y.reshape(-1)
        stride = max(1, flat.size // self.histogram_values)
        values = flat[::stride][: self.histogram_values].astype(np.float32)
        if not self.records:
            self.samples["init"][stats.label] = values
        self.samples["end"][stats.label] = values

    def _report(self, warning: HealthWarning) -> None:
        key = (warning.kind, warning.layer)
        if key in self._seen:
            return
        self._seen.add(key)
        self.warnings.append(warning)
        if self.warn:
            warnings.warn(str(warning), TrainingHealthWarning, stacklevel=3)


def trainer_dtype(model: Module) -> np.dtype:
    """The float dtype of the model's parameters (float32 when it has none)."""
    params = model.parameters()
    return params[0].data.dtype if params else np.dtype(np.float32)


def _parameter_layers(model: Module) -> dict[str, tuple[str, bool]]:
    """Dotted parameter name -> (the class name of the layer that owns it, whether it is
    the weight matrix of a Linear or DropConnect layer, subclasses included)."""
    layers = {}
    for prefix, module in model.named_modules():
        matrix = isinstance(module, (Linear, DropConnect))
        for name in module._parameters:
            key = f"{prefix}.{name}" if prefix else name
            layers[key] = (type(module).__name__, matrix and name == "weight")
    return layers


def _batchnorm_stats(name: str, layer: BatchNorm, x: np.ndarray) -> BatchNormStats:
    """Batch statistics of the BatchNorm input ``x`` against the layer's running statistics."""
    x64 = x.astype(np.float64, copy=False)
    mean, var = x64.mean(axis=0), x64.var(axis=0)
    running_mean = np.asarray(layer.running_mean, dtype=np.float64)
    running_var = np.asarray(layer.running_var, dtype=np.float64)
    gap = float(np.mean(np.abs(mean - running_mean) / np.sqrt(running_var + layer.eps)))
    ratio = float(np.mean(var / np.maximum(running_var, 1e-30)))
    return BatchNormStats(name, gap, ratio)


def _adam_learning_rate(optimizer: Any) -> float:
    """Median over all coordinates of γ/(1−β₁ᵗ)/(√v̂ + ε) for Adam-family optimizers, else NaN."""
    state = getattr(optimizer, "state", None)
    betas = getattr(optimizer, "betas", None)
    t = getattr(optimizer, "step_count", 0)
    if not state or betas is None or t < 1 or "exp_avg_sq" not in state[0]:
        return math.nan
    beta1, beta2 = betas
    scale = optimizer.lr / (1 - beta1**t)
    correction = math.sqrt(1 - beta2**t)
    total = sum(s["exp_avg_sq"].size for s in state if "exp_avg_sq" in s)
    stride = max(1, total // 4096)  # a fixed-stride sample is enough for a median
    v = np.concatenate([s["exp_avg_sq"].reshape(-1)[::stride] for s in state if "exp_avg_sq" in s])
    return float(np.median(scale / (np.sqrt(v) / correction + optimizer.eps)))
