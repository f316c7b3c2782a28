"""Helpers of the command-line tests: the CLI in this process and as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trainlab.cli import main

# A quick run: 3 epochs of a small network on digits (about a second).
QUICK = ["--epochs", "3", "--hidden", "32", "--monitor-every", "10", "-q"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``trainlab ARGV`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def run_subprocess(*argv: str, cwd: Path | None = None,
                   timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m trainlab ARGV`` as a real process."""
    return subprocess.run([sys.executable, "-m", "trainlab", *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=subprocess_env())


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env
