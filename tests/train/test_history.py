"""History: columns, metrics.csv, and the dict round trip a checkpoint relies on."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from trainlab.train import History


@pytest.fixture
def history():
    h = History()
    h.append({"epoch": 1, "loss": np.float32(0.75), "accuracy": 0.5, "lr": 0.1, "epoch_time": 0.2})
    h.append({"epoch": np.int64(2), "loss": 0.1 + 0.2, "accuracy": 0.625, "val_loss": 0.4,
              "lr": 0.05, "epoch_time": 0.3})
    return h


def test_columns_and_values(history):
    assert history.keys() == ["epoch", "loss", "accuracy", "lr", "epoch_time", "val_loss"]
    assert history["epoch"] == [1, 2] and type(history["epoch"][1]) is int
    assert history["loss"] == [float(np.float32(0.75)), 0.1 + 0.2]
    assert math.isnan(history["val_loss"][0]) and history["val_loss"][1] == 0.4
    assert history.last["accuracy"] == 0.625 and len(history) == 2 and "lr" in history
    with pytest.raises(KeyError, match="History has no column 'r2'"):
        history["r2"]


def test_metrics_csv_keeps_every_digit(history, tmp_path):
    history.to_csv(tmp_path / "metrics.csv")
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == history.keys()
    assert rows[0]["epoch"] == "1" and rows[0]["val_loss"] == ""
    assert float(rows[1]["loss"]) == 0.1 + 0.2


def test_dict_round_trip_through_json(history):
    history.stop_reason = "Early stopping at epoch 2"
    history.diverged = None
    data = json.loads(json.dumps(history.to_dict()))
    assert data["metrics"]["accuracy"] == [0.5, 0.625]
    back = History.from_dict(data)
    assert back.keys() == history.keys() and back.stop_reason == history.stop_reason
    for key in history.keys():
        np.testing.assert_array_equal(back[key], history[key])
    with pytest.raises(ValueError, match="same length"):
        History.from_dict({"metrics": {"loss": [1.0], "lr": [1.0, 2.0]}})
