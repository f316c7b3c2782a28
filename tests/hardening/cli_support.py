"""Running the ``trainlab`` command line in the hardening tests: in process (fast) or as a
real subprocess, and checking that a failure is one clear line on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trainlab.cli import main

FAST = ["--hidden", "8", "--epochs", "2", "--no-monitor", "-q"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``trainlab ARGV`` in this process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_clear_line(code: int, err: str, *words: str, status: int = 2) -> str:
    """A failure: the exit status, one line on stderr starting 'trainlab: error:' that
    contains ``words``, and no traceback."""
    assert code == status, (code, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("trainlab: error: "), line
    assert "Traceback" not in err and 'File "' not in err, err
    for word in words:
        assert word in line, f"{word!r} not in: {line}"
    return line


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONWARNINGS", None)
    return env


def cli_process(*argv: str, cwd: Path, **kwargs) -> subprocess.Popen:
    """``python -m trainlab ARGV`` as a child process (stdout and stderr piped)."""
    return subprocess.Popen([sys.executable, "-m", "trainlab", *map(str, argv)], cwd=cwd,
                            env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)
