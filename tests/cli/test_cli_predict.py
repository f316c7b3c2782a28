"""``trainlab evaluate`` and ``trainlab predict``: the saved model and normalisation, applied."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from cli_helpers import run_cli

from trainlab import data
from trainlab.runs import RunSeeds
from trainlab.train import load_checkpoint, load_model


def test_states_split_and_metrics(capsys, finished_run):
    status, out, err = run_cli(capsys, "evaluate", finished_run, "--json")
    assert status == 0, err
    result = json.loads(out)
    final = json.loads((finished_run / "run.json").read_text())["final"]
    assert result["metrics"]["n"] == 360
    assert result["metrics"]["accuracy"] == final["test"]["accuracy"]
    assert result["metrics"]["loss"] == pytest.approx(final["test"]["loss"], rel=1e-6)
    status, out, _ = run_cli(capsys, "evaluate", finished_run, "--split", "val", "--json")
    assert json.loads(out)["metrics"]["accuracy"] == final["val"]["accuracy"]
    status, out, _ = run_cli(capsys, "evaluate", finished_run)
    assert status == 0 and "accuracy" in out and "(test split)" in out


def test_evaluate_on_another_dataset_file(tmp_path, capsys, finished_run):
    ds = data.load_dataset("digits")
    np.savez(tmp_path / "some.npz", X=ds.X[:200], y=ds.y[:200])
    status, out, err = run_cli(capsys, "evaluate", finished_run,
                               "--data", f"npz:{tmp_path / 'some.npz'}", "--json")
    assert status == 0, err
    metrics = json.loads(out)["metrics"]
    # the same number computed by hand: saved scaler, saved model, argmax of the logits
    ckpt = load_checkpoint(finished_run / "model.safetensors")
    mean, std = (ckpt.standardizer["state"][k] for k in ("mean", "std"))
    model = load_model(ckpt)
    logits = model.forward(((ds.X[:200] - mean) / std).astype(np.float32))
    assert metrics["n"] == 200
    assert metrics["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == ds.y[:200]))


def digits_test_split(run):
    ds = data.load_dataset("digits")
    split_seed = RunSeeds.from_seed(1).split
    return data.train_val_test_split(ds.X, ds.y, seed=split_seed)


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_predict_round_trip(tmp_path, capsys, finished_run, suffix):
    split = digits_test_split(finished_run)
    np.savez(tmp_path / "in.npz", X=split.X_test)
    out = tmp_path / f"pred{suffix}"
    status, stdout, err = run_cli(capsys, "predict", finished_run, "--input", tmp_path / "in.npz",
                                  "--output", out)
    assert status == 0, err
    assert "360 examples" in stdout
    if suffix == ".npz":
        with np.load(out, allow_pickle=False) as stored:
            labels, probs = stored["labels"], stored["probabilities"]
            assert list(stored["class_names"]) == [str(k) for k in range(10)]
            assert list(stored["classes"][:5]) == [str(k) for k in labels[:5]]
    else:
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0])[:3] == ["label", "class", "prob_0"]
        labels = np.array([int(r["label"]) for r in rows])
        probs = np.array([[float(r[f"prob_{k}"]) for k in range(10)] for r in rows])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    assert np.array_equal(probs.argmax(axis=1), labels)
    final = json.loads((finished_run / "run.json").read_text())["final"]
    assert np.mean(labels == split.y_test) == pytest.approx(final["test"]["accuracy"])


def test_predict_reads_a_csv_by_feature_name(tmp_path, capsys, finished_run):
    ds = data.load_dataset("digits")
    names = list(ds.feature_names)
    # columns shuffled, plus a target column: picked by name
    order = names[::-1]
    with open(tmp_path / "in.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["target", *order])
        for x, y in zip(ds.X[:20], ds.y[:20], strict=True):
            writer.writerow([int(y), *(x[names.index(n)] for n in order)])
    np.savez(tmp_path / "in.npz", X=ds.X[:20])
    for source, target in (("in.csv", "a.npz"), ("in.npz", "b.npz")):
        status, _, err = run_cli(capsys, "predict", finished_run, "--input", tmp_path / source,
                                 "--output", tmp_path / target)
        assert status == 0, err
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        np.testing.assert_array_equal(a["probabilities"], b["probabilities"])


def test_predict_regression(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5]) + 3.0).astype(np.float32)
    np.savez(tmp_path / "lin.npz", X=X, y=y)
    status, _, err = run_cli(capsys, "train", "--data", f"npz:{tmp_path / 'lin.npz'}", "--epochs",
                             "2", "--hidden", "8", "-q", "--no-monitor", "--augment", "none",
                             "--out", tmp_path)
    assert status == 0, err
    status, _, err = run_cli(capsys, "predict", tmp_path / "lin", "--input", tmp_path / "lin.npz",
                             "--output", tmp_path / "p.csv")
    assert status == 0, err
    with open(tmp_path / "p.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["prediction"] and len(rows) == 300
    model = load_model(tmp_path / "lin" / "model.safetensors")
    ckpt = load_checkpoint(tmp_path / "lin" / "model.safetensors")
    mean, std = (ckpt.standardizer["state"][k] for k in ("mean", "std"))
    target = ckpt.extra["target_scaler"]  # the targets were standardised for training
    assert target["type"] == "Standardizer"
    y_mean, y_std = (np.asarray(target["state"][k])[0] for k in ("mean", "std"))
    assert abs(y_mean - y[:200].mean()) < 1.0 and y_std > 1.0  # statistics in y's units
    scaled = model.forward(((X - mean) / std).astype(np.float32))[:, 0]
    expected = scaled * y_std + y_mean  # predictions come back in y's units
    np.testing.assert_allclose([float(r["prediction"]) for r in rows], expected,
                               rtol=1e-5, atol=1e-5)


def test_a_relative_data_path_is_stored_absolute(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    (tmp_path / "data").mkdir()
    with open(tmp_path / "data" / "t.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "c", "label"])
        for row in X:
            writer.writerow([*row, "yes" if row[0] > 0 else "no"])
    monkeypatch.chdir(tmp_path / "data")
    status, _, err = run_cli(capsys, "train", "--data", "csv:t.csv", "--epochs", "2", "--hidden",
                             "8", "-q", "--no-monitor", "--out", tmp_path / "runs")
    assert status == 0, err
    run = tmp_path / "runs" / "t"
    assert f'data = "csv:{tmp_path / "data" / "t.csv"}"' in (run / "config.toml").read_text()
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, "evaluate", run, "--json")
    assert status == 0, err
    assert json.loads(out)["metrics"]["n"] == 24
    info = json.loads((run / "run.json").read_text())
    assert info["dataset"]["class_names"] == ["no", "yes"]
