"""What the classifier and the regressor share: parameters, building the run, the fit.

The estimators behave as scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` wherever
a parameter or fitted attribute has the same name (the same defaults, objective,
stopping rule, warnings, ``warm_start``/``partial_fit`` rules and attributes), and add
trainlab's choices on top. A fit is, with one generator ``rng`` from ``random_state``
(nothing else is random)::

    X = X.astype(dtype)                     # dtype=None: float32 input stays float32
    scaler = Standardizer().fit(X)          # only with standardize=True
    model = build_mlp(MLPConfig(...), rng=rng)          # Linear layers: coefs_, intercepts_
    solver == "lbfgs":  scipy L-BFGS-B on the flat parameters, see _lbfgs
    otherwise:          the trainlab optimizer, epoch by epoch, see _stochastic

with the objective of :mod:`trainlab.sklearn._losses` (scikit-learn's losses plus the
L2 term ``alpha``). ``coefs_[i]`` and ``intercepts_[i]`` are the weight (fan_in, fan_out)
and bias of the i-th Linear layer: the model's own arrays, so writing into them changes
the model; lists assigned by the user are copied into the model before training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from trainlab import data
from trainlab.recipe import RunConfig, SettingError, from_flat
from trainlab.runs import build
from trainlab.sklearn import _lbfgs, _params, _stochastic
from trainlab.sklearn._losses import OUTPUT_OF, linears, objective, output
from trainlab.sklearn._params import Settings
from trainlab.train.history import History

NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain "
              "large values and need to be preprocessed.")


def recipe(settings: Settings, dtype: str) -> RunConfig:
    """The estimator's settings as the run recipe that every front door builds from
    (model, optimizer and schedule; the estimator keeps its own data handling).

    SGD gets ``momentum`` and ``nesterovs_momentum``; Adam and AdamW ``beta_1``,
    ``beta_2`` and ``epsilon``; the schedule's ``lr_gamma``, ``lr_step_size`` and
    ``lr_patience`` go to the schedule that uses them.
    """
    optimizer = "adam" if settings.solver == _params.LBFGS else settings.solver
    values: dict[str, Any] = {
        "hidden": list(settings.hidden_sizes), "activation": settings.activation,
        "init": settings.init, "norm": settings.norm, "dropout": settings.dropout,
        "dropconnect": settings.dropconnect, "dtype": dtype,
        "optimizer": optimizer, "lr": settings.learning_rate,
        "weight_decay": settings.weight_decay, "epochs": settings.max_iter,
        "schedule": settings.schedule or "none",
    }
    if optimizer == "sgd":
        values["momentum"] = settings.momentum
        values["nesterov"] = settings.nesterov and settings.momentum > 0
    if optimizer in ("adam", "adamw"):
        values.update(beta1=settings.beta_1, beta2=settings.beta_2, eps=settings.epsilon)
    schedule_settings: dict[str, dict[str, Any]] = {
        "exponential": {"gamma": settings.lr_gamma},
        "step": {"step_size": settings.lr_step_size, "gamma": settings.lr_gamma},
        "cosine": {"t_max": settings.max_iter},
        "plateau": {"factor": settings.lr_gamma, "plateau_patience": settings.lr_patience},
    }
    values.update(schedule_settings.get(settings.schedule or "none", {}))
    try:
        return from_flat(values)
    except SettingError as exc:
        raise _params.InvalidParameterError(f"{exc}") from None


def check_sample_weight(sample_weight: Any, X: Any) -> np.ndarray | None:
    """None, or the weights as float64 (n,), finite, >= 0 and not all 0 (scikit-learn's
    check and messages)."""
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


class _RateView:
    """``learning_rate``: the current rate of a trainlab optimizer, by scikit-learn's name."""

    def __init__(self, optimizer: Any) -> None:
        self._optimizer = optimizer

    @property
    def learning_rate(self) -> float:
        return float(self._optimizer.lr)


class MLPBase(BaseEstimator):
    """A trainlab MLP behind scikit-learn's estimator interface (see the subclasses).

    scikit-learn's parameters, with its defaults and meaning
        hidden_layer_sizes (100,); activation 'relu' ('identity', 'logistic', 'tanh',
        'relu', and trainlab's 'sigmoid', 'leaky_relu', 'elu', 'selu', 'gelu');
        solver 'adam' ('lbfgs', 'sgd', 'adam', and trainlab's 'adagrad', 'rmsprop',
        'adamw'); alpha 1e-4 (L2 penalty ½α‖W‖²/S on the weights, not the biases);
        batch_size 'auto' (min(200, n)); learning_rate 'constant' ('invscaling',
        'adaptive': solver='sgd' only; a number here is the initial rate);
        learning_rate_init 1e-3; power_t 0.5; max_iter 200 (epochs, or L-BFGS
        iterations); shuffle True; random_state None; tol 1e-4; verbose False
        (True or an int > 0 prints a line per epoch); warm_start False; momentum 0.9;
        nesterovs_momentum True; early_stopping False (hold out validation_fraction 0.1,
        stratified for single-output classification; stop on the validation accuracy /
        R² and restore the best weights); beta_1 0.9; beta_2 0.999; epsilon 1e-8;
        n_iter_no_change 10; max_fun 15000 (lbfgs).
    trainlab's additions (notes §1-§8)
        init: None for the activation's recommended initializer (``trainlab.init.RECOMMENDED``:
            He for the ReLU family, LeCun for SELU and identity, Xavier for tanh and
            sigmoid), or any ``trainlab.init`` name; it applies to every layer.
        norm: 'none', 'batch' or 'layer', after each hidden Linear.
        dropout, dropconnect: drop probabilities of hidden units / hidden weights.
        optimizer: another name for ``solver`` (None: use ``solver``), any name of
            ``trainlab.optim.OPTIMIZERS`` (plugins included).
        weight_decay: the optimizer's own L2 term added to the gradient (on every
            parameter); AdamW decays the weights directly.
        schedule: None, 'exponential' (lr·lr_gamma each epoch), 'step' (lr·lr_gamma every
            lr_step_size epochs), 'cosine' (to 0 over max_iter) or 'plateau' (lr·lr_gamma
            after lr_patience epochs without a lower validation loss, or training loss
            without early stopping).
        clip_norm / clip_value: clip the gradients by global norm or by value (one).
        epochs, patience: other names for max_iter and n_iter_no_change (None: use those).
        standardize: standardise the inputs with statistics of the training data (§7);
            off by default, as scikit-learn does not.
        dtype: the model's; None (default) follows the input as scikit-learn does
            (float32 stays float32, anything else is float64), or 'float32'/'float64'.
        random_state may also be a np.random.Generator; the one generator built from it
            draws the split, the weights, the dropout generators and the minibatch order.

    Fitted attributes, as scikit-learn's: ``coefs_``, ``intercepts_``, ``n_layers_``,
    ``n_outputs_``, ``out_activation_`` ('identity', 'exp', 'logistic' or 'softmax'),
    ``loss_``, ``best_loss_``, ``loss_curve_``, ``validation_scores_``,
    ``best_validation_score_``, ``n_iter_`` (epochs of the last call), ``t_`` (training
    rows seen), ``n_features_in_``, ``feature_names_in_``. trainlab's: ``model_`` (the
    ``nn.Sequential``), ``optimizer_`` and ``schedule_`` (stochastic solvers),
    ``scaler_`` (or None), ``history_`` (a :class:`~trainlab.train.History`: per epoch
    the loss, the rate and, with early stopping, the validation loss and score).

    Sparse X (CSR/CSC) is accepted and densified a batch at a time. When training
    diverges (a NaN or infinite loss or gradient), ``fit`` warns with
    :class:`~trainlab.train.DivergenceWarning` naming the epoch, the step and the
    remedies, and keeps the weights of the last finite step; ``history_.diverged`` says
    where. The epoch's entry of ``loss_curve_`` (and of ``validation_scores_``, NaN) is
    recorded; ``n_iter_`` counts completed epochs only.
    """

    _task = ""  # "classification" or "regression"
    _score_name = ""  # the History column of the validation score

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 1e-4,
        batch_size: Any = "auto",
        learning_rate: Any = "constant",
        learning_rate_init: float = 1e-3,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: Any = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: Any = 10,
        max_fun: int = 15000,
        init: str | None = None,
        norm: str = "none",
        dropout: float = 0.0,
        dropconnect: float = 0.0,
        optimizer: str | None = None,
        weight_decay: float = 0.0,
        schedule: str | None = None,
        lr_gamma: float = 0.9,
        lr_step_size: int = 10,
        lr_patience: int = 5,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        epochs: int | None = None,
        patience: int | None = None,
        standardize: bool = False,
        dtype: str | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.init = init
        self.norm = norm
        self.dropout = dropout
        self.dropconnect = dropconnect
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.lr_gamma = lr_gamma
        self.lr_step_size = lr_step_size
        self.lr_patience = lr_patience
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.epochs = epochs
        self.patience = patience
        self.standardize = standardize
        self.dtype = dtype

    # -- subclass hooks ------------------------------------------------------------------
    def _encode(self, X: Any, y: Any, settings: Settings, *, incremental: bool,
                reset: bool) -> tuple[Any, np.ndarray]:
        """Validated X (dense or CSR/CSC) and the targets as a float (n, outputs) array."""
        raise NotImplementedError

    def _loss_name(self) -> str:
        """scikit-learn's name of the loss for the encoded targets."""
        raise NotImplementedError

    def _weights(self, y: Any, sample_weight: np.ndarray | None) -> np.ndarray | None:
        """The per-row weights of the loss (the classifier multiplies in class_weight)."""
        return sample_weight

    def _validation(self, X: Any, Y: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
        """(score, loss) on held-out data: accuracy or R², and the loss without the L2 term."""
        raise NotImplementedError

    # -- fitting ---------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> Any:
        settings = _params.resolve(self)
        if incremental and settings.solver == _params.LBFGS:
            raise AttributeError(
                f"{type(self).__name__}: partial_fit is only available for stochastic "
                "solvers; solver='lbfgs' is not stochastic."
            )
        if incremental and settings.early_stopping:
            raise ValueError(f"{type(self).__name__}: partial_fit does not support "
                             "early_stopping=True.")
        first = not hasattr(self, "model_") or (not settings.warm_start and not incremental)
        X, Y = self._encode(X, y, settings, incremental=incremental, reset=first)
        w = self._weights(y, check_sample_weight(sample_weight, X))
        if first:
            self._initialize(settings, X, Y)
        else:
            self._restart(settings)
        self._copy_assigned_weights()
        dtype = self.model_.parameters()[0].data.dtype
        Y = Y.astype(dtype)
        X = self._scale(X, dtype)
        if settings.solver == _params.LBFGS:
            _lbfgs.run(self, _stochastic.rows(X, slice(None), dtype), Y, w, self._loss_name(),
                       settings.alpha, settings.max_iter, settings.max_fun, settings.tol)
            self.best_loss_: float | None = self.loss_
        else:
            if not incremental or not hasattr(self, "optimizer_"):
                config = recipe(settings, dtype.name)
                self.optimizer_ = build.build_optimizer(config, self.model_.parameters())
                self.schedule_ = build.build_schedule(config, self.optimizer_)
            validation = None
            if settings.early_stopping:
                stratify = self._task == "classification" and Y.shape[1] == 1
                X, Y, w, validation = _stochastic.holdout(self, settings, X, Y, w, stratify)
            _stochastic.run(self, settings, X, Y, w, validation, self._loss_name(), incremental)
        self._publish()
        if not all(np.isfinite(a).all() for a in self.coefs_ + self.intercepts_):
            raise ValueError(NON_FINITE)
        return self

    def _initialize(self, settings: Settings, X: Any, Y: np.ndarray) -> None:
        """A new run: the generator, the scaler, the model and the fitted counters.
        ``coefs_``/``intercepts_`` assigned before the first fit are kept (copied into the
        new model); those of an earlier fit are not."""
        if hasattr(self, "model_"):
            for name in ("coefs_", "intercepts_"):
                self.__dict__.pop(name, None)
        self._rng = _params.random_state(self)
        dtype = settings.dtype or (X.dtype.name if X.dtype == np.float32 else "float64")
        if settings.standardize:
            dense = X.toarray() if sp.issparse(X) else X
            self.scaler_: data.Standardizer | None = data.Standardizer().fit(
                np.asarray(dense, dtype=dtype))
        else:
            self.scaler_ = None
        config = recipe(settings, dtype)
        _, self.model_ = build.build_model(config, X.shape[1], Y.shape[1], self._rng)
        self.model_.eval()
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(settings.hidden_sizes) + 2
        self.out_activation_ = OUTPUT_OF[self._loss_name()]
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_: list[float] = []
        self.history_ = History()
        self._no_improvement_count = 0
        self._best_weights = [p.data.copy() for p in self.model_.parameters()]
        stochastic = settings.solver != _params.LBFGS
        if stochastic and settings.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None
        for name in ("optimizer_", "schedule_"):
            self.__dict__.pop(name, None)

    def _restart(self, settings: Settings) -> None:
        """warm_start or partial_fit: keep the model; start the early-stopping record
        when it was off before."""
        if settings.early_stopping and self.validation_scores_ is None:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        if settings.early_stopping:
            self._best_weights = [p.data.copy() for p in self.model_.parameters()]

    def _copy_assigned_weights(self) -> None:
        """Copy ``coefs_``/``intercepts_`` that were assigned (not the model's own arrays)
        into the model."""
        for name, attr in (("coefs_", "weight"), ("intercepts_", "bias")):
            assigned = self.__dict__.get(name)
            if assigned is None:
                continue
            for layer, value in zip(linears(self.model_), assigned, strict=True):
                target = getattr(layer, attr).data
                if value is not target:
                    target[...] = np.asarray(value, dtype=target.dtype).reshape(target.shape)

    def _publish(self) -> None:
        """coefs_ and intercepts_: the Linear layers' weights and biases (the same arrays)."""
        layers = linears(self.model_)
        self.coefs_ = [layer.weight.data for layer in layers]
        self.intercepts_ = [layer.bias.data for layer in layers if layer.bias is not None]

    def _loss_grad_lbfgs(self, packed_coef_inter: np.ndarray, X: Any, y: np.ndarray,
                         sample_weight: np.ndarray | None, *_: Any) -> tuple[float, np.ndarray]:
        """The objective and its gradient at the flat parameters θ (scikit-learn's packing:
        coefs, then intercepts) on (X, y), y encoded as the output layer's targets (n, k).
        The parameters are left at θ."""
        params = _lbfgs.ordered(self.model_)
        _lbfgs.assign(params, np.asarray(packed_coef_inter, dtype=np.float64))
        dtype = params[0].data.dtype
        X = _stochastic.rows(self._scale(X, dtype), slice(None), dtype)
        Y = np.asarray(y, dtype=dtype).reshape(X.shape[0], -1)
        w = check_sample_weight(sample_weight, X)
        value = objective(self.model_, linears(self.model_), X, Y, w, self._loss_name(),
                          float(self.alpha))
        self.model_.eval()
        return value, _lbfgs.flat(params, "grad")

    def _scale(self, X: Any, dtype: np.dtype) -> Any:
        if self.scaler_ is None:
            return X
        dense = X.toarray() if sp.issparse(X) else X
        return self.scaler_.transform(np.asarray(dense, dtype=dtype))

    def _dtype_arg(self, settings: Settings, reset: bool) -> Any:
        if not reset and hasattr(self, "model_"):
            return self.model_.parameters()[0].data.dtype
        return settings.dtype or (np.float64, np.float32)

    @property
    def _optimizer(self) -> _RateView:
        """scikit-learn's name for the stochastic optimizer; its ``learning_rate`` is the
        current rate."""
        check_is_fitted(self, "optimizer_")
        return _RateView(self.optimizer_)

    # -- inference -------------------------------------------------------------------------
    def _raw(self, X: Any) -> np.ndarray:
        """The model's last-layer outputs z (n, outputs) in evaluation mode, model dtype."""
        model = self.model_
        dtype = model.parameters()[0].data.dtype
        X = self._scale(X, dtype)
        model.eval()
        chunks = [model.forward(_stochastic.rows(X, slice(i, i + 4096), dtype))
                  for i in range(0, X.shape[0], 4096)]
        out = np.concatenate(chunks) if chunks else np.empty((0, self.n_outputs_), dtype)
        return np.asarray(out, dtype=dtype)

    def _forward(self, X: Any) -> np.ndarray:
        """ψ(z): the outputs as scikit-learn's ``_forward_pass_fast`` returns them."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                          dtype=self.model_.parameters()[0].data.dtype)
        return self._raw_output(self._raw(X))

    def _raw_output(self, z: np.ndarray) -> np.ndarray:
        return output(z, self.out_activation_)
