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

from trainlab.cli import build
from trainlab.cli.errors import EXIT_OK, UsageError
from trainlab.cli.rundata import Run, model_and_scaler, open_run


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "evaluate", help="metrics of a run's model on its test split or on --data",
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


def relabel(y: np.ndarray, names: Any, run: Run, where: str) -> np.ndarray:
    """Map the labels of another dataset onto the run's classes by class name."""
    trained = run.class_names
    if names is None or trained is None or list(names) == list(trained)[: len(names)]:
        return y
    index = {name: i for i, name in enumerate(trained)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise UsageError(f"{where}: classes {unknown[:5]} were not seen in training; "
                         f"the run's classes are {trained}.")
    return np.array([index[names[k]] for k in y], dtype=np.int64)


def evaluation_data(run: Run, data: str | None, split: str,
                    features: int) -> tuple[np.ndarray, np.ndarray, str]:
    """The raw (X, y) to evaluate and a description."""
    if data is None:
        if split not in ("train", "val", "test"):
            raise UsageError(f"setting 'split' (--split) must be one of train, val, test; "
                             f"received {split!r}.")
        dataset = build.load_data(run.values["data"], run.values)
        index = {"train": 0, "val": 2, "test": 4}[split]
        split_seed, _, _ = build.run_seeds(run.values["seed"])
        parts = build.data.train_val_test_split(
            dataset.X, dataset.y, val_fraction=run.values["val_fraction"],
            test_fraction=run.values["test_fraction"], seed=split_seed)
        return parts[index], parts[index + 1], f"{run.values['data']} ({split} split)"
    dataset = build.load_data(data, run.values)
    check_features(dataset.X, features, f"setting 'data' (--data) = {data!r}")
    if dataset.task != run.task:
        raise UsageError(f"setting 'data' (--data) = {data!r} is a {dataset.task} dataset; "
                         f"the run does {run.task}.")
    y = dataset.y
    if dataset.task == "classification":
        y = relabel(y, dataset.class_names, run, f"setting 'data' (--data) = {data!r}")
    return dataset.X, y, f"{data} (all {dataset.n_samples} examples)"


def check_features(X: np.ndarray, expected: int, where: str) -> None:
    if X.ndim != 2 or X.shape[1] != expected:
        got = X.shape[1] if X.ndim == 2 else f"shape {X.shape}"
        raise UsageError(f"{where}: the model takes {expected} features per example; "
                         f"received {got}.")


def metrics(model: Any, scaler: Any, X: np.ndarray, y: np.ndarray, task: str) -> dict[str, float]:
    from trainlab.train import Trainer

    loss = build.make_loss(task)
    params = model.parameters()
    dtype = params[0].data.dtype if params else np.float32
    trainer = Trainer(model, loss, _NoOptimizer(), task=task, verbose=0)
    with np.errstate(all="ignore"):
        return trainer.evaluate(scaler.transform(X.astype(dtype, copy=False)), y)


class _NoOptimizer:
    """Evaluation needs no optimizer; the Trainer only checks that these exist."""

    lr = 0.0

    def step(self) -> None:  # pragma: no cover - never called
        raise RuntimeError("evaluation does not train")

    def state_dict(self) -> dict:  # pragma: no cover
        return {}

    def load_state_dict(self, state: dict) -> None:  # pragma: no cover
        pass


def run(args: argparse.Namespace) -> int:
    run_obj = open_run(args.run)
    checkpoint = run_obj.load_final()
    model, scaler = model_and_scaler(checkpoint)
    features = int(checkpoint.model_config["in_features"])
    X, y, what = evaluation_data(run_obj, args.data, args.split, features)
    check_features(X, features, f"run {str(run_obj.path)!r}")
    if run_obj.task == "classification" and y.size and y.max() >= checkpoint.model_config["out_features"]:
        raise UsageError(f"setting 'data' (--data): label {int(y.max())} is beyond the model's "
                         f"{checkpoint.model_config['out_features']} classes.")
    result = metrics(model, scaler, X, y, run_obj.task)
    result = {"n": int(X.shape[0]), **result}
    if args.json:
        print(json.dumps({"run": str(run_obj.path), "data": what,
                          "checkpoint": checkpoint.path.name, "epoch": checkpoint.epoch,
                          "metrics": result}))
        return EXIT_OK
    print(f"run: {run_obj.path}  model: {checkpoint.path.name} (epoch {checkpoint.epoch})")
    print(f"data: {what}")
    for key, value in result.items():
        shown = f"{value:.6g}" if isinstance(value, float) and math.isfinite(value) else value
        print(f"{key:>10}: {shown}")
    if "accuracy" in result:
        print(f"accuracy: {100 * result['accuracy']:.2f}%")
    return EXIT_OK
