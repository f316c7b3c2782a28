"""SIGKILL at random points, resumed each time with ``--resume``: the run directory's
checkpoint always loads, and the final weights are bit-identical to an uninterrupted run."""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from cli_support import cli_process

from trainlab.train import load_checkpoint

KILLS = 5
EPOCHS = 40
SETTINGS = ["--data", "digits", "--hidden", "32", "--dropout", "0.1", "--augment", "noise",
            "--schedule", "cosine", "--batch-size", "32", "--epochs", str(EPOCHS),
            "--no-monitor", "--seed", "7"]


def wait_then_kill(proc, rng: random.Random, timeout: float = 120.0) -> list[str]:
    """Read the child's output until it has finished an epoch, wait a random moment
    (0 to 40 ms: the next epoch, its checkpoint write, or validation), then SIGKILL it."""
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("epoch"):
                time.sleep(rng.uniform(0.0, 0.04))
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
    finally:
        watchdog.cancel()
    return lines


def checkpoint_epoch(run: Path) -> int:
    path = run / "checkpoint.safetensors"
    if not path.exists():
        return 0
    checkpoint = load_checkpoint(path)  # never broken: loading must succeed
    for key, value in checkpoint.model_state.items():
        assert np.isfinite(value).all(), key
    return checkpoint.epoch


@pytest.mark.slow
def test_sigkill_and_resume_gives_bit_identical_weights(tmp_path):
    out = tmp_path / "runs"
    baseline = cli_process("train", *SETTINGS, "--out", out, "--name", "straight", "-q",
                           cwd=tmp_path)
    run = out / "killed"
    rng = random.Random(20261129)
    epochs_at_kill = []
    for kill in range(KILLS):
        argv = (["train", *SETTINGS, "--out", out, "--name", "killed"] if kill == 0
                else ["train", "--resume", run])
        proc = cli_process(*argv, cwd=tmp_path)
        lines = wait_then_kill(proc, rng)
        assert proc.returncode == -signal.SIGKILL, (
            f"kill {kill}: the run ended before it was killed (status {proc.returncode}); "
            f"output: {''.join(lines)} {proc.stderr.read()}")
        proc.stderr.close()
        epoch = checkpoint_epoch(run)
        assert epoch >= (epochs_at_kill[-1] if epochs_at_kill else 0)
        assert epoch < EPOCHS
        epochs_at_kill.append(epoch)

    final = cli_process("train", "--resume", run, "-q", cwd=tmp_path)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    _, err = baseline.communicate(timeout=300)
    assert baseline.returncode == 0, err

    # The final weights (and the last checkpoint) are bit-identical to the straight run's.
    for name in ("model.safetensors", "checkpoint.safetensors"):
        resumed = load_checkpoint(run / name)
        straight = load_checkpoint(out / "straight" / name)
        assert resumed.epoch == straight.epoch == EPOCHS
        assert resumed.global_step == straight.global_step
        assert resumed.model_state.keys() == straight.model_state.keys()
        for key, value in straight.model_state.items():
            assert resumed.model_state[key].dtype == value.dtype
            assert np.array_equal(resumed.model_state[key], value), (name, key)
    assert (run / "metrics.csv").read_text() == (out / "straight" / "metrics.csv").read_text()
    print(f"epochs of the checkpoint after each of the {KILLS} kills: {epochs_at_kill}")
