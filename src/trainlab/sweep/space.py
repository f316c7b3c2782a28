"""The search space in Optuna's terms: distributions, samplers, pruners and points.

A swept setting becomes one Optuna distribution, under the setting's own name:

    list of values        CategoricalDistribution (a value that is not a scalar, such as
                          ``hidden = [[64], [64, 64]]``, is stored as its JSON text)
    {low, high}           FloatDistribution / IntDistribution (``log``, ``step``)

so a study opened with ``optuna.load_study`` or ``optuna-dashboard`` shows every trial's
settings as parameters. Samplers: grid and random points are drawn before any trial runs
(random: Optuna's ``RandomSampler`` seeded with the first seed), so every executor and
every resume runs the same points; TPE (``TPESampler``, same seed) asks for a point when
a worker is free, from the trials finished so far.
"""

from __future__ import annotations

import json
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from trainlab.recipe import SETTINGS
from trainlab.sweep.spec import Range, SweepSpec, to_jsonable

SCALARS = (type(None), bool, int, float, str)


def label(value: Any) -> Any:
    """The value Optuna stores for a setting's value: scalars as they are, the rest as JSON."""
    return value if isinstance(value, SCALARS) else json.dumps(to_jsonable(value))


def unlabel(name: str, stored: Any) -> Any:
    """The setting's value from what Optuna stored (checked by the setting)."""
    setting = SETTINGS[name]
    if isinstance(stored, str) and setting.kind in ("ints", "options"):
        stored = json.loads(stored)
    if setting.kind == "int" and isinstance(stored, float) and stored.is_integer():
        stored = int(stored)
    return setting.check(stored)


def distributions(spec: SweepSpec) -> dict[str, BaseDistribution]:
    """One Optuna distribution per swept setting."""
    out: dict[str, BaseDistribution] = {}
    for name, axis in spec.axes.items():
        if isinstance(axis, Range):
            out[name] = _numeric(name, axis)
        else:
            out[name] = CategoricalDistribution([label(v) for v in axis])
    return out


def _numeric(name: str, axis: Range) -> BaseDistribution:
    if SETTINGS[name].kind == "int":
        step = 1 if axis.step is None else int(axis.step)
        return IntDistribution(int(axis.low), int(axis.high), log=axis.log, step=step)
    return FloatDistribution(float(axis.low), float(axis.high), log=axis.log, step=axis.step)


def point_of(params: dict[str, Any]) -> dict[str, Any]:
    """Settings by name from a trial's stored parameters."""
    return {name: unlabel(name, value) for name, value in params.items()}


def grid_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The grid's points as Optuna parameters (labels)."""
    return [{name: label(v) for name, v in point.items()} for point in spec.points()]


def random_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """``spec.trials`` points drawn by Optuna's RandomSampler, seeded with the first seed;
    the same spec always gives the same points."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=spec.seeds[0]))
    dists = distributions(spec)
    return [study.ask(dists).params for _ in range(int(spec.trials or 0))]


def sampler(spec: SweepSpec) -> optuna.samplers.BaseSampler:
    """The sampler a study asks new points from (TPE for method 'tpe')."""
    if spec.method == "tpe":
        return optuna.samplers.TPESampler(seed=spec.seeds[0])
    return optuna.samplers.RandomSampler(seed=spec.seeds[0])


def pruner(name: str) -> optuna.pruners.BasePruner:
    """``none``: never prune; ``median``: Optuna's MedianPruner (a trial whose best value
    so far is worse than the median of the other trials at the same epoch stops, after 5
    finished trials and from epoch 1); ``asha``: Optuna's SuccessiveHalvingPruner
    (asynchronous successive halving, Li et al. 2020) with rungs at epochs 1, 3, 9, ...
    (reduction factor 3): at each rung only the top third continues."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()
