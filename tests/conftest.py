"""Shared test helpers: numerical gradients and the optional PyTorch oracle."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import numerical_gradient  # noqa: F401  (re-exported for the tests)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def torch():
    """The torch module in float64, or a skip where it is not installed."""
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    return torch


# --- Agreement report: `python -m pytest tests/nn tests/optim --torch-agreement` ------
# Records, for every comparison made by a test that uses the ``torch`` fixture, the
# largest absolute difference and the normwise relative difference max|a−b| / max|b|,
# and prints the worst per test module at the end of the session.

_AGREEMENT: dict[str, list[tuple[float, float, str]]] = {}


def pytest_addoption(parser):
    parser.addoption(
        "--torch-agreement",
        action="store_true",
        help="report the largest trainlab-vs-torch difference seen in the oracle tests",
    )


@pytest.fixture(autouse=True)
def _record_torch_agreement(request, monkeypatch):
    if not request.config.getoption("--torch-agreement") or "torch" not in request.fixturenames:
        yield
        return
    original = np.testing.assert_allclose

    def recording(actual, desired, *args, **kwargs):
        float32 = np.asarray(actual).dtype == np.float32 or "float32" in request.node.name
        kind = "float32" if float32 else "float64"
        a = np.asarray(actual, dtype=np.float64)
        d = np.asarray(desired, dtype=np.float64)
        if a.size and d.size and np.all(np.isfinite(a)) and np.all(np.isfinite(d)):
            diff = float(np.max(np.abs(a - d)))
            scale = float(np.max(np.abs(d)))
            rel = diff / scale if scale > 0 else diff
            module = request.node.nodeid.split("::")[0]
            _AGREEMENT.setdefault(f"{module} [{kind}]", []).append((rel, diff, request.node.name))
        return original(actual, desired, *args, **kwargs)

    monkeypatch.setattr(np.testing, "assert_allclose", recording)
    yield


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _AGREEMENT:
        return
    terminalreporter.section("trainlab vs torch: largest difference per test module")
    for module, rows in sorted(_AGREEMENT.items()):
        rel, diff, name = max(rows)
        terminalreporter.write_line(
            f"{module:55s} {len(rows):5d} comparisons  max rel {rel:.2e}  "
            f"(abs {diff:.2e}, {name})"
        )
