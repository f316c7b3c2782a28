"""The run report in a real browser: headless Chromium renders it and every figure loads.

Chromium runs with ``--dump-dom`` on a copy of ``report.html`` that carries a small
script: after the page's ``load`` event it counts the ``<img>`` elements and those that
decoded (``complete`` and ``naturalWidth > 0``) and writes the counts into the DOM,
which the dump then shows. Skipped, with the reason, where Chromium is not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from trainlab.cli import main

pytestmark = pytest.mark.browser

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome",
              "google-chrome-stable")

PROBE = """<pre id="image-probe">pending</pre><script>
window.addEventListener('load', function () {
  var images = document.images, loaded = 0, broken = [];
  for (var i = 0; i < images.length; i++) {
    if (images[i].complete && images[i].naturalWidth > 0) { loaded++; }
    else { broken.push(images[i].alt); }
  }
  document.getElementById('image-probe').textContent =
    'images=' + images.length + ' loaded=' + loaded + ' broken=' + JSON.stringify(broken);
});
</script>"""


def chromium() -> str:
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    pytest.skip("headless Chromium is not installed (looked for /usr/bin/chromium, chromium, "
                "chromium-browser, google-chrome); install it, e.g. apt-get install chromium")


def dump_dom(browser: str, page: Path, profile: Path) -> str:
    argv = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
            "--virtual-time-budget=10000", "--dump-dom", page.resolve().as_uri()]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser_runs")
    assert main(["train", "--epochs", "3", "--hidden", "32", "--monitor-every", "10", "-q",
                 "--out", str(out), "--name", "b"]) == 0
    return out / "b" / "report.html"


def probed_copy(report: Path, folder: Path) -> tuple[Path, int]:
    html = report.read_text(encoding="utf-8")
    count = html.count("<img ")
    page = folder / "probed.html"
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return page, count


def test_report_renders_and_every_image_loads(report, tmp_path):
    browser = chromium()
    page, count = probed_copy(report, tmp_path)
    assert count >= 7
    dom = dump_dom(browser, page, tmp_path / "profile")
    assert "<h1>trainlab run b</h1>" in dom
    for anchor in ("summary", "configuration", "curves", "learning-rate", "model", "signal",
                   "health", "gradients"):
        assert f'id="{anchor}"' in dom
    probe = re.search(r"images=(\d+) loaded=(\d+) broken=(\[[^<]*\])", dom)
    assert probe is not None, "the probe script did not run"
    images, loaded, broken = int(probe.group(1)), int(probe.group(2)), probe.group(3)
    assert images == count
    assert loaded == images, f"broken images: {broken}"


def test_the_probe_detects_a_broken_image(report, tmp_path):
    """The check can fail: a corrupted data URI is reported as not loaded."""
    browser = chromium()
    page, count = probed_copy(report, tmp_path)
    html = page.read_text(encoding="utf-8")
    broken = html.replace('src="data:image/png;base64,', 'src="data:image/png;base64,AAAA', 1)
    page.write_text(broken, encoding="utf-8")
    dom = dump_dom(browser, page, tmp_path / "profile")
    probe = re.search(r"images=(\d+) loaded=(\d+)", dom)
    assert probe is not None
    assert int(probe.group(1)) == count and int(probe.group(2)) == count - 1
