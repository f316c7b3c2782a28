"""Fixtures of the command-line tests: one small finished run."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import QUICK

from trainlab.cli import main


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """A completed quick run on digits (monitor on): runs/base."""
    out = tmp_path_factory.mktemp("runs")
    status = main(["train", *QUICK, "--out", str(out), "--name", "base", "--seed", "1"])
    assert status == 0
    return out / "base"
