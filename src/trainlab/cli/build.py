"""From resolved settings to the pieces of a run: data, scaler, model, optimizer, trainer.

One seed reaches everything random: ``SeedSequence(seed)`` gives three independent
seeds, for the train/val/test split, the model (initialisation, dropout masks) and the
trainer (shuffling, augmentation). Building twice from the same settings gives the
same numbers, which is what makes ``--resume`` exact: the resumed process rebuilds the
run from ``config.toml`` and then loads the checkpoint into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab import data, nn, optim
from trainlab.cli.errors import UsageError, one_line
from trainlab.models import MLPConfig, build_mlp

SCALER_TYPES = {"Standardizer": "standard", "MinMaxScaler": "minmax", "IdentityScaler": "none"}


def run_seeds(seed: int) -> tuple[int, int, int]:
    """The seeds of the split, the model and the trainer, from the run's one seed."""
    split, model, trainer = np.random.SeedSequence(seed).generate_state(3)
    return int(split), int(model), int(trainer)


def load_data(name: str, values: dict[str, Any], setting: str = "data") -> data.Dataset:
    """``load_dataset(name)`` with the run's options; any failure is a UsageError naming it."""
    options: dict[str, Any] = {"dtype": np.dtype(values["dtype"])}
    is_file = name.partition(":")[0].lower() in ("csv", "npz") and ":" in name
    if is_file and values.get("task") is not None:
        options["task"] = values["task"]
    if name.lower().startswith("csv:") and values.get("target") is not None:
        options["target"] = values["target"]
    flag = "--" + setting.replace("_", "-")
    try:
        return data.load_dataset(name, data_dir=values.get("data_dir"), **options)
    except FileNotFoundError as exc:
        missing = exc.filename or name.partition(":")[2] or name
        raise UsageError(f"setting '{setting}' ({flag}): no such file {str(missing)!r}.") from None
    except (ValueError, TypeError, ImportError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"setting '{setting}' ({flag}) = {name!r}: {one_line(exc)}") from None


def scale_from_state(saved: dict[str, Any] | None) -> Any:
    """A fitted scaler from a checkpoint's ``{"type", "state"}``."""
    if saved is None:
        return data.make_scaler("none").fit(np.zeros((1, 1), dtype=np.float32))
    kind = SCALER_TYPES.get(saved.get("type"))
    if kind is None:
        raise ValueError(f"the checkpoint holds an unknown scaler {saved.get('type')!r}")
    scaler = data.make_scaler(kind)
    scaler.load_state_dict(saved["state"])
    return scaler


@dataclass
class Prepared:
    """The run's data: the dataset, its split, the fitted scaler and the scaled arrays."""

    dataset: data.Dataset
    scaler: Any
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def prepare_data(values: dict[str, Any], scaler_state: dict[str, Any] | None = None) -> Prepared:
    """Load, split (seeded) and normalise; the scaler is fitted on the training split,
    or restored from ``scaler_state`` (a checkpoint's) when given."""
    dataset = load_data(values["data"], values)
    split_seed, _, _ = run_seeds(values["seed"])
    try:
        parts = data.train_val_test_split(
            dataset.X, dataset.y, val_fraction=values["val_fraction"],
            test_fraction=values["test_fraction"], seed=split_seed,
        )
    except ValueError as exc:
        raise UsageError(f"settings 'val_fraction' and 'test_fraction': {one_line(exc)}") from None
    X_tr, y_tr, X_va, y_va, X_te, y_te = parts
    for part, X in (("training", X_tr), ("validation", X_va), ("test", X_te)):
        if X.shape[0] == 0:
            raise UsageError(f"setting 'data' (--data) = {values['data']!r}: the {part} split is "
                             f"empty ({dataset.n_samples} examples); use more data or change "
                             "--val-fraction / --test-fraction.")
    if scaler_state is not None:
        scaler = scale_from_state(scaler_state)
    else:
        scaler = data.make_scaler(values["scaler"]).fit(X_tr)
    return Prepared(dataset, scaler, *(scaler.transform(X) if i % 2 == 0 else X
                                       for i, X in enumerate(parts)))


def model_config(values: dict[str, Any], dataset: data.Dataset) -> MLPConfig:
    return MLPConfig(
        in_features=dataset.n_features,
        hidden_sizes=tuple(values["hidden"]),
        out_features=dataset.n_outputs,
        activation=values["activation"],
        init=values["init"],
        norm=values["norm"],
        dropout=values["dropout"],
        dropconnect=values["dropconnect"],
        dtype=values["dtype"],
    )


def make_loss(task: str) -> Any:
    return nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()


def make_optimizer(values: dict[str, Any], params: list) -> Any:
    name, lr, wd, eps = values["optimizer"], values["lr"], values["weight_decay"], values["eps"]
    try:
        if name == "sgd":
            return optim.SGD(params, lr=lr, momentum=values["momentum"],
                             nesterov=values["nesterov"], weight_decay=wd)
        if name == "adagrad":
            return optim.Adagrad(params, lr=lr, weight_decay=wd, eps=eps)
        if name == "rmsprop":
            return optim.RMSprop(params, lr=lr, alpha=values["alpha"], eps=eps, weight_decay=wd,
                                 momentum=values["momentum"], centered=values["centered"])
        cls = optim.AdamW if name == "adamw" else optim.Adam
        return cls(params, lr=lr, betas=(values["beta1"], values["beta2"]), eps=eps,
                   weight_decay=wd, amsgrad=values["amsgrad"])
    except (ValueError, TypeError) as exc:
        raise UsageError(f"setting 'optimizer' (--optimizer) = {name!r}: {one_line(exc)}") from None


def make_schedule(values: dict[str, Any], optimizer: Any) -> Any:
    name = values["schedule"]
    try:
        if name == "exponential":
            return optim.ExponentialLR(optimizer, gamma=values["gamma"])
        if name == "step":
            return optim.StepLR(optimizer, step_size=values["step_size"], gamma=values["gamma"])
        if name == "cosine":
            return optim.CosineAnnealingLR(optimizer, T_max=values["t_max"],
                                           eta_min=values["eta_min"])
        if name == "plateau":
            return optim.ReduceLROnPlateau(optimizer, mode="min", factor=values["factor"],
                                           patience=values["plateau_patience"],
                                           min_lr=values["min_lr"])
    except (ValueError, TypeError) as exc:
        raise UsageError(f"setting 'schedule' (--schedule) = {name!r}: {one_line(exc)}") from None
    return None


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


def make_transform(values: dict[str, Any], prepared: Prepared) -> Any:
    kind = values["augment"]
    if kind == "noise":
        return data.GaussianNoise(values["noise_std"])
    if kind == "shift":
        shape = prepared.dataset.image_shape
        if shape is None:
            raise UsageError(
                f"setting 'augment' (--augment) = 'shift' needs images; dataset "
                f"{values['data']!r} has no image shape. Use --augment noise or none."
            )
        augment = data.RandomShiftRotate(shape, max_shift=values["max_shift"],
                                         max_degrees=values["max_degrees"])
        return InputSpaceTransform(augment, prepared.scaler)
    return None


def build_model(values: dict[str, Any], dataset: data.Dataset) -> tuple[MLPConfig, nn.Module]:
    try:
        config = model_config(values, dataset)
    except ValueError as exc:
        raise UsageError(f"model settings: {one_line(exc)}") from None
    _, model_seed, _ = run_seeds(values["seed"])
    return config, build_mlp(config, rng=model_seed)
