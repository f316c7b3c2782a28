"""A run with ``--curvature``: the instrument's records in curvature.json and the report,
and the run's numbers unchanged by it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from interrupt import StopAfter

from trainlab.diagnostics.curvature import CurvatureMonitor
from trainlab.diagnostics.curvature.sections import records_from_json
from trainlab.recipe import from_flat
from trainlab.runs.run import Run


def _run(tmp_path, name, curvature):
    settings = {"data": "digits", "epochs": 2, "hidden": [16], "optimizer": "sgd", "lr": 0.05,
                "momentum": 0.9, "schedule": "none", "seed": 3, "curvature": curvature}
    if curvature:
        settings["curvature_every"] = 20
    session = Run.create(from_flat(settings), out=tmp_path, name=name)
    session.train()
    return session.run_dir


def test_curvature_run_records_and_reports_without_changing_the_numbers(tmp_path):
    plain = _run(tmp_path, "plain", False)
    measured = _run(tmp_path, "measured", True)
    assert (plain / "metrics.csv").read_bytes() == (measured / "metrics.csv").read_bytes()
    assert not (plain / "curvature.json").exists()
    records = records_from_json(json.loads((measured / "curvature.json").read_text()))
    assert [r.step for r in records][:3] == [0, 20, 40]
    assert all(r.threshold == (2 + 2 * 0.9) / 0.05 for r in records[1:])
    assert all(math.isfinite(r.sharpness) and r.lambda_min <= r.sharpness for r in records)
    assert records[-1].distance > records[1].distance > 0
    page = (measured / "report.html").read_text(encoding="utf-8")
    assert 'id="curvature"' in page and "stability threshold" in page




@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_an_interrupted_and_resumed_run_writes_the_same_curvature_json(tmp_path, optimizer):
    """The checkpoint keeps the instrument's records, θ₀ and Lanczos warm starts, so the
    measurements after the resume are those of the uninterrupted run, bit for bit."""
    settings = {"data": "digits", "epochs": 4, "hidden": [16], "optimizer": optimizer,
                "schedule": "none", "seed": 5, "curvature": True, "curvature_every": 25,
                "monitor": False}
    Run.create(from_flat(settings), out=tmp_path, name="full").train()
    part = Run.create(from_flat(settings), out=tmp_path, name="part")
    part.trainer.callbacks.append(StopAfter(2))
    assert part.train().status == "interrupted"
    part._lock.close()
    cut = records_from_json(json.loads((tmp_path / "part" / "curvature.json").read_text()))
    assert cut and cut[-1].step <= part.trainer.global_step
    resumed = Run.resume(tmp_path / "part")
    assert [r.step for r in resumed.curvature.records] == [r.step for r in cut]
    resumed.train()
    full = (tmp_path / "full" / "curvature.json").read_bytes()
    assert (tmp_path / "part" / "curvature.json").read_bytes() == full
    records = records_from_json(json.loads(full))
    assert len(records) > len(cut) and records[-1].distance > records[len(cut)].distance > 0
    assert ((tmp_path / "part" / "metrics.csv").read_bytes()
            == (tmp_path / "full" / "metrics.csv").read_bytes())


def test_the_same_command_writes_the_same_curvature_json(tmp_path):
    first = _run(tmp_path, "first", True)
    second = _run(tmp_path, "second", True)
    assert (first / "curvature.json").read_bytes() == (second / "curvature.json").read_bytes()


def test_instrument_state_round_trips_and_bad_state_changes_nothing():
    rng = np.random.default_rng(0)
    monitor = CurvatureMonitor(rng.standard_normal((8, 3)), rng.integers(0, 2, 8))
    monitor.records = records_from_json([{
        "step": 4, "sharpness": 2.0, "preconditioned": None, "threshold": 20.0, "rule": "2/η",
        "lambda_min": -0.1, "trace": 3.0, "noise_scale": 5.0, "distance": 0.5}])
    monitor._start = rng.standard_normal(7).astype(np.float32)
    monitor._vectors = rng.standard_normal((4, 7))  # λ_max, λ_min, λ_max(P⁻¹H), spare
    monitor._warm = [True, False]
    state = monitor.state_dict()
    other = CurvatureMonitor(rng.standard_normal((8, 3)), rng.integers(0, 2, 8))
    other.load_state_dict(state)
    assert other.records == monitor.records and other._warm == [True, False]
    np.testing.assert_array_equal(other._start, monitor._start)
    for a, b in zip(other._vectors[:3], monitor._vectors[:3], strict=True):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    for bad in ({**state, "warm": [1, 0]}, {**state, "vectors": state["vectors"][:2]},
                {**state, "records": [{"step": 1}]}, {"records": []}):
        with pytest.raises(ValueError, match="CurvatureMonitor.load_state_dict|curvature"):
            other.load_state_dict(bad)
        assert other._warm == [True, False] and other.records == monitor.records
