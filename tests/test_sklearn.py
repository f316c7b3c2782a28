"""trainlab.sklearn: scikit-learn's own estimator checks, composition, and the numbers.

The numbers: a fit is exactly the Trainer run written by hand (same seed, same
weights bit for bit), partial_fit k times is fit for k epochs, pickling keeps the
run's state, and the estimators reach sensible scores on digits and Friedman #1.
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

from trainlab import nn, optim
from trainlab.data import Standardizer, train_val_test_split
from trainlab.models import MLPConfig, build_mlp
from trainlab.sklearn import RECOMMENDED_INIT, MLPClassifier, MLPRegressor
from trainlab.train import DivergenceWarning, EarlyStopping, LRScheduler, Trainer

SMALL = {"hidden_layer_sizes": (32,), "epochs": 40, "learning_rate": 0.01, "random_state": 0}


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
    ]
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


# -- the wrapper adds nothing hidden -------------------------------------------------------
def _by_hand(X, y, *, hidden, outputs, loss, make_optimizer, activation="relu", init="he_normal",
             dropout=0.0, norm="none", epochs, batch_size, seed, dtype="float64",
             schedule=None, clip_norm=None, clip_value=None, holdout=None, patience=10,
             stratify=True):
    """The documented recipe, written out with the library's own pieces."""
    rng = np.random.default_rng(seed)
    X = X.astype(dtype)
    validation = None
    if holdout is not None:
        X, y, X_val, y_val, _, _ = train_val_test_split(
            X, y, val_fraction=holdout, test_fraction=0.0, stratify=stratify, seed=rng
        )
    scaler = Standardizer().fit(X)
    if holdout is not None:
        validation = (scaler.transform(X_val), y_val)
    config = MLPConfig(X.shape[1], hidden, outputs, activation, init, norm, dropout, 0.0, dtype)
    model = build_mlp(config, rng=rng)
    opt = make_optimizer(model.parameters())
    callbacks = []
    if schedule is not None:
        callbacks.append(LRScheduler(schedule(opt), monitor="val_loss" if holdout else "loss"))
    if holdout is not None:
        callbacks.append(EarlyStopping("val_loss", patience=patience))
    trainer = Trainer(model, loss, opt, callbacks=callbacks, clip_norm=clip_norm,
                      clip_value=clip_value, rng=rng, verbose=0)
    trainer.fit(scaler.transform(X), y, epochs=epochs, batch_size=batch_size,
                validation_data=validation)
    return trainer, scaler


OPTIMIZER_CASES = [  # (estimator settings, the optimizer and schedule written by hand)
    ({}, lambda p: optim.Adam(p, lr=1e-3), None),
    ({"optimizer": "adagrad", "learning_rate": 0.05, "schedule": "exponential"},
     lambda p: optim.Adagrad(p, lr=0.05), lambda o: optim.ExponentialLR(o, gamma=0.9)),
    ({"optimizer": "rmsprop", "momentum": 0.5, "schedule": "cosine", "clip_value": 0.1},
     lambda p: optim.RMSprop(p, lr=1e-3), lambda o: optim.CosineAnnealingLR(o, T_max=4)),
    ({"optimizer": "sgd", "learning_rate": 0.2, "weight_decay": 1e-3, "schedule": "plateau",
      "lr_patience": 0, "lr_gamma": 0.5},  # the training loss rises: lr 0.2, 0.2, 0.1, 0.05
     lambda p: optim.SGD(p, lr=0.2, momentum=0.9, weight_decay=1e-3),
     lambda o: optim.ReduceLROnPlateau(o, factor=0.5, patience=0)),
]


@pytest.mark.parametrize(("settings", "make_optimizer", "schedule"), OPTIMIZER_CASES)
def test_classifier_fit_is_the_trainer_run_by_hand(settings, make_optimizer, schedule,
                                                   small_digits):
    X, y = small_digits
    clf = MLPClassifier(hidden_layer_sizes=(24,), epochs=4, batch_size=16, random_state=7,
                        **settings)
    clf.fit(X, y)
    trainer, scaler = _by_hand(
        X, y, hidden=(24,), outputs=10, loss=nn.CrossEntropyLoss(),
        make_optimizer=make_optimizer, schedule=schedule, epochs=4, batch_size=16, seed=7,
        clip_value=settings.get("clip_value"),
    )
    _assert_same_weights(_weights(clf), trainer.model.state_dict())
    assert clf.loss_curve_ == trainer.history["loss"]
    assert clf.history_["lr"] == trainer.history["lr"]
    assert clf.optimizer_.lr == trainer.optimizer.lr
    assert clf.optimizer_.state_dict().keys() == trainer.optimizer.state_dict().keys()
    logits = trainer.predict(scaler.transform(X[:50]))
    np.testing.assert_array_equal(clf.decision_function(X[:50]), logits)
    np.testing.assert_array_equal(clf.predict(X[:50]), logits.argmax(axis=1))
    assert clf.n_iter_ == 4 and clf.validation_scores_ is None


def test_binary_classifier_is_one_sigmoid_output_by_hand(small_digits):
    X, y = small_digits
    keep = y < 2
    X, y = X[keep], np.where(y[keep] == 1, "one", "zero")  # string labels, sorted: one, zero
    clf = MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", dropout=0.2,
                        optimizer="sgd", learning_rate=0.05, momentum=0.5, epochs=3,
                        batch_size=8, random_state=3).fit(X, y)
    encoded = (y == "zero").astype(np.int64)
    trainer, scaler = _by_hand(
        X, encoded, hidden=(8,), outputs=1, loss=nn.BCEWithLogitsLoss(), activation="tanh",
        init="xavier_normal", dropout=0.2, epochs=3, batch_size=8, seed=3,
        make_optimizer=lambda p: optim.SGD(p, lr=0.05, momentum=0.5),
    )
    _assert_same_weights(_weights(clf), trainer.model.state_dict())
    assert clf.model_[-1].out_features == 1
    z = trainer.predict(scaler.transform(X))[:, 0]
    np.testing.assert_array_equal(clf.decision_function(X), z)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), np.where(z > 0, "zero", "one"))


def test_regressor_fit_is_the_trainer_run_by_hand():
    X, y = make_friedman1(n_samples=120, n_features=5, noise=0.1, random_state=0)
    Y = np.column_stack([y, np.sin(X[:, 0])])  # two outputs
    reg = MLPRegressor(hidden_layer_sizes=(16, 8), activation="selu", norm="batch",
                       optimizer="adamw", learning_rate=3e-3, weight_decay=1e-2,
                       schedule="step", lr_step_size=2, lr_gamma=0.5, clip_norm=0.5,
                       epochs=5, batch_size=20, dtype="float32", random_state=11).fit(X, Y)
    trainer, scaler = _by_hand(
        X, Y, hidden=(16, 8), outputs=2, loss=nn.MSELoss(), activation="selu",
        init="lecun_normal", norm="batch", epochs=5, batch_size=20, seed=11, dtype="float32",
        make_optimizer=lambda p: optim.AdamW(p, lr=3e-3, weight_decay=1e-2),
        schedule=lambda o: optim.StepLR(o, step_size=2, gamma=0.5), clip_norm=0.5,
    )
    _assert_same_weights(_weights(reg), trainer.model.state_dict())
    assert reg.optimizer_.lr == trainer.optimizer.lr == 3e-3 * 0.25
    expected = trainer.predict(scaler.transform(X.astype(np.float32)))
    np.testing.assert_array_equal(reg.predict(X), expected.astype(np.float64))
    assert reg.predict(X).shape == (120, 2) and reg.predict(X).dtype == np.float64


def test_early_stopping_is_the_trainer_run_by_hand(small_digits):
    X, y = small_digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), learning_rate=0.05, schedule="plateau",
                        lr_patience=1, lr_gamma=0.5, early_stopping=True,
                        validation_fraction=0.25, patience=2, epochs=100, random_state=5)
    clf.fit(X, y)
    trainer, _ = _by_hand(
        X, y, hidden=(32,), outputs=10, loss=nn.CrossEntropyLoss(), epochs=100,
        batch_size=32, seed=5, holdout=0.25, patience=2,
        make_optimizer=lambda p: optim.Adam(p, lr=0.05),
        schedule=lambda o: optim.ReduceLROnPlateau(o, factor=0.5, patience=1),
    )
    _assert_same_weights(_weights(clf), trainer.model.state_dict())
    assert clf.n_iter_ == trainer.epoch < 100  # it did stop early
    assert clf.validation_scores_ == trainer.history["val_accuracy"]
    assert clf.best_validation_score_ == max(trainer.history["val_accuracy"])


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
def test_partial_fit_k_times_is_fit_for_k_epochs(small_digits):
    X, y = small_digits
    params = {"hidden_layer_sizes": (16,), "schedule": "exponential", "lr_gamma": 0.8,
              "random_state": 1}
    stepwise = MLPClassifier(**params)
    for _ in range(3):
        stepwise.partial_fit(X, y, classes=np.arange(10))
    whole = MLPClassifier(epochs=3, **params).fit(X, y)
    _assert_same_weights(_weights(stepwise), _weights(whole))
    assert stepwise.n_iter_ == 3 and len(stepwise.loss_curve_) == 3
    assert stepwise.loss_curve_ == whole.loss_curve_


def test_partial_fit_trains_over_several_calls(digits):
    X_tr, X_te, y_tr, y_te = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), learning_rate=3e-3, random_state=0)
    clf.partial_fit(X_tr[:200], y_tr[:200], classes=np.unique(y_tr))
    first = clf.score(X_te, y_te)
    for start in range(200, len(X_tr), 200):  # a stream of chunks, then a few more passes
        clf.partial_fit(X_tr[start:start + 200], y_tr[start:start + 200])
    for _ in range(5):
        clf.partial_fit(X_tr, y_tr)
    assert clf.n_iter_ == len(clf.loss_curve_) == -(-len(X_tr) // 200) + 5
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert clf.score(X_te, y_te) > max(first + 0.3, 0.93)


def test_partial_fit_regressor_continues_and_checks_columns():
    X, y = make_friedman1(n_samples=200, n_features=5, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(16,), random_state=0)
    for _ in range(3):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 3
    with pytest.raises(ValueError, match="1 column"):
        reg.partial_fit(X, np.column_stack([y, y]))


def test_partial_fit_classes_are_required_first_and_respected(small_digits):
    X, y = small_digits
    clf = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    assert clf.model_[-1].out_features == 10
    clf.partial_fit(X[y >= 5], y[y >= 5])  # labels unseen so far but declared
    with pytest.raises(ValueError, match=r"labels \[10\]"):
        clf.partial_fit(X[:3], np.array([10, 1, 2]))


def test_partial_fit_after_early_stopping_fit_continues_without_it(small_digits):
    X, y = small_digits
    clf = MLPClassifier(hidden_layer_sizes=(8,), early_stopping=True, schedule="plateau",
                        epochs=3, random_state=0).fit(X, y)
    epochs = clf.n_iter_
    clf.partial_fit(X, y)
    assert clf.n_iter_ == epochs + 1


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
    assert restored.n_iter_ == clf.n_iter_ == 4


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
    clf = MLPClassifier(hidden_layer_sizes=(64,), epochs=20, random_state=0).fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) >= 0.95


def test_regression_r2_beats_a_linear_model():
    X, y = make_friedman1(n_samples=1000, noise=0.5, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    reg = TransformedTargetRegressor(
        MLPRegressor(hidden_layer_sizes=(64,), epochs=60, random_state=0),
        transformer=StandardScaler(),
    ).fit(X_tr, y_tr)
    linear = LinearRegression().fit(X_tr, y_tr).score(X_te, y_te)
    assert reg.score(X_te, y_te) > max(0.85, linear + 0.1)


def test_multi_output_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    Y = np.column_stack([X[:, 0] * X[:, 1], np.tanh(X[:, 2]) - X[:, 3]])
    reg = MLPRegressor(hidden_layer_sizes=(32,), epochs=60, random_state=0).fit(X, Y)
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
    ("init", "orthonormal"),
    ("norm", "group"),
    ("dropout", 1.0),
    ("dropconnect", -0.1),
    ("optimizer", "lbfgs"),
    ("learning_rate", 0.0),
    ("momentum", 1.5),
    ("weight_decay", -1e-3),
    ("schedule", "warmup"),
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
    ("verbose", 3),
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


def test_verbose_prints_one_line_per_epoch(small_digits, capsys):
    X, y = small_digits
    MLPClassifier(hidden_layer_sizes=(4,), epochs=3, verbose=2, random_state=0).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [line.split()[:2] for line in lines] == [["epoch", f"{i}/3"] for i in (1, 2, 3)]
    MLPClassifier(hidden_layer_sizes=(4,), epochs=3, verbose=False, random_state=0).fit(X, y)
    assert capsys.readouterr() == ("", "")


def test_divergence_warns_and_keeps_the_last_finite_weights(small_digits):
    X, y = small_digits
    clf = MLPClassifier(hidden_layer_sizes=(8,), optimizer="sgd", learning_rate=1e6,
                        epochs=5, random_state=0)
    with pytest.warns(DivergenceWarning, match="diverged at epoch"):
        clf.fit(X, y)
    epoch = clf.history_.diverged["epoch"]
    assert clf.n_iter_ == epoch - 1 < 5 and len(clf.loss_curve_) == epoch
    assert all(np.isfinite(p.data).all() for p in clf.model_.parameters())


def test_clip_norm_and_clip_value_together_raise():
    with pytest.raises(ValueError, match="clip_norm or clip_value, not both"):
        MLPRegressor(clip_norm=1.0, clip_value=1.0).fit(np.zeros((4, 2)), np.zeros(4))


def test_one_class_raises():
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().fit(np.zeros((4, 2)), np.ones(4))
