"""A run that stops early or whose output goes away: stdout closed (``| head -1``), SIGTERM,
a write that fails (a full disk), divergence to infinite weights. The run's files agree
on the epoch, nothing is lost, and the resume is exact."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import assert_one_clear_line, run_cli
from run_support import IRIS, child, env, epochs_on_disk, same_weights

from trainlab import runs
from trainlab.train import load_checkpoint

# -- 1. stdout closed early -------------------------------------------------------------


def test_a_reader_that_goes_away_does_not_fail_the_run(tmp_path):
    """``trainlab train | head -1``: the run finishes and says so; output is dropped."""
    proc = child("train", *IRIS, "--epochs", "150", "--no-monitor", "--out", tmp_path,
                 "--name", "piped")
    try:
        first = proc.stdout.readline()
        proc.stdout.close()  # the reader exits: every later write to stdout is EPIPE
        err = proc.stderr.read()
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert first.startswith("epoch")
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    run = tmp_path / "piped"
    assert epochs_on_disk(run) == ("completed", 150, 150, 150)
    assert (run / "model.safetensors").is_file() and (run / "report.html").is_file()


@pytest.mark.parametrize("stdout", ["closed", "full"])
def test_a_closed_or_full_stdout_does_not_fail_the_run(tmp_path, stdout):
    if stdout == "full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full" if stdout == "full" else os.devnull, "w") as sink:
        proc = subprocess.run(
            [sys.executable, "-m", "trainlab", "train", *IRIS, "--epochs", "3", "--no-monitor",
             "--out", str(tmp_path), "--name", stdout], env=env(), stdout=sink,
            stderr=subprocess.PIPE, text=True, timeout=300,
            preexec_fn=(lambda: os.close(1)) if stdout == "closed" else None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert epochs_on_disk(tmp_path / stdout) == ("completed", 3, 3, 3)


# -- 2. SIGTERM -------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c_and_the_resume_is_exact(tmp_path, capsys):
    settings = [*IRIS, "--epochs", "200", "--dropout", "0.1", "--no-monitor", "-q",
                "--out", tmp_path]
    run = tmp_path / "termed"
    proc = child("train", *settings, "--name", "termed")
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoint.safetensors").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.02)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"trainlab train --resume {run}" in err
    status, recorded, checkpoint, rows = epochs_on_disk(run)
    assert status == "interrupted" and 1 <= checkpoint < 200
    assert recorded == checkpoint == rows

    assert run_cli(capsys, "train", "--resume", run, "-q")[0] == 0
    assert run_cli(capsys, "train", *settings, "--name", "straight")[0] == 0
    straight = tmp_path / "straight"
    same_weights(run / "model.safetensors", straight / "model.safetensors")
    assert (run / "metrics.csv").read_bytes() == (straight / "metrics.csv").read_bytes()
    assert epochs_on_disk(run) == ("completed", 200, 200, 200)


# -- 3. a write that fails (disk full) --------------------------------------------------

FAIL_AT = 3


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def fail_checkpoint(monkeypatch):
    from trainlab.train import checkpoint as module

    real = module.save_checkpoint

    def save(path, trainer, *args, **kwargs):
        if trainer.epoch == FAIL_AT:
            no_space()
        return real(path, trainer, *args, **kwargs)

    monkeypatch.setattr(module, "save_checkpoint", save)


def fail_file(name: str, nth: int):
    def patch(monkeypatch):
        real, calls = runs.directory.atomic_write_text, []

        def write(path, text):
            if Path(path).name == name:
                calls.append(path)
                if len(calls) == nth:
                    no_space()
            return real(path, text)

        monkeypatch.setattr(runs.directory, "atomic_write_text", write)
    return patch


def fail_final_model(monkeypatch):
    from trainlab.runs import run as module

    monkeypatch.setattr(module, "save_checkpoint", no_space)


@pytest.mark.parametrize("failure", [
    fail_checkpoint,                    # the checkpoint of epoch 3
    fail_file("metrics.csv", FAIL_AT),  # metrics.csv after the checkpoint of epoch 3
    fail_file("run.json", 3),           # run.json when training ends (after "created", "running")
    fail_final_model,                   # model.safetensors when training ends
], ids=["checkpoint", "metrics", "final-run-json", "final-model"])
def test_run_json_checkpoint_and_metrics_agree_after_a_failed_write(tmp_path, capsys,
                                                                    monkeypatch, failure):
    failure(monkeypatch)
    status, _, err = run_cli(capsys, "train", *IRIS, "--epochs", "5", "--no-monitor", "-q",
                             "--out", tmp_path, "--name", "full")
    monkeypatch.undo()
    assert_one_clear_line(status, err, "No space left", status=1)
    run = tmp_path / "full"
    state, recorded, checkpoint, rows = epochs_on_disk(run)
    assert state == "failed" and recorded == checkpoint == rows
    info = json.loads((run / "run.json").read_text())
    assert info["global_step"] == load_checkpoint(run / "checkpoint.safetensors").global_step
    # and the run resumes from there to the same numbers as a run that never failed
    assert run_cli(capsys, "train", "--resume", run, "-q")[0] == 0
    assert run_cli(capsys, "train", *IRIS, "--epochs", "5", "--no-monitor", "-q",
                   "--out", tmp_path, "--name", "straight")[0] == 0
    straight = tmp_path / "straight"
    same_weights(run / "model.safetensors", straight / "model.safetensors")
    assert (run / "metrics.csv").read_bytes() == (straight / "metrics.csv").read_bytes()


# -- 4. divergence to infinite weights still gets its report ----------------------------


def test_a_run_whose_weights_became_infinite_still_gets_its_report(tmp_path, capsys):
    status, _, err = run_cli(capsys, "train", "--data", "iris", "--optimizer", "sgd", "--lr",
                             "3e38", "--batch-size", "200", "--epochs", "3", "-q", "--out",
                             tmp_path, "--name", "inf")
    assert status == 1 and err.count("\n") == 1 and "infinite" in err, err
    run = tmp_path / "inf"
    page = (run / "report.html").read_text()
    assert "diverged" in page
    assert json.loads((run / "run.json").read_text())["status"] == "diverged"
