"""Reading a finished (or interrupted) run back: its settings, record, model and scaler."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainlab import runs
from trainlab.cli.build import scale_from_state
from trainlab.cli.errors import UsageError, one_line
from trainlab.cli.settings import fill_defaults, read_toml, resolve
from trainlab.train import Checkpoint, CheckpointError, load_checkpoint


@dataclass
class Run:
    """A run directory read back."""

    path: Path
    values: dict[str, Any]
    info: dict[str, Any]

    @property
    def task(self) -> str:
        return self.info.get("dataset", {}).get("task", "classification")

    @property
    def class_names(self) -> list[str] | None:
        return self.info.get("dataset", {}).get("class_names")

    @property
    def feature_names(self) -> list[str] | None:
        return self.info.get("dataset", {}).get("feature_names")

    def model_file(self) -> Path | None:
        """model.safetensors (the final model), else the last checkpoint, else None."""
        for name in (runs.MODEL, runs.CHECKPOINT):
            if (self.path / name).is_file():
                return self.path / name
        return None

    def load_final(self) -> Checkpoint:
        """The checkpoint that holds the run's final model (verified)."""
        path = self.model_file()
        if path is None:
            raise UsageError(f"run {str(self.path)!r} has no checkpoint yet (it was stopped before "
                             f"its first epoch ended); resume it with: trainlab train --resume "
                             f"{self.path}")
        return read_checkpoint(path)


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        return load_checkpoint(path)
    except (CheckpointError, OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"checkpoint {str(path)!r} cannot be used: {one_line(exc)}") from None


def open_run(path: str | Path, setting: str = "RUN") -> Run:
    """Read a run directory; a UsageError says why it is not one."""
    path = Path(path)
    try:
        info = runs.read_run_info(path)
    except runs.NotARunError as exc:
        raise UsageError(f"{setting}: {exc}.") from None
    try:
        values = fill_defaults(resolve(read_toml(path / runs.CONFIG), {}))
    except UsageError as exc:
        raise UsageError(f"{setting}: the run's {runs.CONFIG} is invalid: {exc}") from None
    return Run(path, values, info)


def model_and_scaler(checkpoint: Checkpoint) -> tuple[Any, Any]:
    """The model (evaluation mode) and the fitted input scaler stored in a checkpoint."""
    from trainlab.train import load_model

    try:
        model = load_model(checkpoint)
        scaler = scale_from_state(checkpoint.standardizer)
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"checkpoint {str(checkpoint.path)!r} cannot be used: "
                         f"{one_line(exc)}") from None
    return model, scaler
