"""The estimators' settings: checked at fit time and turned into trainlab objects.

scikit-learn's convention is that ``__init__`` stores its arguments untouched and
``fit`` validates them; :func:`resolve` is that validation. Every bad setting raises
:class:`InvalidParameterError` (a ``ValueError`` and a ``TypeError``, as scikit-learn's
own) whose message names the estimator and the parameter, says what was expected and
shows what was received.

The choices and what each becomes:

- activation: scikit-learn's "logistic" (trainlab's "sigmoid") or a name of
  ``trainlab.nn.ACTIVATIONS`` (plugins included: identity, tanh, relu, ...).
- init: None (``trainlab.init.recommended(activation)``) or a ``trainlab.init`` name.
- solver / optimizer: "lbfgs" (``scipy.optimize`` L-BFGS-B, full batch) or a name of
  ``trainlab.optim.OPTIMIZERS``; ``momentum`` and ``nesterovs_momentum`` are SGD's,
  ``beta_1``, ``beta_2`` and ``epsilon`` Adam's and AdamW's.
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
#: scikit-learn's activation names that trainlab spells differently.
SKLEARN_ACTIVATIONS = {"logistic": "sigmoid"}


class InvalidParameterError(ValueError, TypeError):
    """A setting of an estimator has a wrong type or value (raised by ``fit``)."""


LEARNING_RATES = ("constant", "invscaling", "adaptive")
LBFGS = "lbfgs"  # the full-batch solver; every other is a trainlab optimizer


@dataclass(frozen=True)
class Settings:
    """The validated settings of one fit (plain Python values)."""

    hidden_sizes: tuple[int, ...]
    activation: str  # the trainlab name ("logistic" is "sigmoid")
    init: str
    norm: str
    dropout: float
    dropconnect: float
    solver: str  # "lbfgs" or a name of trainlab.optim.OPTIMIZERS
    alpha: float
    batch_size: int | None  # None: "auto", min(200, n)
    lr_schedule: str  # constant, invscaling or adaptive
    learning_rate: float  # the initial rate
    power_t: float
    max_iter: int
    shuffle: bool
    tol: float
    momentum: float
    nesterov: bool
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: float  # an int >= 1, or inf
    max_fun: int
    warm_start: bool
    weight_decay: float
    schedule: str | None
    lr_gamma: float
    lr_step_size: int
    lr_patience: int
    clip_norm: float | None
    clip_value: float | None
    early_stopping: bool
    validation_fraction: float
    standardize: bool
    dtype: str | None  # None: follow the input (float32 stays float32, else float64)
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
        if not isinstance(value, numbers.Integral) or value < 0:
            raise self.fail(name, "an integer >= 0 (0 silent, else a line per epoch) or a bool")
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

    def dtype(self, name: str) -> str | None:
        value = getattr(self.estimator, name)
        if value is None:
            return None
        try:
            resolved = np.dtype(value).name
        except TypeError:
            resolved = None
        if resolved not in DTYPES:
            raise self.fail(name, f"None (follow the input) or one of {list(DTYPES)}")
        return resolved

    def patience(self, name: str) -> float:
        value = getattr(self.estimator, name)
        if isinstance(value, float) and value == np.inf:
            return np.inf
        return float(self.integer(name, 1))


def _alias(estimator: Any, trainlab_name: str, sklearn_name: str) -> str:
    """Which of two names for one setting to read: trainlab's when it is set (not None),
    else scikit-learn's."""
    return sklearn_name if getattr(estimator, trainlab_name) is None else trainlab_name


def resolve(estimator: Any) -> Settings:
    """Validate the estimator's parameters and return them as :class:`Settings`.

    scikit-learn's names and trainlab's for one setting: ``optimizer`` (or ``solver``),
    ``epochs`` (or ``max_iter``), ``patience`` (or ``n_iter_no_change``); trainlab's wins
    when it is not None. ``learning_rate`` is scikit-learn's schedule name ("constant",
    "invscaling", "adaptive") or, as a number, the initial rate (``learning_rate_init``).
    """
    c = _Checker(estimator)
    activation = c.choice("activation", [*SKLEARN_ACTIVATIONS, *nn.ACTIVATIONS.names()])
    activation = SKLEARN_ACTIVATIONS.get(activation, activation)
    init = c.choice("init", [None, *_init.INITIALIZERS.names()])
    solver = c.choice(_alias(estimator, "optimizer", "solver"),
                      [LBFGS, *optim.OPTIMIZERS.names()])
    rate = estimator.learning_rate
    if isinstance(rate, numbers.Real) and not isinstance(rate, bool):
        lr_schedule = "constant"
        learning_rate = c.real("learning_rate", 0.0, None, low_open=True)
    else:
        lr_schedule = c.choice("learning_rate", LEARNING_RATES)
        learning_rate = c.real("learning_rate_init", 0.0, None, low_open=True)
    batch = estimator.batch_size
    batch_size = None
    if not (isinstance(batch, str) and batch == "auto"):
        if isinstance(batch, bool) or not isinstance(batch, numbers.Integral) or batch < 1:
            raise c.fail("batch_size", "'auto' (min(200, n)) or an integer >= 1")
        batch_size = int(batch)
    settings = Settings(
        hidden_sizes=c.sizes("hidden_layer_sizes"),
        activation=activation,
        init=_init.recommended(activation) if init is None else init,
        norm=c.choice("norm", NORMS),
        dropout=c.real("dropout", 0.0, 1.0),
        dropconnect=c.real("dropconnect", 0.0, 1.0),
        solver=solver,
        alpha=c.real("alpha", 0.0, None),
        batch_size=batch_size,
        lr_schedule=lr_schedule,
        learning_rate=learning_rate,
        power_t=c.real("power_t", 0.0, None),
        max_iter=c.integer(_alias(estimator, "epochs", "max_iter"), 1),
        shuffle=c.flag("shuffle"),
        tol=c.real("tol", 0.0, None),
        momentum=c.real("momentum", 0.0, 1.0, high_open=False),
        nesterov=c.flag("nesterovs_momentum"),
        beta_1=c.real("beta_1", 0.0, 1.0),
        beta_2=c.real("beta_2", 0.0, 1.0),
        epsilon=c.real("epsilon", 0.0, None, low_open=True),
        n_iter_no_change=c.patience(_alias(estimator, "patience", "n_iter_no_change")),
        max_fun=c.integer("max_fun", 1),
        warm_start=c.flag("warm_start"),
        weight_decay=c.real("weight_decay", 0.0, None),
        schedule=c.choice("schedule", [None, *optim.SCHEDULES.names()]),
        lr_gamma=c.real("lr_gamma", 0.0, 1.0, low_open=True),
        lr_step_size=c.integer("lr_step_size", 1),
        lr_patience=c.integer("lr_patience", 0),
        clip_norm=c.real("clip_norm", 0.0, None, low_open=True, none=True),
        clip_value=c.real("clip_value", 0.0, None, low_open=True, none=True),
        early_stopping=c.flag("early_stopping"),
        validation_fraction=c.real("validation_fraction", 0.0, 1.0, low_open=True),
        standardize=c.flag("standardize"),
        dtype=c.dtype("dtype"),
        verbose=c.verbosity("verbose"),
    )
    if settings.clip_norm is not None and settings.clip_value is not None:
        raise InvalidParameterError(
            f"{c.owner}: set clip_norm or clip_value, not both. Received clip_norm="
            f"{estimator.clip_norm!r}, clip_value={estimator.clip_value!r}."
        )
    if settings.schedule is not None and settings.lr_schedule != "constant":
        raise InvalidParameterError(
            f"{c.owner}: set schedule or learning_rate={settings.lr_schedule!r}, not both. "
            f"Received schedule={settings.schedule!r}."
        )
    if solver == LBFGS and (settings.dropout or settings.dropconnect):
        raise InvalidParameterError(
            f"{c.owner}: solver='lbfgs' needs a deterministic objective; set dropout and "
            f"dropconnect to 0. Received dropout={settings.dropout!r}, "
            f"dropconnect={settings.dropconnect!r}."
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
