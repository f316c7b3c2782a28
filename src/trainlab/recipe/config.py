"""``RunConfig``: the one typed recipe of a run, shared by every front door.

    RunConfig
      data       DataConfig       which dataset, how it is split and normalised
      model      ModelConfig      the MLP: widths, activation, initialisers, norm, dropout
      optimizer  OptimizerConfig  the update rule and its hyperparameters
      schedule   ScheduleConfig   the learning-rate schedule and its hyperparameters
      training   TrainingConfig   epochs, batches, clipping, augmentation, early stopping
      monitor    MonitorConfig    the per-layer diagnostics
      seed       int              the one seed of the run

Each field carries its :class:`~trainlab.recipe.settings.Setting` (kind, range, help), so
the command-line flags, the TOML keys, the checks and ``config.toml`` all come from these
classes. A hyperparameter of a component (``momentum``, ``gamma``) is ``None`` unless it
is given: its default is then the component's own, read from the constructor's
signature by :func:`~trainlab.recipe.resolve.resolved` (stated once, in the class).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from trainlab.backend import BACKENDS
from trainlab.data import SCALERS
from trainlab.init import INITIALIZERS
from trainlab.nn import ACTIVATIONS
from trainlab.optim import OPTIMIZERS, SCHEDULES
from trainlab.recipe.settings import Setting


def _setting(default: Any, kind: str, help: str, **options: Any) -> Any:  # noqa: A002
    """A dataclass field that carries its Setting (the name and section are added later)."""
    return field(default=default, metadata={"setting": dict(kind=kind, help=help, **options)})


def _activations() -> list[str]:
    return ACTIVATIONS.names()


def _initializers() -> list[str]:
    return INITIALIZERS.names()


def _optimizers() -> list[str]:
    return OPTIMIZERS.names()


def _schedules() -> list[str]:
    return ["none", *SCHEDULES.names()]


def _backends() -> list[str]:
    return ["auto", *BACKENDS.names()]


def _scalers() -> list[str]:
    return SCALERS.names()


NORMS = ("none", "batch", "layer")
AUGMENTATIONS = ("none", "noise", "shift")
DTYPES = ("float32", "float64")
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class DataConfig:
    """Which data, and how it is split and normalised (notes §7)."""

    data: str = _setting("digits", "str", "dataset: digits, breast_cancer, diabetes, iris, "
                         "wine, mnist1d, mnist5k, mnist, fashion_mnist, csv:PATH or npz:PATH",
                         metavar="NAME")
    data_dir: str | None = _setting(None, "str", "folder of the mnist files, the mnist1d "
                                    "cache, and the base of relative csv:/npz: paths",
                                    optional=True, metavar="DIR")
    target: str | None = _setting(None, "str", "csv: the target column (default: the last "
                                  "column)", optional=True, metavar="COLUMN")
    task: str | None = _setting(None, "choice", "classification or regression (default: "
                                "inferred from the targets)", choices=TASKS, optional=True)
    val_fraction: float = _setting(0.1, "float", "fraction of the examples held out for "
                                   "validation", low=0.0, high=1.0, open_low=True,
                                   open_high=True)
    test_fraction: float = _setting(0.2, "float", "fraction of the examples held out for the "
                                    "test", low=0.0, high=1.0, open_low=True, open_high=True)
    scaler: str = _setting("standard", "choice", "input normalisation fitted on the training "
                           "split: standard (zero mean, unit variance), minmax or none",
                           choices=_scalers)
    target_scaler: str | None = _setting(None, "choice", "regression: normalisation of the "
                                         "targets, fitted on the training split and inverted "
                                         "at prediction (default: standard)",
                                         choices=_scalers, optional=True, neutral=None)


@dataclass(frozen=True)
class ModelConfig:
    """The MLP: Linear → [Norm] → activation → [Dropout] per hidden layer, then a Linear."""

    hidden: tuple[int, ...] = _setting((256, 128), "ints", "hidden layer widths, e.g. 256,128",
                                       metavar="N,N")
    activation: str = _setting("relu", "choice", "hidden activation", choices=_activations)
    init: str = _setting("he_uniform", "choice", "initialiser of the hidden layers' weights",
                         choices=_initializers)
    output_init: str | None = _setting(None, "choice", "initialiser of the output layer "
                                       "(default: as --init for classification; zeros for "
                                       "regression, so that training starts from the mean "
                                       "target)", choices=_initializers, optional=True,
                                       neutral=None)
    norm: str = _setting("none", "choice", "normalisation after each hidden Linear: none, "
                         "batch, layer", choices=NORMS)
    dropout: float = _setting(0.0, "float", "dropout rate after each hidden activation",
                              low=0.0, high=1.0, open_high=True)
    dropconnect: float = _setting(0.0, "float", "DropConnect rate of the hidden weights",
                                  low=0.0, high=1.0, open_high=True)
    dtype: str = _setting("float32", "choice", "float32 or float64", choices=DTYPES)


@dataclass(frozen=True)
class OptimizerConfig:
    """The update rule; every hyperparameter left at None takes the optimizer's default."""

    optimizer: str = _setting("adam", "choice", "the update rule", choices=_optimizers)
    lr: float | None = _setting(None, "float", "learning rate (default: the optimizer's, "
                                "1e-3 for adam)", low=0.0, open_low=True, optional=True)
    momentum: float | None = _setting(None, "float", "momentum (sgd, rmsprop)", low=0.0,
                                      high=1.0, open_high=True, optional=True, neutral=0.0)
    nesterov: bool | None = _setting(None, "bool", "Nesterov momentum (sgd; needs --momentum "
                                     "> 0)", optional=True, neutral=False)
    weight_decay: float | None = _setting(None, "float", "L2 penalty (adamw: decoupled decay)",
                                          low=0.0, optional=True, neutral=0.0)
    beta1: float | None = _setting(None, "float", "first-moment decay (adam, adamw)", low=0.0,
                                   high=1.0, open_high=True, optional=True, neutral=0.9)
    beta2: float | None = _setting(None, "float", "second-moment decay (adam, adamw)",
                                   low=0.0, high=1.0, open_high=True, optional=True,
                                   neutral=0.999)
    eps: float | None = _setting(None, "float", "term added to the denominator", low=0.0,
                                 open_low=True, optional=True, neutral=None)
    alpha: float | None = _setting(None, "float", "squared-gradient decay (rmsprop)", low=0.0,
                                   high=1.0, open_high=True, optional=True, neutral=0.99)
    amsgrad: bool | None = _setting(None, "bool", "AMSGrad variant (adam, adamw)",
                                    optional=True, neutral=False)
    centered: bool | None = _setting(None, "bool", "centred RMSprop (rmsprop)", optional=True,
                                     neutral=False)
    optimizer_options: dict[str, Any] | None = _setting(
        None, "options", "other hyperparameters of the optimizer, as KEY=VALUE (e.g. a "
        "plugin's)", optional=True, metavar="KEY=VALUE")


@dataclass(frozen=True)
class ScheduleConfig:
    """The learning-rate schedule; hyperparameters left at None take the schedule's default."""

    schedule: str = _setting("cosine", "choice", "learning-rate schedule", choices=_schedules)
    gamma: float | None = _setting(None, "float", "decay factor (exponential: default 0.95; "
                                   "step: 0.1)", low=0.0, open_low=True, optional=True,
                                   neutral=None)
    step_size: int | None = _setting(None, "int", "step: epochs between decays (default 10)",
                                     low=1, optional=True, neutral=10)
    t_max: int | None = _setting(None, "int", "cosine: epochs of the half period (default: "
                                 "--epochs)", low=1, optional=True, param="T_max", neutral=None)
    eta_min: float | None = _setting(None, "float", "cosine: the lowest learning rate "
                                     "(default 0)", low=0.0, optional=True, neutral=0.0)
    factor: float | None = _setting(None, "float", "plateau: factor applied when val_loss "
                                    "stalls (default 0.1)", low=0.0, high=1.0, open_low=True,
                                    open_high=True, optional=True, neutral=0.1)
    plateau_patience: int | None = _setting(None, "int", "plateau: epochs without improvement "
                                            "before a decay (default 5)", low=0, optional=True,
                                            param="patience", neutral=5)
    min_lr: float | None = _setting(None, "float", "plateau: the lowest learning rate "
                                    "(default 0)", low=0.0, optional=True, neutral=0.0)
    schedule_options: dict[str, Any] | None = _setting(
        None, "options", "other hyperparameters of the schedule, as KEY=VALUE", optional=True,
        metavar="KEY=VALUE")


@dataclass(frozen=True)
class TrainingConfig:
    """The loop: epochs, batches, clipping, augmentation and early stopping."""

    epochs: int = _setting(30, "int", "total number of epochs (with --resume: the total to "
                           "reach)", low=1)
    batch_size: int = _setting(32, "int", "examples per minibatch", low=1)
    clip_norm: float | None = _setting(None, "float", "clip the gradients to this global L2 "
                                       "norm", low=0.0, open_low=True, optional=True)
    clip_value: float | None = _setting(None, "float", "clip each gradient entry to [-v, v]",
                                        low=0.0, open_low=True, optional=True)
    augment: str = _setting("noise", "choice", "training augmentation: none, noise (Gaussian), "
                            "shift (random shift and rotation; image datasets)",
                            choices=AUGMENTATIONS)
    noise_std: float = _setting(0.3, "float", "noise: std of the Gaussian noise (normalised "
                                "units)", low=0.0, open_low=True)
    max_shift: int = _setting(1, "int", "shift: largest shift in pixels", low=0, high=64)
    max_degrees: float = _setting(10.0, "float", "shift: largest rotation in degrees", low=0.0,
                                  high=180.0)
    early_stopping: bool | None = _setting(None, "bool", "stop when val_loss stops improving "
                                           "and restore the best epoch's weights (default: "
                                           "on for regression, off for classification)",
                                           optional=True, neutral=None)
    patience: int = _setting(10, "int", "early stopping: epochs without improvement", low=1)
    backend: str = _setting("auto", "choice", "compute backend of the layers and the optimizer: "
                            "auto (the fastest available), numpy (the reference) or numba "
                            "(compiled loops); every backend gives the same numbers",
                            choices=_backends)


@dataclass(frozen=True)
class MonitorConfig:
    """The per-layer diagnostics recorded during training."""

    monitor: bool = _setting(True, "bool", "record per-layer diagnostics (health table, "
                             "report)")
    monitor_every: int = _setting(50, "int", "monitor: sample one step in this many", low=1)
    curvature: bool = _setting(False, "bool", "record the loss surface's curvature (sharpness "
                               "against the stability threshold, λ_min, trace, gradient noise "
                               "scale, distance from initialisation) on 64 training rows")
    curvature_every: int = _setting(100, "int", "curvature: measure every this many steps",
                                    low=1)


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "optimizer": OptimizerConfig,
    "schedule": ScheduleConfig,
    "training": TrainingConfig,
    "monitor": MonitorConfig,
}

SEED = Setting("seed", "int", "run", "the one seed of the run (split, initialisation, "
               "shuffling, dropout, augmentation)", default=0, low=0, high=2**63 - 1)


def _collect() -> dict[str, Setting]:
    table: dict[str, Setting] = {}
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            options = dict(f.metadata["setting"])
            options.pop("neutral", None)
            table[f.name] = Setting(f.name, section=section, default=f.default, **options)
    table["seed"] = SEED
    return table


SETTINGS: dict[str, Setting] = _collect()
"""Every setting of a run by name, in the order of the sections."""

NEUTRAL: dict[str, Any] = {
    f.name: f.metadata["setting"].get("neutral", f.default)
    for cls in SECTIONS.values() for f in dataclasses.fields(cls)
}
"""The value at which a setting that does not apply is harmless (accepted without a word:
older ``config.toml`` files list every setting)."""


@dataclass(frozen=True)
class RunConfig:
    """The whole recipe of a run. Frozen: change it with :meth:`replace`."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    seed: int = 0

    # -- flat views -------------------------------------------------------------------
    def to_flat(self) -> dict[str, Any]:
        """Every setting by its name (``{"lr": 0.001, "hidden": (256, 128), ...}``)."""
        out: dict[str, Any] = {}
        for section in SECTIONS:
            part = getattr(self, section)
            for f in dataclasses.fields(part):
                value = getattr(part, f.name)
                out[f.name] = dict(value) if isinstance(value, dict) else value
        out["seed"] = self.seed
        return out

    def get(self, name: str) -> Any:
        """The value of the setting ``name``."""
        if name == "seed":
            return self.seed
        return getattr(getattr(self, SETTINGS[name].section), name)

    def replace(self, **values: Any) -> RunConfig:
        """A copy with the named settings changed (values are not checked here; use
        :func:`~trainlab.recipe.from_flat` for checked input)."""
        sections: dict[str, dict[str, Any]] = {}
        seed = values.pop("seed", self.seed)
        for name, value in values.items():
            sections.setdefault(SETTINGS[name].section, {})[name] = value
        parts = {section: dataclasses.replace(getattr(self, section), **changes)
                 for section, changes in sections.items()}
        return dataclasses.replace(self, seed=seed, **parts)
