"""A run's data: loaded by name, split with the run's seed, normalised on the training part.

    dataset = load(config.data)                         # Dataset, or RawTable (a csv with
                                                        # text or missing cells)
    parts = train_val_test_split(X, y, val, test, seed=seeds.split)
    encoder = TableEncoder(...).fit(training rows)      # RawTable: one-hot and imputation
    scaler = SCALERS[config.data.scaler]().fit(X_train)  # or restored from a checkpoint
    target_scaler: regression targets standardised the same way (inverted at prediction)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import data
from trainlab.data.encoding import TableEncoder
from trainlab.data.tables import RawTable, load_csv_table
from trainlab.recipe import DataConfig, SettingError

SCALER_NAMES = {"Standardizer": "standard", "MinMaxScaler": "minmax", "IdentityScaler": "none"}


Loaded = data.Dataset | RawTable


def load(config: DataConfig, dtype: str, name: str | None = None,
         setting: str = "data") -> Loaded:
    """``load_dataset`` with the run's options (a csv file through
    :func:`~trainlab.data.tables.load_csv_table`, with its header, categorical and impute
    settings); a failure is a SettingError naming it."""
    name = config.data if name is None else name
    options: dict[str, Any] = {"dtype": np.dtype(dtype)}
    prefix, colon, path = name.partition(":")
    if colon and prefix.lower() in ("csv", "npz") and config.task is not None:
        options["task"] = config.task
    if name.lower().startswith("csv:") and config.target is not None:
        options["target"] = config.target
    flag = "--" + setting.replace("_", "-")
    try:
        if colon and prefix.lower() == "csv" and path:
            file = Path(path)
            if config.data_dir is not None and not file.is_absolute():
                file = Path(config.data_dir) / file
            return load_csv_table(file, header=config.header, categorical=config.categorical,
                                  impute=config.impute, **options)
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


def fingerprint(dataset: Loaded) -> str:
    """SHA-256 of the examples and targets (their dtype, shape and bytes); a RawTable's
    examples are its columns as read (names, kinds, values)."""
    digest = hashlib.sha256()
    if isinstance(dataset, RawTable):
        for column, series in dataset.features.items():
            digest.update(f"{column}|{series.dtype}|".encode())
            if getattr(series.dtype, "kind", "O") in "biuf":
                values = np.ascontiguousarray(series.to_numpy(dtype=np.float64))
                digest.update(values.data)
            else:
                digest.update("\x1f".join("\x00" if v is None or v != v else str(v)
                                           for v in series.astype(object)).encode())
        first: list[np.ndarray] = []
    else:
        first = [dataset.X]
    for array in (*first, dataset.y):
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
    """The run's data: the dataset (a RawTable encoded), its normalised split, the fitted
    encoder (None unless the table needed one) and scalers."""

    dataset: data.Dataset
    scaler: Any
    target_scaler: Any  # None unless the targets are scaled (regression)
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    encoder: TableEncoder | None = None
    raw: Loaded | None = None  # the data as loaded (the RawTable before encoding)

    @property
    def source(self) -> Loaded:
        return self.dataset if self.raw is None else self.raw

    @property
    def notes(self) -> tuple[str, ...]:
        """What loading and encoding decided, to say when training starts."""
        notes = tuple(self.source.notes)
        return notes + ((self.encoder.summary(),) if self.encoder is not None else ())

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


def split_data(config: DataConfig, dataset: Loaded, seed: int) -> tuple[np.ndarray, ...]:
    """The seeded, stratified (classification) train/val/test split of the raw data (of a
    RawTable: of its row numbers, X (n, 1) int64)."""
    X = (np.arange(dataset.n_samples)[:, None] if isinstance(dataset, RawTable)
         else dataset.X)
    try:
        parts = data.train_val_test_split(X, dataset.y, val_fraction=config.val_fraction,
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


def encode(config: DataConfig, table: RawTable, seed: int,
           saved_encoder: dict[str, Any] | None = None) -> tuple[data.Dataset, TableEncoder]:
    """A RawTable's encoder, fitted on its training rows (or restored from a saved state),
    and every row encoded."""
    try:
        if saved_encoder is not None:
            encoder = TableEncoder.from_state(saved_encoder)
        else:
            train_rows = split_data(config, table, seed)[0][:, 0]
            encoder = table.encoder.fit(table.features.iloc[train_rows])
        return table.encode(encoder), encoder
    except ValueError as exc:
        raise SettingError(f"setting 'data' (--data) = {config.data!r}: "
                           f"{' '.join(str(exc).split())}") from None


def encoder_state(encoder: TableEncoder | None) -> dict[str, Any] | None:
    return None if encoder is None else encoder.state_dict()


def prepare(config: DataConfig, dataset: Loaded, seed: int,
            saved_scaler: dict[str, Any] | None = None,
            saved_target_scaler: dict[str, Any] | None = None,
            restore: bool = False, saved_encoder: dict[str, Any] | None = None) -> Prepared:
    """Split (seeded), encode a RawTable and normalise. The encoder and the scalers are
    fitted on the training split, or restored from a checkpoint's states when ``restore``
    is set."""
    raw, encoder = None, None
    if isinstance(dataset, RawTable):
        raw = dataset
        dataset, encoder = encode(config, dataset, seed, saved_encoder if restore else None)
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
                    scaler.transform(X_va), y_va, scaler.transform(X_te), y_te, encoder, raw)
