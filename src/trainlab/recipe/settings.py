"""One table of settings: the names, kinds, ranges and help of everything a run is made of.

Every setting has one name, used everywhere: the key of a TOML file (``batch_size``),
the command-line flag (``--batch-size``), the key of a sweep spec, and the field of
:class:`~trainlab.recipe.RunConfig`. The table says how to read and check a value; it
holds no default for what a class already defaults (an optimizer's ``momentum``, a
schedule's ``gamma``): those come from the class's own signature (see ``recipe.resolve``).
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class SettingError(ValueError):
    """A setting has a wrong type or value, is unknown, or does not apply to the run.

    The message names the setting (its TOML key and flag), what it accepts and what it
    received; the command line prints it as one line and exits with status 2.
    """


Choices = tuple[str, ...] | Callable[[], list[str]]


@dataclass(frozen=True)
class Setting:
    """One setting of a run.

    kind: ``"int"``, ``"float"``, ``"bool"``, ``"str"``, ``"choice"``, ``"ints"`` (a list
        of integers, written ``256,128`` on the command line) or ``"options"`` (a table of
        ``key = value`` pairs, written ``KEY=VALUE`` on the command line).
    section: the part of the recipe it belongs to (``"data"``, ``"model"``, ...).
    default: the value when nothing is given; ``None`` for a setting whose default is the
        chosen component's own (resolved from its signature) or that is off by default.
    low / high: the accepted range (``open_low`` / ``open_high``: the bound excluded).
    optional: None is accepted (written ``none`` on the command line).
    param: the keyword of the component's constructor that this setting feeds, when it
        differs from the setting's name (``t_max`` feeds ``T_max``).
    """

    name: str
    kind: str
    section: str
    help: str
    default: Any = None
    choices: Choices = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    optional: bool = False
    metavar: str | None = None
    param: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def keyword(self) -> str:
        """The constructor keyword this setting feeds."""
        return self.param or self.name

    def allowed(self) -> list[str]:
        return list(self.choices() if callable(self.choices) else self.choices)

    def accepted(self) -> str:
        """The accepted values, in words."""
        if self.kind == "choice":
            text = "one of " + ", ".join(self.allowed())
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "ints":
            text = "a list of integers >= 1 (e.g. 256,128; empty for none)"
        elif self.kind == "options":
            text = "a table of name = value pairs"
        elif self.kind in ("int", "float"):
            noun = "an integer" if self.kind == "int" else "a number"
            bounds = []
            if self.low is not None:
                bounds.append(f"{'>' if self.open_low else '>='} {self.low:g}")
            if self.high is not None:
                bounds.append(f"{'<' if self.open_high else '<='} {self.high:g}")
            text = noun + (" " + " and ".join(bounds) if bounds else "")
        else:
            text = "a non-empty string of printable characters"
        return text + (" (or none)" if self.optional else "")

    def fail(self, value: Any, where: str = "") -> SettingError:
        hint = ""
        if self.kind == "choice" and isinstance(value, str):
            close = difflib.get_close_matches(value.strip().lower(), self.allowed(), n=1,
                                              cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            if callable(self.choices):  # names from a registry: plugins add to them
                hint += "; a name that a plugin provides needs the plugin installed"
        return SettingError(f"{where}setting '{self.name}' ({self.flag}) must be "
                            f"{self.accepted()}; received {value!r}{hint}.")

    # -- reading ---------------------------------------------------------------------
    def from_text(self, text: str, where: str = "") -> Any:
        """The value of a command-line string, checked."""
        if self.optional and text.strip().lower() in ("none", "null"):
            return None
        value: Any = text
        if self.kind in ("int", "float"):
            try:
                value = int(text.strip()) if self.kind == "int" else float(text.strip())
            except ValueError:
                raise self.fail(text, where) from None
        elif self.kind == "bool":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise self.fail(text, where)
            value = lowered in ("true", "1", "yes")
        elif self.kind == "ints":
            parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
            try:
                value = [int(p) for p in parts]
            except ValueError:
                raise self.fail(text, where) from None
        return self.check(value, where)

    def check(self, value: Any, where: str = "") -> Any:
        """``value`` (from TOML, a dict or already converted) checked and normalised."""
        if value is None:
            if self.optional:
                return None
            raise self.fail(value, where)
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.fail(value, where)
            return value
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise self.fail(value, where)
            self._check_range(int(value), where)
            return int(value)
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise self.fail(value, where)
            number = float(value)
            if not math.isfinite(number):
                raise self.fail(value, where)
            self._check_range(number, where)
            return number
        if kind == "ints":
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise self.fail(value, where)
            if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
                   for v in value):
                raise self.fail(value, where)
            return tuple(int(v) for v in value)
        if kind == "options":
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise self.fail(value, where)
            return dict(value)
        if not isinstance(value, str):
            raise self.fail(value, where)
        if kind == "choice":
            lowered = value.strip().lower().replace("-", "_")
            if lowered not in self.allowed():
                raise self.fail(value, where)
            return lowered
        if not value.strip() or any(not c.isprintable() for c in value):
            raise self.fail(value, where)
        return value

    def _check_range(self, value: float, where: str) -> None:
        low, high = self.low, self.high
        if low is not None and (value < low or (self.open_low and value == low)):
            raise self.fail(value, where)
        if high is not None and (value > high or (self.open_high and value == high)):
            raise self.fail(value, where)
