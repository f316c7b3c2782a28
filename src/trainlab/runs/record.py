"""A run directory read back: its settings, its record and its final model.

    record = RunRecord.open("runs/iris")
    model = record.load()                      # model, scalers and the data's facts
    model.evaluate(X, y)                       # raw inputs, targets in their own units
    record.split("test")                       # the run's own split, rebuilt and checked

The facts that predictions depend on (the task, the class and feature names, the target
scaler) are read from the model file, whose digest covers them, and checked against the
model's own widths; ``run.json`` is only a fallback for files written before they were
stored there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.data.encoding import TableEncoder
from trainlab.data.tables import RawTable
from trainlab.recipe import RunConfig
from trainlab.runs import directory, prepare
from trainlab.runs.run import (
    RunError,
    _read_config,
    _read_info,
    evaluate_in_units,
    predict_in_units,
    read_checkpoint,
)
from trainlab.runs.seeds import RunSeeds
from trainlab.train import Checkpoint, load_model


@dataclass
class LoadedModel:
    """A run's final model (evaluation mode) with what its inputs and outputs need."""

    checkpoint: Checkpoint
    model: Any
    scaler: Any
    target_scaler: Any
    facts: dict[str, Any]
    encoder: TableEncoder | None = None  # a table's one-hot encoding and imputation

    @property
    def task(self) -> str:
        return str(self.facts.get("task", "classification"))

    @property
    def class_names(self) -> list[str] | None:
        return self.facts.get("class_names")

    @property
    def feature_names(self) -> list[str] | None:
        return self.facts.get("feature_names")

    @property
    def in_features(self) -> int:
        return int(self.checkpoint.model_config["in_features"])  # type: ignore[index]

    @property
    def out_features(self) -> int:
        return int(self.checkpoint.model_config["out_features"])  # type: ignore[index]

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Loss and metrics on raw inputs X and targets y in their own units."""
        params = self.model.parameters()
        dtype = params[0].data.dtype if params else np.float32
        X = self.scaler.transform(np.asarray(X).astype(dtype, copy=False))
        return evaluate_in_units(self.model, self.task, X, y, self.target_scaler)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs for raw inputs: logits (classification) or predictions in the targets'
        units (regression)."""
        return predict_in_units(self.model, self.scaler, self.target_scaler, X)


@dataclass
class RunRecord:
    """A run directory: ``config`` (from config.toml) and ``info`` (run.json)."""

    path: Path
    config: RunConfig
    info: dict[str, Any]

    @classmethod
    def open(cls, path: str | Path, setting: str = "RUN") -> RunRecord:
        """Read a run directory; a :class:`RunError` says why it is not one."""
        path = Path(path)
        info = _read_info(path, setting)
        return cls(path, _read_config(path, setting), info)

    @property
    def task(self) -> str:
        return str(self.info.get("dataset", {}).get("task", "classification"))

    def model_file(self) -> Path | None:
        """model.safetensors (the final model), else the last checkpoint, else None."""
        for name in (directory.MODEL, directory.CHECKPOINT):
            if (self.path / name).is_file():
                return self.path / name
        return None

    def load(self) -> LoadedModel:
        """The final model, its scalers and facts, verified and checked against each other."""
        path = self.model_file()
        if path is None:
            raise RunError(f"run {str(self.path)!r} has no checkpoint yet (it was stopped "
                           "before its first epoch ended); resume it with: trainlab train "
                           f"--resume {self.path}")
        checkpoint = read_checkpoint(path)
        extra = checkpoint.extra if isinstance(checkpoint.extra, dict) else {}
        facts = extra.get("dataset") or self.info.get("dataset") or {}
        if not isinstance(facts, dict):
            raise RunError(f"checkpoint {str(path)!r} cannot be used: its dataset facts are not "
                           "a table.")
        try:
            model = load_model(checkpoint)
            scaler = prepare.scaler_from_state(checkpoint.standardizer)
            saved_target = extra.get("target_scaler")
            target_scaler = None if saved_target is None else prepare.scaler_from_state(
                saved_target)
            saved_encoder = extra.get("table_encoder")
            encoder = None if saved_encoder is None else TableEncoder.from_state(saved_encoder)
        except (ValueError, KeyError, TypeError) as exc:
            raise RunError(f"checkpoint {str(path)!r} cannot be used: "
                           f"{' '.join(str(exc).split())}") from None
        loaded = LoadedModel(checkpoint, model, scaler, target_scaler, facts, encoder)
        _check_facts(loaded, path)
        return loaded

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The raw inputs and targets of the run's own ``"train"``, ``"val"`` or ``"test"``
        split, rebuilt from its settings; refused when the data changed since the run."""
        if name not in ("train", "val", "test"):
            raise RunError(f"setting 'split' (--split) must be one of train, val, test; "
                           f"received {name!r}.")
        dataset = prepare.load(self.config.data, self.config.model.dtype)
        recorded = self.info.get("fingerprints", {}).get("data")
        if recorded is not None and recorded != prepare.fingerprint(dataset):
            raise RunError(f"run {str(self.path)!r}: the data {self.config.data.data!r} changed "
                           "since the run was trained (its fingerprint differs), so its "
                           f"{name} split cannot be rebuilt. Evaluate on a file with --data.")
        seed = RunSeeds.from_seed(self.config.seed).split
        if isinstance(dataset, RawTable):  # encoded as in training: fitted on the same rows
            dataset = prepare.encode(self.config.data, dataset, seed)[0]
        parts = prepare.split_data(self.config.data, dataset, seed)
        index = {"train": 0, "val": 2, "test": 4}[name]
        return parts[index], parts[index + 1]


def _check_facts(loaded: LoadedModel, path: Path) -> None:
    """The model's widths agree with the facts the predictions are labelled with."""
    where = f"checkpoint {str(path)!r}"
    names = loaded.feature_names
    if names is not None and len(names) != loaded.in_features:
        raise RunError(f"{where}: the model takes {loaded.in_features} features but the run "
                       f"records {len(names)} feature names; the run's files do not belong "
                       "together.")
    if loaded.task not in ("classification", "regression"):
        raise RunError(f"{where}: unknown task {loaded.task!r}.")
    classes = loaded.class_names
    if loaded.task == "classification" and classes is not None:
        width = loaded.out_features
        if len(classes) != width and not (width == 1 and len(classes) == 2):
            raise RunError(f"{where}: the model has {width} outputs but the run records "
                           f"{len(classes)} class names; the run's files do not belong "
                           "together.")
