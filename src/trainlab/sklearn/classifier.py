"""``MLPClassifier``: a trainlab MLP classifier with scikit-learn's interface.

Output layer ψ by task (notes §1): with two classes the model has one output, a logit
z, trained with BCEWithLogitsLoss (sigmoid + binary cross-entropy), and
``P(classes_[1] | x) = σ(z)``; with k > 2 classes it has k logits trained with
CrossEntropyLoss (softmax + cross-entropy) and the probabilities are ``softmax(z)``.
``decision_function`` returns z: shape (n,) for two classes, (n, k) otherwise, as
scikit-learn's linear classifiers do. Probabilities are computed in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d, validate_data

from trainlab import nn
from trainlab.sklearn import _params
from trainlab.sklearn._base import MLPBase


class MLPClassifier(ClassifierMixin, MLPBase):
    """Multilayer-perceptron classifier trained with trainlab (see :class:`MLPBase`
    for every parameter and fitted attribute).

    Defaults: one hidden layer of 100 ReLU units with He-normal weights, Adam with
    learning_rate=1e-3, 200 epochs of minibatches of 32, standardised inputs, float64.
    Also fitted: ``classes_`` (the sorted labels).

    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), epochs=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 10)
    """

    _task = "classification"
    _score_name = "accuracy"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags

    # -- fitting -----------------------------------------------------------------------
    def _validate_Xy(self, X: Any, y: Any, *, reset: bool, settings: _params.Settings):
        X, y = validate_data(self, X, y, reset=reset, dtype=settings.dtype)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return X, y

    def _loss_and_outputs(self, y: np.ndarray) -> tuple[Any, int]:
        if len(self.classes_) == 2:
            return nn.BCEWithLogitsLoss(), 1
        return nn.CrossEntropyLoss(), len(self.classes_)

    def _set_classes(self, labels: np.ndarray) -> None:
        if len(labels) < 2:
            raise ValueError(
                f"{type(self).__name__}: needs at least 2 classes to learn from. "
                f"Received 1 class: {labels.tolist()}."
            )
        self.classes_ = labels

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train a new model on X (n, d) and the labels y (n,) for ``epochs`` epochs
        (fewer with early stopping). Returns self."""
        settings = _params.resolve(self)
        X, y = self._validate_Xy(X, y, reset=True, settings=settings)
        labels, encoded = np.unique(y, return_inverse=True)
        self._set_classes(labels)
        self._fit(X, encoded.astype(np.int64), settings)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """Train one epoch on (X, y), continuing the model, optimizer and generator.

        classes: every label that will ever be seen; required on the first call (the
        model's output layer depends on it), ignored after. The first call builds the
        run and fits the input standardisation on its X; later calls take only
        ``batch_size`` from the current parameters. After ``fit`` it continues that run,
        without early stopping.
        """
        first = not hasattr(self, "trainer_")
        settings = _params.resolve(self)
        X, y = self._validate_Xy(X, y, reset=first, settings=settings)
        if first:
            if classes is None:
                raise ValueError(
                    f"{type(self).__name__}.partial_fit: classes must be passed on the "
                    "first call (every label that will be seen). Received: None."
                )
            self._set_classes(np.unique(np.asarray(classes)))
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"{type(self).__name__}.partial_fit: y has labels {unknown.tolist()} that are "
                f"not in classes_ {self.classes_.tolist()}."
            )
        encoded = np.searchsorted(self.classes_, y).astype(np.int64)
        self._partial_fit(X, encoded, settings, first)
        return self

    # -- inference ---------------------------------------------------------------------
    def decision_function(self, X: Any) -> np.ndarray:
        """The logits: (n,) for two classes (positive favours ``classes_[1]``), else (n, k)."""
        z = self._forward(X)
        return z[:, 0] if len(self.classes_) == 2 else z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, n_classes), columns in the order of ``classes_``."""
        z = self._forward(X)
        if len(self.classes_) == 2:
            return np.column_stack([expit(-z[:, 0]), expit(z[:, 0])])
        return softmax(z, axis=1)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of :meth:`predict_proba`, computed stably from the logits."""
        z = self._forward(X)
        if len(self.classes_) == 2:
            return np.column_stack([log_expit(-z[:, 0]), log_expit(z[:, 0])])
        return log_softmax(z, axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row (n,)."""
        z = self._forward(X)
        index = (z[:, 0] > 0).astype(np.intp) if len(self.classes_) == 2 else z.argmax(axis=1)
        return self.classes_[index]
