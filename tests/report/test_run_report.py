"""The run report: sections, embedded figures, regeneration from the run directory alone."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

from trainlab.cli import main
from trainlab.diagnostics import Monitor, monitor_from_dict, monitor_to_dict
from trainlab.diagnostics.sections import health_table
from trainlab.report import run_report


def run_cli(capsys, *argv):
    """``trainlab ARGV`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


IMG = re.compile(r'<img src="([^"]*)"')


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report_runs")
    # a large learning rate without decay overfits at once: early stopping ends the run
    assert main(["train", "--epochs", "10", "--hidden", "32", "--monitor-every", "10", "-q",
                 "--lr", "0.01", "--schedule", "none", "--augment", "none", "--early-stopping",
                 "--patience", "1", "--out", str(out), "--name", "r"]) == 0
    return out / "r"


def sections_of(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"><h2>', html)


def test_report_has_every_section(run_dir):
    html = (run_dir / "report.html").read_text()
    assert sections_of(html) == ["summary", "configuration", "curves", "learning-rate",
                                 "classes", "model", "signal", "health", "gradients", "files"]
    assert "Test accuracy <b>" in html
    info = json.loads((run_dir / "run.json").read_text())
    assert f"{100 * info['final']['test']['accuracy']:.2f}%" in html
    # configuration: the settings that apply, grouped; momentum does not apply to Adam
    for key in ("optimizer", "hidden", "lr", "schedule", "seed"):
        assert f"<td>{key}</td>" in html
    assert "<td>momentum</td>" not in html and "<td>max_shift</td>" not in html
    for group in ("data", "model", "optimizer", "training"):
        assert f"<h3>{group}</h3>" in html
    # when, where, by which command
    assert "<th>command</th><td>trainlab train" in html and "<th>machine</th>" in html
    # model summary: layers, output shapes and parameter counts (64·32+32 = 2,080; 32·10+10 = 330)
    assert "<td>layer 0</td><td>Linear 64→32</td><td>(batch, 32)</td><td>2,080</td>" in html
    assert "<td>layer 2</td><td>Linear 32→10</td><td>(batch, 10)</td><td>330</td>" in html
    assert "<td>total</td><td></td><td></td><td>2,410</td>" in html


def test_every_figure_is_an_embedded_png(run_dir):
    html = (run_dir / "report.html").read_text()
    sources = IMG.findall(html)
    assert len(sources) >= 7
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in html and "https://" not in html and "src=\"file" not in html
    assert len(list((run_dir / "figures").glob("*.png"))) == len(sources)


def test_early_stopping_restores_the_best_epoch_for_the_final_model(run_dir):
    import csv

    info = json.loads((run_dir / "run.json").read_text())
    assert info["restored_best"] is True
    assert info["best_epoch"] < info["epochs_completed"] < 10
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    best = rows[info["best_epoch"] - 1]
    # the final model is the best epoch's: its validation loss is that epoch's
    assert info["final"]["val"]["loss"] == pytest.approx(float(best["val_loss"]), rel=1e-12)
    assert float(rows[-1]["val_loss"]) > float(best["val_loss"])
    html = (run_dir / "report.html").read_text()
    assert f"the weights of epoch {info['best_epoch']} are restored" in html


def test_trainlab_report_rebuilds_the_page_from_the_directory(run_dir, capsys, tmp_path):
    before = (run_dir / "report.html").read_text()
    (run_dir / "report.html").unlink()
    for png in (run_dir / "figures").glob("*.png"):
        png.unlink()
    status, out, err = run_cli(capsys, "report", run_dir)
    assert status == 0, err
    assert out.strip() == f"report: {run_dir / 'report.html'}"
    after = (run_dir / "report.html").read_text()
    assert sections_of(after) == sections_of(before)
    # the same tables (the figures are re-rendered, the numbers are the same)
    strip = lambda s: IMG.sub("", re.sub(  # noqa: E731 (the date follows the files' times)
        r"[0-9.]+ s of training|\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", s))
    assert strip(after) == strip(before)
    assert len(list((run_dir / "figures").glob("*.png"))) == len(IMG.findall(after))
    status, _, _ = run_cli(capsys, "report", run_dir, "--output", tmp_path / "copy.html")
    assert status == 0 and (tmp_path / "copy.html").is_file()


def test_sections_are_a_list_that_can_grow(run_dir):
    from trainlab.report.html import Section

    ctx = run_report.load_context(run_dir)
    extra = lambda ctx: [Section("Notes", "<p>an added section</p>", anchor="notes")]  # noqa: E731
    run_report.SECTIONS.append(extra)
    try:
        html = run_report.build_run_report(ctx)
    finally:
        run_report.SECTIONS.remove(extra)
    assert sections_of(html)[-1] == "notes"


def test_regression_report_shows_mse_and_r2(tmp_path, capsys):
    status, _, err = run_cli(capsys, "train", "--data", "diabetes", "--epochs", "2", "--hidden",
                             "8", "-q", "--out", tmp_path, "--augment", "none")
    assert status == 0, err
    html = (tmp_path / "diabetes" / "report.html").read_text()
    assert "mean squared error on the training and validation sets" in html
    assert "R² on the training and validation sets" in html
    assert "Test accuracy" not in html


def test_monitor_json_round_trip_gives_the_same_health_table(run_dir):
    data = json.loads((run_dir / "monitor.json").read_text())
    monitor = monitor_from_dict(data)
    assert monitor_to_dict(monitor) == data
    assert isinstance(monitor, Monitor) and monitor.records
    assert "layer 0 · Linear" in health_table(monitor)


def test_monitor_json_keeps_non_finite_values_as_strict_json():
    monitor = Monitor(every=1, warn=False)
    from trainlab.diagnostics.records import LayerStats, StepRecord

    monitor.records = [StepRecord(step=0, epoch=1, loss=float("nan"),
                                  layers=[LayerStats("0", "ReLU", out_std=float("inf"))])]
    monitor.global_norms = [1.0, float("inf")]
    monitor.clipped_norms = [1.0, float("-inf")]
    monitor.samples = {"init": {"1 ReLU": np.array([0.0, np.nan], dtype=np.float32)}, "end": {}}
    text = json.dumps(monitor_to_dict(monitor), allow_nan=False)
    back = monitor_from_dict(json.loads(text))
    assert np.isnan(back.records[0].loss) and back.records[0].layers[0].out_std == float("inf")
    assert back.global_norms[1] == float("inf") and back.clipped_norms[1] == float("-inf")
    assert np.isnan(back.samples["init"]["1 ReLU"][1])
    # cut back to a checkpoint
    cut = monitor_from_dict(json.loads(text), max_epoch=0, max_step=1)
    assert cut.records == [] and cut.global_norms == [1.0]


def test_monitor_from_dict_refuses_other_data():
    with pytest.raises(ValueError, match="monitor_from_dict"):
        monitor_from_dict({"format": "something else"})
    with pytest.raises(ValueError, match="incomplete"):
        monitor_from_dict({"format": "trainlab-monitor-1", "every": 1})
