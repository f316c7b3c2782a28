"""``trainlab ui`` in a real browser (headless Chromium driven by Playwright): the runs
page, a run watched while it trains, compare, the playground, hostile requests.

Screenshots go to a temporary folder (``TRAINLAB_UI_SHOTS=DIR`` keeps them). The figures
(playground frames per second, live-update latency, responsiveness with 10 open tabs)
are printed, not asserted: they depend on the machine.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from ui_helpers import SRC, get, serve

pytestmark = pytest.mark.browser

SPIRAL = ("/playground?dataset=spiral&noise=0&hidden=32,32&activation=relu&init=he_uniform"
          "&lr=0.02&batch=16&seed=0")


def figure(text: str) -> None:
    """A measured figure, printed so that ``pytest -s`` (and the CI log) shows it."""
    print(f"\n[ui figure] {text}", file=sys.stderr)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    context.close()
    assert not errors, errors


def test_runs_page_sorts_and_filters(server, page, shots: Path) -> None:
    page.goto(server + "/")
    rows = page.locator('[data-testid="run-row"]')
    assert rows.count() == 4
    names = rows.evaluate_all("rows => rows.map(r => r.dataset.name)")
    assert sorted(names) == ["alpha", "beta", "broken", "escape"]
    assert "not valid JSON" in page.locator('[data-name="broken"]').inner_text()
    page.locator("#runs th", has_text="name").click()
    page.locator("#runs th", has_text="name").click()  # descending
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.name)") == \
        ["escape", "broken", "beta", "alpha"]
    page.fill('[data-testid="filter"]', "tanh")
    visible = rows.evaluate_all("rows => rows.filter(r => !r.hidden).map(r => r.dataset.name)")
    assert visible == ["beta"]
    page.fill('[data-testid="filter"]', "")
    page.screenshot(path=str(shots / "runs.png"), full_page=True)


def test_compare_two_runs(server, page, shots: Path) -> None:
    page.goto(server + "/")
    page.check('input.pick[value="alpha"]')
    page.check('input.pick[value="beta"]')
    page.click('[data-testid="compare-button"]')
    page.wait_for_url("**/compare?runs=alpha,beta")
    page.wait_for_selector("body[data-ready='1']")
    charts = page.locator('[data-testid="compare-charts"] .chart')
    assert charts.count() >= 4  # loss, val_loss, accuracy, val_accuracy, lr
    legend = page.evaluate("TL.chart('cmp-loss').getOption().series.map(s => s.name)")
    assert legend == ["alpha", "beta"]
    diff = page.locator('[data-testid="settings-diff"]').inner_text()
    assert "lr" in diff and "activation" in diff
    page.screenshot(path=str(shots / "compare.png"), full_page=True)


def test_sweep_page(server, page, shots: Path) -> None:
    page.goto(server + "/sweeps/sweeps/lr-grid")
    page.wait_for_selector("body[data-ready='1']")
    assert page.evaluate("TL.chart('parallel').getOption().series[0].data.length") == 11
    heat = page.evaluate("TL.chart('heatmap').getOption().series[0].data")
    assert len(heat) == 6  # 3 lr × 2 init, each the mean over its seeds
    page.screenshot(path=str(shots / "sweep.png"), full_page=True)


def _lines(path: Path) -> int:
    try:
        return len(path.read_text().splitlines())
    except OSError:
        return 0


def test_a_run_is_watched_while_it_trains(browser, tmp_path: Path, shots: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    trainer = subprocess.Popen(
        [sys.executable, "-m", "trainlab", "train", "--data", "digits", "--hidden", "256,256",
         "--epochs", "400", "--batch-size", "4", "--monitor-every", "20", "--out", str(runs),
         "--name", "live", "-q"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with serve(runs) as base:
            run, metrics = runs / "live", runs / "live" / "metrics.csv"
            deadline = time.monotonic() + 120
            while not (run / "run.json").exists():
                assert time.monotonic() < deadline, "the run did not start"
                time.sleep(0.1)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            listing = context.new_page()
            listing.goto(base + "/")
            assert listing.inner_text('[data-name="live"] .badge') == "running"
            page = context.new_page()
            page.goto(f"{base}/runs/live")
            page.wait_for_selector("#curve canvas")
            latencies = []
            while len(latencies) < 3:
                seen = _lines(metrics)
                while _lines(metrics) == seen:  # wait for the next epoch on disk
                    assert time.monotonic() < deadline + 120, "no new epoch was written"
                    time.sleep(0.005)
                written = time.monotonic()
                epochs = _lines(metrics) - 1
                page.wait_for_function(
                    f"Number(document.getElementById('curve').dataset.points) >= {epochs}",
                    timeout=30_000)
                latencies.append(time.monotonic() - written)
            figure(f"live run page: a new epoch shown {statistics.median(latencies):.3f} s "
                   f"(median; max {max(latencies):.3f} s) after metrics.csv was written")
            points = page.evaluate("TL.chart('curve').getOption().series[0].data.length")
            assert points >= 3
            assert page.inner_text('[data-testid="status"]') == "running"
            # the layer health appears when the run writes monitor.json (epoch 10)
            page.wait_for_function("!document.getElementById('health').hidden", timeout=180_000)
            layers = page.evaluate("TL.chart('outstd').getOption().series.map(s => s.name)")
            assert layers[:2] == ["0 Linear", "1 ReLU"]
            page.screenshot(path=str(shots / "run-live.png"), full_page=True)
            trainer.send_signal(signal.SIGINT)  # the run ends while watched
            trainer.wait(60)
            page.wait_for_function(
                "document.querySelector('[data-testid=status]').textContent === 'interrupted'",
                timeout=30_000)
            listing.wait_for_function(  # the runs page follows the status too
                "document.querySelector('[data-name=live] .badge').textContent === 'interrupted'",
                timeout=30_000)
            shutil.rmtree(run)  # and is deleted while watched
            page.wait_for_function(
                "document.querySelector('[data-testid=banner]').textContent.includes('deleted')",
                timeout=30_000)
            assert get(base + "/api/runs")[0] == 200
            listing.wait_for_selector('[data-testid="stale"]:not([hidden])', timeout=30_000)
            context.close()
    finally:
        if trainer.poll() is None:
            trainer.kill()
            trainer.wait()


def test_playground_trains_the_spiral(server, page, shots: Path) -> None:
    page.goto(server + SPIRAL)
    page.wait_for_function("window.PG.frames >= 1")
    assert page.input_value('[data-testid="dataset"]') == "spiral"
    assert page.input_value('[data-testid="hidden"]') == "32,32"
    before = page.evaluate("document.querySelector('[data-testid=boundary]').toDataURL()")
    accuracies = []
    for clicks in range(1, 31):
        frames = page.evaluate("window.PG.frames")
        page.click('[data-testid="step"]')
        page.wait_for_function(f"window.PG.frames > {frames}", timeout=60_000)
        accuracy = float(page.inner_text('[data-testid="test-accuracy"]'))
        assert 0.0 <= accuracy <= 1.0
        accuracies.append(accuracy)
        if accuracy >= 0.9 and clicks >= 3:
            break
    assert accuracies[-1] >= 0.9, accuracies
    assert page.inner_text('[data-testid="step-count"]') == str(100 * len(accuracies))
    after = page.evaluate("document.querySelector('[data-testid=boundary]').toDataURL()")
    assert after != before  # the boundary was redrawn
    page.screenshot(path=str(shots / "playground-spiral.png"), full_page=True)
    # play, then pause
    page.click('[data-testid="play"]')
    start = int(page.inner_text('[data-testid="step-count"]'))
    page.wait_for_function(f"Number(document.querySelector('[data-testid=step-count]')"
                           f".textContent) > {start + 20}", timeout=30_000)
    page.click('[data-testid="play"]')
    # reset: a new network (step 0), the setup still in the URL
    page.click('[data-testid="reset"]')
    page.wait_for_function("document.querySelector('[data-testid=step-count]').textContent === '0'")
    assert "dataset=spiral" in page.url and "hidden=32%2C32" in page.url


def test_playground_setup_lives_in_the_url(server, page) -> None:
    page.goto(server + "/playground")
    page.wait_for_function("window.PG.frames >= 1")
    page.select_option('[data-testid="dataset"]', "xor")
    page.fill('[data-testid="hidden"]', "5,3")
    page.press('[data-testid="hidden"]', "Enter")
    page.select_option('[data-testid="activation"]', "relu")
    page.wait_for_function("location.search.includes('activation=relu')")
    query = dict(p.split("=") for p in urlsplit(page.url).query.split("&"))
    assert (query["dataset"], query["hidden"], query["activation"]) == ("xor", "5%2C3", "relu")
    page.wait_for_function("window.PG.last && window.PG.last.neurons.length === 2")
    assert [len(layer["units"]) for layer in page.evaluate("window.PG.last.neurons")] == [5, 3]
    page.fill('[data-testid="lr"]', "1e9")
    page.press('[data-testid="lr"]', "Enter")
    page.wait_for_function("!document.querySelector('[data-testid=banner]').hidden")
    assert "'lr'" in page.inner_text('[data-testid="banner"]')


def test_playground_frames_per_second(server, page, shots: Path) -> None:
    page.goto(server + "/playground")
    page.wait_for_function("window.PG.frames >= 1")
    page.click('[data-testid="play"]')
    time.sleep(1.0)
    frames, start = page.evaluate("window.PG.frames"), time.monotonic()
    time.sleep(5.0)
    fps = (page.evaluate("window.PG.frames") - frames) / (time.monotonic() - start)
    page.click('[data-testid="play"]')
    figure(f"playground, default setup, playing: {fps:.1f} frames per second "
           f"({os.cpu_count()} CPUs)")
    page.screenshot(path=str(shots / "playground-default.png"), full_page=True)
    assert fps > 1


def _raw(base: str, path: str) -> tuple[int, bytes]:
    """GET with the path sent exactly as given (no client-side normalisation)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", [
    "/files/../../../../etc/passwd", "/runs/../../../../etc/passwd",
    "/files/%2e%2e/%2e%2e/etc/passwd",
    "/files/alpha/..%2f..%2f..%2fetc%2fpasswd", "/static/../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/files/escape/run.json", "/files/alpha/leak.csv",
    "/api/run/..%2F..%2F..%2Fetc", "/api/events/..%2F..%2Fetc",
])
def test_path_traversal_is_refused(server, path: str) -> None:
    status, body = _raw(server, path)
    assert 400 <= status < 500, (status, body[:200])
    assert b"root:" not in body and b"secret" not in body


@pytest.mark.parametrize("query", [
    "hidden=100000,100000,100000", "points=1000000000", "lr=inf", "batch=-5",
    "hidden=" + ",".join(["8"] * 500), "dataset=" + "x" * 5000, "seed=99999999999999999999",
])
def test_absurd_playground_settings_get_a_clear_error(server, query: str) -> None:
    status, body = get(f"{server}/api/playground/check?{query}")
    assert status == 400 and b"playground setting" in body
    status, body = get(f"{server}/playground?{query}")
    assert status == 400 and b"playground setting" in body


def test_hundreds_of_requests_at_once_and_ten_tabs(server, browser) -> None:
    urls = [f"{server}{p}" for p in ("/api/runs", "/", "/runs/alpha", "/api/run/alpha",
                                     "/static/echarts.min.js", "/files/../../etc/passwd")]
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=300) as pool:
        results = list(pool.map(lambda i: get(urls[i % len(urls)], timeout=120)[0], range(600)))
    elapsed = time.monotonic() - start
    assert all(code in (200, 400, 404, 503) for code in results), sorted(set(results))
    figure(f"600 requests from 300 threads at once: {elapsed:.2f} s, "
           f"{results.count(503)} answered 503 (busy)")
    assert get(server + "/api/runs")[0] == 200
    # ten open tabs, each with a live stream (run pages) or a playground
    context = browser.new_context()
    tabs = []
    for i in range(10):
        tab = context.new_page()
        tab.goto(server + ("/runs/alpha" if i % 2 else "/playground"))
        tabs.append(tab)
    for tab in tabs[::2]:
        tab.wait_for_function("window.PG && window.PG.frames >= 1")
    times = []
    for _ in range(20):
        t = time.monotonic()
        assert get(server + "/api/runs")[0] == 200
        times.append(time.monotonic() - t)
    figure(f"with 10 open tabs (5 live run pages, 5 playgrounds): GET /api/runs median "
           f"{1000 * statistics.median(times):.0f} ms, max {1000 * max(times):.0f} ms")
    context.close()
    assert get(server + "/api/runs")[0] == 200
