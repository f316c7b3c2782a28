"""Reading run directories for the pages: safe paths, run rows, sweeps, monitor.json.

These need no web framework."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from trainlab.ui.index import scan
from trainlab.ui.monitorview import monitor_view
from trainlab.ui.paths import UnsafePathError, read_limited, resolve_under
from trainlab.ui.rundata import run_data
from trainlab.ui.sweeps import read_sweep


@pytest.mark.parametrize("name", ["..", "../x", "alpha/../../etc", "/etc/passwd", ".hidden",
                                  "alpha/.lock", "a\\..\\b", "a\x00b", "", "x" * 600])
def test_bad_names_are_refused(runs_dir: Path, name: str) -> None:
    with pytest.raises(UnsafePathError):
        resolve_under(runs_dir, name)


def test_links_leading_out_are_refused(runs_dir: Path) -> None:
    with pytest.raises(UnsafePathError, match="outside"):
        resolve_under(runs_dir, "escape")
    with pytest.raises(UnsafePathError, match="outside"):
        resolve_under(runs_dir, "alpha/leak.csv")
    inside = resolve_under(runs_dir, "alpha/metrics.csv")
    assert inside == (runs_dir / "alpha/metrics.csv").resolve()
    with pytest.raises(FileNotFoundError):
        resolve_under(runs_dir, "no-such-run")


def test_read_limited_refuses_large_files_and_fifos(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b"x" * 2000)
    assert read_limited(big, 2000) == b"x" * 2000
    with pytest.raises(ValueError, match="larger than"):
        read_limited(big, 1999)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        read_limited(fifo, 100)  # returns at once: a FIFO never blocks the reader


def test_scan_lists_runs_errors_and_sweeps(runs_dir: Path) -> None:
    runs, sweeps = scan(runs_dir)
    by_name = {r.name: r for r in runs}
    assert set(by_name) == {"alpha", "beta", "broken", "escape"}
    alpha = by_name["alpha"]
    info = json.loads((runs_dir / "alpha" / "run.json").read_text())
    assert alpha.status == info["status"] == "completed"
    assert alpha.metrics["test_accuracy"] == info["final"]["test"]["accuracy"]
    assert alpha.settings["lr"] == 0.01 and alpha.epochs == 3
    assert by_name["broken"].status == "error" and "run.json" in by_name["broken"].error
    assert by_name["escape"].status == "error" and "outside" in by_name["escape"].error
    assert [s.name for s in sweeps] == ["sweeps/lr-grid"]
    assert sweeps[0].trials == 12 and sweeps[0].statuses == {"complete": 11, "failed": 1}
    assert sweeps[0].metric == "val_accuracy"


def test_a_running_run_shows_its_last_epoch(runs_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "live"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"status": "running", "target_epochs": 9}))
    (run / "metrics.csv").write_text("epoch,loss,lr\n1,0.9,0.1\n2,0.5,0.1\n")
    (row,), _ = scan(tmp_path)
    assert (row.status, row.epochs, row.target_epochs) == ("running", 2, 9)
    assert row.metrics == {"loss": 0.5, "lr": 0.1}


def test_run_data_matches_the_files(runs_dir: Path) -> None:
    data = run_data(runs_dir / "alpha", "alpha")
    lines = (runs_dir / "alpha" / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert list(data["metrics"]) == header
    last = dict(zip(header, lines[-1].split(","), strict=True))
    assert data["metrics"]["loss"][-1] == float(last["loss"])
    monitor = json.loads((runs_dir / "alpha" / "monitor.json").read_text())
    records = monitor["records"]
    view = data["monitor"]
    first_layer = f"{records[0]['layers'][0]['name']} {records[0]['layers'][0]['kind']}"
    assert [p[1] for p in view["layers"]["out_std"][first_layer]] == \
        [r["layers"][0]["out_std"] for r in records]
    assert [p[0] for p in view["layers"]["out_std"][first_layer]] == [r["step"] for r in records]
    theory = monitor["theory"][0]
    assert view["theory"][0]["out_std"] == pytest.approx(theory["out_var"] ** 0.5)
    assert "error" not in data["info"] and data["config"].startswith("#")


def test_unknown_monitor_records_are_shown_generically() -> None:
    data = {
        "format": "trainlab-monitor-1", "records": [
            {"step": 0, "epoch": 1, "loss": 2.0, "layers": [], "params": [], "sharpness": 3.5},
            {"step": 10, "epoch": 1, "loss": 1.0, "layers": [], "params": [], "sharpness": "nan"},
        ],
        "curvature": [{"step": 0, "top_eigenvalue": 4.0, "trace": 9.0, "note": "x"},
                      {"step": 50, "top_eigenvalue": 2.5, "trace": "inf"}],
        "noise_scale": {"b_simple": [1.0, 2.0, 3.0]},
        "theory": None, "warnings": [],
    }
    view = monitor_view(data)
    assert view["steps"]["sharpness"] == [[0.0, 3.5], [10.0, None]]
    assert view["extra"]["curvature"] == {"top_eigenvalue": [[0.0, 4.0], [50.0, 2.5]],
                                          "trace": [[0.0, 9.0], [50.0, None]]}
    assert view["extra"]["noise_scale: b_simple"] == {"value": [[0, 1.0], [1, 2.0], [2, 3.0]]}
    with pytest.raises(ValueError):
        monitor_view(["not", "an", "object"])


def test_sweep_is_read_through_results_csv(runs_dir: Path) -> None:
    data = read_sweep(runs_dir, runs_dir / "sweeps" / "lr-grid")
    assert data["metric"] == "val_accuracy"
    assert data["params"] == ["lr", "init"]
    assert data["kinds"]["lr"] == {"numeric": True, "values": [0.001, 0.01, 0.1]}
    assert data["kinds"]["init"]["numeric"] is False
    trials = data["trials"]
    assert len(trials) == 12 and trials[5]["status"] == "failed" and trials[5]["metric"] is None
    assert trials[0]["run"] == "sweeps/lr-grid/trials/t0000"  # exists: linked
    assert trials[1]["run"] is None  # not on disk: no link
