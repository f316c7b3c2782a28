"""The estimators' settings: checked at fit time and turned into trainlab objects.

scikit-learn's convention is that ``__init__`` stores its arguments untouched and
``fit`` validates them; :func:`resolve` is that validation. Every bad setting raises
:class:`InvalidParameterError` (a ``ValueError`` and a ``TypeError``, as scikit-learn's
own) whose message names the estimator and the parameter, says what was expected and
shows what was received.

The choices and what each becomes:

- activation: a name of ``trainlab.nn.ACTIVATIONS`` (plugins included).
- init: None (``trainlab.init.recommended(activation)``) or a ``trainlab.init`` name.
- optimizer: a name of ``trainlab.optim.OPTIMIZERS``; ``momentum`` is SGD's only.
- schedule: None, "exponential" (ExponentialLR(lr_gamma)), "step" (StepLR(lr_step_size,
  lr_gamma)), "cosine" (CosineAnnealingLR(T_max=epochs)) or "plateau"
  (ReduceLROnPlateau(factor=lr_gamma, patience=lr_patience)).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab import init as _init
from trainlab import nn, optim
from trainlab.recipe.config import NORMS

DTYPES = ("float32", "float64")


class InvalidParameterError(ValueError, TypeError):
    """A setting of an estimator has a wrong type or value (raised by ``fit``)."""


@dataclass(frozen=True)
class Settings:
    """The validated settings of one fit (plain Python values)."""

    hidden_sizes: tuple[int, ...]
    activation: str
    init: str
    norm: str
    dropout: float
    dropconnect: float
    optimizer: str
    learning_rate: float
    momentum: float
    weight_decay: float
    schedule: str | None
    lr_gamma: float
    lr_step_size: int
    lr_patience: int
    clip_norm: float | None
    clip_value: float | None
    batch_size: int
    epochs: int
    early_stopping: bool
    validation_fraction: float
    patience: int
    standardize: bool
    dtype: str
    verbose: int


class _Checker:
    """Reads one parameter at a time from an estimator and raises with its name."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        self.owner = type(estimator).__name__

    def fail(self, name: str, expected: str) -> InvalidParameterError:
        value = getattr(self.estimator, name)
        return InvalidParameterError(
            f"{self.owner}: {name} must be {expected}. Received: {value!r}."
        )

    def choice(self, name: str, options: Any) -> Any:
        value = getattr(self.estimator, name)
        if not any(value is o or (isinstance(value, str) and value == o) for o in options):
            raise self.fail(name, f"one of {list(options)}")
        return value

    def integer(self, name: str, low: int) -> int:
        value = getattr(self.estimator, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise self.fail(name, f"an integer >= {low}")
        return int(value)

    def real(self, name: str, low: float, high: float | None = None, *,
             low_open: bool = False, high_open: bool = True, none: bool = False) -> Any:
        value = getattr(self.estimator, name)
        if none and value is None:
            return None
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        expected = f"a real number in {lo}{low:g}, {'inf' if high is None else f'{high:g}'}{hi}"
        if none:
            expected += " or None"
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.fail(name, expected)
        value = float(value)
        bad = not np.isfinite(value) or value < low or (low_open and value == low)
        if high is not None:
            bad = bad or value > high or (high_open and value == high)
        if bad:
            raise self.fail(name, expected)
        return value

    def verbosity(self, name: str) -> int:
        value = getattr(self.estimator, name)
        if isinstance(value, (bool, np.bool_)):
            return int(value)
        if not isinstance(value, numbers.Integral) or value not in (0, 1, 2):
            raise self.fail(name, "0 (silent), 1 (a progress bar), 2 (a line per epoch) or a bool")
        return int(value)

    def flag(self, name: str) -> bool:
        value = getattr(self.estimator, name)
        if not isinstance(value, (bool, np.bool_)):
            raise self.fail(name, "True or False")
        return bool(value)

    def sizes(self, name: str) -> tuple[int, ...]:
        value = getattr(self.estimator, name)
        items = [value] if isinstance(value, numbers.Integral) else value
        ok = not isinstance(items, (str, bytes)) and hasattr(items, "__iter__")
        items = list(items) if ok else []
        if not ok or any(
            isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1 for h in items
        ):
            raise self.fail(name, "a sequence of integers >= 1 (one width per hidden layer)")
        return tuple(int(h) for h in items)

    def dtype(self, name: str) -> str:
        value = getattr(self.estimator, name)
        try:
            resolved = np.dtype(value).name
        except TypeError:
            resolved = None
        if resolved not in DTYPES:
            raise self.fail(name, f"one of {list(DTYPES)}")
        return resolved


def resolve(estimator: Any) -> Settings:
    """Validate the estimator's parameters and return them as :class:`Settings`."""
    c = _Checker(estimator)
    activation = c.choice("activation", nn.ACTIVATIONS.names())
    init = c.choice("init", [None, *_init.INITIALIZERS.names()])
    settings = Settings(
        hidden_sizes=c.sizes("hidden_layer_sizes"),
        activation=activation,
        init=_init.recommended(activation) if init is None else init,
        norm=c.choice("norm", NORMS),
        dropout=c.real("dropout", 0.0, 1.0),
        dropconnect=c.real("dropconnect", 0.0, 1.0),
        optimizer=c.choice("optimizer", optim.OPTIMIZERS.names()),
        learning_rate=c.real("learning_rate", 0.0, None, low_open=True),
        momentum=c.real("momentum", 0.0, 1.0),
        weight_decay=c.real("weight_decay", 0.0, None),
        schedule=c.choice("schedule", [None, *optim.SCHEDULES.names()]),
        lr_gamma=c.real("lr_gamma", 0.0, 1.0, low_open=True),
        lr_step_size=c.integer("lr_step_size", 1),
        lr_patience=c.integer("lr_patience", 0),
        clip_norm=c.real("clip_norm", 0.0, None, low_open=True, none=True),
        clip_value=c.real("clip_value", 0.0, None, low_open=True, none=True),
        batch_size=c.integer("batch_size", 1),
        epochs=c.integer("epochs", 1),
        early_stopping=c.flag("early_stopping"),
        validation_fraction=c.real("validation_fraction", 0.0, 1.0, low_open=True),
        patience=c.integer("patience", 1),
        standardize=c.flag("standardize"),
        dtype=c.dtype("dtype"),
        verbose=c.verbosity("verbose"),
    )
    if settings.clip_norm is not None and settings.clip_value is not None:
        raise InvalidParameterError(
            f"{c.owner}: set clip_norm or clip_value, not both. Received clip_norm="
            f"{estimator.clip_norm!r}, clip_value={estimator.clip_value!r}."
        )
    random_state(estimator)  # checked here too, so a bad seed fails before any work
    return settings


def random_state(estimator: Any) -> np.random.Generator:
    """The one generator of a fit, from ``estimator.random_state``.

    None: a fresh generator. int >= 0: ``np.random.default_rng(seed)``. A
    ``np.random.Generator``: used as it is (it advances). A ``np.random.RandomState``
    (scikit-learn's kind): one seed drawn from it.
    """
    value = estimator.random_state
    if value is None or isinstance(value, np.random.Generator):
        return np.random.default_rng(value)
    if isinstance(value, np.random.RandomState):
        return np.random.default_rng(int(value.randint(0, 2**31 - 1)))
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 0:
        return np.random.default_rng(int(value))
    raise _Checker(estimator).fail(
        "random_state", "None, an int >= 0, a np.random.Generator or a np.random.RandomState"
    )
