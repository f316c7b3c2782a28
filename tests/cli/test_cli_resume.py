"""``trainlab train --resume``: exact continuation, and Ctrl-C (SIGINT) in a real process."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from cli_helpers import run_cli, subprocess_env

from trainlab import runs
from trainlab.train import load_checkpoint

SETTINGS = ["--hidden", "32", "--dropout", "0.2", "--augment", "noise", "--seed", "5",
            "--schedule", "exponential", "--monitor-every", "7", "-q"]


def weights(run):
    return load_checkpoint(run / "checkpoint.safetensors").trainer_state


def assert_same_state(a, b):
    for key in a["model"]:
        assert np.array_equal(a["model"][key], b["model"][key]), key
    assert sorted(a["optimizer"]["state"]) == sorted(b["optimizer"]["state"])
    for index, sa in a["optimizer"]["state"].items():
        for key in sa:
            assert np.array_equal(sa[key], b["optimizer"]["state"][index][key]), (index, key)
    assert a["rng"] == b["rng"] and a["global_step"] == b["global_step"]


@pytest.mark.slow
def test_three_epochs_then_resume_to_six_equals_six_straight(tmp_path, capsys):
    assert run_cli(capsys, "train", *SETTINGS, "--epochs", "3", "--out", tmp_path,
                   "--name", "parts")[0] == 0
    status, out, err = run_cli(capsys, "train", "--resume", tmp_path / "parts", "--epochs", "6")
    assert status == 0, err
    assert "resuming" in out and "from epoch 3" in out
    assert run_cli(capsys, "train", *SETTINGS, "--epochs", "6", "--out", tmp_path,
                   "--name", "straight")[0] == 0
    parts, straight = tmp_path / "parts", tmp_path / "straight"
    assert_same_state(weights(parts), weights(straight))
    assert (parts / "metrics.csv").read_bytes() == (straight / "metrics.csv").read_bytes()
    info = json.loads((parts / "run.json").read_text())
    assert info["epochs_completed"] == 6 and info["target_epochs"] == 6
    assert info["final"] == json.loads((straight / "run.json").read_text())["final"]
    # the diagnostics continue: the same sampled steps as the straight run
    steps = [[r["step"] for r in json.loads((run / "monitor.json").read_text())["records"]]
             for run in (parts, straight)]
    assert steps[0] == steps[1]


def test_resume_accepts_only_epochs(tmp_path, capsys, finished_run):
    status, _, err = run_cli(capsys, "train", "--resume", finished_run, "--lr", "0.5")
    assert status == 2
    assert err.count("\n") == 1 and "--lr" in err and "--epochs" in err


def test_resume_of_a_directory_that_is_not_a_run(tmp_path, capsys):
    status, _, err = run_cli(capsys, "train", "--resume", tmp_path)
    assert status == 2 and err.count("\n") == 1 and "not a trainlab run" in err


def test_resume_with_a_corrupted_checkpoint_is_refused(tmp_path, capsys, finished_run):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(finished_run, run)
    data = bytearray((run / "checkpoint.safetensors").read_bytes())
    data[-5] ^= 0xFF
    (run / "checkpoint.safetensors").write_bytes(bytes(data))
    status, _, err = run_cli(capsys, "train", "--resume", run, "--epochs", "5")
    assert status == 2 and err.count("\n") == 1
    assert "checkpoint.safetensors" in err and "SHA-256" in err


@pytest.mark.slow
def test_sigint_keeps_the_last_checkpoint_and_the_run_resumes(tmp_path, capsys):
    run = tmp_path / "s"
    argv = [sys.executable, "-m", "trainlab", "train", "--epochs", "400", "--hidden", "64",
            "--no-monitor", "--out", str(tmp_path), "--name", "s"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=subprocess_env())
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoint.safetensors").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert f"trainlab train --resume {run}" in err
    checkpoint = load_checkpoint(run / "checkpoint.safetensors")
    assert 1 <= checkpoint.epoch < 400
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == list(range(1, checkpoint.epoch + 1))
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "interrupted" and info["epochs_completed"] == checkpoint.epoch
    # resume for two more epochs
    target = checkpoint.epoch + 2
    status, out, err = run_cli(capsys, "train", "--resume", run, "--epochs", str(target), "-q")
    assert status == 0, err
    assert load_checkpoint(run / "checkpoint.safetensors").epoch == target
    assert json.loads((run / "run.json").read_text())["status"] == "completed"


def test_a_run_being_trained_cannot_be_resumed_twice(capsys, finished_run):
    from trainlab import runs

    lock = runs.lock_run(finished_run)
    try:
        status, _, err = run_cli(capsys, "train", "--resume", finished_run, "--epochs", "4")
    finally:
        lock.close()
    assert status == 2 and err.count("\n") == 1 and "another process" in err


def test_resume_removes_what_a_killed_process_left_half_written(tmp_path, capsys):
    assert run_cli(capsys, "train", "--epochs", "1", "--hidden", "8", "-q", "--no-monitor",
                   "--schedule", "none", "--out", tmp_path, "--name", "k")[0] == 0
    run = tmp_path / "k"
    stale = run / ".checkpoint.safetensors.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    status, _, err = run_cli(capsys, "train", "--resume", run, "--epochs", "2", "-q")
    assert status == 0, err
    assert not stale.exists()
    assert load_checkpoint(run / "checkpoint.safetensors").epoch == 2


def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_over(tmp_path, capsys):
    assert run_cli(capsys, "train", "--epochs", "2", "--hidden", "8", "-q", "--no-monitor",
                   "--out", tmp_path, "--name", "full")[0] == 0
    assert run_cli(capsys, "train", "--epochs", "2", "--hidden", "8", "-q", "--no-monitor",
                   "--out", tmp_path, "--name", "early")[0] == 0
    early = tmp_path / "early"
    for name in ("checkpoint.safetensors", "model.safetensors", "metrics.csv"):
        (early / name).unlink()
    info = json.loads((early / "run.json").read_text())
    runs.write_run_info(early, {**info, "status": "running", "epochs_completed": 0})
    status, out, err = run_cli(capsys, "train", "--resume", early)
    assert status == 0, err
    assert "no complete checkpoint" in out
    assert (early / "metrics.csv").read_bytes() == (tmp_path / "full" / "metrics.csv").read_bytes()
