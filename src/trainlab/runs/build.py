"""The components of a run from its recipe: model, loss, optimizer, schedule, augmentation.

Every front door builds with these functions (the command line's runs, the
scikit-learn estimators, the lab's arms, sweep trials), so a RunConfig means the same
network and the same update rule wherever it is used.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from typing import Any

import numpy as np

from trainlab import data, nn, optim
from trainlab.models import MLPConfig, build_mlp
from trainlab.recipe import (
    RunConfig,
    SettingError,
    make_schedule,
    optimizer_class,
    optimizer_kwargs,
)
from trainlab.train.protocols import Loss, Optimizer, Schedule
from trainlab.train.scores import check_metrics
from trainlab.train.weights import class_weights


def model_config(config: RunConfig, in_features: int, out_features: int,
                 rows: int | None = None) -> MLPConfig:
    """The MLP's architecture for ``in_features`` inputs and ``out_features`` outputs;
    refused when it is too large to train (see :func:`check_size`; ``rows``: the training
    examples, which bound the batch)."""
    m = config.model
    try:
        architecture = MLPConfig(in_features=in_features, hidden_sizes=tuple(m.hidden),
                                 out_features=out_features, activation=m.activation,
                                 init=m.init, norm=m.norm, dropout=m.dropout,
                                 dropconnect=m.dropconnect, dtype=m.dtype,
                                 output_init=m.output_init, residual=m.residual)
    except ValueError as exc:
        raise SettingError(f"model settings: {' '.join(str(exc).split())}") from None
    check_size(architecture, config.training.batch_size if rows is None
               else min(config.training.batch_size, max(int(rows), 1)))
    return architecture


MAX_PARAMETERS = 2**31
"""The most parameters a run's model may have."""


def parameter_count(architecture: MLPConfig) -> int:
    """Weights and biases of the Linear layers, plus γ and β of the norm layers."""
    widths = [architecture.in_features, *architecture.hidden_sizes, architecture.out_features]
    count = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    if architecture.norm in ("batch", "layer"):
        count += 2 * sum(architecture.hidden_sizes)
    return count


def machine_memory() -> int | None:
    """Bytes of memory this process may use: the physical memory, or the container's limit
    (cgroup) when that is lower; None where neither can be read."""
    sizes = []
    with contextlib.suppress(ValueError, OSError, AttributeError):
        sizes.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(ValueError, OSError):
            with open(path, encoding="ascii") as f:
                sizes.append(int(f.read().strip()))  # "max" (no limit) is a ValueError
    sizes = [size for size in sizes if size > 0]
    return min(sizes) if sizes else None


def check_size(architecture: MLPConfig, batch: int) -> None:
    """Refuse, before anything is allocated, a model of more than MAX_PARAMETERS
    parameters, or one whose training needs more memory than the machine has: at least
    its weights and their gradients, and two arrays per hidden unit for each example of
    a batch (a lower bound: optimizer state and buffers come on top)."""
    count = parameter_count(architecture)
    shown = f"setting 'hidden' (--hidden) = {list(architecture.hidden_sizes)!r:.80}"
    if count > MAX_PARAMETERS:
        raise SettingError(f"{shown} gives a model of {count:,} parameters "
                           f"({architecture.in_features} inputs, {architecture.out_features} "
                           f"outputs); at most {MAX_PARAMETERS:,} (2**31) are allowed.")
    itemsize = np.dtype(architecture.dtype).itemsize
    need = itemsize * (2 * count + 2 * batch * sum(architecture.hidden_sizes))
    have = machine_memory()
    if have is not None and need > have:
        raise SettingError(f"{shown}: training this model needs at least {need / 2**30:.1f} "
                           f"GiB ({count:,} {architecture.dtype} parameters with their "
                           f"gradients, and batches of {batch}); this machine has "
                           f"{have / 2**30:.1f} GiB. Use narrower layers or a smaller "
                           "--batch-size.")


def build_model(config: RunConfig, in_features: int, out_features: int,
                seed: int | np.random.Generator,
                rows: int | None = None) -> tuple[MLPConfig, nn.Sequential]:
    """The architecture and the model, every random layer seeded from ``seed``."""
    architecture = model_config(config, in_features, out_features, rows)
    model = build_mlp(architecture, rng=seed).use_backend(config.training.backend)
    return architecture, model


def build_loss(task: str, binary: bool = False, weight: np.ndarray | None = None,
               label_smoothing: float = 0.0) -> Loss:
    """Cross-entropy on logits for classification (BCE on one logit when ``binary``),
    mean squared error for regression; ``weight``: the class weights of the cross-entropy
    (one per class), ``label_smoothing``: its ε."""
    if task == "classification":
        if binary:
            return nn.BCEWithLogitsLoss()
        options: dict[str, Any] = {}
        if weight is not None:
            options["weight"] = weight
        if label_smoothing:
            options["label_smoothing"] = label_smoothing
        return nn.CrossEntropyLoss(**options)
    return nn.MSELoss()


def metric_names(config: RunConfig, task: str) -> tuple[str, ...]:
    """The extra validation metrics the recipe asks for (``metrics``); refused for a
    regression task."""
    spec = config.training.metrics
    if spec is None:
        return ()
    if task != "classification":
        raise SettingError(f"setting 'metrics' (--metrics) = {spec!r} does not apply to a "
                           "regression task; remove it.")
    return check_metrics(spec)


def loss_weight(config: RunConfig, task: str, labels: np.ndarray,
                n_classes: int | None) -> np.ndarray | None:
    """The class weights the recipe asks for (``class_weight``), from the training labels;
    None without them. Refused for a regression task (and so is ``label_smoothing``)."""
    if task != "classification" and config.training.label_smoothing:
        raise SettingError(f"setting 'label_smoothing' (--label-smoothing) = "
                           f"{config.training.label_smoothing!r} does not apply to a regression "
                           "task; remove it.")
    spec = config.training.class_weight
    if spec is None:
        return None
    if task != "classification" or n_classes is None:
        raise SettingError(f"setting 'class_weight' (--class-weight) = {spec!r} does not apply "
                           "to a regression task; remove it.")
    return class_weights(spec, labels, n_classes)


def build_optimizer(config: RunConfig, params: list[nn.Parameter]) -> Optimizer:
    """The optimizer named by the recipe, with the hyperparameters it gives."""
    cls = optimizer_class(config)
    kwargs = optimizer_kwargs(config)
    if "backend" in inspect.signature(cls).parameters:  # a plugin may have no backends
        kwargs.setdefault("backend", config.training.backend)
    groups: Any = params
    if not config.optimizer.decay_bias and "weight_decay" in inspect.signature(cls).parameters:
        groups = optim.decay_groups([(str(i), p) for i, p in enumerate(params)])
    try:
        return cls(groups, **kwargs)
    except (ValueError, TypeError) as exc:
        raise SettingError(f"setting 'optimizer' (--optimizer) = {config.optimizer.optimizer!r}: "
                           f"{' '.join(str(exc).split())}") from None


def build_schedule(config: RunConfig, optimizer: Optimizer,
                   steps_per_epoch: int = 1) -> Schedule | None:
    """The learning-rate schedule named by the recipe (behind its warmup), or None;
    ``steps_per_epoch``: the optimizer steps of one epoch, which the schedules stepped
    per step (onecycle, cosine_restarts) count in."""
    return make_schedule(config, optimizer, steps_per_epoch)


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
