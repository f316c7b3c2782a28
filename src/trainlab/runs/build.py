"""The components of a run from its recipe: model, loss, optimizer, schedule, augmentation.

Every front door builds with these functions (the command line's runs, the
scikit-learn estimators, the lab's arms, sweep trials), so a RunConfig means the same
network and the same update rule wherever it is used.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from trainlab import data, nn
from trainlab.models import MLPConfig, build_mlp
from trainlab.recipe import (
    RunConfig,
    SettingError,
    optimizer_class,
    optimizer_kwargs,
    schedule_class,
    schedule_kwargs,
)
from trainlab.train.protocols import Loss, Optimizer, Schedule


def model_config(config: RunConfig, in_features: int, out_features: int) -> MLPConfig:
    """The MLP's architecture for ``in_features`` inputs and ``out_features`` outputs."""
    m = config.model
    try:
        return MLPConfig(in_features=in_features, hidden_sizes=tuple(m.hidden),
                         out_features=out_features, activation=m.activation, init=m.init,
                         norm=m.norm, dropout=m.dropout, dropconnect=m.dropconnect,
                         dtype=m.dtype, output_init=m.output_init)
    except ValueError as exc:
        raise SettingError(f"model settings: {' '.join(str(exc).split())}") from None


def build_model(config: RunConfig, in_features: int, out_features: int,
                seed: int | np.random.Generator) -> tuple[MLPConfig, nn.Sequential]:
    """The architecture and the model, every random layer seeded from ``seed``."""
    architecture = model_config(config, in_features, out_features)
    model = build_mlp(architecture, rng=seed).use_backend(config.training.backend)
    return architecture, model


def build_loss(task: str, binary: bool = False) -> Loss:
    """Cross-entropy on logits for classification (BCE on one logit when ``binary``),
    mean squared error for regression."""
    if task == "classification":
        return nn.BCEWithLogitsLoss() if binary else nn.CrossEntropyLoss()
    return nn.MSELoss()


def build_optimizer(config: RunConfig, params: list[nn.Parameter]) -> Optimizer:
    """The optimizer named by the recipe, with the hyperparameters it gives."""
    cls = optimizer_class(config)
    kwargs = optimizer_kwargs(config)
    if "backend" in inspect.signature(cls).parameters:  # a plugin may have no backends
        kwargs.setdefault("backend", config.training.backend)
    try:
        return cls(params, **kwargs)
    except (ValueError, TypeError) as exc:
        raise SettingError(f"setting 'optimizer' (--optimizer) = {config.optimizer.optimizer!r}: "
                           f"{' '.join(str(exc).split())}") from None


def build_schedule(config: RunConfig, optimizer: Optimizer) -> Schedule | None:
    """The learning-rate schedule named by the recipe, or None."""
    cls = schedule_class(config)
    if cls is None:
        return None
    try:
        return cls(optimizer, **schedule_kwargs(config))
    except (ValueError, TypeError) as exc:
        raise SettingError(f"setting 'schedule' (--schedule) = {config.schedule.schedule!r}: "
                           f"{' '.join(str(exc).split())}") from None


class InputSpaceTransform:
    """Apply an augmentation to the original inputs of a normalised batch:
    ``x ↦ scaler(augment(scaler⁻¹(x)))``, so that an image is shifted as an image."""

    def __init__(self, augment: Any, scaler: Any) -> None:
        self.augment, self.scaler = augment, scaler

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raw = self.scaler.inverse_transform(X)
        return self.scaler.transform(self.augment(raw, rng)).astype(X.dtype, copy=False)

    def __repr__(self) -> str:
        return f"InputSpaceTransform({self.augment!r})"


def build_transform(config: RunConfig, image_shape: tuple[int, ...] | None, scaler: Any) -> Any:
    """The training augmentation (applied to each batch), or None."""
    training = config.training
    if training.augment == "noise":
        return data.GaussianNoise(training.noise_std)
    if training.augment == "shift":
        if image_shape is None:
            raise SettingError(f"setting 'augment' (--augment) = 'shift' needs images; dataset "
                               f"{config.data.data!r} has no image shape. Use --augment noise "
                               "or none.")
        augment = data.RandomShiftRotate(image_shape, max_shift=training.max_shift,
                                         max_degrees=training.max_degrees)
        return InputSpaceTransform(augment, scaler)
    return None
