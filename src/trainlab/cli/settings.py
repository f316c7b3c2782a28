"""The settings of ``trainlab train``: one table, read from flags and from a TOML file.

Every setting has one name: the TOML key (``batch_size``) and the flag with dashes
(``--batch-size``). The value of a run is resolved as

    defaults  <-  --config FILE.toml  <-  flags on the command line

then checked once (type, range, accepted values) by the same code whatever its source,
and the fully resolved settings are written to the run's ``config.toml``, which
``--config`` reads back unchanged.
"""

from __future__ import annotations

import difflib
import math
import numbers
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainlab.cli.errors import UsageError

OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam", "adamw")
SCHEDULES = ("none", "exponential", "step", "cosine", "plateau")
AUGMENTATIONS = ("none", "noise", "shift")
SCALERS = ("standard", "minmax", "none")
NORMS = ("none", "batch", "layer")
DTYPES = ("float32", "float64")


def _activations() -> tuple[str, ...]:
    from trainlab.models import ACTIVATIONS

    return tuple(ACTIVATIONS)


def _initializers() -> tuple[str, ...]:
    from trainlab.init import INITIALIZERS

    return tuple(INITIALIZERS)


@dataclass(frozen=True)
class Setting:
    """One setting of a run.

    kind: ``"int"``, ``"float"``, ``"bool"``, ``"str"``, ``"choice"`` or ``"ints"`` (a list
        of integers, written ``256,128`` on the command line).
    low / high: the accepted range (``open_low``/``open_high``: the bound itself excluded).
    optional: None is accepted (written ``none`` on the command line); it means "off" or
        "the default of the chosen component", resolved before the run starts.
    """

    name: str
    kind: str
    default: Any
    help: str
    group: str
    choices: Any = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    optional: bool = False
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def accepted(self) -> str:
        """The accepted values, in words."""
        if self.kind == "choice":
            text = "one of " + ", ".join(self.allowed())
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "ints":
            text = "a list of integers >= 1 (e.g. 256,128; empty for none)"
        elif self.kind in ("int", "float"):
            noun = "an integer" if self.kind == "int" else "a number"
            bounds = []
            if self.low is not None:
                bounds.append(f"{'>' if self.open_low else '>='} {self.low:g}")
            if self.high is not None:
                bounds.append(f"{'<' if self.open_high else '<='} {self.high:g}")
            text = noun + (" " + " and ".join(bounds) if bounds else "")
        else:
            text = "a string"
        return text + (" (or none)" if self.optional else "")

    def allowed(self) -> tuple[str, ...]:
        return tuple(self.choices() if callable(self.choices) else self.choices)

    # -- checking --------------------------------------------------------------------
    def _fail(self, value: Any, where: str) -> UsageError:
        return UsageError(
            f"{where}setting '{self.name}' ({self.flag}) must be {self.accepted()}; "
            f"received {value!r}."
        )

    def from_text(self, text: str, where: str = "") -> Any:
        """The value of a command-line string (checked)."""
        if self.optional and text.strip().lower() in ("none", "null"):
            return None
        if self.kind == "int":
            try:
                value: Any = int(text.strip())
            except ValueError:
                raise self._fail(text, where) from None
        elif self.kind == "float":
            try:
                value = float(text.strip())
            except ValueError:
                raise self._fail(text, where) from None
        elif self.kind == "bool":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise self._fail(text, where)
            value = lowered in ("true", "1", "yes")
        elif self.kind == "ints":
            parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
            try:
                value = [int(p) for p in parts]
            except ValueError:
                raise self._fail(text, where) from None
        else:
            value = text
        return self.check(value, where)

    def check(self, value: Any, where: str = "") -> Any:
        """``value`` (from TOML, or already converted) checked and normalised."""
        if value is None:
            if self.optional:
                return None
            raise self._fail(value, where)
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise self._fail(value, where)
            return value
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise self._fail(value, where)
            value = int(value)
            self._check_range(value, where)
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise self._fail(value, where)
            value = float(value)
            if not math.isfinite(value):
                raise self._fail(value, where)
            self._check_range(value, where)
            return value
        if kind == "ints":
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise self._fail(value, where)
            if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
                   for v in value):
                raise self._fail(value, where)
            return [int(v) for v in value]
        if not isinstance(value, str):
            raise self._fail(value, where)
        if kind == "choice":
            lowered = value.strip().lower().replace("-", "_")
            allowed = self.allowed()
            if lowered not in allowed:
                raise self._fail(value, where)
            return lowered
        if not value.strip():
            raise self._fail(value, where)
        return value

    def _check_range(self, value: float, where: str) -> None:
        if self.low is not None and (value < self.low or (self.open_low and value == self.low)):
            raise self._fail(value, where)
        if self.high is not None and (value > self.high or (self.open_high and value == self.high)):
            raise self._fail(value, where)


def _s(name, kind, default, help, group, **kw) -> Setting:  # noqa: A002 - argparse's word
    return Setting(name, kind, default, help, group, **kw)


DATA, MODEL, OPTIM, SCHEDULE, REGULARISE, TRAINING, OUTPUT = (
    "data", "model", "optimizer", "learning-rate schedule", "clipping and augmentation",
    "training", "output",
)

SETTINGS: tuple[Setting, ...] = (
    # data
    _s("data", "str", "digits", "dataset: digits, breast_cancer, diabetes, iris, wine, mnist1d, "
       "mnist5k, mnist, fashion_mnist, csv:PATH or npz:PATH", DATA, metavar="NAME"),
    _s("data_dir", "str", None, "folder of the mnist files, the mnist1d cache, and the base of "
       "relative csv:/npz: paths", DATA, optional=True, metavar="DIR"),
    _s("target", "str", None, "csv: the target column (default: the last column)", DATA,
       optional=True, metavar="COLUMN"),
    _s("task", "choice", None, "classification or regression (default: inferred from the "
       "targets)", DATA, choices=("classification", "regression"), optional=True),
    _s("val_fraction", "float", 0.1, "fraction of the examples held out for validation", DATA,
       low=0.0, high=1.0, open_low=True, open_high=True),
    _s("test_fraction", "float", 0.2, "fraction of the examples held out for the test", DATA,
       low=0.0, high=1.0, open_low=True, open_high=True),
    _s("scaler", "choice", "standard", "input normalisation fitted on the training split: "
       "standard (zero mean, unit variance), minmax or none", DATA, choices=SCALERS),
    # model
    _s("hidden", "ints", [256, 128], "hidden layer widths, e.g. 256,128", MODEL, metavar="N,N"),
    _s("activation", "choice", "relu", "hidden activation", MODEL, choices=_activations),
    _s("init", "choice", "he_uniform", "weight initialiser", MODEL, choices=_initializers),
    _s("norm", "choice", "none", "normalisation after each hidden Linear: none, batch, layer",
       MODEL, choices=NORMS),
    _s("dropout", "float", 0.0, "dropout rate after each hidden activation", MODEL,
       low=0.0, high=1.0, open_high=True),
    _s("dropconnect", "float", 0.0, "DropConnect rate of the hidden weights", MODEL,
       low=0.0, high=1.0, open_high=True),
    _s("dtype", "choice", "float32", "float32 or float64", MODEL, choices=DTYPES),
    # optimizer
    _s("optimizer", "choice", "adam", "sgd, adagrad, rmsprop, adam or adamw", OPTIM,
       choices=OPTIMIZERS),
    _s("lr", "float", 1e-3, "learning rate", OPTIM, low=0.0, open_low=True),
    _s("momentum", "float", 0.0, "momentum (sgd, rmsprop)", OPTIM, low=0.0, high=1.0,
       open_high=True),
    _s("nesterov", "bool", False, "Nesterov momentum (sgd; needs --momentum > 0)", OPTIM),
    _s("weight_decay", "float", None, "L2 penalty (adamw: decoupled); default 0, adamw 0.01",
       OPTIM, low=0.0, optional=True),
    _s("beta1", "float", 0.9, "Adam's first-moment decay", OPTIM, low=0.0, high=1.0,
       open_high=True),
    _s("beta2", "float", 0.999, "Adam's second-moment decay", OPTIM, low=0.0, high=1.0,
       open_high=True),
    _s("eps", "float", None, "denominator term (default 1e-8; adagrad 1e-10)", OPTIM,
       low=0.0, open_low=True, optional=True),
    _s("alpha", "float", 0.99, "RMSprop's squared-gradient decay", OPTIM, low=0.0, high=1.0,
       open_high=True),
    _s("amsgrad", "bool", False, "AMSGrad variant (adam, adamw)", OPTIM),
    _s("centered", "bool", False, "centred RMSprop", OPTIM),
    # schedule
    _s("schedule", "choice", "cosine", "none, exponential, step, cosine or plateau", SCHEDULE,
       choices=SCHEDULES),
    _s("gamma", "float", None, "decay factor (exponential: default 0.95; step: 0.1)", SCHEDULE,
       low=0.0, open_low=True, optional=True),
    _s("step_size", "int", 10, "step: epochs between decays", SCHEDULE, low=1),
    _s("t_max", "int", None, "cosine: epochs of the half period (default: --epochs)", SCHEDULE,
       low=1, optional=True),
    _s("eta_min", "float", 0.0, "cosine: the lowest learning rate", SCHEDULE, low=0.0),
    _s("factor", "float", 0.1, "plateau: factor applied when val_loss stalls", SCHEDULE,
       low=0.0, high=1.0, open_low=True, open_high=True),
    _s("plateau_patience", "int", 5, "plateau: epochs without improvement before a decay",
       SCHEDULE, low=0),
    _s("min_lr", "float", 0.0, "plateau: the lowest learning rate", SCHEDULE, low=0.0),
    # clipping and augmentation
    _s("clip_norm", "float", None, "clip the gradients to this global L2 norm", REGULARISE,
       low=0.0, open_low=True, optional=True),
    _s("clip_value", "float", None, "clip each gradient entry to [-v, v]", REGULARISE,
       low=0.0, open_low=True, optional=True),
    _s("augment", "choice", "noise", "training augmentation: none, noise (Gaussian), shift "
       "(random shift and rotation; image datasets)", REGULARISE, choices=AUGMENTATIONS),
    _s("noise_std", "float", 0.3, "noise: std of the Gaussian noise (normalised units)",
       REGULARISE, low=0.0, open_low=True),
    _s("max_shift", "int", 1, "shift: largest shift in pixels", REGULARISE, low=0),
    _s("max_degrees", "float", 10.0, "shift: largest rotation in degrees", REGULARISE,
       low=0.0, high=180.0),
    # training
    _s("epochs", "int", 30, "total number of epochs (with --resume: the total to reach)",
       TRAINING, low=1),
    _s("batch_size", "int", 32, "examples per minibatch", TRAINING, low=1),
    _s("seed", "int", 0, "the one seed of the run (split, initialisation, shuffling, "
       "dropout, augmentation)", TRAINING, low=0),
    _s("early_stopping", "bool", False, "stop when val_loss stops improving and restore the "
       "best epoch's weights", TRAINING),
    _s("patience", "int", 10, "early stopping: epochs without improvement", TRAINING, low=1),
    _s("monitor", "bool", True, "record per-layer diagnostics (health table, report)",
       TRAINING),
    _s("monitor_every", "int", 50, "monitor: sample one step in this many", TRAINING, low=1),
    # output
    _s("out", "str", "runs", "folder that receives the run directory", OUTPUT, metavar="DIR"),
    _s("name", "str", None, "run directory name (default: the dataset's name); -2, -3, ... "
       "is appended when it exists", OUTPUT, optional=True, metavar="NAME"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def defaults() -> dict[str, Any]:
    """Every setting at its default (lists copied)."""
    return {s.name: list(s.default) if isinstance(s.default, list) else s.default
            for s in SETTINGS}


def unknown_key_error(key: str, where: str) -> UsageError:
    close = difflib.get_close_matches(key, BY_NAME, n=1, cutoff=0.5)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return UsageError(
        f"{where}unknown setting '{key}'{hint}; accepted settings: {', '.join(BY_NAME)}."
    )


def read_toml(path: str | Path) -> dict[str, Any]:
    """The checked settings of a TOML file (top-level keys, or under a ``[train]`` table)."""
    path = Path(path)
    where = f"config file {str(path)!r}: "
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(f"setting 'config' (--config): no such file {str(path)!r}.") from None
    except IsADirectoryError:
        raise UsageError(f"setting 'config' (--config): {str(path)!r} is a directory, "
                         "expected a TOML file.") from None
    except OSError as exc:
        raise UsageError(f"setting 'config' (--config): cannot read {str(path)!r} "
                         f"({exc.strerror or exc}).") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}not valid TOML ({exc}).") from None
    if set(data) == {"train"} and isinstance(data["train"], dict):
        data = data["train"]
    values = {}
    for key, value in data.items():
        if key not in BY_NAME:
            raise unknown_key_error(key, where)
        values[key] = BY_NAME[key].check(value, where)
    return values


def resolve(file_values: Mapping[str, Any], flag_values: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults, then the config file, then the flags; then the cross-setting checks."""
    values = defaults()
    values.update(file_values)
    values.update(flag_values)
    check_combinations(values)
    return values


def check_combinations(values: Mapping[str, Any]) -> None:
    """Rules that involve two settings."""
    if values["clip_norm"] is not None and values["clip_value"] is not None:
        raise UsageError(
            "settings 'clip_norm' (--clip-norm) and 'clip_value' (--clip-value): use one "
            f"of the two, not both; received {values['clip_norm']!r} and {values['clip_value']!r}."
        )
    if values["val_fraction"] + values["test_fraction"] >= 1.0:
        raise UsageError(
            "settings 'val_fraction' and 'test_fraction' must add up to less than 1 to leave "
            f"training data; received {values['val_fraction']!r} + {values['test_fraction']!r}."
        )
    if values["nesterov"] and (values["optimizer"] != "sgd" or values["momentum"] <= 0):
        raise UsageError(
            "setting 'nesterov' (--nesterov) needs --optimizer sgd and --momentum > 0; received "
            f"optimizer {values['optimizer']!r}, momentum {values['momentum']!r}."
        )
    if values["amsgrad"] and values["optimizer"] not in ("adam", "adamw"):
        raise UsageError("setting 'amsgrad' (--amsgrad) needs --optimizer adam or adamw; "
                         f"received {values['optimizer']!r}.")
    if values["centered"] and values["optimizer"] != "rmsprop":
        raise UsageError("setting 'centered' (--centered) needs --optimizer rmsprop; "
                         f"received {values['optimizer']!r}.")
    name = values["name"]
    if name is not None and (name in (".", "..") or "/" in name or "\\" in name
                             or name != name.strip()):
        raise UsageError(f"setting 'name' (--name) must be a plain directory name (no '/', "
                         f"not '.' or '..'); received {name!r}.")


def fill_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """Replace "the component's default" (None) by the value it stands for, so that
    ``config.toml`` holds every number the run used."""
    out = dict(values)
    optimizer = out["optimizer"]
    if out["weight_decay"] is None:
        out["weight_decay"] = 1e-2 if optimizer == "adamw" else 0.0
    if out["eps"] is None:
        out["eps"] = 1e-10 if optimizer == "adagrad" else 1e-8
    if out["gamma"] is None:
        out["gamma"] = {"exponential": 0.95, "step": 0.1}.get(out["schedule"], 0.95)
    if out["t_max"] is None:
        out["t_max"] = out["epochs"]
    return out


def absolute_paths(values: dict[str, Any]) -> dict[str, Any]:
    """``data_dir`` and a relative ``csv:``/``npz:`` path made absolute (against the current
    folder), so that the run can be resumed and evaluated from anywhere."""
    out = dict(values)
    if out["data_dir"] is not None:
        out["data_dir"] = str(Path(out["data_dir"]).expanduser().absolute())
    prefix, colon, path = out["data"].partition(":")
    if colon and prefix.lower() in ("csv", "npz") and path:
        file = Path(path).expanduser()
        if not file.is_absolute():
            file = (Path(out["data_dir"]) / file) if out["data_dir"] else file.absolute()
        out["data"] = f"{prefix.lower()}:{file}"
    return out


# -- writing config.toml --------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def to_toml(values: Mapping[str, Any]) -> str:
    """The settings as TOML, grouped with comments; a setting that is None (off) is written
    as a comment, since TOML has no null."""
    lines = ["# trainlab train settings (fully resolved). Reuse with: trainlab train --config FILE",
             ""]
    group = None
    for s in SETTINGS:
        if s.group != group:
            if group is not None:
                lines.append("")
            lines.append(f"# -- {s.group}")
            group = s.group
        value = values.get(s.name)
        if value is None:
            lines.append(f"# {s.name} = none")
        else:
            lines.append(f"{s.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
