"""One playground: data, model and optimizer built by trainlab's own run builders,
trained by trainlab's ``Trainer`` with the diagnostics ``Monitor`` watching.

    session = Session(parse_settings({"dataset": "spiral", "hidden": "16,16"}))
    session.train(100)                  # 100 optimizer steps
    frame = session.frame()             # losses, accuracy, boundary, neuron maps, layers

The numbers are the library's: the model is ``runs.build.build_model`` of a
``RunConfig``, the loss ``build_loss``, the optimizer ``build_optimizer``, and the layer
statistics are the Monitor's records beside ``diagnostics.predict_for_input``, the
theory's prediction for the current weights and the training inputs.
"""

from __future__ import annotations

import base64
import math
import warnings
from typing import Any

import numpy as np

from trainlab.diagnostics import Monitor, predict_for_input, tap
from trainlab.nn.module import Module
from trainlab.recipe import RunConfig
from trainlab.runs.build import build_loss, build_model, build_optimizer
from trainlab.train import Callback, Trainer
from trainlab.train.guard import DivergenceWarning
from trainlab.ui.playground.data import make_dataset
from trainlab.ui.playground.settings import PlaygroundSettingError, PlaygroundSettings

GRID = 48  # the decision boundary's resolution (GRID × GRID points)
NEURON_GRID = 20  # each neuron's map
EXTENT = 1.25  # the drawn square is [-EXTENT, EXTENT]²
MONITOR_EVERY = 10
KEEP_RECORDS = 200
KEEP_HISTORY = 600


class _StepBudget(Callback):
    """Stops ``fit`` after a given number of optimizer steps."""

    order = 100

    def __init__(self) -> None:
        self.left = 0

    def on_batch_end(self, trainer: Any, batch: int, loss: float) -> None:
        self.left -= 1
        if self.left <= 0:
            trainer.stop("the playground's steps are done")


def _grid(n: int) -> np.ndarray:
    """(n·n, 2) points of the square, row by row from the top (y = +EXTENT) down."""
    xs = np.linspace(-EXTENT, EXTENT, n)
    gx, gy = np.meshgrid(xs, xs[::-1])
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def _bytes(values: np.ndarray) -> str:
    """Finite values in [-1, 1] as base64 of uint8 (0 ↔ -1, 255 ↔ +1)."""
    q = np.clip(np.round((values + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def config_for(s: PlaygroundSettings) -> RunConfig:
    """The RunConfig of the playground's network and optimizer."""
    return RunConfig().replace(
        hidden=list(s.hidden), activation=s.activation, init=s.init, output_init=s.init,
        norm=s.norm, dropout=s.dropout, optimizer=s.optimizer, lr=s.lr, weight_decay=s.l2,
        batch_size=s.batch, clip_norm=s.clip if s.clip > 0 else None, backend="numpy",
        monitor_every=MONITOR_EVERY, seed=s.seed,
    )


class Session:
    """A playground's state; ``train``, ``frame`` and ``setup`` are its whole interface."""

    def __init__(self, settings: PlaygroundSettings) -> None:
        s = self.settings = settings
        if s.norm == "batch" and s.batch < 2:
            raise PlaygroundSettingError("playground setting 'batch': BatchNorm needs batches of "
                                         "at least 2 examples. Received: '1'.")
        rng = np.random.default_rng(s.seed)
        X, y = make_dataset(s.dataset, s.points, s.noise, rng)
        n_test = max(1, int(round(s.test * s.points)))
        self.X_train, self.X_test = X[n_test:].astype(np.float32), X[:n_test].astype(np.float32)
        self.y_train_raw, self.y_test_raw = y[n_test:], y[:n_test]
        self.classification = s.task == "classification"
        self.y_train: np.ndarray
        self.y_test: np.ndarray
        if self.classification:
            self.y_train = self.y_train_raw.astype(np.int64)
            self.y_test = self.y_test_raw.astype(np.int64)
        else:
            self.y_train = self.y_train_raw.astype(np.float32)[:, None]
            self.y_test = self.y_test_raw.astype(np.float32)[:, None]
        config = config_for(s)
        _, self.model = build_model(config, 2, 2 if self.classification else 1, seed=s.seed)
        # dead ReLU units are judged on the whole training set, not one small batch
        self.monitor = Monitor(every=MONITOR_EVERY, histogram_values=0, warn=False,
                               eval_batch=self.X_train)
        self.budget = _StepBudget()
        self.trainer = Trainer(
            self.model, build_loss(s.task), build_optimizer(config, self.model.parameters()),
            clip_norm=config.training.clip_norm, callbacks=[self.monitor, self.budget],
            task=s.task, rng=s.seed + 1, verbose=0,
        )
        self.history: list[list[float | None]] = []
        self._layer_rows: tuple[Any, list[dict[str, Any]]] | None = None
        self.diverged: str | None = None
        self._grid = _grid(GRID).astype(np.float32)
        self._neuron_grid = _grid(NEURON_GRID).astype(np.float32)
        self._record_history()

    @property
    def step(self) -> int:
        return int(self.trainer.global_step)

    def train(self, steps: int) -> None:
        """Take ``steps`` optimizer steps (fewer when training diverges)."""
        if self.diverged is not None or steps < 1:
            return
        self.budget.left = int(steps)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            self.trainer.fit(self.X_train, self.y_train, epochs=self.trainer.epoch + steps + 1,
                             batch_size=self.settings.batch)
        if self.trainer.history.diverged is not None:
            self.diverged = str(self.trainer.history.stop_reason)
        del self.trainer.history.rows[:-10]
        del self.monitor.records[:-KEEP_RECORDS]
        del self.monitor.global_norms[:-KEEP_HISTORY], self.monitor.clipped_norms[:-KEEP_HISTORY]
        self._record_history()

    def _record_history(self) -> None:
        train, test = self._evaluate()
        key = "accuracy" if self.classification else "r2"
        self.history.append([self.step, _finite(train["loss"]), _finite(test["loss"]),
                             _finite(train.get(key, math.nan)), _finite(test.get(key, math.nan))])
        if len(self.history) > KEEP_HISTORY:
            del self.history[1::2]  # keep the whole span at half the resolution
        self.latest = {"train": train, "test": test}

    def _evaluate(self) -> tuple[dict[str, float], dict[str, float]]:
        with np.errstate(all="ignore"):
            try:
                return (self.trainer.evaluate(self.X_train, self.y_train),
                        self.trainer.evaluate(self.X_test, self.y_test))
            except ValueError:  # a diverged model's outputs are not finite
                return {"loss": math.nan}, {"loss": math.nan}

    # -- views -------------------------------------------------------------------------
    def setup(self) -> dict[str, Any]:
        """What does not change while training: the points, the task and the layout."""
        return {
            "type": "setup", "settings": self.settings.query(), "task": self.settings.task,
            "extent": EXTENT, "grid": GRID, "neuron_grid": NEURON_GRID,
            "train": {"x": np.round(self.X_train, 4).tolist(),
                      "y": np.round(self.y_train_raw, 4).tolist()},
            "test": {"x": np.round(self.X_test, 4).tolist(),
                     "y": np.round(self.y_test_raw, 4).tolist()},
        }

    def frame(self, full: bool = True) -> dict[str, Any]:
        """The live views after the last step. ``history`` holds every recorded point of
        the loss curves when ``full``, else the last one (the page keeps the rest)."""
        boundary, neurons = self._maps()
        latest = self.latest
        key = "accuracy" if self.classification else "r2"
        return {
            "type": "frame", "step": self.step, "epoch": int(self.trainer.epoch),
            "train_loss": _finite(latest["train"]["loss"]),
            "test_loss": _finite(latest["test"]["loss"]),
            "train_metric": _finite(latest["train"].get(key, math.nan)),
            "test_metric": _finite(latest["test"].get(key, math.nan)),
            "metric": key, "history": self.history if full else self.history[-1:],
            "boundary": boundary,
            "neurons": neurons, "layers": self._layers(),
            "warnings": [{"kind": w.kind, "layer": w.layer, "step": w.step, "message": w.message}
                         for w in self.monitor.warnings[-20:]],
            "diverged": self.diverged,
        }

    def _maps(self) -> tuple[str, list[dict[str, Any]]]:
        """The boundary (p(class 1)·2 − 1, or the regression output clipped to [-1, 1]) on
        the grid, and each hidden unit's activation on the coarser grid, scaled by its
        largest magnitude."""
        model = self.model
        model.eval()
        outputs: list[tuple[str, np.ndarray]] = []

        def keep(i: int, layer: Module, x: np.ndarray, y: np.ndarray) -> None:
            if callable(getattr(layer, "derivative", None)) and i < len(chain) - 1:
                outputs.append((f"{chain[i][0]} {type(layer).__name__}", y))

        with np.errstate(all="ignore"):
            out = model.forward(self._grid)
            with tap(model, keep) as chain:
                model.forward(self._neuron_grid)
        if self.classification:
            z = out[:, 1].astype(np.float64) - out[:, 0]
            values = np.tanh(z / 2)  # = 2·softmax(out)[:, 1] − 1
        else:
            values = np.clip(out[:, 0].astype(np.float64), -1.0, 1.0)
        values = np.nan_to_num(values)
        neurons = []
        for label, y in outputs:
            columns = np.nan_to_num(y.astype(np.float64)).T  # (units, points)
            scales = np.max(np.abs(columns), axis=1)
            scales[scales == 0] = 1.0
            codes = [_bytes(row) for row in columns / scales[:, None]]
            neurons.append({"layer": label, "units": [
                {"scale": float(scale), "map": code} for scale, code in zip(scales, codes,
                                                                            strict=True)]})
        return _bytes(values), neurons

    def _layers(self) -> list[dict[str, Any]]:
        """Per layer: the Monitor's last sampled step (output std, gradient RMS, dead or
        saturated) beside the theory's prediction for the weights of the first frame after
        it (computed once per record)."""
        if not self.monitor.records:
            return []
        record = self.monitor.records[-1]
        if self._layer_rows is not None and self._layer_rows[0] is record:
            return self._layer_rows[1]
        out_grad = record.layers[-1].grad_rms ** 2 if record.layers else 1.0
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                theory = predict_for_input(self.model, self.X_train,
                                           grad_var=out_grad if math.isfinite(out_grad) else 1.0)
            except (ValueError, FloatingPointError):
                theory = []
        rows = []
        for i, layer in enumerate(record.layers):
            t = theory[i] if i < len(theory) else None
            rows.append({
                "label": layer.label, "out_std": _finite(layer.out_std),
                "grad_rms": _finite(layer.grad_rms), "dead": _finite(layer.dead),
                "saturated": _finite(layer.saturated),
                "theory_out_std": None if t is None or not t.out_var >= 0
                else _finite(math.sqrt(t.out_var)),
                "theory_grad_rms": None if t is None or not t.grad_var >= 0
                else _finite(math.sqrt(t.grad_var)),
            })
        self._layer_rows = (record, rows)
        return rows
