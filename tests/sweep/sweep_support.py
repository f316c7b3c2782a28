"""Helpers of the sweep tests: small specs, the CLI in this process and as a process."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

from trainlab.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")

# A trial of a few seconds: 2 epochs of a small MLP on iris, no diagnostics.
BASE = """[base]
data = "iris"
epochs = {epochs}
hidden = [8]
monitor = false
batch_size = 16
"""


def write_spec(folder: Path, name: str, sweep: str, epochs: int = 2) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(BASE.format(epochs=epochs) + "\n" + sweep, encoding="utf-8")
    return path


def run_cli(capsys, *argv: object) -> tuple[int, str, str]:
    """``trainlab ARGV`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = SRC + os.pathsep + out.get("PYTHONPATH", "")
    out["PYTHONUNBUFFERED"] = "1"
    return out


def process(*argv: object, cwd: Path, **kwargs) -> subprocess.Popen:
    """``python -m trainlab ARGV`` as a child process."""
    return subprocess.Popen([sys.executable, "-m", "trainlab", *map(str, argv)], cwd=cwd,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def results(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "results.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def header(sweep_dir: Path) -> list[str]:
    with open(sweep_dir / "results.csv", newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_error_line(code: int, err: str, *words: str) -> str:
    assert code == 2, (code, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("trainlab: error: "), lines[0]
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]}"
    return lines[0]
