"""Shared harness for the optimizer tests: one problem, our trajectory, PyTorch's trajectory.

The problem has parameters of several shapes and gradients that change every step:
the gradient of the fixed quadratic ``½ Σ a⊙(w − c)²`` at the current weights plus
fresh noise, the same noise for both libraries.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from trainlab.nn import Parameter

SHAPES = ((4, 3), (3,), (2, 5))
STEPS = 25


class Problem:
    """Initial weights, quadratic curvature/centres and per-step gradient noise (float64)."""

    def __init__(self, seed: int = 0, steps: int = STEPS) -> None:
        rng = np.random.default_rng(seed)
        self.init = [rng.normal(size=s) for s in SHAPES]
        self.curvature = [rng.uniform(0.5, 3.0, size=s) for s in SHAPES]
        self.centre = [rng.normal(size=s) for s in SHAPES]
        self.noise = [[rng.normal(scale=0.5, size=s) for s in SHAPES] for _ in range(steps)]

    def grads(self, t: int, weights: list[np.ndarray]) -> list[np.ndarray]:
        return [
            a * (np.asarray(w, dtype=np.float64) - c) + n
            for a, c, n, w in zip(self.curvature, self.centre, self.noise[t], weights, strict=False)
        ]


def make_params(problem: Problem, dtype=np.float64) -> list[Parameter]:
    return [Parameter(x.astype(dtype)) for x in problem.init]


def run_ours(opt, params: list[Parameter], problem: Problem, start: int, stop: int) -> list:
    """Steps ``start..stop-1`` of our optimizer; the weights after each step (copies)."""
    out = []
    for t in range(start, stop):
        for p, g in zip(params, problem.grads(t, [p.data for p in params]), strict=False):
            p.grad[...] = g
        opt.step()
        out.append([p.data.copy() for p in params])
    return out


def run_torch(torch, make_opt: Callable, problem: Problem, steps: int, dtype) -> list:
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    tensors = [torch.tensor(x, dtype=tdtype, requires_grad=True) for x in problem.init]
    opt = make_opt(tensors)
    out = []
    for t in range(steps):
        grads = problem.grads(t, [p.detach().numpy() for p in tensors])
        for p, g in zip(tensors, grads, strict=False):
            p.grad = torch.tensor(g, dtype=tdtype)
        opt.step()
        out.append([p.detach().numpy().copy() for p in tensors])
    return out


@pytest.fixture
def problem() -> Problem:
    return Problem()


@pytest.fixture
def check_against_torch(torch, problem):
    """``check(ours, theirs, dtype=np.float64, rtol=...)``: equal weights at every step.

    ``ours(params)`` builds our optimizer, ``theirs(tensors)`` PyTorch's (single-tensor path).
    """

    def check(ours: Callable, theirs: Callable, dtype=np.float64, rtol: float | None = None):
        if rtol is None:
            rtol = 1e-10 if dtype == np.float64 else 1e-5
        atol = 1e-15 if dtype == np.float64 else 1e-6
        params = make_params(problem, dtype)
        mine = run_ours(ours(params), params, problem, 0, STEPS)
        reference = run_torch(torch, theirs, problem, STEPS, dtype)
        for t, (a, b) in enumerate(zip(mine, reference, strict=False)):
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                assert x.dtype == np.dtype(dtype)
                np.testing.assert_allclose(
                    x, y, rtol=rtol, atol=atol, err_msg=f"step {t + 1}, parameter {i}"
                )

    return check


@pytest.fixture
def check_roundtrip(problem):
    """``check(ours)``: save at step 10, load into a fresh optimizer, continue to step 20:
    bit-identical to the uninterrupted run. The hyperparameters must be JSON-able."""

    def check(ours: Callable, dtype=np.float64) -> None:
        params = make_params(problem, dtype)
        straight = run_ours(ours(params), params, problem, 0, 20)

        params = make_params(problem, dtype)
        first = ours(params)
        run_ours(first, params, problem, 0, 10)
        saved = first.state_dict()
        json.loads(json.dumps({k: v for k, v in saved.items() if k != "state"}))
        for state in saved["state"].values():
            for array in state.values():
                array += 1.0  # copies: changing them leaves the optimizer alone
        saved = first.state_dict()

        resumed = [Parameter(p.data) for p in params]
        second = ours(resumed)
        second.load_state_dict(saved)
        assert second.step_count == 10
        rest = run_ours(second, resumed, problem, 10, 20)
        for t, (a, b) in enumerate(zip(straight[10:], rest, strict=False)):
            for x, y in zip(a, b, strict=False):
                np.testing.assert_array_equal(x, y, err_msg=f"step {t + 11}")

    return check
