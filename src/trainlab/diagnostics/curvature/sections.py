"""The curvature instrument's records as a table (terminal, health table), as JSON
(``curvature.json`` of a run directory) and as a report section with its figure."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trainlab.diagnostics.curvature.instrument import (
    CurvatureRecord,
    records_from_json,
    records_to_json,
)
from trainlab.diagnostics.plots import COLORS, new_figure
from trainlab.diagnostics.sections import text_table

__all__ = ["HEADER", "curvature_figure", "curvature_rows", "curvature_table",
           "records_from_json", "records_to_json"]

HEADER = ["step", "λ_max", "λ_max(P⁻¹H)", "threshold", "÷ threshold", "λ_min", "trace",
          "B_simple", "‖θ − θ₀‖"]


def _num(value: float, spec: str = ".3g") -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, spec)


def curvature_rows(records: list[CurvatureRecord]) -> list[list[str]]:
    """One row per record, in the order of :data:`HEADER`."""
    return [[str(r.step), _num(r.sharpness), _num(r.preconditioned), _num(r.threshold),
             _num(r.ratio, ".2f"), _num(r.lambda_min), _num(r.trace), _num(r.noise_scale),
             _num(r.distance)] for r in records]


def curvature_table(records: list[CurvatureRecord], last: int = 8) -> str:
    """The last ``last`` records as a plain-text table; a saddle (λ_min < 0) and a sharpness
    past its threshold are named under it."""
    shown = records[-last:]
    text = text_table(HEADER, curvature_rows(shown))
    notes = []
    if shown and shown[-1].ratio > 1:
        notes.append(f"step {shown[-1].step}: the sharpness is {shown[-1].ratio:.2f}× the "
                     f"stability threshold {shown[-1].rule}: the step is at the edge of "
                     "stability; the loss may oscillate (lower the learning rate to follow it)")
    if shown and shown[-1].lambda_min < 0:
        notes.append(f"step {shown[-1].step}: λ_min = {shown[-1].lambda_min:.3g} < 0, a "
                     "direction of negative curvature (a saddle region)")
    return "\n".join([text, *notes])


def curvature_figure(records: list[CurvatureRecord]) -> Any:
    """Sharpness against the stability threshold, and λ_min, against the step."""
    fig, (ax_s, ax_m) = new_figure(2, 1)
    steps = np.array([r.step for r in records])
    ax_s.semilogy(steps, [max(r.compared, 1e-12) for r in records], "o-", ms=3,
                  color=COLORS[0], label="sharpness" + (" λ_max(P⁻¹H)" if math.isfinite(
                      records[-1].preconditioned) else " λ_max(H)"))
    ax_s.semilogy(steps, [r.threshold for r in records], "--", color=COLORS[1],
                  label=f"stability threshold {records[-1].rule}")
    ax_s.set_xlabel("step")
    ax_s.set_title("sharpness against the stability threshold")
    ax_s.legend(fontsize=8)
    ax_m.plot(steps, [r.lambda_min for r in records], "o-", ms=3, color=COLORS[2])
    ax_m.axhline(0, color="gray", lw=0.8)
    ax_m.set_xlabel("step")
    ax_m.set_ylabel("λ_min(H)")
    ax_m.set_title("smallest Hessian eigenvalue (< 0: a saddle direction)")
    return fig
