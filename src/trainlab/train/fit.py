"""The training loop: minibatch gradient descent with validation, clipping and a NaN guard.

One step on a minibatch (X_b, y_b) (notes §5, §6)::

    ŷ = model(X_b);  L = loss(ŷ, y_b);  model.backward(∂L/∂ŷ)     # p.grad = ∂L/∂p
    clip p.grad (by global norm or by value);  optimizer.step()      # W ← W − γ·update

An epoch is one pass over a fresh permutation of the training set. One generator,
``Trainer.rng``, draws the permutations and the augmentation; the model's layers draw
their dropout masks from their own generators. So the seed of the model and the
seed of the trainer fix every number of a run, and a checkpoint that stores all the
generators' states resumes a run exactly.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeGuard

import numpy as np

from trainlab._checks import check_input, check_int, check_number
from trainlab._rng import RngLike, as_generator
from trainlab.backend.threads import small_products_blas
from trainlab.data import iterate_minibatches, num_batches
from trainlab.nn.losses import check_sample_weight
from trainlab.nn.module import Module, Sequential
from trainlab.optim import clip_grad_norm, clip_grad_value
from trainlab.train.callbacks import (
    HOOKS,
    Callback,
    LRScheduler,
    overrides,
    weights_finite,
)
from trainlab.train.evaluation import evaluate_batches, forward_batches, probabilities
from trainlab.train.guard import (
    DivergenceWarning,
    divergence_message,
    first_non_finite_grad,
    global_grad_norm,
    is_non_finite_error,
)
from trainlab.train.history import History
from trainlab.train.metrics import RunningMetrics
from trainlab.train.progress import ProgressBar, progress_callback
from trainlab.train.protocols import Loss, Optimizer, Schedule, SkipsInputGrad
from trainlab.train.scores import check_metrics
from trainlab.train.state import load_trainer_state, trainer_state
from trainlab.train.targets import TASKS, infer_task, prepare

Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def skips_input_grad(model: Module) -> TypeGuard[SkipsInputGrad]:
    """Whether ``model.backward`` takes ``input_grad=False`` (a Sequential, or a layer that
    sets ``can_skip_input_grad``)."""
    return isinstance(model, Sequential) or bool(getattr(model, "can_skip_input_grad", False))


def backward_from_loss(model: Module, dy: np.ndarray) -> None:
    """``model.backward(dy)`` for a training step: the inputs are data, so where the model
    can skip the first layer's dx product (a Sequential, a Linear) it does, as PyTorch
    does for an input without ``requires_grad``. Parameter gradients are unchanged."""
    if skips_input_grad(model):
        model.backward(dy, input_grad=False)
    else:
        model.backward(dy)


def _positive_or_none(value: Any, name: str) -> float | None:
    return None if value is None else check_number(value, name, low=0.0, low_inclusive=False)


class Trainer:
    """Train ``model`` on (X, y) with ``loss`` and ``optimizer``; see :meth:`fit`.

    schedule: a trainlab.optim schedule, stepped once per epoch after validation, or
        after every optimizer step when its ``interval`` is ``"step"`` (OneCycleLR,
        CosineAnnealingWarmRestarts). ReduceLROnPlateau gets ``val_loss``; pass
        ``LRScheduler(schedule, monitor=...)`` as a callback to monitor something else.
    clip_norm / clip_value: clip the gradients by global L2 norm, or elementwise by
        value, before each step (one of the two).
    callbacks: :class:`~trainlab.train.Callback` objects.
    transform: augmentation ``(X_batch, rng) -> X_batch`` applied to each training batch.
    task: ``"classification"`` or ``"regression"``; inferred from the loss when None.
    rng: the generator (or int seed) for the shuffling and the augmentation.
    verbose: 0 silent, 1 a progress bar on a terminal (else one line per epoch), 2 lines.
    nan_guard: stop with a :class:`DivergenceWarning` naming the epoch and step when
        the loss or a gradient becomes NaN or infinite; the failing update is not applied.
    eval_batch_size: rows per forward pass in :meth:`evaluate` and :meth:`predict`.
    metrics: classification metrics beyond accuracy, by name (``"f1"``, ``"precision"``,
        ``"recall"``, their ``"_per_class"`` forms, ``"roc_auc"`` for a binary task,
        ``"top3_accuracy"``; :mod:`trainlab.train.scores`), computed in evaluation mode on
        the validation data after every epoch (``val_f1``, ...) and by :meth:`evaluate`.
    """

    def __init__(
        self,
        model: Module,
        loss: Loss,
        optimizer: Optimizer,
        *,
        schedule: Schedule | None = None,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        callbacks: Iterable[Callback] = (),
        transform: Transform | None = None,
        task: str | None = None,
        rng: RngLike = None,
        verbose: int = 1,
        nan_guard: bool = True,
        eval_batch_size: int = 1024,
        metrics: Iterable[str] = (),
    ) -> None:
        if not isinstance(model, Module):
            raise TypeError(
                f"Trainer: model must be a trainlab.nn.Module. Received: {type(model).__name__}."
            )
        if not (callable(loss) and callable(getattr(loss, "backward", None))):
            raise TypeError(
                "Trainer: loss must be a trainlab.nn loss (called as loss(pred, target), "
                f"then loss.backward()). Received: {type(loss).__name__}."
            )
        for method in ("step", "state_dict", "load_state_dict"):
            if not callable(getattr(optimizer, method, None)):
                raise TypeError(
                    f"Trainer: optimizer must be a trainlab.optim optimizer (it has no "
                    f"{method}()). Received: {type(optimizer).__name__}."
                )
        if clip_norm is not None and clip_value is not None:
            raise ValueError(
                "Trainer: pass clip_norm or clip_value, not both. "
                f"Received clip_norm={clip_norm!r}, clip_value={clip_value!r}."
            )
        if transform is not None and not callable(transform):
            raise TypeError(
                "Trainer: transform must be callable (X_batch, rng) -> X_batch. "
                f"Received: {transform!r}."
            )
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.clip_norm = _positive_or_none(clip_norm, "Trainer: clip_norm")
        self.clip_value = _positive_or_none(clip_value, "Trainer: clip_value")
        self.transform = transform
        self.task = infer_task(loss) if task is None else task
        if self.task not in TASKS:
            raise ValueError(f"Trainer: task must be one of {list(TASKS)}. Received: {task!r}.")
        self.rng = as_generator(rng, "Trainer: rng")
        self.nan_guard = bool(nan_guard)
        self.eval_batch_size = check_int(eval_batch_size, "Trainer: eval_batch_size", low=1)
        self.metrics = check_metrics(list(metrics) if not isinstance(metrics, str) else metrics,
                                     "Trainer: metrics")
        if self.metrics and self.task != "classification":
            raise ValueError(f"Trainer: metrics {list(self.metrics)} are classification "
                             f"metrics; the task is {self.task!r}.")

        callbacks = list(callbacks)
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"Trainer: callbacks[{i}] must be a trainlab.train.Callback. "
                    f"Received: {type(cb).__name__}."
                )
        if schedule is not None:
            callbacks.append(LRScheduler(schedule))
        schedules = [cb.schedule for cb in callbacks if isinstance(cb, LRScheduler)]
        if len(schedules) > 1:
            raise ValueError(
                "Trainer: one learning-rate schedule at most (schedule= or an LRScheduler "
                f"callback). Received {len(schedules)}."
            )
        self.schedule = schedules[0] if schedules else None
        display = progress_callback(verbose)
        if display is not None:
            callbacks.append(display)
        self.callbacks: list[Callback] = sorted(callbacks, key=lambda cb: cb.order)

        # Counters and the current batch, visible to callbacks.
        self.history = History()
        self.epoch = 0  # epochs completed
        self.current_epoch = 0  # the epoch running (1-based)
        self.global_step = 0  # optimizer steps taken
        self.batch_index = 0
        self.x_batch: np.ndarray | None = None
        self.y_batch: np.ndarray | None = None
        self.output: np.ndarray | None = None
        self.batch_loss = math.nan
        self.stop_training = False
        self.has_validation = False
        self.target_epochs = 0
        self.batches_per_epoch = 0
        self._params = model.parameters()
        self._sample_weight: np.ndarray | None = None
        # The input width, from the first layer that declares one (checked before training).
        widths = (getattr(m, "in_features", None) for m in model.modules())
        self._in_features = next((w for w in widths if isinstance(w, int)), None)

    # -- public API --------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        """The model's float dtype (of its first parameter; float32 without parameters)."""
        return self._params[0].data.dtype if self._params else np.dtype(np.float32)

    def stop(self, reason: str) -> None:
        """Ask training to stop after the current batch; ``reason`` goes to the history."""
        self.stop_training = True
        if self.history.stop_reason is None:
            self.history.stop_reason = str(reason)

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        validation_data: tuple[Any, Any] | None = None,
        sample_weight: Any = None,
    ) -> History:
        """Train until ``epochs`` epochs are completed in total, or until stopped.

        X: (n, features) floats, cast to the model's dtype. y: (n,) class labels for
        classification ((n,) 0/1 for BCEWithLogitsLoss), (n,) or (n, k) targets for
        regression. validation_data: (X_val, y_val), evaluated after every epoch.
        sample_weight: (n,) weights >= 0 of the training examples; each batch's loss is
        then ``Σ s_i·l_i / Σ s_i·d_i`` (see :mod:`trainlab.nn.losses`; the loss is called
        with ``sample_weight=``). Validation is not weighted.

        A trainer that has already run (or was restored from a checkpoint) continues
        from its epoch counter: ``fit(epochs=6)`` after 3 epochs runs epochs 4 to 6.
        Training metrics are the means over the epoch of the training-mode predictions
        made before each step; validation metrics are computed in evaluation mode.
        Returns the :class:`History` (also ``trainer.history``); the model is left in
        evaluation mode.
        """
        epochs = check_int(epochs, "fit: epochs", low=0)
        batch_size = check_int(batch_size, "fit: batch_size", low=1)
        X, y, labels = self._prepare(X, y, "fit")
        self._sample_weight = (None if sample_weight is None
                               else check_sample_weight(sample_weight, X.shape[0], "fit"))
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError(
                    "fit: validation_data must be a pair (X_val, y_val). "
                    f"Received: {type(validation_data).__name__}."
                )
            validation = self._prepare(*validation_data, "fit: validation_data")
        self.has_validation = validation is not None
        self.target_epochs = epochs
        self.batches_per_epoch = num_batches(X.shape[0], batch_size)
        self.stop_training = False
        self.history.stop_reason = None
        self.history.diverged = None
        self._hooks = {
            h: [getattr(cb, h) for cb in self.callbacks if overrides(cb, h)] for h in HOOKS
        }
        self._track_norm = self.nan_guard or bool(self._hooks["on_after_clip"])
        ss_tot = None if self.task == "classification" else RunningMetrics.total(y)

        guard = np.errstate(all="ignore") if self.nan_guard else contextlib.nullcontext()
        try:
            with guard, small_products_blas(self.model.backend.gemm):
                for hook in self._hooks["on_train_begin"]:
                    hook(self)
                while self.epoch < epochs and not self.stop_training:
                    if not self._run_epoch(X, y, labels, ss_tot, batch_size, validation):
                        reason = self.history.stop_reason
                        assert reason is not None  # set by _diverge
                        warnings.warn(reason, DivergenceWarning, stacklevel=2)
                        break
                for hook in self._hooks["on_train_end"]:
                    hook(self)
        finally:
            for cb in self.callbacks:
                if isinstance(cb, ProgressBar):
                    cb.close()
        self.model.eval()
        return self.history

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        """Loss and metrics on (X, y) in evaluation mode: ``{"loss", "accuracy"}`` or
        ``{"loss", "mse", "r2"}``."""
        X, y, labels = self._prepare(X, y, "evaluate")
        return self._evaluate(X, y, labels)

    def predict(self, X: Any) -> np.ndarray:
        """The model's outputs (logits for classification) in evaluation mode, (n, outputs)."""
        X = check_input(
            X, "Trainer.predict", features=self._in_features, dtype=self.dtype, name="X"
        )
        return forward_batches(self.model, X, self.eval_batch_size)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, K) in evaluation mode: the softmax of the logits (for a
        single-logit binary model, ``[1 − σ(z), σ(z)]``). Classification only."""
        if self.task != "classification":
            raise ValueError("Trainer.predict_proba: the task is regression; use predict().")
        return probabilities(self.predict(X))

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (see :func:`~trainlab.train.state.trainer_state`):
        counters, model weights, buffers and generators, optimizer, schedule, the trainer's
        generator, callbacks' state, history."""
        return trainer_state(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` into this trainer (same architecture, optimizer
        and schedule types); a mismatch raises before anything changes."""
        load_trainer_state(self, state)

    # -- the loop ------------------------------------------------------------------------
    def _prepare(self, X: Any, y: Any, owner: str) -> tuple[np.ndarray, np.ndarray, Any]:
        return prepare(
            X,
            y,
            task=self.task,
            loss=self.loss,
            dtype=self.dtype,
            features=self._in_features,
            owner=owner,
        )

    def _run_epoch(
        self,
        X: np.ndarray,
        y: np.ndarray,
        labels: np.ndarray | None,
        ss_tot: np.ndarray | None,
        batch_size: int,
        validation: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None,
    ) -> bool:
        """Run one epoch; False when the NaN guard stopped training."""
        epoch = self.current_epoch = self.epoch + 1
        start = time.perf_counter()
        lr = float(self.optimizer.lr)
        for hook in self._hooks["on_epoch_begin"]:
            hook(self, epoch)
        running = RunningMetrics(self.task, ss_tot)
        for b, index in enumerate(iterate_minibatches(X.shape[0], batch_size, self.rng)):
            batch_labels = None if labels is None else labels[index]
            weights = None if self._sample_weight is None else self._sample_weight[index]
            if not self._step(b, X[index], y[index], batch_labels, running, weights):
                elapsed = time.perf_counter() - start
                self.history.append(
                    {"epoch": epoch, **running.result(), "lr": lr, "epoch_time": elapsed}
                )
                return False
            if self.stop_training:
                break
        logs: dict[str, float] = {"epoch": epoch, **running.result()}
        cause = None
        if validation is not None:
            try:
                val = self._evaluate(*validation)
            except ValueError as exc:
                if not (self.nan_guard and is_non_finite_error(exc)):
                    raise
                val = {"loss": math.nan}
                cause = f"the validation forward pass produced NaN or infinite values ({exc})"
            logs.update({f"val_{key}": value for key, value in val.items()})
        logs["lr"] = lr
        logs["epoch_time"] = time.perf_counter() - start
        if self.nan_guard and cause is None:
            if not weights_finite(self.model):
                cause = "the weights became NaN or infinite in the last update of the epoch"
            elif not math.isfinite(logs.get("val_loss", 0.0)):
                cause = f"the validation loss is {logs['val_loss']}"
        self.history.append(logs)
        if cause is not None:
            return self._diverge(self.batch_index, cause)
        self.epoch = epoch
        for hook in self._hooks["on_epoch_end"]:
            hook(self, epoch, self.history.rows[-1])
        return True

    def _step(
        self,
        b: int,
        x: np.ndarray,
        y: np.ndarray,
        labels: np.ndarray | None,
        running: RunningMetrics,
        weights: np.ndarray | None = None,
    ) -> bool:
        """One optimizer step on a minibatch; False when the NaN guard stopped training."""
        if self.transform is not None:
            x = self.transform(x, self.rng)
            if x.dtype != self.dtype:
                x = x.astype(self.dtype)
        self.batch_index, self.x_batch, self.y_batch = b, x, y
        for hook in self._hooks["on_batch_begin"]:
            hook(self, b)
        model = self.model
        # A callback may have evaluated the model.
        if not model.training:
            model.train()
        for p in self._params:
            p.zero_grad()
        try:
            out = model.forward(x)
            if weights is None:
                loss = self.loss(out, y)
            else:  # a loss that takes sample weights (every trainlab.nn loss)
                loss = self.loss(out, y, sample_weight=weights)  # type: ignore[call-arg]
        except ValueError as exc:
            if self.nan_guard and is_non_finite_error(exc):
                return self._diverge(b, f"the forward pass produced NaN or infinite values ({exc})")
            raise
        self.output, self.batch_loss = out, loss
        running.update(loss, out, y, labels)
        if self.nan_guard and not math.isfinite(loss):
            return self._diverge(b, f"the loss is {loss}")
        backward_from_loss(model, self.loss.backward())
        for hook in self._hooks["on_after_backward"]:
            hook(self)
        if not self._clip(b):
            return False
        self.optimizer.step()
        self.global_step += 1
        for hook in self._hooks["on_batch_end"]:
            hook(self, b, loss)
        return True

    def _clip(self, b: int) -> bool:
        """Check the gradients (NaN guard), clip them, call on_after_clip."""
        params = self._params
        before = math.nan
        if self.clip_norm is not None:
            before = clip_grad_norm(params, self.clip_norm)
        elif self._track_norm:
            before = global_grad_norm(params)
        if self.nan_guard and not math.isfinite(before):
            name = first_non_finite_grad(self.model.named_parameters())
            if name is not None:  # (an overflowing sum of finite squares is no divergence)
                return self._diverge(b, f"the gradient of '{name}' contains NaN or infinite values")
        if self.clip_value is not None:
            clip_grad_value(params, self.clip_value)
        hooks = self._hooks["on_after_clip"]
        if hooks:
            clipped = self.clip_norm is not None or self.clip_value is not None
            after = global_grad_norm(params) if clipped else before
            for hook in hooks:
                hook(self, before, after)
        return True

    def _diverge(self, b: int, cause: str) -> bool:
        """Stop training: record where and why, with the remedies (``fit`` warns). Returns False."""
        epoch, step, global_step = self.current_epoch, b + 1, self.global_step + 1
        self.history.diverged = {
            "epoch": epoch, "step": step, "global_step": global_step, "cause": cause,
        }  # fmt: skip
        self.history.stop_reason = divergence_message(
            epoch, step, self.batches_per_epoch, global_step, cause,
            weights_finite(self.model), float(self.optimizer.lr),
        )  # fmt: skip
        self.stop_training = True
        return False

    def _evaluate(
        self, X: np.ndarray, y: np.ndarray, labels: np.ndarray | None
    ) -> dict[str, float]:
        return evaluate_batches(self.model, self.loss, X, y, labels, self.task,
                                self.eval_batch_size, self.metrics)


def fit(
    model: Module,
    loss: Loss,
    optimizer: Optimizer,
    X: Any,
    y: Any,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    validation_data: tuple[Any, Any] | None = None,
    sample_weight: Any = None,
    schedule: Schedule | None = None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    callbacks: Iterable[Callback] = (),
    transform: Transform | None = None,
    task: str | None = None,
    rng: RngLike = None,
    verbose: int = 1,
    nan_guard: bool = True,
    metrics: Iterable[str] = (),
) -> History:
    """Train in one call: ``Trainer(model, loss, optimizer, ...).fit(X, y, ...)``.

    The arguments are those of :class:`Trainer` and :meth:`Trainer.fit`. Returns the
    :class:`History`.
    """
    trainer = Trainer(
        model,
        loss,
        optimizer,
        schedule=schedule,
        clip_norm=clip_norm,
        clip_value=clip_value,
        callbacks=callbacks,
        transform=transform,
        task=task,
        rng=rng,
        verbose=verbose,
        nan_guard=nan_guard,
        metrics=metrics,
    )
    return trainer.fit(X, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                       sample_weight=sample_weight)
