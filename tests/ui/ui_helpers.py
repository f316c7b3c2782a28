"""Helpers of the ``trainlab ui`` tests: real runs, a sweep's layout, a server in a
subprocess."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from trainlab.cli import main

SRC = Path(__file__).resolve().parents[2] / "src"
CHROMIUM = os.environ.get("TRAINLAB_CHROMIUM", "/usr/bin/chromium")


def train(out: Path, name: str, *extra: str) -> Path:
    """A real run of a small network on iris (a second or two)."""
    code = main(["train", "--data", "iris", "--hidden", "16", "--epochs", "3", "--out", str(out),
                 "--name", name, "--monitor-every", "2", "--backend", "numpy", "-q", *extra])
    assert code == 0
    return out / name


def write_sweep(folder: Path, run: Path) -> None:
    """A sweep directory in the layout of ``trainlab sweep``: results.csv and trials/."""
    (folder / "trials").mkdir(parents=True)
    rows = ["trial,seed,status,val_accuracy,lr,init,run_dir"]
    k = 0
    for lr in (0.001, 0.01, 0.1):
        for init in ("he_normal", "xavier_uniform"):
            for seed in (0, 1):
                status = "complete" if k != 5 else "failed"
                value = "" if status == "failed" else f"{0.5 + 0.1 * k % 0.5:.3f}"
                rows.append(f"{k},{seed},{status},{value},{lr},{init},trials/t{k:04d}")
                k += 1
    shutil.copytree(run, folder / "trials" / "t0000", ignore=shutil.ignore_patterns(".lock"))
    (folder / "results.csv").write_text("\n".join(rows) + "\n")
    (folder / "sweep.db").write_bytes(b"")


def ui_available() -> bool:
    try:
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return False
    return True


needs_ui = pytest.mark.skipif(not ui_available(), reason="the 'ui' extra is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@contextlib.contextmanager
def serve(runs: Path) -> Iterator[str]:
    """``trainlab ui --runs RUNS`` in a subprocess; yields its base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-m", "trainlab", "ui", "--runs", str(runs),
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                output = proc.stdout.read() if proc.stdout else ""
                raise RuntimeError(f"trainlab ui exited: {output}")
            with contextlib.suppress(OSError):
                if get(base + "/api/runs", timeout=2)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("trainlab ui did not start within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
