"""The playground's settings and training session: trainlab's numbers, checked bounds."""

from __future__ import annotations

import base64
import math

import numpy as np
import pytest

from trainlab.diagnostics import predict_for_input
from trainlab.ui.playground.data import CLASSIFICATION, DATASETS, make_dataset
from trainlab.ui.playground.session import GRID, Session, _grid
from trainlab.ui.playground.settings import (
    PlaygroundSettingError,
    PlaygroundSettings,
    parse_settings,
)


def decode(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8) / 127.5 - 1.0


@pytest.mark.parametrize(("query", "names"), [
    ({"hidden": "100000,100000"}, "'hidden'"), ({"hidden": "8," * 7 + "8"}, "'hidden'"),
    ({"hidden": "8,x"}, "'hidden'"), ({"lr": "1e9"}, "'lr'"), ({"lr": "0"}, "'lr'"),
    ({"lr": "nan"}, "'lr'"), ({"points": "10000000"}, "'points'"), ({"batch": "0"}, "'batch'"),
    ({"dataset": "mnist"}, "'dataset'"), ({"activation": "os.system"}, "'activation'"),
    ({"dropout": "1.5"}, "'dropout'"), ({"noise": "-1"}, "'noise'"), ({"seed": "1" * 40}, "'seed'"),
    ({"evil": "1"}, "'evil'"),
])
def test_absurd_settings_are_refused_by_name(query: dict[str, str], names: str) -> None:
    with pytest.raises(PlaygroundSettingError, match=names) as info:
        parse_settings(query)
    assert "Received" in str(info.value) or "accepted" in str(info.value)


def test_settings_round_trip_through_the_query_string() -> None:
    s = parse_settings({"dataset": "spiral", "hidden": "16, 4", "lr": "0.1", "norm": "batch",
                        "clip": "1", "seed": "7"})
    assert s.hidden == (16, 4) and s.norm == "batch" and s.seed == 7
    assert parse_settings(s.query()) == s
    assert parse_settings({}) == PlaygroundSettings()
    assert parse_settings({"hidden": ""}).hidden == ()


@pytest.mark.parametrize("name", list(DATASETS))
def test_datasets_are_seeded_and_balanced(name: str) -> None:
    X, y = make_dataset(name, 200, 0.1, np.random.default_rng(3))
    X2, y2 = make_dataset(name, 200, 0.1, np.random.default_rng(3))
    assert X.shape == (200, 2) and y.shape == (200,)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    if name in CLASSIFICATION:
        assert set(np.unique(y)) == {0.0, 1.0}
        assert y.sum() == 100 if name != "xor" else 60 < y.sum() < 140
    assert np.abs(X).max() < 3
    if name == "xor":  # without noise the label is the sign of x₁·x₂
        X, y = make_dataset(name, 200, 0.0, np.random.default_rng(3))
        np.testing.assert_array_equal(y, X[:, 0] * X[:, 1] > 0)


def test_session_trains_with_the_library_and_reports_its_numbers() -> None:
    session = Session(parse_settings({"dataset": "gauss", "hidden": "6,6", "seed": "2"}))
    first = session.frame()
    session.train(100)
    frame = session.frame()
    assert (first["step"], frame["step"]) == (0, 100)
    assert frame["test_loss"] < first["test_loss"]
    # the loss and the accuracy are the Trainer's evaluation of the test split
    expected = session.trainer.evaluate(session.X_test, session.y_test)
    assert frame["test_loss"] == pytest.approx(expected["loss"])
    assert frame["test_metric"] == pytest.approx(expected["accuracy"])
    # the boundary is 2·p(class 1) − 1 of the model's own predictions, to the 8-bit encoding
    logits = session.trainer.predict(_grid(GRID).astype(np.float32)).astype(np.float64)
    p1 = np.exp(logits[:, 1]) / np.exp(logits).sum(axis=1)
    np.testing.assert_allclose(decode(frame["boundary"]), 2 * p1 - 1, atol=1 / 127.5 + 1e-9)
    # one map per hidden unit, scaled to [-1, 1]
    assert [len(layer["units"]) for layer in frame["neurons"]] == [6, 6]
    # the measured spread is the Monitor's last record; the theory is predict_for_input
    record = session.monitor.records[-1]
    assert [row["out_std"] for row in frame["layers"]] == [s.out_std for s in record.layers]
    theory = predict_for_input(session.model, session.X_train,
                               grad_var=record.layers[-1].grad_rms ** 2)
    assert frame["layers"][0]["theory_out_std"] == pytest.approx(math.sqrt(theory[0].out_var))
    assert frame["layers"][-1]["theory_grad_rms"] == pytest.approx(record.layers[-1].grad_rms)


def test_same_settings_give_the_same_frames() -> None:
    settings = parse_settings({"dataset": "xor", "dropout": "0.2", "seed": "5"})
    a, b = Session(settings), Session(settings)
    for session in (a, b):  # the same clicks: step, then play for 20 steps
        session.train(10)
        session.train(20)
    fa, fb = a.frame(), b.frame()
    assert fa["boundary"] == fb["boundary"] and fa["test_loss"] == fb["test_loss"]
    c = Session(parse_settings({"dataset": "xor", "dropout": "0.2", "seed": "6"}))
    c.train(10)
    c.train(20)
    assert c.frame()["boundary"] != fa["boundary"]


def test_regression_surface_and_divergence_are_reported() -> None:
    session = Session(parse_settings({"dataset": "reg-gauss", "hidden": "8", "lr": "0.05"}))
    session.train(50)
    frame = session.frame()
    assert frame["metric"] == "r2" and frame["diverged"] is None
    wild = Session(parse_settings({"dataset": "circle", "optimizer": "sgd", "lr": "10",
                                   "activation": "relu", "init": "he_normal",
                                   "hidden": "32,32,32"}))
    for _ in range(10):
        wild.train(100)
    frame = wild.frame()
    assert frame["diverged"] is not None and "NaN" in frame["diverged"] or \
        any(w["kind"] in ("exploding", "dead") for w in frame["warnings"])


def test_batchnorm_needs_two_examples_per_batch() -> None:
    with pytest.raises(PlaygroundSettingError, match="'batch'"):
        Session(parse_settings({"norm": "batch", "batch": "1"}))
    session = Session(parse_settings({"norm": "batch", "batch": "8", "hidden": "4"}))
    session.train(20)
    assert session.frame()["step"] == 20
