"""A :class:`Monitor`'s observations as JSON-able data, and back.

``monitor_to_dict(monitor)`` keeps everything the report and the health table read
(records, gradient norms, the theory, the histogram samples, the warnings), so a run
directory's ``monitor.json`` rebuilds the diagnostics sections without the training
process. ``monitor_from_dict(data)`` returns a Monitor holding them; it can also keep
recording (the CLI restores it when a run is resumed). Non-finite numbers are stored as
the strings ``"nan"``, ``"inf"`` and ``"-inf"``, so the file is strict JSON.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from typing import Any

import numpy as np

from trainlab.diagnostics.health import REMEDIES, HealthWarning, Thresholds
from trainlab.diagnostics.monitor import Monitor
from trainlab.diagnostics.records import BatchNormStats, LayerStats, ParamStats, StepRecord
from trainlab.diagnostics.theory import LayerSignal

FORMAT = "trainlab-monitor-1"


def _num(value: float) -> float | str:
    value = float(value)
    return value if math.isfinite(value) else str(value)


def _from_num(value: Any) -> float:
    """A stored number: a JSON number, or one of the strings "nan", "inf", "-inf"."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"expected a number, received {type(value).__name__}")
    if isinstance(value, str) and value not in ("nan", "inf", "-inf"):
        raise ValueError(f"expected a number or 'nan', 'inf', '-inf', received {value!r:.40}")
    return float(value)


_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,),
                                       "bool | None": (bool, type(None))}


def _plain(obj: Any) -> Any:
    """A dataclass as a dict with non-finite floats as strings."""
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, float):
            value = _num(value)
        elif isinstance(value, list):
            value = [_plain(v) for v in value]
        out[f.name] = value
    return out


def _restore(cls: type, data: dict[str, Any]) -> Any:
    """``cls`` from stored fields, each checked against the field's declared type."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__}: expected an object, received {type(data).__name__}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        declared = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if declared == "float":
            value = _from_num(value)
        elif declared in _TYPES:
            kinds = _TYPES[declared]
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise TypeError(f"{cls.__name__}.{f.name}: expected {declared}, received "
                                f"{type(value).__name__}")
        kwargs[f.name] = value
    return cls(**kwargs)


def _items(value: Any, what: str) -> Any:
    if not isinstance(value, dict):
        raise TypeError(f"{what}: expected an object, received {type(value).__name__}")
    return value.items()


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{what}: expected a list, received {type(value).__name__}")
    return value


def monitor_to_dict(monitor: Monitor) -> dict[str, Any]:
    """Everything the monitor observed, as JSON-able data."""
    return {
        "format": FORMAT,
        "every": monitor.every,
        "histogram_values": monitor.histogram_values,
        "thresholds": dataclasses.asdict(monitor.thresholds),
        "seconds": monitor.seconds,
        "records": [_plain(r) for r in monitor.records],
        "global_norms": [_num(v) for v in monitor.global_norms],
        "clipped_norms": [_num(v) for v in monitor.clipped_norms],
        "theory": None if monitor.theory is None else [_plain(t) for t in monitor.theory],
        "samples": {
            when: {label: [_num(v) for v in values.tolist()] for label, values in layers.items()}
            for when, layers in monitor.samples.items()
        },
        "warnings": [dataclasses.asdict(w) for w in monitor.warnings],
    }


def _record(data: dict[str, Any]) -> StepRecord:
    record = _restore(StepRecord, {k: v for k, v in _items(data, "records[]")
                                   if k not in ("layers", "params", "batchnorm")})
    record.layers = [_restore(LayerStats, d) for d in _list(data.get("layers", []), "layers")]
    record.params = [_restore(ParamStats, d) for d in _list(data.get("params", []), "params")]
    record.batchnorm = [_restore(BatchNormStats, d)
                        for d in _list(data.get("batchnorm", []), "batchnorm")]
    return record


def monitor_from_dict(
    data: dict[str, Any], max_epoch: int | None = None, max_step: int | None = None
) -> Monitor:
    """A Monitor holding what :func:`monitor_to_dict` stored.

    max_epoch / max_step: keep only the records of epochs up to ``max_epoch`` and the
    per-step norms of the first ``max_step`` steps (to match a checkpoint when resuming).
    Raises ValueError when ``data`` is not a stored monitor.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"monitor_from_dict: expected data of format {FORMAT!r}. "
                         f"Received: {type(data).__name__}.")
    try:
        every, values = data["every"], data["histogram_values"]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (every, values)):
            raise TypeError("'every' and 'histogram_values' must be integers")
        monitor = Monitor(every=every, histogram_values=values, warn=False,
                          thresholds=_restore(Thresholds, data.get("thresholds", {})))
        records = [_record(r) for r in _list(data["records"], "records")]
        if max_epoch is not None:
            records = [r for r in records if r.epoch <= max_epoch]
        monitor.records = records
        norms = [_from_num(v) for v in _list(data["global_norms"], "global_norms")]
        clipped = [_from_num(v) for v in _list(data["clipped_norms"], "clipped_norms")]
        if max_step is not None:
            norms, clipped = norms[:max_step], clipped[:max_step]
        monitor.global_norms, monitor.clipped_norms = norms, clipped
        theory = data.get("theory")
        monitor.theory = (None if theory is None else
                          [_restore(LayerSignal, t) for t in _list(theory, "theory")])
        monitor.samples = {
            when: {label: np.array([_from_num(v) for v in _list(values, "samples")],
                                   dtype=np.float32)
                   for label, values in _items(layers, "samples")}
            for when, layers in _items(data.get("samples", {}), "samples")
        }
        monitor.samples.setdefault("init", {})
        monitor.samples.setdefault("end", {})
        monitor.warnings = [_restore(HealthWarning, w)
                            for w in _list(data.get("warnings", []), "warnings")]
        unknown = [w.kind for w in monitor.warnings if w.kind not in REMEDIES]
        if unknown:
            raise ValueError(f"unknown warning kind {unknown[0]!r:.40}")
        monitor.seconds = _from_num(data.get("seconds", 0.0))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"monitor_from_dict: the stored monitor is incomplete ({exc!r}).") from exc
    monitor._seen = {(w.kind, w.layer) for w in monitor.warnings}
    finite = [v for v in monitor.global_norms if math.isfinite(v)]
    monitor._recent = deque(finite[-20:], maxlen=20)
    if len(monitor._recent) >= 5:
        median = sorted(monitor._recent)[len(monitor._recent) // 2]
        monitor._jump_bound = monitor.thresholds.jump * median
    return monitor
