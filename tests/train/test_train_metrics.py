"""Metrics against scikit-learn, and the running (per-batch) epoch metrics."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from trainlab.train import RunningMetrics, accuracy, confusion_matrix, mse, predicted_classes, r2


@pytest.fixture
def labels(rng):
    y_true = rng.integers(0, 4, size=50)
    y_pred = np.where(rng.random(50) < 0.7, y_true, rng.integers(0, 4, size=50))
    return y_true, y_pred


def test_accuracy_matches_sklearn(labels):
    y_true, y_pred = labels
    assert accuracy(y_true, y_pred) == skm.accuracy_score(y_true, y_pred)


@pytest.mark.parametrize("shape", [(40,), (40, 1), (40, 3)])
def test_mse_and_r2_match_sklearn(rng, shape):
    y_true = rng.standard_normal(shape) * 3 + 1
    y_pred = y_true + rng.standard_normal(shape)
    assert mse(y_true, y_pred) == pytest.approx(skm.mean_squared_error(y_true, y_pred), rel=1e-12)
    assert r2(y_true, y_pred) == pytest.approx(skm.r2_score(y_true, y_pred), rel=1e-12)


def test_r2_constant_target_follows_sklearn():
    y_true = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    exact = y_true.copy()
    off = y_true + np.array([[0.5, 0.1], [0.0, -0.1], [0.0, 0.0]])
    assert r2(y_true, exact) == skm.r2_score(y_true, exact) == 1.0
    assert r2(y_true, off) == pytest.approx(skm.r2_score(y_true, off), rel=1e-12)


def test_float32_inputs_are_summed_in_float64(rng):
    y_true = rng.standard_normal(1000).astype(np.float32)
    y_pred = (y_true + 0.01 * rng.standard_normal(1000)).astype(np.float32)
    expected = skm.mean_squared_error(y_true.astype(np.float64), y_pred.astype(np.float64))
    assert mse(y_true, y_pred) == pytest.approx(expected, rel=1e-12)


def test_confusion_matrix_matches_sklearn(labels):
    y_true, y_pred = labels
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred)
    )
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, num_classes=6),
        skm.confusion_matrix(y_true, y_pred, labels=range(6)),
    )


def test_predicted_classes():
    np.testing.assert_array_equal(
        predicted_classes(np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]])), [1, 0]
    )
    np.testing.assert_array_equal(predicted_classes(np.array([-0.5, 0.2, 0.0])), [0, 1, 0])
    np.testing.assert_array_equal(predicted_classes(np.array([[-0.5], [0.2]])), [0, 1])


def test_metric_errors_name_the_problem():
    with pytest.raises(ValueError, match="same number of samples"):
        accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="same shape"):
        mse(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="labels must be < num_classes = 2"):
        confusion_matrix([0, 2], [0, 1], num_classes=2)
    with pytest.raises(TypeError, match="integer labels"):
        confusion_matrix([0.5, 1.0], [0, 1])


def test_running_metrics_equal_the_metrics_of_all_batches(rng):
    y = rng.standard_normal((30, 2))
    pred = y + rng.standard_normal((30, 2))
    running = RunningMetrics("regression", RunningMetrics.total(y))
    for sl in (slice(0, 8), slice(8, 16), slice(16, 30)):
        running.update(mse(y[sl], pred[sl]), pred[sl], y[sl], None)
    result = running.result()
    assert result["mse"] == pytest.approx(skm.mean_squared_error(y, pred), rel=1e-12)
    assert result["loss"] == pytest.approx(skm.mean_squared_error(y, pred), rel=1e-12)
    assert result["r2"] == pytest.approx(skm.r2_score(y, pred), rel=1e-12)

    logits = rng.standard_normal((30, 3))
    labels = rng.integers(0, 3, 30)
    running = RunningMetrics("classification")
    for sl in (slice(0, 10), slice(10, 30)):
        running.update(1.0, logits[sl], labels[sl], labels[sl])
    assert running.result() == {
        "loss": 1.0,
        "accuracy": skm.accuracy_score(labels, logits.argmax(1)),
    }


def test_running_metrics_without_ss_tot_report_no_r2(rng):
    y = rng.standard_normal((6, 1))
    running = RunningMetrics("regression")
    running.update(mse(y, 2 * y), 2 * y, y, None)
    assert set(running.result()) == {"loss", "mse"}
