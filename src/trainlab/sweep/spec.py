"""A sweep's spec: ``SPEC.toml`` read, checked and held as a :class:`SweepSpec`.

    [base]                    # any training settings, as in a `trainlab train --config` file
    data = "digits"
    epochs = 5

    [sweep]
    method = "grid"           # grid | random | tpe
    metric = "val_accuracy"   # a column of metrics.csv
    goal = "maximize"         # or "minimize"
    seeds = [0, 1]            # every point runs once per seed (default [0])
    trials = 20               # random and tpe only: the number of points
    prune = "none"            # none | median | asha

    [sweep.grid]              # grid: lists of values
    lr = [0.001, 0.01]

    [sweep.space]             # random/tpe: lists, or ranges
    lr = { low = 1e-4, high = 1e-1, log = true }

Every check runs here, before any trial: the names and values of the settings (by the
recipe's own :class:`~trainlab.recipe.Setting` table), every grid point combined with the
base (``from_flat`` with ``validate_config``), the ranges, and the metric against the
columns that a run of the base's task writes to ``metrics.csv``. Errors are
:class:`~trainlab.recipe.SettingError` with one line naming the key.
"""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainlab.recipe import SETTINGS, RunConfig, SettingError, from_flat
from trainlab.recipe.resolve import unknown_setting
from trainlab.runs.run import Run

METHODS = ("grid", "random", "tpe")
GOALS = ("maximize", "minimize")
PRUNERS = ("none", "median", "asha")
SWEEP_KEYS = ("method", "metric", "goal", "seeds", "trials", "prune", "grid", "space")
RANGE_KEYS = ("low", "high", "log", "step")

# The columns of metrics.csv by task: the epoch, the training loss and metrics, their
# validation counterparts and the learning rate (trainlab.runs.recorder writes them).
METRIC_COLUMNS = {
    "classification": ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"),
    "regression": ("epoch", "loss", "mse", "r2", "val_loss", "val_mse", "val_r2", "lr"),
}


@dataclass(frozen=True)
class Range:
    """A numeric range of one setting: ``low <= x <= high``, sampled on a log scale when
    ``log``; ``step`` quantises it (ints: default 1)."""

    low: float
    high: float
    log: bool = False
    step: float | None = None


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep spec.

    base: the settings of ``[base]`` by name (every trial starts from them).
    axes: the swept settings in the file's order; each is a list of values (grid, or a
        categorical choice of random/tpe) or a :class:`Range` (random/tpe).
    """

    name: str
    base: dict[str, Any]
    method: str
    metric: str
    goal: str
    seeds: tuple[int, ...]
    trials: int | None
    prune: str
    axes: dict[str, list[Any] | Range] = field(default_factory=dict)
    text: str = ""

    @property
    def direction(self) -> str:
        return self.goal

    def points(self) -> list[dict[str, Any]]:
        """The grid's points in order (the last axis varies fastest); grid only."""
        names = list(self.axes)
        values = [self.axes[n] for n in names]
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*values)]  # type: ignore[arg-type]

    def config(self, point: Mapping[str, Any], seed: int) -> RunConfig:
        """The checked RunConfig of one point and seed."""
        return from_flat({**self.base, **point, "seed": seed}, where="sweep spec: ")

    def key(self) -> str:
        """What identifies the sweep's plan (the base, method, metric, axes and seeds), as
        canonical JSON: two specs with the same key run the same trials."""
        axes = {name: (to_jsonable(axis) if isinstance(axis, list) else vars(axis))
                for name, axis in self.axes.items()}
        return json.dumps({"base": to_jsonable(self.base), "method": self.method,
                           "metric": self.metric, "goal": self.goal, "seeds": list(self.seeds),
                           "trials": self.trials, "prune": self.prune, "axes": axes},
                          sort_keys=True, default=str)

    def planned(self) -> int:
        """The number of trials the sweep runs: points × seeds."""
        points = len(self.points()) if self.method == "grid" else int(self.trials or 0)
        return points * len(self.seeds)


def read_spec(path: str | Path) -> SweepSpec:
    """Read and check ``SPEC.toml``; the sweep's name is the file's stem."""
    path = Path(path)
    where = f"sweep spec {str(path)!r}: "
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SettingError(f"sweep spec: no such file {str(path)!r}.") from None
    except IsADirectoryError:
        raise SettingError(f"sweep spec: {str(path)!r} is a directory, expected a TOML "
                           "file.") from None
    except OSError as exc:
        raise SettingError(f"sweep spec: cannot read {str(path)!r} "
                           f"({exc.strerror or exc}).") from None
    if len(raw) > 1 << 20:
        raise SettingError(f"{where}larger than 1 MiB; a sweep spec is a few lines.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingError(f"{where}not UTF-8 text ({exc}).") from None
    return parse_spec(text, name=path.stem, where=where)


def parse_spec(text: str, name: str = "sweep", where: str = "sweep spec: ") -> SweepSpec:
    """A checked :class:`SweepSpec` from the TOML text of a spec."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise SettingError(f"{where}not valid TOML ({exc}).") from None
    extra = set(data) - {"base", "sweep"}
    if extra:
        raise SettingError(f"{where}unknown table {sorted(extra)[0]!r}; a spec has [base] and "
                           "[sweep] (with [sweep.grid] or [sweep.space]).")
    base = _table(data, "base", where)
    sweep = _table(data, "sweep", where)
    for key in sweep:
        if key not in SWEEP_KEYS:
            raise SettingError(f"{where}unknown key 'sweep.{key}'; accepted: "
                               f"{', '.join(SWEEP_KEYS)}.")
    if "seed" in base:
        raise SettingError(f"{where}'base.seed' is set by the sweep; list the seeds in "
                           "'sweep.seeds' instead.")
    base_config = from_flat(base, where=f"{where}[base]: ", validate=False)
    method = _choice(sweep, "method", METHODS, "grid", where)
    metric = sweep.get("metric")
    if not isinstance(metric, str) or not metric:
        raise SettingError(f"{where}'sweep.metric' must name a column of metrics.csv (e.g. "
                           f"'val_accuracy'); received {metric!r}.")
    goal = _choice(sweep, "goal", GOALS, "maximize", where)
    prune = _choice(sweep, "prune", PRUNERS, "none", where)
    seeds = _seeds(sweep.get("seeds", [0]), where)
    trials = sweep.get("trials")
    if method == "grid":
        if trials is not None:
            raise SettingError(f"{where}'sweep.trials' applies to random and tpe; a grid runs "
                               f"every point. Received trials = {trials!r}.")
        if "space" in sweep:
            raise SettingError(f"{where}method 'grid' reads [sweep.grid]; [sweep.space] is for "
                               "random and tpe.")
        axes = _grid(_table(sweep, "grid", where, required=True), where)
    else:
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise SettingError(f"{where}'sweep.trials' must be an integer >= 1 for method "
                               f"{method!r}; received {trials!r}.")
        if "grid" in sweep:
            raise SettingError(f"{where}method {method!r} reads [sweep.space]; [sweep.grid] is "
                               "for method 'grid'.")
        axes = _space(_table(sweep, "space", where, required=True), where)
    spec = SweepSpec(name=name, base=dict(base), method=method, metric=metric, goal=goal,
                     seeds=seeds, trials=trials if method != "grid" else None, prune=prune,
                     axes=axes, text=text)
    _check_points(spec, base_config, where)
    _check_metric(spec, where)
    return spec


# -- pieces ---------------------------------------------------------------------------------


def _table(data: Mapping[str, Any], key: str, where: str, required: bool = False) -> dict:
    value = data.get(key)
    if value is None:
        if required:
            name = f"sweep.{key}" if key in ("grid", "space") else key
            raise SettingError(f"{where}[{name}] is missing; it lists the settings to sweep.")
        return {}
    if not isinstance(value, dict):
        raise SettingError(f"{where}'{key}' must be a table; received {value!r}.")
    return value


def _choice(sweep: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str,
            where: str) -> str:
    value = sweep.get(key, default)
    if value not in choices:
        raise SettingError(f"{where}'sweep.{key}' must be one of {', '.join(choices)}; "
                           f"received {value!r}.")
    return value


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    ok = (isinstance(value, list) and value
          and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**63
                  for s in value) and len(set(value)) == len(value))
    if not ok:
        raise SettingError(f"{where}'sweep.seeds' must be a non-empty list of distinct "
                           f"integers >= 0; received {value!r}.")
    return tuple(value)


def _setting(name: str, where: str) -> Any:
    if name == "seed":
        raise SettingError(f"{where}'seed' cannot be swept as a setting; list the seeds in "
                           "'sweep.seeds'.")
    if name not in SETTINGS:
        raise unknown_setting(name, where)
    return SETTINGS[name]


def _values(name: str, values: Any, table: str, where: str) -> list[Any]:
    setting = _setting(name, f"{where}[{table}]: ")
    if not isinstance(values, list):
        raise SettingError(f"{where}'{table}.{name}' must be a list of values; received "
                           f"{values!r}.")
    if not values:
        raise SettingError(f"{where}'{table}.{name}' is an empty list; give at least one value.")
    checked = [setting.check(v, f"{where}{table}: ") for v in values]
    keys = [json.dumps(to_jsonable(v), sort_keys=True) for v in checked]
    if len(set(keys)) != len(keys):
        raise SettingError(f"{where}'{table}.{name}' lists a value twice; received {values!r}.")
    return checked


def _grid(grid: Mapping[str, Any], where: str) -> dict[str, list[Any] | Range]:
    if not grid:
        raise SettingError(f"{where}[sweep.grid] is empty; list at least one setting with its "
                           "values.")
    return {name: _values(name, values, "sweep.grid", where) for name, values in grid.items()}


def _space(space: Mapping[str, Any], where: str) -> dict[str, list[Any] | Range]:
    if not space:
        raise SettingError(f"{where}[sweep.space] is empty; list at least one setting with its "
                           "values or range.")
    axes: dict[str, list[Any] | Range] = {}
    for name, value in space.items():
        axes[name] = (_range(name, value, where) if isinstance(value, dict)
                      else _values(name, value, "sweep.space", where))
    return axes


def _range(name: str, value: Mapping[str, Any], where: str) -> Range:
    setting = _setting(name, f"{where}[sweep.space]: ")
    key = f"'sweep.space.{name}'"
    if setting.kind not in ("int", "float"):
        raise SettingError(f"{where}{key} is a {setting.kind} setting; give a list of values, "
                           "not a range.")
    unknown = set(value) - set(RANGE_KEYS)
    if unknown or "low" not in value or "high" not in value:
        raise SettingError(f"{where}{key} must be {{ low = ..., high = ... }} with optional "
                           f"log and step; received {value!r}.")
    low = setting.check(value["low"], f"{where}sweep.space ({name}.low): ")
    high = setting.check(value["high"], f"{where}sweep.space ({name}.high): ")
    if low > high:
        raise SettingError(f"{where}{key} has low > high ({low!r} > {high!r}); expected "
                           "low <= high.")
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise SettingError(f"{where}{key}: log must be true or false; received {log!r}.")
    if log and low <= 0:
        raise SettingError(f"{where}{key}: a log range needs low > 0; received low = {low!r}.")
    step = value.get("step")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0 \
                or not math.isfinite(step):
            raise SettingError(f"{where}{key}: step must be a number > 0; received {step!r}.")
        if log:
            raise SettingError(f"{where}{key}: step and log cannot be combined.")
        if setting.kind == "int" and not float(step).is_integer():
            raise SettingError(f"{where}{key}: an integer setting needs an integer step; "
                               f"received {step!r}.")
    return Range(low=low, high=high, log=log, step=step)


def to_jsonable(value: Any) -> Any:
    """A setting's value as JSON can hold it (tuples become lists)."""
    if isinstance(value, tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def _check_points(spec: SweepSpec, base: RunConfig, where: str) -> None:
    """Every grid point (random/tpe: every listed value and both ends of every range, one
    axis at a time) combined with the base and checked as a whole RunConfig."""
    del base
    if spec.method == "grid":
        candidates = spec.points()
    else:
        candidates = []
        for name, axis in spec.axes.items():
            values = [axis.low, axis.high] if isinstance(axis, Range) else axis
            candidates += [{name: v} for v in values]
    for point in candidates:
        spec.config(point, spec.seeds[0])


def _check_metric(spec: SweepSpec, where: str) -> None:
    """The metric must be a column of metrics.csv for the task of every data choice."""
    datas = {"data", "task", "target", "data_dir"} & set(spec.axes)
    probes = spec.points() if spec.method == "grid" and datas else [{}]
    seen: set[str] = set()
    for point in probes:
        flat = {**spec.base, **{k: point[k] for k in datas if k in point}}
        key = json.dumps(to_jsonable(flat), sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        config = from_flat(flat, where=f"{where}[base]: ", validate=False)
        _, prepared, _ = Run.prepare(config)
        columns = METRIC_COLUMNS[prepared.task]
        if spec.metric not in columns:
            raise SettingError(f"{where}'sweep.metric' = {spec.metric!r} is not recorded by a "
                               f"{prepared.task} run; metrics.csv has {', '.join(columns)}.")
