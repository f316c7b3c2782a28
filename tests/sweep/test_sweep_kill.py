"""A sweep survives SIGKILL: ``--resume`` finishes it without redoing a complete trial or
losing one; sweeps sharing one study never run the same trial twice."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

optuna = pytest.importorskip("optuna")

from sweep_support import process, results, write_spec  # noqa: E402

from trainlab.recipe import from_flat  # noqa: E402
from trainlab.runs.run import Run  # noqa: E402

SPEC = """[sweep]
metric = "val_accuracy"
seeds = [0]

[sweep.grid]
lr = [0.01, 0.003, 0.001]
"""
BASE = {"data": "digits", "epochs": 8, "hidden": [32], "monitor": False, "batch_size": 16}


def _digits_spec(folder, name="kill"):
    spec = write_spec(folder, name, SPEC, epochs=8)
    spec.write_text(spec.read_text().replace('data = "iris"', 'data = "digits"')
                    .replace("hidden = [8]", "hidden = [32]"))
    return spec


def _status(run_dir):
    try:
        return json.loads((run_dir / "run.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.mark.slow
def test_sigkill_then_resume_loses_and_redoes_nothing(tmp_path):
    spec = _digits_spec(tmp_path)
    out = tmp_path / "out"
    child = process("sweep", spec, "--out", out, "--workers", "1", cwd=tmp_path)
    first, second = out / "trials/trial-0000", out / "trials/trial-0001"
    deadline = time.monotonic() + 300
    try:  # kill while the second trial trains: the first has ended, the third not begun
        while not (_status(first) == "completed" and (second / "checkpoint.safetensors").exists()
                   and _status(second) == "running"):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the sweep did not reach its second trial"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    kept = (first / "run.json").read_bytes()
    epochs_at_kill = len((second / "metrics.csv").read_text().splitlines()) - 1
    assert 1 <= epochs_at_kill < 8 or _status(second) == "completed"

    again = process("sweep", spec, "--resume", out, "--workers", "1", cwd=tmp_path)
    stdout, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr
    rows = results(out)
    assert [(r["trial"], r["status"]) for r in rows] == [
        ("0", "complete"), ("1", "complete"), ("2", "complete")]
    assert (first / "run.json").read_bytes() == kept  # the complete trial was not redone
    assert sorted(p.name for p in (out / "trials").iterdir()) == [
        "trial-0000", "trial-0001", "trial-0002"]
    # the killed trial continued from its checkpoint, exactly: its numbers are those of a
    # run that was never interrupted
    info = json.loads((second / "run.json").read_text())
    reference = Run.in_memory(from_flat({**BASE, "lr": 0.003, "seed": 0}))
    reference.train()
    assert info["epochs_completed"] == 8
    assert info["final"]["val"] == reference.final_metrics()["val"]
    study = optuna.load_study(study_name="kill", storage=f"sqlite:///{out / 'sweep.db'}")
    states = sorted((t.user_attrs["slot"], t.state.name, "retry_of" in t.user_attrs)
                    for t in study.trials)
    # the lost trial is marked failed and replaced by a copy that continued it
    assert states == [(0, "COMPLETE", False), (1, "COMPLETE", True), (1, "FAIL", False),
                      (2, "COMPLETE", False)]


@pytest.mark.slow
def test_two_sweeps_sharing_a_study_never_run_a_trial_twice(tmp_path):
    spec = write_spec(tmp_path, "shared", '[sweep]\nmetric = "val_accuracy"\nseeds = [0, 1]\n'
                      '[sweep.grid]\nlr = [0.01, 0.001]\n')
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    children = [process("sweep", spec, "--out", tmp_path / name, "--workers", "1",
                        "--storage", storage, cwd=tmp_path) for name in ("a", "b")]
    for child in children:
        _, stderr = child.communicate(timeout=600)
        assert child.returncode == 0, stderr
    study = optuna.load_study(study_name="shared", storage=storage)
    assert sorted(t.user_attrs["slot"] for t in study.trials) == [0, 1, 2, 3]
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    ran = sorted(p.name for name in ("a", "b") for p in (tmp_path / name / "trials").iterdir())
    assert ran == ["trial-0000", "trial-0001", "trial-0002", "trial-0003"]
    # both sweeps list every trial, each with the directory of the sweep that ran it
    last = results(tmp_path / "a") if len(results(tmp_path / "a")) == 4 else \
        results(tmp_path / "b")
    assert len(last) == 4
