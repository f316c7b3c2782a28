"""monitor.json turned into series for the run page's health charts.

Known parts (``trainlab.diagnostics.serialize``): per-layer output std and mean against
the theory's prediction, gradient RMS, dead and saturated fractions, per-parameter
update ratios ‖Δθ‖/‖θ‖, the global gradient norm and the warnings. Anything else the
file holds is shown generically, so instruments added later appear without changes
here: every other numeric field of a record becomes a series over steps, and every
other top-level entry that is a list of objects with numbers (one object per
measurement) becomes a chart of its numeric fields, against ``step`` or ``epoch`` when
the objects have one, else against their position.
"""

from __future__ import annotations

import math
from typing import Any

from trainlab.ui.runfiles import number

KNOWN_TOP = {"format", "every", "histogram_values", "thresholds", "seconds", "records",
             "global_norms", "clipped_norms", "theory", "samples", "warnings"}
KNOWN_RECORD = {"step", "epoch", "layers", "params", "batchnorm"}
LAYER_FIELDS = ("out_std", "out_mean", "grad_rms", "dead", "saturated")
MAX_POINTS = 2000  # per series; longer series are thinned evenly


def _thin(n: int) -> list[int]:
    if n <= MAX_POINTS:
        return list(range(n))
    stride = n / MAX_POINTS
    return sorted({min(n - 1, int(i * stride)) for i in range(MAX_POINTS)} | {n - 1})


def _series(xs: list[Any], ys: list[float | None]) -> list[list[Any]]:
    return [[xs[i], ys[i]] for i in _thin(len(xs))]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def monitor_view(data: Any) -> dict[str, Any]:
    """Chart-ready data: ``{"layers": {field: {label: [[step, value], ...]}},
    "params": {name: [[step, ratio], ...]}, "steps": {field: [[step, value]]},
    "theory": [...], "signal": [...], "warnings": [...], "extra": {title: {field: series}}}``.
    """
    if not isinstance(data, dict):
        raise ValueError("monitor.json does not hold a JSON object")
    records = [r for r in _as_list(data.get("records")) if isinstance(r, dict)]
    steps = [number(r.get("step")) for r in records]
    layers: dict[str, dict[str, list[float | None]]] = {f: {} for f in LAYER_FIELDS}
    params: dict[str, list[float | None]] = {}
    record_fields: dict[str, list[float | None]] = {}
    for i, record in enumerate(records):
        for layer in _as_list(record.get("layers")):
            if not isinstance(layer, dict):
                continue
            label = f"{layer.get('name')} {layer.get('kind')}"[:60]
            for f in LAYER_FIELDS:
                value = number(layer.get(f))
                if value is None and f in ("dead", "saturated"):
                    continue  # NaN: the measure does not apply to this layer
                layers[f].setdefault(label, [None] * len(records))[i] = value
        for param in _as_list(record.get("params")):
            if isinstance(param, dict) and param.get("weight_matrix", True):
                name = str(param.get("name"))[:60]
                params.setdefault(name, [None] * len(records))[i] = number(
                    param.get("update_ratio"))
        for key, value in record.items():
            if key in KNOWN_RECORD or isinstance(value, (list, dict, bool)):
                continue
            if isinstance(value, (int, float, str)) and (number(value) is not None
                                                         or value in ("nan", "inf", "-inf")):
                record_fields.setdefault(str(key)[:60], [None] * len(records))[i] = number(value)
    view: dict[str, Any] = {
        "layers": {f: {k: _series(steps, v) for k, v in by.items()} for f, by in layers.items()},
        "params": {k: _series(steps, v) for k, v in params.items()},
        "steps": {k: _series(steps, v) for k, v in record_fields.items()
                  if any(x is not None for x in v)},
    }
    norms = [number(v) for v in _as_list(data.get("global_norms"))]
    view["steps"]["global gradient norm (every step)"] = _series(list(range(len(norms))), norms)
    view["theory"] = _theory(data.get("theory"))
    view["signal"] = _signal(records, view["theory"])
    view["warnings"] = [
        {k: str(w.get(k, ""))[:500] for k in ("kind", "layer", "step", "message")}
        for w in _as_list(data.get("warnings")) if isinstance(w, dict)
    ][:200]
    view["extra"] = _extra(data)
    return view


def _theory(theory: Any) -> list[dict[str, Any]]:
    out = []
    for t in _as_list(theory):
        if isinstance(t, dict):
            var, grad = number(t.get("out_var")), number(t.get("grad_var"))
            out.append({"label": f"{t.get('name')} {t.get('kind')}"[:60],
                        "out_std": None if var is None or var < 0 else math.sqrt(var),
                        "grad_rms": None if grad is None or grad < 0 else math.sqrt(grad)})
    return out


def _signal(records: list[dict[str, Any]], theory: list[dict[str, Any]]) -> dict[str, Any]:
    """Output std and gradient RMS against depth: the theory (at initialisation), the
    first and the last sampled step."""
    def layer_values(record: dict[str, Any], f: str) -> list[float | None]:
        return [number(layer.get(f)) for layer in _as_list(record.get("layers"))
                if isinstance(layer, dict)]

    out: dict[str, Any] = {"labels": [t["label"] for t in theory]}
    if records:
        first, last = records[0], records[-1]
        out["labels"] = out["labels"] or [f"{layer.get('name')} {layer.get('kind')}"[:60]
                                          for layer in _as_list(first.get("layers"))
                                          if isinstance(layer, dict)]
        for f in ("out_std", "grad_rms"):
            out[f] = {"theory": [t[f] for t in theory], "first": layer_values(first, f),
                      "last": layer_values(last, f),
                      "first_step": number(first.get("step")),
                      "last_step": number(last.get("step"))}
    return out


def _extra(data: dict[str, Any]) -> dict[str, dict[str, list[list[Any]]]]:
    """Top-level entries not known here: lists of measurement objects, or objects of
    such lists (one level down), as numeric series."""
    out: dict[str, dict[str, list[list[Any]]]] = {}

    def add(title: str, items: list[Any]) -> None:
        objects = [o for o in items if isinstance(o, dict)]
        if not objects:
            numbers_only = [number(v) for v in items]
            if any(v is not None for v in numbers_only):
                out[title] = {"value": _series(list(range(len(items))), numbers_only)}
            return
        axis = next((a for a in ("step", "epoch") if all(a in o for o in objects)), None)
        xs = [number(o[axis]) if axis else i for i, o in enumerate(objects)]
        fields: dict[str, list[float | None]] = {}
        for i, o in enumerate(objects):
            for key, value in o.items():
                if key == axis or isinstance(value, (bool, dict, list)):
                    continue
                if number(value) is not None or value in ("nan", "inf", "-inf"):
                    fields.setdefault(str(key)[:60], [None] * len(objects))[i] = number(value)
        if fields:
            out[title] = {k: _series(xs, v) for k, v in fields.items()}

    for key, value in data.items():
        if key in KNOWN_TOP or len(out) >= 30:
            continue
        if isinstance(value, list):
            add(str(key)[:60], value)
        elif isinstance(value, dict):
            for sub, items in list(value.items())[:30]:
                if isinstance(items, list):
                    add(f"{key}: {sub}"[:60], items)
    return out
