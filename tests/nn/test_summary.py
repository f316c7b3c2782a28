"""Module.summary(): the layers, their outputs and parameter counts, and the totals."""

from __future__ import annotations

import numpy as np

from trainlab import nn
from trainlab.models import MLPConfig, build_mlp


def test_summary_of_an_mlp():
    model = build_mlp(MLPConfig(64, (32, 32), 10, norm="batch", residual=True), rng=0)
    summary = model.summary()
    names = [row[0] for row in summary.rows]
    assert names == ["0", "1", "2", "3.0", "3.1", "3.2", "4"]
    assert summary.total_parameters == sum(p.data.size for p in model.parameters())
    assert summary.total_bytes == sum(p.data.nbytes for p in model.parameters()) + sum(
        np.asarray(b).nbytes for b in model.buffers())
    text = str(summary)
    assert "(batch, 10)" in text and "weight (64, 32)" in text
    assert f"total: {summary.total_parameters:,} parameters" in text
    assert repr(summary) == text


def test_summary_of_a_single_layer():
    rows = nn.Linear(3, 2, rng=0).summary().rows
    assert rows == [("Linear", "Linear", "(batch, 2)", "weight (3, 2), bias (2,)", "8")]
