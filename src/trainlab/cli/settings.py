"""The flags of ``trainlab train``, generated from the recipe's settings table.

Every setting of :mod:`trainlab.recipe` is a flag (``batch_size`` → ``--batch-size``) and
a key of a ``--config`` file. Two more say where the run goes and are not part of the
recipe: ``out`` and ``name``. A run's settings are resolved as

    defaults  <-  --config FILE.toml  <-  flags on the command line

then checked once by the recipe (types, ranges, combinations, and whether each setting
applies to the chosen optimizer, schedule and augmentation).
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Mapping
from typing import Any

from trainlab.recipe import SETTINGS as RECIPE_SETTINGS
from trainlab.recipe import RunConfig, Setting, SettingError, from_flat, read_toml
from trainlab.recipe.resolve import unknown_setting

OUTPUT: tuple[Setting, ...] = (
    Setting("out", "str", "output", "folder that receives the run directory", default="runs",
            metavar="DIR"),
    Setting("name", "str", "output", "run directory name (default: the dataset's name); -2, "
            "-3, ... is appended when it exists", optional=True, metavar="NAME"),
)
SETTINGS: tuple[Setting, ...] = (*RECIPE_SETTINGS.values(), *OUTPUT)
"""Every flag of ``trainlab train`` that is a setting."""
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def _default_text(s: Setting) -> str:
    if s.default is None:
        return "none"
    if isinstance(s.default, (list, tuple)):
        return ",".join(map(str, s.default))
    return str(s.default)


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting, grouped by section; none has an argparse default, so that
    only what was given overrides the config file."""
    groups: dict[str, Any] = {}
    for s in SETTINGS:
        group = groups.get(s.section) or groups.setdefault(
            s.section, parser.add_argument_group(s.section))
        if s.kind == "bool":
            state = "the component's" if s.default is None else ("on" if s.default else "off")
            group.add_argument(s.flag, dest=s.name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=f"{s.help} (default: {state})")
        elif s.kind == "options":
            group.add_argument(s.flag, s.flag.removesuffix("s"), dest=s.name, action="append",
                               default=argparse.SUPPRESS, metavar=s.metavar,
                               help=f"{s.help}; repeatable")
        else:
            metavar = s.metavar or {"choice": "{" + ",".join(s.allowed()) + "}", "int": "N",
                                     "float": "X"}.get(s.kind, "VALUE")
            text = s.help if "default" in s.help else f"{s.help} (default: {_default_text(s)})"
            group.add_argument(s.flag, dest=s.name, default=argparse.SUPPRESS,
                               metavar=metavar, help=text.replace("%", "%%"))


def _option_value(text: str) -> Any:
    """A KEY=VALUE option's value: a TOML scalar (number, true/false, string)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, converted and checked."""
    out: dict[str, Any] = {}
    for s in SETTINGS:
        if not hasattr(args, s.name):
            continue
        raw = getattr(args, s.name)
        if s.kind == "bool":
            out[s.name] = s.check(raw)
        elif s.kind == "options":
            table: dict[str, Any] = {}
            for item in raw:
                key, sep, value = item.partition("=")
                if not sep or not key.strip():
                    raise SettingError(f"setting '{s.name}' ({s.flag}) takes KEY=VALUE; "
                                       f"received {item!r}.")
                table[key.strip()] = _option_value(value.strip())
            out[s.name] = table
        else:
            out[s.name] = s.from_text(raw)
    return out


def split_output(values: Mapping[str, Any], where: str = "") -> tuple[dict[str, Any],
                                                                       dict[str, Any]]:
    """(recipe settings, output settings) of a dict of settings by name."""
    recipe, output = {}, {}
    for key, value in values.items():
        if key in RECIPE_SETTINGS:
            recipe[key] = value
        elif key in ("out", "name"):
            output[key] = BY_NAME[key].check(value, where)
        else:
            raise unknown_setting(key, where, extra=("out", "name"))
    return recipe, output


def resolve(config_file: str | None, flags: Mapping[str, Any]) -> tuple[RunConfig, dict[str, Any]]:
    """The run's recipe and its output settings: defaults, then the file, then the flags."""
    file_recipe: dict[str, Any] = {}
    output: dict[str, Any] = {"out": "runs", "name": None}
    if config_file is not None:
        where = f"config file {config_file!r}: "
        file_recipe, file_output = split_output(read_toml(config_file), where)
        from_flat(file_recipe, where)  # the file's own mistakes are named with the file
        output.update(file_output)
    flag_recipe, flag_output = split_output(flags)
    output.update(flag_output)
    return from_flat({**file_recipe, **flag_recipe}), output
