"""``run.json`` and ``monitor.json`` that are nested too deeply or hold values of the
wrong type: one line (exit status 2), or, for ``monitor.json`` on ``--resume``, a
one-line warning and diagnostics that restart (the weights do not depend on them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import assert_one_clear_line, run_cli
from run_support import child, train_small

from trainlab.train import load_checkpoint


@pytest.fixture
def finished(tmp_path, capsys) -> Path:
    return train_small(run_cli, capsys, tmp_path, "done")


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("command", ["resume", "evaluate", "report"])
def test_a_deeply_nested_run_json_is_one_line(capsys, finished, command):
    (finished / "run.json").write_text(DEEP)
    argv = ["train", "--resume", finished, "--epochs", "4"] if command == "resume" else [
        command, finished]
    status, _, err = run_cli(capsys, *argv)
    assert_one_clear_line(status, err, "run.json", "deep")


@pytest.mark.parametrize("field, value", [
    ("fingerprints", 5), ("derived", 5), ("seconds", "x"), ("dataset", 5),
    ("final", {"test": 5}), ("status", ["completed"]),
])
def test_a_run_json_field_of_the_wrong_type_is_one_line(capsys, finished, field, value):
    info = json.loads((finished / "run.json").read_text())
    info[field] = value
    (finished / "run.json").write_text(json.dumps(info))
    for argv in (["train", "--resume", finished, "--epochs", "4"], ["evaluate", finished],
                 ["report", finished]):
        status, _, err = run_cli(capsys, *argv)
        assert_one_clear_line(status, err, "run.json", field)


MONITOR_DAMAGE = {
    "deep": None,
    "samples-int": ("samples", 5),
    "samples-list": ("samples", [1, 2]),
    "samples-layer-int": ("samples", {"init": 5}),
    "samples-values-text": ("samples", {"init": {"a": "zz"}}),
    "records-int": ("records", [5]),
    "record-step-text": ("records", [{"step": "a", "epoch": 1}]),
    "warning-kind": ("warnings", [{"step": 1, "kind": "zz", "layer": "a", "message": "m"}]),
    "thresholds-text": ("thresholds", {"ratio": "x"}),
    "norms-object": ("global_norms", {"a": 1}),
}


def damage_monitor(run: Path, case: str) -> None:
    if MONITOR_DAMAGE[case] is None:
        (run / "monitor.json").write_text(DEEP)
        return
    key, value = MONITOR_DAMAGE[case]
    data = json.loads((run / "monitor.json").read_text())
    data[key] = value
    (run / "monitor.json").write_text(json.dumps(data))


@pytest.mark.parametrize("case", sorted(MONITOR_DAMAGE))
def test_a_damaged_monitor_json_restarts_the_diagnostics_on_resume(capsys, finished, case):
    """The choice: resume warns and restarts the diagnostics (the weights, which are what
    a resume must keep exact, do not depend on them); ``trainlab report`` refuses."""
    damage_monitor(finished, case)
    with pytest.warns(RuntimeWarning, match="monitor.json is unreadable"):
        status, _, err = run_cli(capsys, "train", "--resume", finished, "--epochs", "3")
    assert status == 0, err
    assert load_checkpoint(finished / "checkpoint.safetensors").epoch == 3
    data = json.loads((finished / "monitor.json").read_text())
    assert {r["epoch"] for r in data["records"]} <= {3}  # the diagnostics restarted at epoch 3
    damage_monitor(finished, case)
    status, _, err = run_cli(capsys, "report", finished)
    assert_one_clear_line(status, err, "report")


def test_the_monitor_warning_is_one_line_on_the_command_line(finished):
    damage_monitor(finished, "samples-int")
    proc = child("train", "--resume", finished, "--epochs", "3", "-q")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert err.splitlines() == [err.strip()] and err.startswith("trainlab: warning: ")
    assert "monitor.json" in err
