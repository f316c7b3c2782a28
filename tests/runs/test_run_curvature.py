"""A run with ``--curvature``: the instrument's records in curvature.json and the report,
and the run's numbers unchanged by it."""

from __future__ import annotations

import json
import math

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
