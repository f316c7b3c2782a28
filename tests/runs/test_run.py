"""Run: one recipe trained into a directory, resumed, evaluated and predicted from the
library, with the checks that keep a resume honest."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from interrupt import StopAfter

from trainlab import runs
from trainlab.recipe import SettingError, from_flat
from trainlab.runs.record import RunRecord
from trainlab.runs.run import Run, RunError

SMALL = {"hidden": [16], "epochs": 3, "monitor": False, "batch_size": 64}


def lrs(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [float(row["lr"]) for row in csv.DictReader(f)]


def test_a_library_run_writes_the_same_files_as_the_command_line(tmp_path):
    from trainlab.cli import main

    assert main(["train", "--hidden", "16", "--epochs", "3", "--no-monitor",
                 "--batch-size", "64", "-q", "--out", str(tmp_path / "cli"), "--name", "a"]) == 0
    # (three epochs of 21 steps: far from trained, but the numbers must be the same)
    outcome = Run.create(from_flat(SMALL), out=tmp_path / "lib", name="a").train()
    assert outcome.status == "completed" and outcome.epochs == 3
    assert ((tmp_path / "cli" / "a" / "metrics.csv").read_bytes()
            == (tmp_path / "lib" / "a" / "metrics.csv").read_bytes())
    assert outcome.final["test"]["accuracy"] > 0.2  # above chance (0.1) already


def test_an_in_memory_run_needs_no_directory():
    run = Run.in_memory(from_flat({**SMALL, "data": "iris", "epochs": 2}))
    outcome = run.train()
    assert outcome.status == "completed" and outcome.report is None and run.run_dir is None
    assert set(run.evaluate("test")) == {"loss", "accuracy"}
    assert run.predict(run.data.dataset.X[:5]).shape == (5, 3)


def test_resume_to_the_same_total_is_exact(tmp_path):
    full = Run.create(from_flat({**SMALL, "epochs": 4}), out=tmp_path, name="full")
    full.train()
    part = Run.create(from_flat({**SMALL, "epochs": 4}), out=tmp_path, name="part")
    part.trainer.callbacks.append(StopAfter(2))
    part.train()
    part._lock.close()
    resumed = Run.resume(tmp_path / "part")
    assert resumed.trainer.epoch == 2
    resumed.train()
    assert ((tmp_path / "part" / "metrics.csv").read_bytes()
            == (tmp_path / "full" / "metrics.csv").read_bytes())


def test_a_longer_resume_stretches_the_cosine_from_the_current_lr(tmp_path):
    run = Run.create(from_flat({**SMALL, "epochs": 4}), out=tmp_path, name="c")
    run.trainer.callbacks.append(StopAfter(2))
    run.train()
    run._lock.close()
    resumed = Run.resume(tmp_path / "c", epochs=8)
    assert resumed.resume_note is not None and "anneals from the current lr" in resumed.resume_note
    resumed.train()
    rates = lrs(tmp_path / "c")
    assert len(rates) == 8
    assert all(b <= a for a, b in zip(rates, rates[1:], strict=False))  # never rises again
    assert all(r > 0 for r in rates)  # no epoch at lr 0


def test_a_longer_resume_of_a_finished_cosine_is_refused(tmp_path):
    Run.create(from_flat(SMALL), out=tmp_path, name="done").train()
    with pytest.raises(RunError, match="cosine schedule of this run ended at epoch 3"):
        Run.resume(tmp_path / "done", epochs=6)


def test_a_longer_resume_without_a_length_dependent_schedule_continues(tmp_path):
    Run.create(from_flat({**SMALL, "schedule": "step", "step_size": 2}), out=tmp_path,
               name="s").train()
    resumed = Run.resume(tmp_path / "s", epochs=5)
    assert resumed.resume_note is None
    resumed.train()
    assert lrs(tmp_path / "s") == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5])


def test_a_resume_that_would_train_nothing_is_refused(tmp_path):
    Run.create(from_flat({**SMALL, "schedule": "none"}), out=tmp_path, name="n").train()
    before = (tmp_path / "n" / "model.safetensors").read_bytes()
    for epochs in (2, 3):
        with pytest.raises(RunError, match="would train nothing"):
            Run.resume(tmp_path / "n", epochs=epochs)
    assert (tmp_path / "n" / "model.safetensors").read_bytes() == before


def test_a_completed_run_without_its_checkpoint_is_not_retrained(tmp_path):
    Run.create(from_flat({**SMALL, "schedule": "none"}), out=tmp_path, name="m").train()
    metrics = (tmp_path / "m" / "metrics.csv").read_bytes()
    (tmp_path / "m" / "checkpoint.safetensors").unlink()
    with pytest.raises(RunError, match="checkpoint.safetensors is missing"):
        Run.resume(tmp_path / "m", epochs=5)
    assert (tmp_path / "m" / "metrics.csv").read_bytes() == metrics


def test_an_edited_config_is_refused_on_resume(tmp_path):
    Run.create(from_flat({**SMALL, "schedule": "none"}), out=tmp_path, name="e").train()
    config = tmp_path / "e" / "config.toml"
    config.write_text(config.read_text().replace("lr = 0.001", "lr = 0.01"))
    with pytest.raises(RunError, match=r"was edited after the run started \(lr: 0.001 -> 0.01\)"):
        Run.resume(tmp_path / "e", epochs=5)


def test_changed_data_is_refused_on_resume_and_evaluate(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y)
    Run.create(from_flat({**SMALL, "data": f"npz:{path}", "schedule": "none"}), out=tmp_path,
               name="d").train()
    X[0, 0] += 1.0
    np.savez(path, X=X, y=y)
    with pytest.raises(RunError, match="changed since the run started"):
        Run.resume(tmp_path / "d", epochs=5)
    with pytest.raises(RunError, match="changed since the run was trained"):
        RunRecord.open(tmp_path / "d").split("test")


def test_regression_targets_are_standardised_and_restored(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 4))
    y = 1000.0 + 250.0 * (X @ np.array([1.0, -1.0, 0.5, 0.0])) + rng.normal(size=400)
    path = tmp_path / "grams.npz"
    np.savez(path, X=X, y=y)
    run = Run.create(from_flat({"data": f"npz:{path}", "epochs": 40, "monitor": False,
                                "hidden": [32]}), out=tmp_path, name="g")
    assert run.config.data.target_scaler == "standard"
    assert run.config.model.output_init == "zeros" and run.config.training.early_stopping
    outcome = run.train()
    assert outcome.final["test"]["r2"] > 0.9  # grams need no hand scaling
    loaded = RunRecord.open(tmp_path / "g").load()
    predictions = loaded.predict(X[:50])[:, 0]
    assert abs(predictions.mean() - y[:50].mean()) < 100  # in grams, not standard units
    info = json.loads((tmp_path / "g" / "run.json").read_text())
    assert math.isclose(info["final"]["test"]["r2"], outcome.final["test"]["r2"])


def test_a_run_name_is_never_a_template_or_a_path(tmp_path):
    for name in ("a/b", "..", "x\x00y", "x\ny", "x\x1b[31m"):
        with pytest.raises(Exception, match="plain directory name"):
            Run.create(from_flat(SMALL), out=tmp_path, name=name)
    Run.create(from_flat({**SMALL, "epochs": 1}), out=tmp_path, name="victim").train()
    before = (tmp_path / "victim" / "checkpoint.safetensors").read_bytes()
    Run.create(from_flat({**SMALL, "epochs": 1, "seed": 5}), out=tmp_path,
               name="victim{epoch}").train()
    assert (tmp_path / "victim" / "checkpoint.safetensors").read_bytes() == before
    assert (tmp_path / "victim{epoch}" / "checkpoint.safetensors").is_file()


def test_the_checkpoint_carries_the_recipe_and_the_facts(tmp_path):
    Run.create(from_flat(SMALL), out=tmp_path, name="f").train()
    from trainlab.train import load_checkpoint

    extra = load_checkpoint(tmp_path / "f" / "model.safetensors").extra
    assert extra["settings"]["hidden"] == [16]
    assert extra["dataset"]["n_features"] == 64 and len(extra["dataset"]["class_names"]) == 10
    assert set(extra["fingerprints"]) == {"data", "settings"}
    info = runs.read_run_info(tmp_path / "f")
    assert info["fingerprints"] == extra["fingerprints"]





def test_evaluation_in_target_units_is_the_hand_computation():
    from trainlab import data
    from trainlab.runs import build
    from trainlab.runs.run import evaluate_in_units, predict_in_units
    from trainlab.train.evaluation import forward_batches

    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3))
    y = 40.0 + 7.0 * X[:, 0] + rng.normal(size=50)
    model = build.build_model(from_flat({"hidden": [5], "dtype": "float64"}), 3, 1, 0)[1]
    target = data.make_scaler("standard").fit(y[:, None])
    mean, std = (float(np.asarray(target.state_dict()[k])[0]) for k in ("mean", "std"))
    out = model.forward(X)[:, 0]
    restored = out * std + mean
    result = evaluate_in_units(model, "regression", X, y, target)
    assert result["loss"] == pytest.approx(np.mean((out - (y - mean) / std) ** 2), rel=1e-12)
    assert result["mse"] == pytest.approx(np.mean((restored - y) ** 2), rel=1e-12)
    assert result["r2"] == pytest.approx(
        1 - np.sum((restored - y) ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-12)
    identity = data.make_scaler("none").fit(X)
    np.testing.assert_allclose(predict_in_units(model, identity, target, X)[:, 0], restored,
                               rtol=1e-12)
    # (BLAS may sum a product of 7 rows in another order than one of 50: round-off only)
    np.testing.assert_allclose(forward_batches(model, X, batch_size=7)[:, 0], out, rtol=1e-12)


def test_bad_arguments_of_a_run_name_what_was_expected(tmp_path):
    with pytest.raises(TypeError, match="RunConfig.*Received: dict"):
        Run.in_memory({"data": "iris"})
    Run.create(from_flat({**SMALL, "schedule": "none", "epochs": 1}), out=tmp_path,
               name="b").train()
    for bad in ("5", 0, 2.5, True):
        with pytest.raises(SettingError, match="'epochs'"):
            Run.resume(tmp_path / "b", epochs=bad)
