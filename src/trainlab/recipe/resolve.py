"""From given values to a checked :class:`RunConfig`, and from a RunConfig to the keyword
arguments of its components.

- :func:`from_flat` reads ``{"lr": 0.01, "optimizer": "sgd", ...}`` (a TOML file, flags, a
  sweep trial, the estimators' parameters), checks every value against its Setting and
  the combinations, and refuses a setting that does not apply to the chosen components
  (``momentum`` with Adam) instead of dropping it.
- :func:`resolved` fills every hyperparameter left at None with the component's own
  default, read from its constructor's signature, so that ``config.toml`` holds every
  number the run used.
- :func:`optimizer_kwargs` and :func:`schedule_kwargs` give what the constructors take.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.nn import Parameter
from trainlab.optim import OPTIMIZERS, SCHEDULES
from trainlab.recipe.config import NEUTRAL, SECTIONS, SETTINGS, RunConfig
from trainlab.recipe.settings import SettingError

OPTIMIZER_SETTINGS = ("lr", "momentum", "nesterov", "weight_decay", "beta1", "beta2", "eps",
                      "alpha", "amsgrad", "centered")
SCHEDULE_SETTINGS = ("gamma", "step_size", "t_max", "eta_min", "factor", "plateau_patience",
                     "min_lr")
BETAS = {"beta1": 0, "beta2": 1}

SCHEDULE_FALLBACKS: dict[str, dict[str, Any]] = {"exponential": {"gamma": 0.95},
                                                 "step": {"step_size": 10}}
"""Defaults of the schedule arguments that have none in their class (as in PyTorch,
ExponentialLR's ``gamma`` and StepLR's ``step_size`` are required there); ``T_max`` of the
cosine schedule defaults to the run's epochs."""


# -- the components' signatures ---------------------------------------------------------------


def _signature_defaults(cls: type) -> dict[str, Any]:
    """``{keyword: default}`` of a constructor, after its first argument (params/optimizer);
    a keyword without a default maps to ``inspect.Parameter.empty``."""
    params = list(inspect.signature(cls).parameters.values())[1:]
    return {p.name: p.default for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def optimizer_class(config: RunConfig) -> type:
    return OPTIMIZERS.get_named(config.optimizer.optimizer, "setting 'optimizer' (--optimizer)")


def schedule_class(config: RunConfig) -> type | None:
    name = config.schedule.schedule
    return None if name == "none" else SCHEDULES.get_named(name, "setting 'schedule' (--schedule)")


# -- applicability --------------------------------------------------------------------------------


def applies(config: RunConfig, name: str, task: str | None = None) -> bool:
    """Whether the setting ``name`` has an effect in ``config`` (``task``: the run's task
    when known; otherwise the task setting's)."""
    return _applicability(config, name, task)[0]


def _applicability(config: RunConfig, name: str, task: str | None = None) -> tuple[bool, str]:
    """(whether ``name`` applies, what it would not apply to, for the message)."""
    if name in OPTIMIZER_SETTINGS:
        keywords = _signature_defaults(optimizer_class(config))
        takes = "betas" in keywords if name in BETAS else SETTINGS[name].keyword in keywords
        accepted = ", ".join(k for k in keywords if k != "backend")
        return takes, f"optimizer {config.optimizer.optimizer!r} (it takes {accepted})"
    if name in SCHEDULE_SETTINGS or name == "schedule_options":
        cls = schedule_class(config)
        if cls is None:
            return False, "schedule 'none'"
        keywords = _signature_defaults(cls)
        takes = name == "schedule_options" or SETTINGS[name].keyword in keywords
        return takes, f"schedule {config.schedule.schedule!r} (it takes {', '.join(keywords)})"
    training, data = config.training, config.data
    augment = f"augment {training.augment!r}"
    is_file = data.data.partition(":")[0].lower() in ("csv", "npz") and ":" in data.data
    rules: dict[str, tuple[bool, str]] = {
        "noise_std": (training.augment == "noise", f"{augment} (it needs --augment noise)"),
        "max_shift": (training.augment == "shift", f"{augment} (it needs --augment shift)"),
        "max_degrees": (training.augment == "shift", f"{augment} (it needs --augment shift)"),
        # None: decided by the task
        "patience": (training.early_stopping is not False, "a run without --early-stopping"),
        "monitor_every": (config.monitor.monitor, "a run with --no-monitor"),
        "curvature_every": (config.monitor.curvature, "a run without --curvature"),
        "target": (data.data.lower().startswith("csv:"),
                   f"data {data.data!r} (only csv: files have columns to choose)"),
        "task": (is_file, f"data {data.data!r} (a named dataset has its own task)"),
        "target_scaler": ((task or data.task) != "classification", "a classification task"),
    }
    return rules.get(name, (True, "this run"))


def check_applicable(config: RunConfig, where: str = "") -> None:
    """Refuse a setting that does not apply to the run, unless it is at its neutral value."""
    for name, value in config.to_flat().items():
        if name == "seed":
            continue
        takes, component = _applicability(config, name)
        if takes:
            continue
        neutral = NEUTRAL.get(name)
        if value is None or value == neutral or value == {}:
            continue
        setting = SETTINGS[name]
        raise SettingError(f"{where}setting '{name}' ({setting.flag}) does not apply to "
                           f"{component}; received {value!r}. Remove it, or "
                           "choose a component that uses it.")


# -- reading given values ------------------------------------------------------------------------


def unknown_setting(key: object, where: str = "", extra: tuple[str, ...] = ()) -> SettingError:
    names = [*SETTINGS, *extra]
    close = difflib.get_close_matches(str(key), [*names, *SECTIONS], n=1, cutoff=0.5)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return SettingError(f"{where}unknown setting {str(key)!r}{hint}; accepted settings: "
                        f"{', '.join(names)}.")


def check_values(values: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Each given value checked by its Setting (unknown names refused)."""
    checked = {}
    for key, value in values.items():
        if key not in SETTINGS:
            raise unknown_setting(key, where)
        checked[key] = SETTINGS[key].check(value, where)
    return checked


def from_flat(values: Mapping[str, Any], where: str = "", base: RunConfig | None = None,
              validate: bool = True) -> RunConfig:
    """A checked RunConfig from settings by name, over ``base`` (default: the defaults).

    Raises :class:`SettingError` naming the setting for an unknown name, a bad value, a
    bad combination, or a setting that does not apply to the chosen components.
    """
    config = (base or RunConfig()).replace(**check_values(values, where))
    if validate:
        validate_config(config, where)
    return config


def validate_config(config: RunConfig, where: str = "") -> None:
    """The checks that involve several settings, and the components' own checks."""
    training, data = config.training, config.data
    if training.clip_norm is not None and training.clip_value is not None:
        raise SettingError(f"{where}settings 'clip_norm' (--clip-norm) and 'clip_value' "
                           "(--clip-value): use one of the two, not both; received "
                           f"{training.clip_norm!r} and {training.clip_value!r}.")
    if data.val_fraction + data.test_fraction >= 1.0:
        raise SettingError(f"{where}settings 'val_fraction' and 'test_fraction' must add up to "
                           "less than 1 to leave training data; received "
                           f"{data.val_fraction!r} + {data.test_fraction!r}.")
    check_applicable(config, where)
    _try_components(config, where)


def _try_components(config: RunConfig, where: str) -> None:
    """Build the optimizer and the schedule on one dummy parameter: their constructors
    check their own hyperparameters (stated once, in the class)."""
    name = config.optimizer.optimizer
    try:
        optimizer = optimizer_class(config)([Parameter(np.zeros(1))], **optimizer_kwargs(config))
    except (ValueError, TypeError) as exc:
        raise SettingError(f"{where}setting 'optimizer' (--optimizer) = {name!r}: "
                           f"{' '.join(str(exc).split())}") from None
    cls = schedule_class(config)
    if cls is None:
        return
    try:
        cls(optimizer, **schedule_kwargs(config))
    except (ValueError, TypeError) as exc:
        raise SettingError(f"{where}setting 'schedule' (--schedule) = "
                           f"{config.schedule.schedule!r}: {' '.join(str(exc).split())}") from None


# -- keyword arguments of the components ----------------------------------------------------------


def _options(config: RunConfig, table: str, defaults: Mapping[str, Any],
             named: tuple[str, ...], owner: str) -> dict[str, Any]:
    options = config.get(table) or {}
    covered = {SETTINGS[n].keyword for n in named} | ({"betas"} if "beta1" in named else set())
    out = {}
    for key, value in options.items():
        if key in covered:
            flag = next((SETTINGS[n].flag for n in named if SETTINGS[n].keyword == key),
                        "--beta1/--beta2")
            raise SettingError(f"setting '{table}': {key!r} has its own setting ({flag}); "
                               "give it there.")
        if key not in defaults:
            raise SettingError(f"setting '{table}': {owner} takes no {key!r} (it takes "
                               f"{', '.join(defaults)}); received {key}={value!r}.")
        out[key] = value
    return out


def optimizer_kwargs(config: RunConfig) -> dict[str, Any]:
    """The optimizer's constructor keywords that the config gives (the rest: its defaults)."""
    defaults = _signature_defaults(optimizer_class(config))
    kwargs: dict[str, Any] = {}
    for name in OPTIMIZER_SETTINGS:
        value = config.get(name)
        if value is None or not applies(config, name):
            continue
        if name in BETAS:
            betas = list(kwargs.get("betas", defaults["betas"]))
            betas[BETAS[name]] = value
            kwargs["betas"] = tuple(betas)
        else:
            kwargs[SETTINGS[name].keyword] = value
    kwargs.update(_options(config, "optimizer_options", defaults, OPTIMIZER_SETTINGS,
                           f"optimizer {config.optimizer.optimizer!r}"))
    return kwargs


def schedule_kwargs(config: RunConfig) -> dict[str, Any]:
    """The schedule's constructor keywords: the given ones, then the fallbacks
    (``T_max`` = the run's epochs)."""
    cls = schedule_class(config)
    if cls is None:
        return {}
    defaults = _signature_defaults(cls)
    kwargs: dict[str, Any] = {}
    for name in SCHEDULE_SETTINGS:
        value = config.get(name)
        if value is not None and applies(config, name):
            kwargs[SETTINGS[name].keyword] = value
    kwargs.update(_options(config, "schedule_options", defaults, SCHEDULE_SETTINGS,
                           f"schedule {config.schedule.schedule!r}"))
    fallbacks = {**SCHEDULE_FALLBACKS.get(config.schedule.schedule, {}),
                 "T_max": config.training.epochs}
    for key, default in defaults.items():
        if key not in kwargs and default is inspect.Parameter.empty and key in fallbacks:
            kwargs[key] = fallbacks[key]
    return kwargs


# -- resolution ----------------------------------------------------------------------------------


def resolved(config: RunConfig, task: str | None = None) -> RunConfig:
    """``config`` with every applicable hyperparameter that was left at None set to the
    value the run uses: the component's default, ``T_max`` = epochs, the target scaler
    and the output initialiser for the task (when ``task`` is known)."""
    changes: dict[str, Any] = {}
    opt_defaults = _signature_defaults(optimizer_class(config))
    given = optimizer_kwargs(config)
    for name in OPTIMIZER_SETTINGS:
        if config.get(name) is not None or not applies(config, name):
            continue
        if name in BETAS:
            changes[name] = float(given.get("betas", opt_defaults["betas"])[BETAS[name]])
        else:
            default = opt_defaults[SETTINGS[name].keyword]
            if default is not inspect.Parameter.empty:
                changes[name] = default
    cls = schedule_class(config)
    if cls is not None:
        sched = {**_signature_defaults(cls), **schedule_kwargs(config)}
        for name in SCHEDULE_SETTINGS:
            if config.get(name) is None and applies(config, name):
                value = sched[SETTINGS[name].keyword]
                if value is not inspect.Parameter.empty:
                    changes[name] = value
    if task is not None:
        if task == "regression" and config.data.target_scaler is None:
            changes["target_scaler"] = "standard"
        if config.model.output_init is None:
            changes["output_init"] = (config.model.init if task == "classification"
                                      else "zeros")
        if config.training.early_stopping is None:
            changes["early_stopping"] = task == "regression"
    return config.replace(**changes)


def fingerprint(config: RunConfig, ignore: tuple[str, ...] = ("epochs",)) -> str:
    """SHA-256 of the settings (a run's identity), leaving out ``ignore``."""
    flat = {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in config.to_flat().items() if k not in ignore}
    text = json.dumps(flat, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def differences(a: RunConfig, b: RunConfig, ignore: tuple[str, ...] = ()) -> list[str]:
    """``["lr: 0.001 -> 0.01", ...]`` for the settings that differ."""
    fa, fb = a.to_flat(), b.to_flat()
    return [f"{k}: {fa[k]!r} -> {fb[k]!r}" for k in fa if k not in ignore and fa[k] != fb[k]]


def sections() -> dict[str, list[str]]:
    """The settings' names by section, in order."""
    out: dict[str, list[str]] = {section: [] for section in SECTIONS}
    out["run"] = []
    for name, setting in SETTINGS.items():
        out[setting.section].append(name)
    return out


def absolute_paths(config: RunConfig) -> RunConfig:
    """``data_dir`` and a relative ``csv:``/``npz:`` path made absolute (against the current
    folder, or ``data_dir``), so that a run can be resumed and evaluated from anywhere."""
    data = config.data
    data_dir = None if data.data_dir is None else str(Path(data.data_dir).expanduser().absolute())
    name = data.data
    prefix, colon, path = name.partition(":")
    if colon and prefix.lower() in ("csv", "npz") and path:
        file = Path(path).expanduser()
        if not file.is_absolute():
            file = (Path(data_dir) / file) if data_dir else file.absolute()
        name = f"{prefix.lower()}:{file}"
    return config.replace(data=name, data_dir=data_dir)
