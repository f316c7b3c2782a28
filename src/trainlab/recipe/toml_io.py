"""RunConfig to and from TOML.

A file holds settings by name, either at the top level (``lr = 0.01``, the form that
``config.toml`` is written in and ``--config`` reads), under one ``[train]`` table, or in
tables by section (``[optimizer]`` holding ``lr = 0.01``). ``config.toml`` lists only the
settings that apply to the run, grouped by section, every one with the value the run
used; a setting that is off (None) is written as a comment, since TOML has no null.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from trainlab.recipe.config import SECTIONS, SETTINGS, RunConfig
from trainlab.recipe.resolve import applies
from trainlab.recipe.settings import SettingError

HEADER = "# trainlab run settings. Reuse with: trainlab train --config FILE"


def parse_toml(text: str, where: str = "") -> dict[str, Any]:
    """The settings of a TOML document, flattened (``[train]`` and section tables opened)."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise SettingError(f"{where}not valid TOML ({reason}).") from None
    if set(data) == {"train"} and isinstance(data["train"], dict):
        data = data["train"]
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECTIONS and isinstance(value, dict):
            for inner, inner_value in value.items():
                if inner in flat:
                    raise SettingError(f"{where}setting {inner!r} is given twice.")
                flat[inner] = inner_value
        elif key in flat:
            raise SettingError(f"{where}setting {key!r} is given twice.")
        else:
            flat[key] = value
    return flat


def read_toml(path: str | Path) -> dict[str, Any]:
    """The raw settings of a TOML file by name (checked later); errors name the file."""
    path = Path(path)
    where = f"config file {str(path)!r}: "
    try:
        if not path.is_file() and path.exists():
            raise SettingError(f"setting 'config' (--config): {str(path)!r} is not a regular "
                               "file; expected a TOML file.")
        with open(path, "rb") as f:
            raw = f.read((1 << 20) + 1)
    except FileNotFoundError:
        raise SettingError(f"setting 'config' (--config): no such file {str(path)!r}.") from None
    except IsADirectoryError:
        raise SettingError(f"setting 'config' (--config): {str(path)!r} is a directory, "
                           "expected a TOML file.") from None
    except OSError as exc:
        raise SettingError(f"setting 'config' (--config): cannot read {str(path)!r} "
                           f"({exc.strerror or exc}).") from None
    if len(raw) > 1 << 20:
        raise SettingError(f"{where}larger than 1 MiB; a settings file is a few lines.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingError(f"{where}not UTF-8 text ({exc}).") from None
    return parse_toml(text, where)


def _line(name: str, value: Any) -> str:
    """``name = value`` in TOML; a list of numbers on one line."""
    if value is None:
        return f"# {name} = none"
    if isinstance(value, (list, tuple)):
        return f"{name} = [{', '.join(repr(v) for v in value)}]"
    return tomli_w.dumps({name: value}).rstrip("\n")


def to_toml(config: RunConfig, extra: Mapping[str, Any] | None = None,
            task: str | None = None) -> str:
    """The settings that apply to ``config`` as TOML, grouped by section with comments.

    extra: other top-level keys to write first (the command line's ``out`` and ``name``).
    task: the run's task, when known (it decides whether ``target_scaler`` applies).
    """
    lines = [HEADER, ""]
    if extra:
        lines.append("# -- output")
        for key, value in extra.items():
            lines.append(_line(key, value))
        lines.append("")
    tables: dict[str, dict[str, Any]] = {}
    by_section: dict[str, list[str]] = {}
    for name, setting in SETTINGS.items():
        by_section.setdefault(setting.section, []).append(name)
    for section, names in by_section.items():
        lines.append(f"# -- {section}")
        for name in names:
            if not applies(config, name, task):
                continue
            value = config.get(name)
            if SETTINGS[name].kind == "options":
                if value:
                    tables[name] = dict(value)
                continue
            lines.append(_line(name, value))
        lines.append("")
    if tables:
        lines.append(tomli_w.dumps(tables).rstrip("\n"))
    return "\n".join(lines).rstrip("\n") + "\n"
