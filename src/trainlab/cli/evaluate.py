"""``trainlab evaluate RUN``: the metrics of a run's final model.

Without ``--data`` the run's own split is rebuilt from its settings (same seed, same
rows) and ``--split`` (default test) is evaluated; with ``--data NAME`` every example of
that dataset is. The run's saved input normalisation is applied either way.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

from trainlab.cli.commands import HELP
from trainlab.cli.errors import EXIT_OK, UsageError
from trainlab.data.tables import RawTable
from trainlab.runs import prepare
from trainlab.runs.record import LoadedModel, RunRecord


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "evaluate", help=HELP["evaluate"],
        description="Evaluate a run's final model (model.safetensors, else the last "
        "checkpoint) with the run's saved input normalisation.",
    )
    parser.add_argument("run", metavar="RUN", help="a run directory, e.g. runs/digits")
    parser.add_argument("--data", metavar="NAME", help="evaluate on this dataset instead "
                        "(any load_dataset name, csv:PATH, npz:PATH)")
    parser.add_argument("--split", default="test", metavar="{train,val,test}",
                        help="which part of the run's own split (default: test)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.set_defaults(handler=run)


def relabel(y: np.ndarray, names: Any, trained: list[str] | None, where: str) -> np.ndarray:
    """Map the labels of another dataset onto the run's classes by class name."""
    if names is None or trained is None or list(names) == list(trained)[: len(names)]:
        return y
    index = {name: i for i, name in enumerate(trained)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise UsageError(f"{where}: classes {unknown[:5]} were not seen in training; "
                         f"the run's classes are {trained}.")
    return np.array([index[names[k]] for k in y], dtype=np.int64)


def evaluation_data(record: RunRecord, loaded: LoadedModel, data: str | None,
                    split: str) -> tuple[np.ndarray, np.ndarray, str]:
    """The raw (X, y) to evaluate and a description."""
    if data is None:
        X, y = record.split(split)
        return X, y, f"{record.config.data.data} ({split} split)"
    loaded_data = prepare.load(record.config.data, record.config.model.dtype, name=data)
    where = f"setting 'data' (--data) = {data!r}"
    if isinstance(loaded_data, RawTable):
        if loaded.encoder is None:
            raise UsageError(f"{where}: it has text or missing cells, and the run was trained "
                             "on a table of numbers only.")
        try:  # the run's categories and fill values, matched to the columns by name
            dataset = loaded_data.encode(loaded.encoder)
        except ValueError as exc:
            raise UsageError(f"{where}: {' '.join(str(exc).split())}") from None
    else:
        dataset = loaded_data
    X = columns_by_name(dataset, loaded.feature_names, where)
    check_features(X, loaded.in_features, where)
    if dataset.task != loaded.task:
        raise UsageError(f"{where} is a {dataset.task} dataset; the run does {loaded.task}.")
    y = dataset.y
    if dataset.task == "classification":
        y = relabel(y, dataset.class_names, loaded.class_names, where)
    return X, y, f"{data} (all {dataset.n_samples} examples)"


def columns_by_name(dataset: Any, names: list[str] | None, where: str) -> np.ndarray:
    """The dataset's columns in the order of the run's features, matched by name where the
    file names them; order never changes an answer. A file that names only some of them
    is refused; one whose columns have generic names (x0, x1, ...) is taken in order."""
    X, have = dataset.X, [str(n) for n in dataset.feature_names]
    if not names or have == list(names):
        return X
    index = {n: j for j, n in enumerate(have)}
    present = [n for n in names if n in index]
    if len(present) == len(names):
        return X[:, [index[n] for n in names]]
    if present:
        missing = [n for n in names if n not in index]
        raise UsageError(f"{where}: it names {len(present)} of the run's {len(names)} features; "
                         f"missing: {', '.join(missing[:8])}{', ...' if len(missing) > 8 else ''}.")
    return X


def check_features(X: np.ndarray, expected: int, where: str) -> None:
    if X.ndim != 2 or X.shape[1] != expected:
        got = X.shape[1] if X.ndim == 2 else f"shape {X.shape}"
        raise UsageError(f"{where}: the model takes {expected} features per example; "
                         f"received {got}.")


def run(args: argparse.Namespace) -> int:
    record = RunRecord.open(args.run)
    loaded = record.load()
    X, y, what = evaluation_data(record, loaded, args.data, args.split)
    check_features(X, loaded.in_features, f"run {str(record.path)!r}")
    classes = max(loaded.out_features, 2)
    if loaded.task == "classification" and y.size and y.max() >= classes:
        raise UsageError(f"setting 'data' (--data): label {int(y.max())} is beyond the model's "
                         f"{classes} classes.")
    result = {"n": int(X.shape[0]), **loaded.evaluate(X, y)}
    checkpoint = loaded.checkpoint
    if args.json:
        print(json.dumps({"run": str(record.path), "data": what,
                          "checkpoint": checkpoint.path.name, "epoch": checkpoint.epoch,
                          "metrics": result}))
        return EXIT_OK
    print(f"run: {record.path}  model: {checkpoint.path.name} (epoch {checkpoint.epoch})")
    print(f"data: {what}")
    for key, value in result.items():
        shown = f"{value:.6g}" if isinstance(value, float) and math.isfinite(value) else value
        print(f"{key:>10}: {shown}")
    return EXIT_OK
