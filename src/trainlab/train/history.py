"""``History``: one row of metrics per epoch, and why training stopped.

A row holds ``epoch`` (1-based), the training metrics (``loss`` and ``accuracy`` for
classification; ``loss``, ``mse`` and ``r2`` for regression), the same with a ``val_``
prefix when there is validation data, the learning rate ``lr`` used in the epoch and
``epoch_time`` in seconds. ``history["loss"]`` is the column as a list.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
from typing import Any

from trainlab._atomic import atomic_write_text


class History:
    """Per-epoch metrics of a training run, plus ``stop_reason`` and ``diverged``.

    stop_reason: None when every requested epoch ran; otherwise a sentence (early
        stopping, a callback's request, divergence).
    diverged: None, or ``{"epoch", "step", "global_step", "cause"}`` when the NaN
        guard stopped training (that epoch's row then holds a non-finite loss).
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self.stop_reason: str | None = None
        self.diverged: dict[str, Any] | None = None

    def append(self, row: dict[str, Any]) -> None:
        """Add an epoch's row; values become plain Python numbers (``epoch`` an int)."""
        self.rows.append(
            {key: int(value) if key == "epoch" else float(value) for key, value in row.items()}
        )

    def __len__(self) -> int:
        return len(self.rows)

    def keys(self) -> list[str]:
        """Column names in first-seen order."""
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update(dict.fromkeys(row))
        return list(seen)

    def __getitem__(self, key: str) -> list[float]:
        """The column ``key`` (NaN where a row lacks it)."""
        if key not in self.keys():
            raise KeyError(f"History has no column {key!r}. Columns: {self.keys()}.")
        return [row.get(key, math.nan) for row in self.rows]

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    @property
    def last(self) -> dict[str, float]:
        """The last epoch's row (an empty dict before any epoch)."""
        return dict(self.rows[-1]) if self.rows else {}

    def to_dict(self) -> dict[str, Any]:
        """``{"metrics": {column: [values]}, "stop_reason": ..., "diverged": ...}`` (JSON-able)."""
        return {
            "metrics": {key: self[key] for key in self.keys()},
            "stop_reason": self.stop_reason,
            "diverged": None if self.diverged is None else dict(self.diverged),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """The inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
            raise ValueError(
                "History.from_dict: expected {'metrics': {column: [values]}, ...}. "
                f"Received: {type(data).__name__}."
            )
        columns = data["metrics"]
        for key, values in columns.items():
            if not isinstance(values, list) or not all(_is_number(v) for v in values):
                raise ValueError(
                    f"History.from_dict: column {key!r} must be a list of numbers. "
                    f"Received: {values!r}."[:300]
                )
        epochs = columns.get("epoch", [])
        if not all(math.isfinite(e) and float(e).is_integer() for e in epochs):
            raise ValueError(
                "History.from_dict: the epoch column must hold whole numbers. "
                f"Received: {epochs!r}."
            )
        for key in ("stop_reason",):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ValueError(f"History.from_dict: {key} must be a string or None. "
                                 f"Received: {data[key]!r}.")
        if data.get("diverged") is not None and not isinstance(data["diverged"], dict):
            raise ValueError(f"History.from_dict: diverged must be a dict or None. "
                             f"Received: {data['diverged']!r}.")
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise ValueError(
                f"History.from_dict: every column must have the same length. Received {lengths}."
            )
        history = cls()
        n = lengths.pop() if lengths else 0
        for i in range(n):
            history.append({key: values[i] for key, values in columns.items()})
        history.stop_reason = data.get("stop_reason")
        history.diverged = data.get("diverged")
        return history

    def to_csv_text(self) -> str:
        """The CSV text: a header of the columns, then one line per epoch."""
        keys = self.keys()
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(keys)
        for row in self.rows:
            writer.writerow([_cell(row[k]) if k in row else "" for k in keys])
        return buffer.getvalue()

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write ``metrics.csv`` atomically (see :meth:`to_csv_text`)."""
        atomic_write_text(path, self.to_csv_text())

    def __repr__(self) -> str:
        return f"History({len(self)} epochs, columns={self.keys()})"

    @property
    def history(self) -> dict[str, list[float]]:
        """Every column as a list, Keras's ``history.history``: ``{"loss": [...], ...}``."""
        return {key: self[key] for key in self.keys() if key != "epoch"}

    def _repr_html_(self) -> str:
        from trainlab.train.display import history_html

        return history_html(self)

    def plot(self, metrics: list[str] | None = None) -> Any:
        """The learning curves as a matplotlib Figure (see
        :func:`~trainlab.train.display.plot_history`)."""
        from trainlab.train.display import plot_history

        return plot_history(self, metrics)


def _is_number(value: Any) -> bool:
    """A real number (JSON's null stands for a missing value and is not one)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    """A CSV cell: integers as they are, reals with full precision (``repr``)."""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return str(value)
