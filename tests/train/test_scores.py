"""Precision, recall, F1, ROC-AUC and top-k accuracy against scikit-learn; the metrics
selected in fit and in a run."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn, optim
from trainlab.train import Trainer, precision_recall_f1, roc_auc, top_k_accuracy
from trainlab.train.callbacks import resolve_mode


def test_precision_recall_f1_match_scikit_learn(rng):
    from sklearn.metrics import precision_recall_fscore_support

    y = rng.integers(0, 4, size=60)
    pred = np.where(rng.uniform(size=60) < 0.6, y, rng.integers(0, 4, size=60))
    pred[pred == 3] = 2  # class 3 never predicted: precision 0 by convention
    p, r, f, _ = precision_recall_fscore_support(y, pred, labels=range(4), zero_division=0)
    ours = precision_recall_f1(y, pred, 4)
    for a, b in zip(ours, (p, r, f), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_roc_auc_matches_scikit_learn_with_ties(rng):
    from sklearn.metrics import roc_auc_score

    y = rng.integers(0, 2, size=80)
    scores = np.round(rng.normal(size=80) + y, 1)  # rounded: many ties
    assert roc_auc(y, scores) == pytest.approx(roc_auc_score(y, scores), rel=1e-14)
    with pytest.raises(ValueError, match="both classes"):
        roc_auc(np.zeros(3), [0.1, 0.2, 0.3])


def test_top_k_accuracy_matches_scikit_learn(rng):
    from sklearn.metrics import top_k_accuracy_score

    y = rng.integers(0, 5, size=40)
    scores = rng.normal(size=(40, 5))
    for k in (1, 2, 3):
        assert top_k_accuracy(y, scores, k) == pytest.approx(
            top_k_accuracy_score(y, scores, k=k, labels=range(5)), rel=1e-14)


def test_fit_reports_the_selected_metrics(small_digits):
    from sklearn.metrics import f1_score

    X, y, X_val, y_val = small_digits
    model = nn.Linear(64, 10, rng=0)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2),
                      rng=0, verbose=0, metrics=["f1", "f1_per_class", "top3_accuracy"])
    history = trainer.fit(X, y, epochs=2, validation_data=(X_val, y_val))
    row = history.rows[-1]
    pred = trainer.predict(X_val).argmax(axis=1)
    assert row["val_f1"] == pytest.approx(f1_score(y_val, pred, average="macro",
                                                   labels=range(10), zero_division=0))
    assert {f"val_f1_{c}" for c in range(10)} <= set(row) and "val_top3_accuracy" in row
    assert set(trainer.evaluate(X_val, y_val)) >= {"loss", "accuracy", "f1", "top3_accuracy"}


def test_bad_metric_names_and_tasks_are_refused():
    model = nn.Linear(3, 2, rng=0)
    with pytest.raises(ValueError, match="Trainer: metrics: expected names"):
        Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()), metrics=["f2"])
    with pytest.raises(ValueError, match="classification metrics"):
        Trainer(model, nn.MSELoss(), optim.SGD(model.parameters()), metrics=["f1"])


def test_scores_are_maximised_when_monitored():
    assert resolve_mode("val_f1", "auto", "x") == "max"
    assert resolve_mode("val_roc_auc", "auto", "x") == "max"
    assert resolve_mode("val_recall_3", "auto", "x") == "max"
    assert resolve_mode("val_loss", "auto", "x") == "min"


def test_a_run_records_the_selected_metrics():
    from trainlab.recipe import SettingError, from_flat
    from trainlab.runs.run import Run

    run = Run.in_memory(from_flat({"data": "iris", "hidden": [8], "epochs": 1, "monitor": False,
                                   "metrics": "f1,top2_accuracy"}))
    run.train()
    assert {"val_f1", "val_top2_accuracy"} <= set(run.trainer.history.rows[-1])
    with pytest.raises(SettingError, match="metrics.*regression"):
        Run.in_memory(from_flat({"data": "diabetes", "metrics": "f1", "monitor": False}))
    with pytest.raises(SettingError, match="metrics"):
        from_flat({"metrics": "f1,accuracy2"})
