"""The playground's setup, read from a URL query string and checked against bounds.

Every setting has a default, a kind and a range; anything outside is refused with one
message naming the parameter, the accepted values and what was received (the pages
answer it with 400). The bounds keep one playground step to milliseconds on a laptop:
a playground is for seeing, not for large models.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trainlab.init import INITIALIZERS
from trainlab.nn import ACTIVATIONS
from trainlab.optim import OPTIMIZERS
from trainlab.ui.playground.data import DATASETS

MAX_LAYERS = 6
MAX_WIDTH = 64
MAX_POINTS = 2000
NORMS = ("none", "batch", "layer")


class PlaygroundSettingError(ValueError):
    """A playground setting out of its range, or not of its kind."""


@dataclass(frozen=True)
class PlaygroundSettings:
    dataset: str = "circle"
    noise: float = 0.05
    points: int = 400
    test: float = 0.3
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    init: str = "xavier_uniform"
    norm: str = "none"
    dropout: float = 0.0
    optimizer: str = "adam"
    lr: float = 0.03
    batch: int = 10
    l2: float = 0.0
    clip: float = 0.0
    seed: int = 0

    @property
    def task(self) -> str:
        return "regression" if self.dataset.startswith("reg-") else "classification"

    def query(self) -> dict[str, str]:
        """The setup as URL query parameters (the inverse of :func:`parse_settings`)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        return out


def _fail(name: str, expected: str, raw: str) -> PlaygroundSettingError:
    return PlaygroundSettingError(f"playground setting '{name}': expected {expected}. "
                                  f"Received: {raw[:60]!r}.")


def _float(name: str, raw: str, low: float, high: float, low_open: bool = False) -> float:
    expected = f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"
    try:
        value = float(raw)
    except ValueError:
        raise _fail(name, expected, raw) from None
    if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
        raise _fail(name, expected, raw)
    return value


def _int(name: str, raw: str, low: int, high: int) -> int:
    expected = f"an integer in [{low}, {high}]"
    if len(raw) > 12:
        raise _fail(name, expected, raw)
    try:
        value = int(raw)
    except ValueError:
        raise _fail(name, expected, raw) from None
    if not low <= value <= high:
        raise _fail(name, expected, raw)
    return value


def _choice(name: str, raw: str, choices: list[str]) -> str:
    if raw not in choices:
        raise _fail(name, f"one of {', '.join(choices)}", raw)
    return raw


def _hidden(raw: str) -> tuple[int, ...]:
    expected = (f"up to {MAX_LAYERS} comma-separated widths in [1, {MAX_WIDTH}], e.g. 8,8 "
                "(empty: no hidden layer)")
    if raw.strip() == "":
        return ()
    parts = raw.split(",")
    if len(parts) > MAX_LAYERS:
        raise _fail("hidden", expected, raw)
    try:
        return tuple(_int("hidden", p.strip(), 1, MAX_WIDTH) for p in parts)
    except PlaygroundSettingError:
        raise _fail("hidden", expected, raw) from None


def parse_settings(query: Mapping[str, str]) -> PlaygroundSettings:
    """Checked settings from query parameters; unknown parameters are refused."""
    names = {f.name for f in dataclasses.fields(PlaygroundSettings)}
    unknown = sorted(set(query) - names)
    if unknown:
        raise PlaygroundSettingError(
            f"unknown playground setting {unknown[0][:40]!r}; accepted: "
            f"{', '.join(sorted(names))}.")
    q = {k: str(v) for k, v in query.items()}
    d = PlaygroundSettings()
    values: dict[str, Any] = {}
    if "dataset" in q:
        values["dataset"] = _choice("dataset", q["dataset"], list(DATASETS))
    if "noise" in q:
        values["noise"] = _float("noise", q["noise"], 0.0, 0.5)
    if "points" in q:
        values["points"] = _int("points", q["points"], 20, MAX_POINTS)
    if "test" in q:
        values["test"] = _float("test", q["test"], 0.1, 0.9)
    if "hidden" in q:
        values["hidden"] = _hidden(q["hidden"])
    if "activation" in q:
        values["activation"] = _choice("activation", q["activation"], ACTIVATIONS.names())
    if "init" in q:
        values["init"] = _choice("init", q["init"], INITIALIZERS.names())
    if "norm" in q:
        values["norm"] = _choice("norm", q["norm"], list(NORMS))
    if "dropout" in q:
        values["dropout"] = _float("dropout", q["dropout"], 0.0, 0.9)
    if "optimizer" in q:
        values["optimizer"] = _choice("optimizer", q["optimizer"], OPTIMIZERS.names())
    if "lr" in q:
        values["lr"] = _float("lr", q["lr"], 0.0, 10.0, low_open=True)
    if "batch" in q:
        values["batch"] = _int("batch", q["batch"], 1, MAX_POINTS)
    if "l2" in q:
        values["l2"] = _float("l2", q["l2"], 0.0, 1.0)
    if "clip" in q:
        values["clip"] = _float("clip", q["clip"], 0.0, 100.0)
    if "seed" in q:
        values["seed"] = _int("seed", q["seed"], 0, 2**31 - 1)
    return dataclasses.replace(d, **values)
