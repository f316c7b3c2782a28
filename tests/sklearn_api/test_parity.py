"""trainlab.sklearn against scikit-learn's MLPClassifier/MLPRegressor: same start, same numbers.

Both estimators are warm-started from the same coefs_/intercepts_, so every difference
left is one of objective, update or stopping rule. Plain SGD (momentum 0, constant or
invscaling rate, no shuffling) and L-BFGS take the same steps in float64.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import neural_network as sk
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning

from trainlab.sklearn import MLPClassifier, MLPRegressor


def data(task: str, n: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    if task == "binary":
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    elif task == "multiclass":
        y = np.digitize(X[:, 0] - X[:, 2], [-0.5, 0.5])
    elif task == "multilabel":
        y = (X[:, :3] + 0.3 * rng.normal(size=(n, 3)) > 0).astype(int)
    elif task == "poisson":
        y = rng.poisson(np.exp(0.3 * X[:, 0] + 0.2 * X[:, 1]))
    else:
        y = np.column_stack([X @ [1.0, -2.0, 0.5, 0.0], np.sin(X[:, 1])])
    return X, y


def same_start(ours, theirs, X, y, sample_weight=None):
    """Warm-start both from the same weights (drawn here) and fit once more each."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in (ours, theirs):
            est.set_params(warm_start=True)
            est.fit(X, y)
        rng = np.random.default_rng(1)
        coefs = [rng.uniform(-0.5, 0.5, c.shape) for c in theirs.coefs_]
        intercepts = [rng.uniform(-0.5, 0.5, b.shape) for b in theirs.intercepts_]
        for est in (ours, theirs):
            est.coefs_ = [c.copy() for c in coefs]
            est.intercepts_ = [b.copy() for b in intercepts]
            est.fit(X, y, sample_weight=sample_weight)
    return ours, theirs


def assert_same(ours, theirs, X, rtol=1e-9):
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=rtol)
    assert ours.n_iter_ == theirs.n_iter_


SGD = dict(solver="sgd", momentum=0.0, shuffle=False, batch_size=16, max_iter=6,
           learning_rate_init=0.05, alpha=0.01, n_iter_no_change=1000, random_state=0)


@pytest.mark.parametrize("task, activation", [("binary", "logistic"), ("multiclass", "relu"),
                                              ("multilabel", "tanh")])
@pytest.mark.parametrize("rate", ["constant", "invscaling"])
def test_sgd_epochs_match_sklearn_classifier(task, activation, rate):
    X, y = data(task)
    w = np.random.default_rng(2).uniform(0.2, 2.0, size=len(X))
    params = dict(SGD, hidden_layer_sizes=(5,), activation=activation, learning_rate=rate,
                  power_t=0.3)
    ours, theirs = same_start(MLPClassifier(**params), sk.MLPClassifier(**params), X, y, w)
    assert_same(ours, theirs, X)
    np.testing.assert_allclose(ours.loss_curve_[-6:], theirs.loss_curve_[-6:], rtol=1e-9)
    assert ours.t_ == theirs.t_
    assert ours._optimizer.learning_rate == pytest.approx(theirs._optimizer.learning_rate)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_sgd_epochs_match_sklearn_regressor(loss):
    X, y = data("poisson" if loss == "poisson" else "regression")
    y = y if loss == "poisson" else y[:, 0]
    params = dict(SGD, hidden_layer_sizes=(3, 4), activation="tanh", loss=loss,
                  learning_rate_init=0.01)
    ours, theirs = same_start(MLPRegressor(**params), sk.MLPRegressor(**params), X, y)
    assert_same(ours, theirs, X)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)


@pytest.mark.parametrize("task, Ours, Theirs", [
    ("multiclass", MLPClassifier, sk.MLPClassifier),
    ("multilabel", MLPClassifier, sk.MLPClassifier),
    ("poisson", MLPRegressor, sk.MLPRegressor),
])
def test_lbfgs_matches_sklearn(task, Ours, Theirs):
    X, y = data(task)
    extra = {"loss": "poisson"} if task == "poisson" else {}
    params = dict(solver="lbfgs", hidden_layer_sizes=(6,), activation="tanh", alpha=1e-3,
                  max_iter=30, random_state=0, **extra)
    ours, theirs = same_start(Ours(**params), Theirs(**params), X, y)
    assert_same(ours, theirs, X, rtol=1e-6)


def test_lbfgs_max_fun_limits_evaluations_and_warns():
    X, y = data("multiclass")
    clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), max_fun=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        clf.fit(X, y)
    assert 1 <= clf.n_iter_ <= 5


@pytest.mark.parametrize("Estimator, task", [(MLPClassifier, "binary"),
                                             (MLPClassifier, "multiclass"),
                                             (MLPClassifier, "multilabel"),
                                             (MLPRegressor, "regression"),
                                             (MLPRegressor, "poisson")])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_objective_gradient_is_central_differences(Estimator, task, activation):
    X, y = data(task, n=7)
    extra = {"loss": "poisson"} if task == "poisson" else {}
    est = Estimator(solver="lbfgs", hidden_layer_sizes=(3,), activation=activation, alpha=0.3,
                    max_iter=1, random_state=0, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    Y = est._label_binarizer.transform(y) if Estimator is MLPClassifier else y
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=len(X))
    theta = np.concatenate([a.ravel() for a in est.coefs_ + est.intercepts_])
    theta = theta + np.random.default_rng(4).normal(scale=0.3, size=theta.size)
    _, grad = est._loss_grad_lbfgs(theta, X, Y, w)
    eps, numeric = 1e-6, np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        numeric[i] = (est._loss_grad_lbfgs(theta + step, X, Y, w)[0]
                      - est._loss_grad_lbfgs(theta - step, X, Y, w)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_tol_stopping_rule_and_convergence_warning():
    X, y = data("binary")
    clf = MLPClassifier(solver="sgd", hidden_layer_sizes=(4,), tol=1e-3, n_iter_no_change=3,
                        max_iter=500, random_state=0).fit(X, y)
    curve, best, count, stop = clf.loss_curve_, np.inf, 0, None
    for epoch, loss in enumerate(curve, 1):
        count = count + 1 if loss > best - 1e-3 else 0
        best = min(best, loss)
        if count > 3:
            stop = epoch
            break
    assert stop == clf.n_iter_ < 500
    assert clf._no_improvement_count == 4 and clf.best_loss_ == min(curve)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)


def test_adaptive_rate_divides_by_five_until_1e_6():
    X, y = [[3, 2], [1, 6]], [1, 0]
    clf = MLPClassifier(solver="sgd", tol=0.5, max_iter=3000, learning_rate="adaptive",
                        random_state=0).fit(X, y)
    assert clf.n_iter_ < 3000
    assert clf._optimizer.learning_rate < 1e-6
    assert np.isclose(np.log(1e-3 / clf._optimizer.learning_rate) / np.log(5),
                      round(np.log(1e-3 / clf._optimizer.learning_rate) / np.log(5)))


def test_sparse_input_gives_the_dense_numbers():
    X, y = data("multiclass")
    X[X < 0.3] = 0
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        dense = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(5,), max_iter=20,
                              random_state=0)
        sparse = MLPClassifier(**dense.get_params())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            dense.fit(X, y)
            sparse.fit(fmt(X), y)
        np.testing.assert_allclose(sparse.predict_proba(fmt(X)), dense.predict_proba(X))
        np.testing.assert_array_equal(sparse.predict(X), dense.predict(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_precision_follows_the_input(dtype):
    X, y = data("regression")
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X.astype(dtype), y)
    assert all(a.dtype == dtype for a in reg.coefs_ + reg.intercepts_)
    assert reg.predict(X.astype(dtype)).dtype == dtype


def test_warm_start_continues_and_refuses_other_classes():
    X, y = data("multiclass")
    params = dict(hidden_layer_sizes=(4,), solver="sgd", max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        once = MLPClassifier(warm_start=True, **params).fit(X, y)
        before = [c.copy() for c in once.coefs_]
        once.fit(X, y)
        assert once.n_iter_ == 3 and len(once.loss_curve_) == 6 and once.t_ == 6 * len(X)
        assert not np.allclose(before[0], once.coefs_[0])
        cold = MLPClassifier(**params).fit(X, y)
        cold.fit(X, y)
        assert len(cold.loss_curve_) == 3
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
        once.fit(X, np.where(y == 2, 3, y))


def test_partial_fit_rules():
    X, y = data("multiclass")
    clf = MLPClassifier(solver="sgd", random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="is not the same as on last call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 1 and clf.t_ == len(X)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(optimizer="lbfgs"), "partial_fit")
    fitted = MLPRegressor(early_stopping=True, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(*data("regression", n=60))
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        fitted.partial_fit(*data("regression", n=60))


def test_one_class_is_fitted_and_predicted():
    X = np.random.default_rng(0).normal(size=(10, 2))
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, np.full(10, 7))
    assert clf.classes_.tolist() == [7] and set(clf.predict(X)) == {7}


def test_class_weight_is_a_sample_weight_per_class():
    X, y = data("binary")
    counts = np.bincount(y)
    balanced = len(y) / (2 * counts)
    params = dict(solver="lbfgs", hidden_layer_sizes=(4,), max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPClassifier(class_weight="balanced", **params).fit(X, y)
        b = MLPClassifier(**params).fit(X, y, sample_weight=balanced[y])
        c = MLPClassifier(class_weight={0: 2.0, 1: 0.5}, **params).fit(X, y)
        d = MLPClassifier(**params).fit(X, y, sample_weight=np.where(y == 0, 2.0, 0.5))
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0])
    np.testing.assert_allclose(c.coefs_[0], d.coefs_[0])
    assert not np.allclose(a.coefs_[0], c.coefs_[0])


def test_multilabel_predicts_the_indicator_matrix():
    X, Y = make_multilabel_classification(n_samples=40, n_classes=4, random_state=0)
    clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(20,), random_state=0,
                        max_iter=300).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    np.testing.assert_array_equal(clf.predict(X), (clf.predict_proba(X) > 0.5).astype(int))
    assert clf.score(X, Y) > 0.9


def test_shuffle_false_visits_rows_in_order():
    X, y = data("regression")
    params = dict(hidden_layer_sizes=(2,), max_iter=1, batch_size=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPRegressor(shuffle=False, **params).fit(X, y)
        b = MLPRegressor(shuffle=False, **params).fit(X, y)
        c = MLPRegressor(shuffle=True, **params).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_fitted_attributes_and_names():
    X, y = data("multiclass")
    clf = MLPClassifier(hidden_layer_sizes=(5, 3), activation="logistic", max_iter=4,
                        early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(4, 5), (5, 3), (3, 3)]
    assert [b.shape for b in clf.intercepts_] == [(5,), (3,), (3,)]
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.coefs_[0] is clf.model_.parameters()[0].data
