"""``MLPRegressor``: a trainlab MLP regressor that behaves as scikit-learn's.

loss='squared_error' (default): identity output, ½·mean squared error; loss='poisson':
exp output (the log link), half the Poisson deviance, for counts y >= 0. y may be (n,)
— predictions are (n,) — or (n, k) — predictions are (n, k) — in the model's dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from trainlab.sklearn import _params
from trainlab.sklearn._base import MLPBase
from trainlab.sklearn._losses import loss_and_grad, output

LOSSES = ("squared_error", "poisson")


def _stochastic_solver(estimator: Any) -> bool:
    solver = estimator.solver if estimator.optimizer is None else estimator.optimizer
    return solver != _params.LBFGS


class MLPRegressor(RegressorMixin, MLPBase):
    """Multilayer-perceptron regressor (see :class:`MLPBase` for every parameter and
    fitted attribute).

    loss: 'squared_error' or 'poisson'.

    Defaults as scikit-learn's: one hidden layer of 100 ReLU units, Adam with
    learning_rate_init=1e-3, alpha=1e-4, batches of min(200, n), at most 200 epochs,
    stopping after 10 epochs without a loss improvement of tol=1e-4.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 3)); y = X @ [1.0, -2.0, 0.5]
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", random_state=0).fit(X, y)
    >>> reg.predict(X[:4]).shape
    (4,)
    """

    _task = "regression"
    _score_name = "r2"

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
        loss: str = "squared_error",
    ) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, init=init, norm=norm, dropout=dropout, dropconnect=dropconnect,
            optimizer=optimizer, weight_decay=weight_decay, schedule=schedule,
            lr_gamma=lr_gamma, lr_step_size=lr_step_size, lr_patience=lr_patience,
            clip_norm=clip_norm, clip_value=clip_value, epochs=epochs, patience=patience,
            standardize=standardize, dtype=dtype,
        )
        self.loss = loss

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _encode(self, X: Any, y: Any, settings: _params.Settings, *, incremental: bool,
                reset: bool) -> tuple[Any, np.ndarray]:
        loss = _params._Checker(self).choice("loss", LOSSES)
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=self._dtype_arg(settings, reset),
                             reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if loss == "poisson" and (y < 0).any():
            raise ValueError(f"{type(self).__name__}: loss='poisson' needs targets y >= 0. "
                             f"Received a minimum of {y.min()!r}.")
        outputs = 1 if y.ndim == 1 else y.shape[1]
        if not reset and hasattr(self, "n_outputs_") and outputs != self.n_outputs_:
            raise ValueError(
                f"{type(self).__name__}: y must have {self.n_outputs_} column(s), as in the "
                f"previous fit. Received shape {y.shape}."
            )
        if reset or not hasattr(self, "_y_ndim"):
            self._y_ndim = y.ndim
        return X, np.asarray(y, dtype=np.float64).reshape(y.shape[0], outputs)

    def _loss_name(self) -> str:
        return str(self.loss)

    def _validation(self, X: Any, Y: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
        z = self._raw(X)
        pred = output(z, self.out_activation_)
        if not np.isfinite(pred).all():
            return float("nan"), float("nan")
        loss, _ = loss_and_grad(self._loss_name(), z, Y, w)
        return float(r2_score(Y, pred, sample_weight=w)), loss

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit on X (n, d) (dense or sparse) and y (n,) or (n, k), each row weighted by
        ``sample_weight``. Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic_solver)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch on (X, y), continuing the model and the optimizer. Not available
        with solver='lbfgs'; an error with early_stopping=True."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (n,) when fitted on a 1-D y, else (n, k), in the model's dtype."""
        out = self._forward(X)
        return out[:, 0] if self._y_ndim == 1 else out
