"""Fixtures of the ``trainlab ui`` tests: a runs directory with real runs, a broken run,
a link leading out and a sweep laid out as ``trainlab sweep`` writes it; a server in a
subprocess; a headless Chromium (Debian's, /usr/bin/chromium) driven by Playwright.

Tests that need the ``ui`` extra skip without it; browser tests also skip without
Playwright or Chromium.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_helpers import CHROMIUM, serve, train, ui_available, write_sweep


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    first = train(root, "alpha", "--lr", "0.01")
    train(root, "beta", "--lr", "0.001", "--activation", "tanh")
    broken = root / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    (broken / "metrics.csv").write_text("epoch,loss\n1,0.5\n")
    outside = tmp_path_factory.mktemp("outside")
    (outside / "run.json").write_text('{"status": "completed"}')
    (outside / "secret.csv").write_text("secret\n")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "alpha" / "leak.csv").symlink_to(outside / "secret.csv")
    write_sweep(root / "sweeps" / "lr-grid", first)
    return root


@pytest.fixture(scope="session")
def server(runs_dir: Path) -> Iterator[str]:
    if not ui_available():
        pytest.skip("the 'ui' extra is not installed")
    with serve(runs_dir) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed",
                                     exc_type=ImportError)
    if not ui_available():
        pytest.skip("the 'ui' extra is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests save screenshots (TRAINLAB_UI_SHOTS to keep them)."""
    folder = os.environ.get("TRAINLAB_UI_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("screenshots")
