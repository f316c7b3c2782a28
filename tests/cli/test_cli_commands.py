"""The command set: help on every command, the lab delegation, the exit statuses."""

from __future__ import annotations

import json

import pytest
from cli_helpers import run_cli

from trainlab.cli.settings import SETTINGS


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["evaluate", "--help"],
                                  ["predict", "--help"], ["report", "--help"], ["lab", "--help"]])
def test_help_on_every_command(capsys, argv):
    status, out, err = run_cli(capsys, *argv)
    assert status == 0 and err == ""
    assert out.startswith("usage: trainlab")


def test_train_help_lists_every_setting(capsys):
    _, out, _ = run_cli(capsys, "train", "--help")
    for s in SETTINGS:
        assert s.flag in out, s.flag
    for word in ("--config", "--resume", "Exit status"):
        assert word in out


def test_no_command_prints_help_and_status_2(capsys):
    status, out, _ = run_cli(capsys)
    assert status == 2 and "COMMAND" in out


def test_version(capsys):
    from trainlab import __version__

    status, out, _ = run_cli(capsys, "--version")
    from trainlab import backend

    chosen = backend.get(None)
    assert status == 0
    assert out.strip() == f"trainlab {__version__} (backend {chosen.name}, GEMM {chosen.gemm})"


def test_lab_delegates_to_the_lab_runner(capsys):
    from trainlab.lab.registry import names

    status, out, _ = run_cli(capsys, "lab", "list")
    assert status == 0
    for name in names():
        assert name in out
    status, out, _ = run_cli(capsys, "lab", "run", "no_such_experiment")
    assert status == 2


def test_run_json_records_the_command(capsys, finished_run):
    info = json.loads((finished_run / "run.json").read_text())
    assert info["command"][:2] == ["trainlab", "train"]
    assert "--name" in info["command"] and "base" in info["command"]
