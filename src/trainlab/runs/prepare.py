"""A run's data: loaded by name, split with the run's seed, normalised on the training part.

    dataset = load(config.data)                         # Dataset (X, y, names, task)
    parts = train_val_test_split(X, y, val, test, seed=seeds.split)
    scaler = SCALERS[config.data.scaler]().fit(X_train)  # or restored from a checkpoint
    target_scaler: regression targets standardised the same way (inverted at prediction)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab import data
from trainlab.recipe import DataConfig, SettingError

SCALER_NAMES = {"Standardizer": "standard", "MinMaxScaler": "minmax", "IdentityScaler": "none"}


def load(config: DataConfig, dtype: str, name: str | None = None,
         setting: str = "data") -> data.Dataset:
    """``load_dataset`` with the run's options; a failure is a SettingError naming it."""
    name = config.data if name is None else name
    options: dict[str, Any] = {"dtype": np.dtype(dtype)}
    prefix, colon, _ = name.partition(":")
    if colon and prefix.lower() in ("csv", "npz") and config.task is not None:
        options["task"] = config.task
    if name.lower().startswith("csv:") and config.target is not None:
        options["target"] = config.target
    flag = "--" + setting.replace("_", "-")
    try:
        return data.load_dataset(name, data_dir=config.data_dir, **options)
    except FileNotFoundError as exc:
        if exc.filename is None:  # a loader's own message (e.g. what to download, and where)
            raise SettingError(f"setting '{setting}' ({flag}) = {name!r}: "
                               f"{' '.join(str(exc).split())}") from None
        raise SettingError(f"setting '{setting}' ({flag}): no such file "
                           f"{str(exc.filename)!r}.") from None
    except (ValueError, TypeError, ImportError, OSError, UnicodeDecodeError) as exc:
        raise SettingError(f"setting '{setting}' ({flag}) = {name!r}: "
                           f"{' '.join(str(exc).split())}") from None


def fingerprint(dataset: data.Dataset) -> str:
    """SHA-256 of the examples and targets (their dtype, shape and bytes)."""
    digest = hashlib.sha256()
    for array in (dataset.X, dataset.y):
        contiguous = np.ascontiguousarray(array)
        digest.update(f"{contiguous.dtype.str}{contiguous.shape}".encode())
        digest.update(contiguous.data)
    return digest.hexdigest()


def scaler_state(scaler: Any) -> dict[str, Any] | None:
    """``{"type", "state"}`` of a fitted scaler, as checkpoints store it (None for None)."""
    if scaler is None:
        return None
    return {"type": type(scaler).__name__, "state": scaler.state_dict()}


def scaler_from_state(saved: dict[str, Any] | None) -> Any:
    """A fitted scaler from :func:`scaler_state`'s dict (None: the identity)."""
    if saved is None:
        return data.make_scaler("none").fit(np.zeros((1, 1), dtype=np.float32))
    kind = SCALER_NAMES.get(saved.get("type", ""))
    if kind is None:
        raise ValueError(f"the checkpoint holds an unknown scaler {saved.get('type')!r}")
    scaler = data.make_scaler(kind)
    scaler.load_state_dict(saved["state"])
    return scaler


@dataclass
class Prepared:
    """The run's data: the dataset, its normalised split, the fitted scalers."""

    dataset: data.Dataset
    scaler: Any
    target_scaler: Any  # None unless the targets are scaled (regression)
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def task(self) -> str:
        return self.dataset.task

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The normalised inputs and the original targets of ``"train"``, ``"val"`` or
        ``"test"``."""
        X = {"train": self.X_train, "val": self.X_val, "test": self.X_test}[name]
        y = {"train": self.y_train, "val": self.y_val, "test": self.y_test}[name]
        return X, y

    def scaled_targets(self, y: np.ndarray) -> np.ndarray:
        """Targets in the model's units (standardised for regression)."""
        return to_model_units(self.target_scaler, y)


def to_model_units(target_scaler: Any, y: np.ndarray) -> np.ndarray:
    """Targets y, (n,) or (n, k), in the model's units: ``target_scaler`` applied (None:
    unchanged)."""
    if target_scaler is None:
        return y
    out = target_scaler.transform(y[:, None] if y.ndim == 1 else y)
    return out[:, 0] if y.ndim == 1 else out


def to_target_units(target_scaler: Any, out: np.ndarray, ndim: int = 2) -> np.ndarray:
    """Model outputs (n, k) in the targets' units: ``target_scaler`` inverted (None:
    unchanged); (n,) when ``ndim`` is 1 and k is 1."""
    if target_scaler is not None:
        out = target_scaler.inverse_transform(out)
    return out[:, 0] if ndim == 1 and out.ndim == 2 else out


def split_data(config: DataConfig, dataset: data.Dataset, seed: int) -> tuple[np.ndarray, ...]:
    """The seeded, stratified (classification) train/val/test split of the raw data."""
    try:
        parts = data.train_val_test_split(dataset.X, dataset.y, val_fraction=config.val_fraction,
                                          test_fraction=config.test_fraction, seed=seed)
    except ValueError as exc:
        raise SettingError(f"settings 'val_fraction' and 'test_fraction': "
                           f"{' '.join(str(exc).split())}") from None
    for part, X in (("training", parts[0]), ("validation", parts[2]), ("test", parts[4])):
        if X.shape[0] == 0:
            raise SettingError(f"setting 'data' (--data) = {config.data!r}: the {part} split is "
                               f"empty ({dataset.n_samples} examples); use more data or change "
                               "--val-fraction / --test-fraction.")
    return tuple(parts)


def prepare(config: DataConfig, dataset: data.Dataset, seed: int,
            saved_scaler: dict[str, Any] | None = None,
            saved_target_scaler: dict[str, Any] | None = None,
            restore: bool = False) -> Prepared:
    """Split (seeded) and normalise. The scalers are fitted on the training split, or
    restored from a checkpoint's states when ``restore`` is set."""
    X_tr, y_tr, X_va, y_va, X_te, y_te = split_data(config, dataset, seed)
    if restore:
        scaler = scaler_from_state(saved_scaler)
        target_scaler = None if saved_target_scaler is None else scaler_from_state(
            saved_target_scaler)
    else:
        scaler = data.make_scaler(config.scaler).fit(X_tr)
        target_scaler = None
        if dataset.task == "regression" and config.target_scaler not in (None, "none"):
            targets = y_tr[:, None] if y_tr.ndim == 1 else y_tr
            target_scaler = data.make_scaler(config.target_scaler).fit(targets)
    return Prepared(dataset, scaler, target_scaler, scaler.transform(X_tr), y_tr,
                    scaler.transform(X_va), y_va, scaler.transform(X_te), y_te)
