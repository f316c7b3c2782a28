"""The report's test-split sections against scikit-learn's metrics computed directly."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, r2_score

from trainlab.report.evaluation import SplitOutputs, split_sections
from trainlab.report.run_report import best_epoch, config_groups


def figure_stub(fig, name, caption):
    fig.savefig(__import__("io").BytesIO(), format="png")
    return f"<figure>{name}</figure>"


def test_confusion_matrix_and_per_class_scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=60)
    logits = rng.normal(size=(60, 3))
    logits[np.arange(60), y] += 1.5
    [section] = split_sections(SplitOutputs("classification", logits, y, ["a", "b", "c"]),
                              figure_stub)
    predicted = logits.argmax(axis=1)
    accuracy = np.mean(predicted == y)
    assert f"{100 * accuracy:.2f}%" in section.body and "confusion_matrix" in section.body
    f1 = f1_score(y, predicted, average=None)
    rows = re.findall(r"<tr><td>(\w)</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>"
                      r"<td>(\d+)</td></tr>", section.body)
    assert [r[0] for r in rows] == ["a", "b", "c"]
    np.testing.assert_allclose([float(r[1]) for r in rows], f1, atol=5e-4)
    assert [int(r[2]) for r in rows] == list(confusion_matrix(y, predicted).sum(axis=1))


def test_regression_headline_is_r2():
    rng = np.random.default_rng(1)
    y = rng.normal(size=40)
    pred = y + 0.3 * rng.normal(size=40)
    [section] = split_sections(SplitOutputs("regression", pred[:, None], y), figure_stub)
    assert f"Test R² <b>{r2_score(y, pred):.3f}</b>" in section.body
    assert "predicted_vs_actual" in section.body
    assert split_sections(None, figure_stub) == []


def test_best_epoch_and_applicable_groups():
    assert best_epoch({"epoch": [1, 2, 3], "val_loss": [0.5, 0.2, 0.4]}) == 2
    assert best_epoch({"epoch": [1], "loss": [0.5]}) is None
    groups = dict(config_groups({"optimizer": "adam", "lr": 0.001, "momentum": 0.9,
                                 "augment": "none", "max_shift": 2, "seed": 3}, None))
    assert groups["optimizer"] == [["optimizer", "adam"], ["lr", "0.001"]]
    assert "training" in groups and ["seed", "3"] in groups["run"]
    assert all(row[0] != "max_shift" for row in groups["training"])


@pytest.mark.parametrize("config", [{"optimizer": "bogus_name"}, {"weird": 1}])
def test_a_config_that_is_not_a_recipe_is_shown_as_it_is(config):
    [(name, rows)] = config_groups(config, None)
    assert name == "settings" and rows[0][0] == next(iter(config))
