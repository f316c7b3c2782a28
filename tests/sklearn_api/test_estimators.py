"""trainlab.sklearn: scikit-learn's own estimator checks, composition, and the numbers.

The numbers: one seed fixes a fit, pickling keeps the run's state (training continues
alike), and the estimators reach sensible scores on digits and Friedman #1. The
comparison with scikit-learn's own estimators is in test_parity.py.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_digits, make_friedman1
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from trainlab.sklearn import RECOMMENDED_INIT, MLPClassifier, MLPRegressor
from trainlab.train import DivergenceWarning

SMALL = {"hidden_layer_sizes": (32,), "epochs": 40, "learning_rate": 0.01, "random_state": 0}


def _expected_failures(estimator):
    """Checks that cannot pass with early stopping (as for scikit-learn's estimators)."""
    if not estimator.early_stopping:
        return {}
    refused = "partial_fit refuses early_stopping=True, as scikit-learn's does"
    random = ("with dropout and a held-out split, weighting a row is not repeating it")
    return {"check_estimators_partial_fit_n_features": refused,
            "check_fit_score_takes_y": refused, "check_n_features_in_after_fitting": refused,
            "check_sample_weight_equivalence_on_dense_data": random,
            "check_sample_weight_equivalence_on_sparse_data": random}


# -- scikit-learn's estimator checks, one test each ----------------------------------------
@parametrize_with_checks(
    [
        MLPClassifier(**SMALL),
        MLPRegressor(**SMALL),
        # every optional piece switched on: batch norm, dropout, SGD, plateau schedule on
        # the held-out loss, early stopping; layer norm, DropConnect, RMSprop, clipping
        MLPClassifier(hidden_layer_sizes=(16, 16), norm="batch", dropout=0.1, optimizer="sgd",
                      learning_rate=0.05, schedule="plateau", early_stopping=True,
                      validation_fraction=0.2, epochs=40, random_state=0),
        MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", norm="layer",
                     dropconnect=0.1, optimizer="rmsprop", schedule="cosine", clip_norm=1.0,
                     epochs=40, learning_rate=0.01, random_state=0),
        # the full-batch solver, where a weight of 2 is a repeated row
        MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=30, random_state=0),
        MLPRegressor(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=30, random_state=0),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- data --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def small_digits(digits):
    X_tr, _, y_tr, _ = digits
    return X_tr[:400], y_tr[:400]


def _weights(estimator):
    return estimator.model_.state_dict()


def _assert_same_weights(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# -- initialisation ------------------------------------------------------------------------
@pytest.mark.parametrize("activation", sorted(RECOMMENDED_INIT))
def test_init_none_is_the_recommended_initializer(activation, small_digits):
    X, y = small_digits
    kwargs = {"hidden_layer_sizes": (8,), "activation": activation, "epochs": 1,
              "random_state": 0}
    auto = MLPClassifier(**kwargs).fit(X, y)
    explicit = MLPClassifier(init=RECOMMENDED_INIT[activation], **kwargs).fit(X, y)
    _assert_same_weights(_weights(auto), _weights(explicit))
    other = "zeros" if RECOMMENDED_INIT[activation] != "zeros" else "he_normal"
    differs = MLPClassifier(init=other, **kwargs).fit(X, y)
    assert not np.array_equal(_weights(auto)["0.weight"], _weights(differs)["0.weight"])


def test_recommended_initializers_follow_the_notes():
    assert RECOMMENDED_INIT["relu"] == "he_normal"
    assert RECOMMENDED_INIT["selu"] == "lecun_normal"
    assert RECOMMENDED_INIT["tanh"] == RECOMMENDED_INIT["sigmoid"] == "xavier_normal"


# -- partial_fit -------------------------------------------------------------------------
def test_partial_fit_trains_over_several_calls(digits):
    X_tr, X_te, y_tr, y_te = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), learning_rate=3e-3, standardize=True,
                        batch_size=32, random_state=0)
    clf.partial_fit(X_tr[:200], y_tr[:200], classes=np.unique(y_tr))
    first = clf.score(X_te, y_te)
    for start in range(200, len(X_tr), 200):  # a stream of chunks, then a few more passes
        clf.partial_fit(X_tr[start:start + 200], y_tr[start:start + 200])
    for _ in range(5):
        clf.partial_fit(X_tr, y_tr)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == -(-len(X_tr) // 200) + 5
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert clf.score(X_te, y_te) > max(first + 0.3, 0.93)


def test_partial_fit_regressor_continues_and_checks_columns():
    X, y = make_friedman1(n_samples=200, n_features=5, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(16,), random_state=0)
    for _ in range(3):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 1 and len(reg.loss_curve_) == reg.t_ // 200 == 3
    with pytest.raises(ValueError, match="1 column"):
        reg.partial_fit(X, np.column_stack([y, y]))


# -- scikit-learn composition --------------------------------------------------------------
def test_pipeline_and_grid_search(small_digits, digits):
    X, y = small_digits
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPClassifier(standardize=False, epochs=10, random_state=0))])
    grid = GridSearchCV(pipe, {"mlp__hidden_layer_sizes": [(4,), (32,)],
                               "mlp__learning_rate": [1e-4, 1e-2]}, cv=2)
    grid.fit(X, y)
    means = grid.cv_results_["mean_test_score"]
    assert means.max() - means.min() > 0.1  # the grid really changes the estimator
    assert grid.best_params_ == {"mlp__hidden_layer_sizes": (32,), "mlp__learning_rate": 1e-2}
    # the refit best pipeline is the same as fitting those settings directly
    direct = clone(pipe).set_params(**grid.best_params_).fit(X, y)
    _, X_te, _, y_te = digits
    best = grid.best_estimator_
    np.testing.assert_array_equal(best.predict_proba(X_te), direct.predict_proba(X_te))
    assert best.score(X_te, y_te) > 0.85


def test_clone_is_unfitted_with_the_same_parameters(small_digits):
    X, y = small_digits
    clf = MLPClassifier(hidden_layer_sizes=(8, 4), dropout=0.1, random_state=3).set_params(
        epochs=2)
    clf.fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    with pytest.raises(NotFittedError):
        copy.predict(X)
    np.testing.assert_array_equal(copy.fit(X, y).predict_proba(X), clf.predict_proba(X))


def test_pickle_round_trip_predicts_and_continues_identically(small_digits):
    X, y = small_digits
    clf = MLPClassifier(hidden_layer_sizes=(16,), dropout=0.2, epochs=3, random_state=2)
    clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    # the generators, optimizer moments and counters travel too: training continues alike
    clf.partial_fit(X, y)
    restored.partial_fit(X, y)
    _assert_same_weights(_weights(restored), _weights(clf))
    assert len(restored.loss_curve_) == len(clf.loss_curve_) == 4


def test_same_random_state_same_predictions_and_a_different_one_differs(small_digits):
    X, y = small_digits
    kwargs = {"hidden_layer_sizes": (16,), "dropout": 0.1, "epochs": 3}
    a = MLPClassifier(random_state=4, **kwargs).fit(X, y).predict_proba(X)
    b = MLPClassifier(random_state=4, **kwargs).fit(X, y).predict_proba(X)
    c = MLPClassifier(random_state=5, **kwargs).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3
    generator = MLPClassifier(random_state=np.random.default_rng(4), **kwargs)
    np.testing.assert_array_equal(generator.fit(X, y).predict_proba(X), a)


# -- it learns -----------------------------------------------------------------------------
def test_digits_accuracy(digits):
    X_tr, X_te, y_tr, y_te = digits
    clf = MLPClassifier(hidden_layer_sizes=(64,), epochs=20, standardize=True, batch_size=32,
                        random_state=0).fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) >= 0.95


def test_regression_r2_beats_a_linear_model():
    X, y = make_friedman1(n_samples=1000, noise=0.5, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    reg = TransformedTargetRegressor(
        MLPRegressor(hidden_layer_sizes=(64,), epochs=60, standardize=True, batch_size=32,
                     random_state=0),
        transformer=StandardScaler(),
    ).fit(X_tr, y_tr)
    linear = LinearRegression().fit(X_tr, y_tr).score(X_te, y_te)
    assert reg.score(X_te, y_te) > max(0.85, linear + 0.1)


def test_multi_output_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    Y = np.column_stack([X[:, 0] * X[:, 1], np.tanh(X[:, 2]) - X[:, 3]])
    reg = MLPRegressor(hidden_layer_sizes=(32,), epochs=60, standardize=True, batch_size=32,
                       random_state=0).fit(X, Y)
    assert reg.model_[-1].out_features == 2
    assert reg.predict(X).shape == (400, 2)
    assert reg.score(X, Y) > 0.9


def test_dataframe_feature_names(small_digits):
    pd = pytest.importorskip("pandas")
    X, y = small_digits
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])])
    clf = MLPClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert clf.n_features_in_ == 64


# -- bad parameters ------------------------------------------------------------------------
BAD = [
    ("hidden_layer_sizes", (0,)),
    ("hidden_layer_sizes", "10"),
    ("activation", "swish"),
    ("init", "no_such_init"),
    ("norm", "group"),
    ("dropout", 1.0),
    ("dropconnect", -0.1),
        ("learning_rate", 0.0),
    ("momentum", 1.5),
    ("weight_decay", -1e-3),
    ("schedule", "no_such_schedule"),
    ("lr_gamma", 0.0),
    ("lr_step_size", 0),
    ("lr_patience", -1),
    ("clip_norm", 0.0),
    ("clip_value", -1.0),
    ("batch_size", 0),
    ("epochs", 0),
    ("epochs", 2.5),
    ("early_stopping", "yes"),
    ("validation_fraction", 1.0),
    ("patience", 0),
    ("standardize", None),
    ("dtype", "float16"),
    ("random_state", -1),
    ("verbose", -1),
]


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_parameter_raises_at_fit_naming_it(Estimator, name, value):
    estimator = Estimator(**{name: value})  # construction stores it untouched
    assert estimator.get_params()[name] is value
    X, y = np.zeros((6, 2)), np.array([0, 1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match=rf"{Estimator.__name__}: {name} must be .* Received: "):
        estimator.fit(X, y)
    with pytest.raises(ValueError, match=name):
        (estimator.partial_fit(X, y, classes=[0, 1]) if Estimator is MLPClassifier
         else estimator.partial_fit(X, y))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_verbose_prints_one_line_per_epoch(small_digits, capsys):
    X, y = small_digits
    clf = MLPClassifier(hidden_layer_sizes=(4,), epochs=3, verbose=2, random_state=0).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines == [f"Iteration {i}, loss = {clf.loss_curve_[i - 1]:.8f}" for i in (1, 2, 3)]
    MLPClassifier(hidden_layer_sizes=(4,), epochs=3, verbose=False, random_state=0).fit(X, y)
    assert capsys.readouterr() == ("", "")


def test_divergence_warns_and_keeps_the_last_finite_weights(small_digits):
    X, y = small_digits
    clf = MLPClassifier(hidden_layer_sizes=(8,), optimizer="sgd", learning_rate=1e6,
                        batch_size=32, epochs=5, random_state=0)
    with pytest.warns(DivergenceWarning, match="diverged at epoch"):
        clf.fit(X, y)
    epoch = clf.history_.diverged["epoch"]
    assert clf.n_iter_ == epoch - 1 < 5 and len(clf.loss_curve_) == epoch
    assert all(np.isfinite(p.data).all() for p in clf.model_.parameters())


def test_clip_norm_and_clip_value_together_raise():
    with pytest.raises(ValueError, match="clip_norm or clip_value, not both"):
        MLPRegressor(clip_norm=1.0, clip_value=1.0).fit(np.zeros((4, 2)), np.zeros(4))


