"""What the classifier and the regressor share: parameters, building the run, the fit loop.

A fit is, with one generator ``rng`` from ``random_state`` (nothing else is random)::

    X = X.astype(dtype)                                    # the model's dtype
    X, y, X_val, y_val = train_val_test_split(X, y, validation_fraction, 0, seed=rng)
                                                           # only with early_stopping
    scaler = Standardizer().fit(X);  X = scaler.transform(X)   # only with standardize
    model = build_mlp(MLPConfig(...), rng=rng)
    optimizer = Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    trainer = Trainer(model, loss, optimizer, callbacks=[...], clip_norm=..., rng=rng)
    trainer.fit(X, y, epochs=epochs, batch_size=batch_size, validation_data=...)

so the same few lines written by hand give the same weights, bit for bit
(``tests/test_sklearn.py`` checks it). ``partial_fit`` builds the same run on its first
call and then trains one epoch per call (no early stopping; a schedule steps once per call).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from trainlab import data
from trainlab.recipe import RunConfig, SettingError, from_flat
from trainlab.runs import build
from trainlab.sklearn import _params
from trainlab.sklearn._params import Settings
from trainlab.train import EarlyStopping, LRScheduler, Trainer


def recipe(settings: Settings) -> RunConfig:
    """The estimator's settings as the run recipe that every front door builds from
    (model, optimizer and schedule; the estimator keeps its own data handling).

    ``momentum`` goes to SGD only (the other optimizers have none); the schedule's
    ``lr_gamma``, ``lr_step_size`` and ``lr_patience`` go to the schedule that uses them.
    """
    values: dict[str, Any] = {
        "hidden": list(settings.hidden_sizes), "activation": settings.activation,
        "init": settings.init, "norm": settings.norm, "dropout": settings.dropout,
        "dropconnect": settings.dropconnect, "dtype": settings.dtype,
        "optimizer": settings.optimizer, "lr": settings.learning_rate,
        "weight_decay": settings.weight_decay, "clip_norm": settings.clip_norm,
        "clip_value": settings.clip_value, "batch_size": settings.batch_size,
        "epochs": settings.epochs, "schedule": settings.schedule or "none",
    }
    if settings.optimizer == "sgd":
        values["momentum"] = settings.momentum
    schedule_settings: dict[str, dict[str, Any]] = {
        "exponential": {"gamma": settings.lr_gamma},
        "step": {"step_size": settings.lr_step_size, "gamma": settings.lr_gamma},
        "cosine": {"t_max": settings.epochs},
        "plateau": {"factor": settings.lr_gamma, "plateau_patience": settings.lr_patience},
    }
    values.update(schedule_settings.get(settings.schedule or "none", {}))
    try:
        return from_flat(values)
    except SettingError as exc:
        raise _params.InvalidParameterError(f"{exc}") from None


class MLPBase(BaseEstimator):
    """A trainlab MLP behind scikit-learn's estimator interface (see the subclasses).

    Architecture (notes §1, §2, §4, §7, §8)
        hidden_layer_sizes: width of each hidden layer, (100,) by default; () is linear.
        activation: relu, leaky_relu, elu, selu, gelu, tanh, sigmoid or identity.
        init: None for the activation's recommended initializer (``trainlab.init.RECOMMENDED``:
            He for the ReLU family, LeCun for SELU and identity, Xavier for tanh and
            sigmoid), or any ``trainlab.init`` name; it applies to every layer.
        norm: 'none', 'batch' or 'layer', after each hidden Linear.
        dropout, dropconnect: drop probabilities of hidden units / hidden weights.
    Optimisation (§5, §6)
        optimizer: 'sgd', 'adagrad', 'rmsprop', 'adam' or 'adamw'.
        learning_rate: the initial rate (1e-3, for every optimizer).
        momentum: SGD's ρ (0.9; 0 gives plain SGD); the other optimizers ignore it.
        weight_decay: L2 term added to the gradient; AdamW decays the weights directly.
        schedule: None, 'exponential' (lr·lr_gamma each epoch), 'step' (lr·lr_gamma every
            lr_step_size epochs), 'cosine' (to 0 over ``epochs``) or 'plateau' (lr·lr_gamma
            after lr_patience epochs without a lower validation loss, or training loss
            without early stopping).
        clip_norm / clip_value: clip the gradients by global norm or by value (one).
        batch_size, epochs: minibatch size and number of passes over the data.
    Early stopping
        early_stopping: hold out validation_fraction of the data (stratified for the
            classifier), stop when its loss has not improved for ``patience`` epochs and
            restore the weights of the best epoch.
    Data and the run
        standardize: standardise the inputs with statistics of the training part (§7).
        dtype: the model's, 'float64' (default) or 'float32'. scikit-learn computes in
            float64 and expects a row's prediction not to depend on the other rows of the
            batch to 1e-7; float32 products round differently for one row and for many
            (~1e-7 relative), so choose float32 for speed only. Outputs are float64.
        random_state: None, an int, a np.random.Generator or a np.random.RandomState; the
            one generator built from it draws the split, the weights, the dropout
            generators and the minibatch order.
        verbose: 0 silent, 1 a progress bar, 2 one line per epoch (a bool is 0 or 1).

    Fitted attributes: ``model_`` (the trainlab ``nn.Sequential``), ``optimizer_``,
    ``trainer_`` (the :class:`~trainlab.train.Trainer`), ``history_`` (its History),
    ``scaler_`` (the Standardizer, or None), ``loss_curve_`` (training loss per epoch),
    ``validation_scores_`` (validation accuracy / R² per epoch, or None),
    ``best_validation_score_`` (or None), ``n_iter_`` (epochs trained in total),
    ``n_outputs_`` (the width of the output layer), ``n_features_in_`` and
    ``feature_names_in_`` (for DataFrames).

    When training diverges (a NaN or infinite loss or gradient), ``fit`` warns with
    :class:`~trainlab.train.DivergenceWarning` naming the epoch, the step and the
    remedies, and keeps the weights of the last finite step; ``history_.diverged`` says
    where, and the last entry of ``loss_curve_`` is that epoch's (the mean loss of the
    steps before the failure); ``n_iter_`` counts completed epochs only.
    """

    _task = ""  # "classification" or "regression"
    _score_name = ""  # the History column of the validation score

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        init: str | None = None,
        norm: str = "none",
        dropout: float = 0.0,
        dropconnect: float = 0.0,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        schedule: str | None = None,
        lr_gamma: float = 0.9,
        lr_step_size: int = 10,
        lr_patience: int = 5,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        batch_size: int = 32,
        epochs: int = 200,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        standardize: bool = True,
        dtype: str = "float64",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.init = init
        self.norm = norm
        self.dropout = dropout
        self.dropconnect = dropconnect
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.lr_gamma = lr_gamma
        self.lr_step_size = lr_step_size
        self.lr_patience = lr_patience
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.standardize = standardize
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # -- subclass hooks ------------------------------------------------------------------
    def _loss_and_outputs(self, y: np.ndarray) -> tuple[Any, int]:
        """The trainlab loss and the number of model outputs for the encoded targets."""
        raise NotImplementedError

    # -- training --------------------------------------------------------------------------
    def _validate_X(self, X: Any, *, reset: bool, dtype: Any) -> np.ndarray:
        return validate_data(self, X, reset=reset, dtype=dtype)

    def _start(self, settings: Settings, X: np.ndarray, y: np.ndarray, *, holdout: bool) -> Any:
        """Build scaler, model, optimizer and trainer (fitted attributes).

        Returns the training part of (X, y) (all of it without ``holdout``) and the
        validation data, scaled, or None."""
        rng = _params.random_state(self)
        validation = None
        if holdout:
            X, y, X_val, y_val = self._split(X, y, settings.validation_fraction, rng)
        self.scaler_ = data.Standardizer().fit(X) if settings.standardize else None
        if holdout:
            validation = (self._scale(X_val), y_val)
        loss, outputs = self._loss_and_outputs(y)
        config = recipe(settings)
        _, self.model_ = build.build_model(config, X.shape[1], outputs, rng)
        self.n_outputs_ = outputs
        self.optimizer_ = build.build_optimizer(config, self.model_.parameters())
        callbacks: list[Any] = []
        schedule = build.build_schedule(config, self.optimizer_)
        if schedule is not None:
            callbacks.append(LRScheduler(schedule, monitor="val_loss" if holdout else "loss"))
        if holdout:
            callbacks.append(EarlyStopping("val_loss", patience=settings.patience))
        self.trainer_ = Trainer(
            self.model_,
            loss,
            self.optimizer_,
            callbacks=callbacks,
            clip_norm=settings.clip_norm,
            clip_value=settings.clip_value,
            rng=rng,
            verbose=settings.verbose,
        )
        self.history_ = self.trainer_.history
        return X, y, validation

    def _split(self, X: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator):
        try:
            X_tr, y_tr, X_val, y_val, _, _ = data.train_val_test_split(
                X, y, val_fraction=fraction, test_fraction=0.0,
                stratify=self._task == "classification", seed=rng,
            )  # fmt: skip
        except ValueError as exc:
            raise ValueError(
                f"{type(self).__name__}: cannot hold out validation_fraction={fraction!r} of "
                f"{X.shape[0]} examples for early stopping ({exc})."
            ) from exc
        return X_tr, y_tr, X_val, y_val

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return X if self.scaler_ is None else self.scaler_.transform(X)

    def _train(self, settings: Settings, X: np.ndarray, y: np.ndarray, validation: Any,
               epochs: int) -> None:
        """Run the trainer on (X, y) (not yet scaled) up to ``epochs`` epochs in total and
        record the fitted curves."""
        trainer = self.trainer_
        trainer.fit(
            self._scale(X),
            y,
            epochs=epochs,
            batch_size=settings.batch_size,
            validation_data=validation,
        )
        history = trainer.history
        self.n_iter_ = trainer.epoch
        self.loss_curve_ = [row["loss"] for row in history.rows]
        column = f"val_{self._score_name}"
        if column in history:
            scores = history[column]
            self.validation_scores_: list[float] | None = scores
            self.best_validation_score_: float | None = max(scores)
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _fit(self, X: np.ndarray, y: np.ndarray, settings: Settings) -> None:
        """A fresh run of ``settings.epochs`` epochs on the encoded (X, y)."""
        X, y, validation = self._start(settings, X, y, holdout=settings.early_stopping)
        self._train(settings, X, y, validation, settings.epochs)

    def _partial_fit(self, X: np.ndarray, y: np.ndarray, settings: Settings, first: bool):
        """One more epoch on (X, y); the first call builds the run."""
        if first:
            self._start(settings, X, y, holdout=False)
        else:  # after fit(early_stopping=True): no held-out data here, no early stopping
            trainer = self.trainer_
            trainer.callbacks = [c for c in trainer.callbacks if not isinstance(c, EarlyStopping)]
            for callback in trainer.callbacks:
                if isinstance(callback, LRScheduler):
                    callback.monitor = "loss"
        self._train(settings, X, y, None, self.trainer_.epoch + 1)

    # -- inference -------------------------------------------------------------------------
    def _forward(self, X: Any) -> np.ndarray:
        """The model's outputs in evaluation mode, as float64 (n, outputs)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, dtype=self.trainer_.dtype)
        return self.trainer_.predict(self._scale(X)).astype(np.float64, copy=False)
