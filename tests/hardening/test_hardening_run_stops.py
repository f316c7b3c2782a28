"""A run that stops early or whose output goes away: stdout closed (``| head -1``) and
SIGTERM. The run's files agree on the epoch, nothing is lost, and the resume is exact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import run_cli
from run_support import IRIS, child, env, epochs_on_disk, same_weights

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
