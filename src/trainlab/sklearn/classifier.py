"""``MLPClassifier``: a trainlab MLP classifier that behaves as scikit-learn's.

Targets are encoded as scikit-learn encodes them (``LabelBinarizer``). Output ψ and
loss by target type (notes §1): two classes, or one: one output, the logistic ψ and
binary cross-entropy, ``P(classes_[1] | x) = σ(z)``; k > 2 classes: k outputs, softmax
and cross-entropy; multilabel (an indicator matrix y (n, k)): k logistic outputs, each
its own binary cross-entropy, and ``predict`` returns the indicator matrix.
``decision_function`` returns the logits z: (n,) for one output, else (n, k).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from trainlab.sklearn import _params
from trainlab.sklearn._base import MLPBase
from trainlab.sklearn._losses import loss_and_grad, output


def _stochastic_solver(estimator: Any) -> bool:
    return _solver_name(estimator) != _params.LBFGS


def _solver_name(estimator: Any) -> Any:
    return estimator.solver if estimator.optimizer is None else estimator.optimizer


class MLPClassifier(ClassifierMixin, MLPBase):
    """Multilayer-perceptron classifier (see :class:`MLPBase` for every parameter and
    fitted attribute).

    class_weight: None, 'balanced' (n / (k · count of the class)) or a mapping
        {label: weight}; multiplies each row's sample weight by its class's (single
        output only).

    Defaults as scikit-learn's: one hidden layer of 100 ReLU units, Adam with
    learning_rate_init=1e-3, alpha=1e-4, batches of min(200, n), at most 200 epochs,
    stopping after 10 epochs without a loss improvement of tol=1e-4.
    Also fitted: ``classes_`` (the sorted labels).

    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 10)
    """

    _task = "classification"
    _score_name = "accuracy"

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
        class_weight: Any = None,
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
        self.class_weight = class_weight

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = True
        return tags

    # -- fitting -----------------------------------------------------------------------
    def _encode(self, X: Any, y: Any, settings: _params.Settings, *, incremental: bool,
                reset: bool) -> tuple[Any, np.ndarray]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=self._dtype_arg(settings, reset), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not settings.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if settings.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"{type(self).__name__}.partial_fit: `y` has classes not in "
                    f"`self.classes_`. `self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(np.float64)

    def _loss_name(self) -> str:
        binarizer = self._label_binarizer
        return "log_loss" if binarizer.y_type_ == "multiclass" else "binary_log_loss"

    def _weights(self, y: Any, sample_weight: np.ndarray | None) -> np.ndarray | None:
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError(f"{type(self).__name__}: class_weight is for single-output "
                             "targets; y is a multilabel indicator matrix.")
        if not (self.class_weight == "balanced" or isinstance(self.class_weight, dict)):
            raise _params.InvalidParameterError(
                f"{type(self).__name__}: class_weight must be None, 'balanced' or a dict "
                f"{{label: weight}}. Received: {self.class_weight!r}."
            )
        labels = column_or_1d(np.asarray(y) if not hasattr(y, "to_numpy") else y.to_numpy())
        weights = compute_sample_weight(self.class_weight, labels)
        return weights if sample_weight is None else weights * sample_weight

    def _validation(self, X: Any, Y: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
        z = self._raw(X)
        if not np.isfinite(z).all():
            return float("nan"), float("nan")
        loss, _ = loss_and_grad(self._loss_name(), z, Y, w)
        predicted = self._labels(output(z, self.out_activation_))
        truth = self._labels(Y)
        return float(accuracy_score(truth, predicted, sample_weight=w)), loss

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit on X (n, d) (dense or sparse) and labels y (n,) or a multilabel indicator
        matrix (n, k), each row weighted by ``sample_weight``. Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic_solver)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None,
                    classes: Any = None) -> MLPClassifier:
        """One epoch on (X, y), continuing the model and the optimizer.

        classes: every label that will ever be seen; required on the first call (the
        output layer depends on it); on later calls it must be the same or None.
        Not available with solver='lbfgs'; an error with early_stopping=True.
        """
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError(f"{type(self).__name__}.partial_fit: classes must be passed on "
                             "the first call to partial_fit.")
        if classes is not None:
            labels = unique_labels(classes)
            if not first and not np.array_equal(self.classes_, labels):
                raise ValueError(
                    f"{type(self).__name__}.partial_fit: `classes={labels!r}` is not the "
                    f"same as on last call to partial_fit, was: {self.classes_!r}"
                )
            if first:
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(labels)
                self.classes_ = self._label_binarizer.classes_
        return self._fit(X, y, sample_weight, incremental=True)

    # -- inference ---------------------------------------------------------------------
    def _labels(self, probabilities: np.ndarray) -> np.ndarray:
        if self.n_outputs_ == 1:
            probabilities = probabilities.ravel()
        return self._label_binarizer.inverse_transform(probabilities)

    def decision_function(self, X: Any) -> np.ndarray:
        """The logits z: (n,) for one output (positive favours ``classes_[1]``), else (n, k)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                          dtype=self.model_.parameters()[0].data.dtype)
        z = self._raw(X)
        return z[:, 0] if self.n_outputs_ == 1 else z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities (n, n_classes) in the order of ``classes_`` (multilabel: each
        label's own probability, (n, k))."""
        check_is_fitted(self)
        if self.n_outputs_ == 1:
            z = self.decision_function(X)
            return np.column_stack([expit(-z), expit(z)])
        return self._forward(X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))``, as scikit-learn defines it (so its argmax is always
        that of :meth:`predict_proba`)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The predicted labels (n,), or the indicator matrix (n, k) for multilabel."""
        return self._labels(self._forward(X))
