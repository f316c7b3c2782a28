"""``trainlab ui`` on the command line, and that trainlab itself never needs the extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ui_helpers import SRC, get, needs_ui, serve

from trainlab.cli import main


def test_importing_trainlab_does_not_import_the_ui() -> None:
    code = ("import sys, trainlab, trainlab.cli, trainlab.cli.main; "
            "bad = [m for m in ('trainlab.ui', 'starlette', 'uvicorn', 'jinja2') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ui", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--runs", "--host", "--port", "127.0.0.1", "8765"):
        assert flag in out


@pytest.mark.parametrize(("argv", "message"), [
    (["ui", "--port", "0"], "--port"),
    (["ui", "--port", "http"], "--port"),
    (["ui", "--bogus"], "unknown option --bogus"),
])
def test_bad_options_are_one_line_and_exit_2(argv: list[str], message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_runs_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "file.txt"
    path.write_text("x")
    assert main(["ui", "--runs", str(path)]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_without_the_extra_the_command_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn raises ImportError
    assert main(["ui"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'trainlab[ui]'" in err and "\n" not in err.strip()


@needs_ui
def test_the_server_starts_on_an_empty_directory(tmp_path: Path) -> None:
    with serve(tmp_path / "not-yet") as base:
        status, body = get(base + "/")
        assert status == 200 and b"does not exist yet" in body
        assert get(base + "/api/runs") == (200, b"[]")
