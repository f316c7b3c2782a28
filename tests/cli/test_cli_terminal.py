"""The terminal: --help loads no heavy library, help is plain text, tables fit 80 columns
and widen on a wide terminal, evaluate prints each metric once."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cli_helpers import run_cli, subprocess_env

from trainlab.diagnostics.sections import text_table

HEAVY = ("scipy", "matplotlib", "pandas", "sklearn", "numba", "trainlab.nn", "trainlab.recipe")


def test_help_imports_no_heavy_library():
    code = ("import sys; from trainlab.cli import main; main(['--help']); "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "train     train an MLP" in done.stdout


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "report"])
def test_help_is_plain_text(capsys, command):
    status, out, _ = run_cli(capsys, command, "--help")
    assert status == 0 and "usage: trainlab " + command in out
    assert "``" not in out and ":func:" not in out and ":class:" not in out


def test_tables_fit_80_columns_and_widen_on_a_wide_terminal(capsys, monkeypatch):
    rows = [["tasks", "Gradient descent from random weights trains an MLP " * 3],
            ["x", "short"]]
    narrow = text_table(["experiment", "claim"], rows, width=200, total=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80 and "…" in narrow
    wide = text_table(["experiment", "claim"], rows, width=200, total=250)
    assert "…" not in wide
    numbers = text_table(["a", "b", "c"], [["0.123456789", "1.5e-05", "x" * 100]], total=40)
    assert "0.123456789" in numbers and "1.5e-05" in numbers  # numbers are never cut
    monkeypatch.setenv("COLUMNS", "80")
    status, out, _ = run_cli(capsys, "lab", "list")
    assert status == 0 and max(len(line) for line in out.splitlines()) <= 80
    monkeypatch.setenv("COLUMNS", "200")
    status, out, _ = run_cli(capsys, "lab", "list")
    assert max(len(line) for line in out.splitlines()) > 80


def test_evaluate_prints_each_metric_once(capsys, finished_run):
    status, out, _ = run_cli(capsys, "evaluate", finished_run)
    assert status == 0
    names = [line.split(":")[0].strip() for line in out.splitlines()[2:]]
    assert names == ["n", "loss", "accuracy"]
