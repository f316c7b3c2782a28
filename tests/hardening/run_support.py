"""Helpers of the tests of a run's life: a child ``trainlab`` process running this
checkout's sources, the epoch each of a run's files records, and bit-for-bit weights."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from trainlab.train import load_checkpoint

SRC = Path(__file__).resolve().parents[2] / "src"
IRIS = ["--data", "iris", "--hidden", "8", "--schedule", "none", "--seed", "3"]
"""A small, fast run (its schedule does not depend on the total, so resumes may change it)."""


def env() -> dict[str, str]:
    """The child's environment: this checkout's sources first, unbuffered output."""
    out = dict(os.environ)
    out["PYTHONPATH"] = str(SRC) + os.pathsep + out.get("PYTHONPATH", "")
    out["PYTHONUNBUFFERED"] = "1"
    out.pop("PYTHONWARNINGS", None)
    return out


def child(*argv: object, **kwargs) -> subprocess.Popen:
    """``python -m trainlab ARGV`` as a child process (stdout and stderr piped)."""
    return subprocess.Popen([sys.executable, "-m", "trainlab", *map(str, argv)], env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def epochs_on_disk(run: Path) -> tuple[str, int, int, int]:
    """(status, run.json's epochs_completed, the checkpoint's epoch, metrics.csv's rows)."""
    info = json.loads((run / "run.json").read_text())
    path = run / "checkpoint.safetensors"
    checkpoint = load_checkpoint(path).epoch if path.exists() else 0
    rows = 0
    if (run / "metrics.csv").exists():
        with open(run / "metrics.csv", newline="") as f:
            rows = len(list(csv.DictReader(f)))
    return info["status"], info["epochs_completed"], checkpoint, rows


def same_weights(a: Path, b: Path) -> None:
    """The checkpoints ``a`` and ``b`` hold the same epoch, step and weights, bit for bit."""
    left, right = load_checkpoint(a), load_checkpoint(b)
    assert left.epoch == right.epoch and left.global_step == right.global_step
    for key, value in right.model_state.items():
        assert np.array_equal(left.model_state[key], value), key


def train_small(run_cli, capsys, out: Path, name: str, *extra: str) -> Path:
    """A completed two-epoch run ``out/name`` (monitor on)."""
    status, _, err = run_cli(capsys, "train", *IRIS, "--epochs", "2", "-q", "--out", out,
                             "--name", name, *extra)
    assert status == 0, err
    return out / name
