"""``MLPRegressor``: a trainlab MLP regressor with scikit-learn's interface.

The output layer is the identity (notes §1) and the loss is the mean squared error
(MSELoss). y may be (n,) — predictions are (n,) — or (n, k) for k outputs at once —
predictions are (n, k). Targets are used as given: scale them yourself when they are
far from unit scale (``TransformedTargetRegressor(regressor, transformer=StandardScaler())``).
Predictions are float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import validate_data

from trainlab import nn
from trainlab.sklearn import _params
from trainlab.sklearn._base import MLPBase


class MLPRegressor(RegressorMixin, MLPBase):
    """Multilayer-perceptron regressor trained with trainlab (see :class:`MLPBase`
    for every parameter and fitted attribute).

    Defaults: one hidden layer of 100 ReLU units with He-normal weights, Adam with
    learning_rate=1e-3, 200 epochs of minibatches of 32, standardised inputs, float64.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 3)); y = X @ [1.0, -2.0, 0.5]
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), epochs=50, random_state=0).fit(X, y)
    >>> reg.predict(X[:4]).shape
    (4,)
    """

    _task = "regression"
    _score_name = "r2"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _validate_Xy(self, X: Any, y: Any, *, reset: bool, settings: _params.Settings):
        X, y = validate_data(
            self, X, y, reset=reset, dtype=settings.dtype, multi_output=True, y_numeric=True
        )
        return X, y

    def _loss_and_outputs(self, y: np.ndarray) -> tuple[Any, int]:
        return nn.MSELoss(), 1 if y.ndim == 1 else y.shape[1]

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train a new model on X (n, d) and y (n,) or (n, k) for ``epochs`` epochs
        (fewer with early stopping). Returns self."""
        settings = _params.resolve(self)
        X, y = self._validate_Xy(X, y, reset=True, settings=settings)
        self._y_ndim = y.ndim
        self._fit(X, y, settings)
        return self

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train one epoch on (X, y), continuing the model, optimizer and generator.

        The first call builds the run (the number of outputs from y) and fits the input
        standardisation on its X; later calls take only ``batch_size`` from the current
        parameters. After ``fit`` it continues that run, without early stopping.
        """
        first = not hasattr(self, "trainer_")
        settings = _params.resolve(self)
        X, y = self._validate_Xy(X, y, reset=first, settings=settings)
        if first:
            self._y_ndim = y.ndim
        outputs = 1 if y.ndim == 1 else y.shape[1]
        expected = self.n_outputs_ if not first else outputs
        if outputs != expected:
            raise ValueError(
                f"{type(self).__name__}.partial_fit: y must have {expected} column(s), as on "
                f"the first call. Received shape {y.shape}."
            )
        self._partial_fit(X, y, settings, first)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (n,) when fitted on a 1-D y, else (n, k)."""
        out = self._forward(X)
        return out[:, 0] if self._y_ndim == 1 else out
