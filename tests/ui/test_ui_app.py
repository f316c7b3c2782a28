"""The web application through Starlette's test client: pages, JSON, refusals, the
playground's WebSocket, and that the runs directory is never written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from ui_helpers import needs_ui

pytestmark = needs_ui


@pytest.fixture(scope="module")
def client(runs_dir: Path):
    testclient = pytest.importorskip("starlette.testclient", reason="httpx is not installed",
                                     exc_type=ImportError)
    from trainlab.ui.app import create_app

    with testclient.TestClient(create_app(runs_dir), base_url="http://127.0.0.1") as c:
        yield c


def tree(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest() + \
                str(path.stat().st_mtime_ns)
    return out


def test_runs_page_lists_runs_sweeps_and_errors(client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    for name in ("alpha", "beta", "broken", "escape"):
        assert f'data-testid="run-row" data-name="{name}"' in page.text
    assert 'data-testid="sweep-row" data-name="sweeps/lr-grid"' in page.text
    assert "not valid JSON" in page.text


def test_api_runs_follows_the_contract(client, runs_dir: Path) -> None:
    runs = client.get("/api/runs").json()
    by_name = {r["name"]: r for r in runs}
    assert set(by_name) == {"alpha", "beta", "broken", "escape"}
    assert set(by_name["alpha"]) == {"name", "status", "metrics"}
    info = json.loads((runs_dir / "beta" / "run.json").read_text())
    assert by_name["beta"]["status"] == info["status"]
    assert by_name["beta"]["metrics"]["val_loss"] == info["final"]["val"]["loss"]
    assert by_name["broken"]["status"] == "error" and by_name["broken"]["error"]


@pytest.mark.parametrize(("url", "status", "text"), [
    ("/runs/alpha", 200, 'data-testid="curve"'),
    ("/runs/no-such-run", 404, "no run named"),
    ("/runs/escape", 400, "outside"),
    ("/runs/..%2F..%2Fetc", 400, "refused"),
    ("/runs/alpha%2F..%2F..", 400, "refused"),
    ("/files/alpha/leak.csv", 400, "outside"),
    ("/files/escape/run.json", 400, "outside"),
    ("/files/alpha/.lock", 400, "refused"),
    ("/files/alpha/checkpoint.safetensors", 403, "only"),
    ("/files/..%2F..%2F..%2Fetc%2Fpasswd", 400, "refused"),
    ("/compare?runs=", 400, "expected ?runs=A,B"),
    ("/compare?runs=" + ",".join(f"r{i}" for i in range(20)), 400, "at most"),
    ("/compare?runs=alpha,beta", 200, "Compare 2 runs"),
    ("/compare?runs=alpha,ghost", 404, "ghost"),
    ("/sweeps/sweeps/lr-grid", 200, "Parallel coordinates"),
    ("/sweeps/alpha", 404, "not a sweep"),
    ("/playground", 200, 'data-testid="boundary"'),
    ("/playground?dataset=spiral&hidden=16,16", 200, 'value="16,16"'),
    ("/playground?hidden=100000,100000", 400, "setting &#39;hidden&#39;"),
    ("/playground?lr=1e300", 400, "setting &#39;lr&#39;"),
    ("/nowhere", 404, "no page"),
])
def test_pages_and_refusals(client, url: str, status: int, text: str) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text[:300]
    assert text in response.text


def test_json_errors_are_json(client) -> None:
    response = client.get("/api/playground/check", params={"points": "1e12"})
    assert response.status_code == 400
    assert "'points'" in response.json()["error"]
    assert client.get("/api/run/nope").json()["status"] == 404
    assert client.get("/api/playground/check", params={"dataset": "spiral"}).json() \
        ["settings"]["dataset"] == "spiral"


def test_run_and_sweep_data(client, runs_dir: Path) -> None:
    data = client.get("/api/run/alpha").json()
    assert data["info"]["status"] == "completed" and len(data["metrics"]["epoch"]) == 3
    assert data["monitor"]["layers"]["out_std"]
    assert client.get("/api/run/broken").json()["info"]["error"].startswith("run.json")
    sweep = client.get("/api/sweep/sweeps/lr-grid").json()
    assert sweep["metric"] == "val_accuracy" and len(sweep["trials"]) == 12


def test_run_files_are_served_sandboxed(client) -> None:
    response = client.get("/files/alpha/report.html")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("sandbox")
    assert client.get("/files/alpha/metrics.csv").text.startswith("epoch,")


def test_other_hosts_are_refused(client) -> None:
    assert client.get("/api/runs", headers={"host": "attacker.example"}).status_code == 400


def test_playground_websocket(client) -> None:
    with client.websocket_connect("ws://127.0.0.1/ws/playground") as ws:
        ws.send_json({"cmd": "step"})
        assert "reset first" in ws.receive_json()["message"]
        ws.send_json({"cmd": "reset", "settings": {"dataset": "moons", "hidden": "4"}})
        setup = ws.receive_json()
        assert setup["type"] == "setup" and setup["settings"]["dataset"] == "moons"
        assert len(setup["train"]["x"]) + len(setup["test"]["x"]) == 400
        frame = ws.receive_json()
        assert frame["type"] == "frame" and frame["step"] == 0
        ws.send_json({"cmd": "step"})
        frame = ws.receive_json()
        assert frame["step"] == 100 and 0 <= frame["test_metric"] <= 1
        ws.send_json({"cmd": "reset", "settings": {"hidden": "100000"}})
        assert "'hidden'" in ws.receive_json()["message"]
        ws.send_text("not json")
        assert "unknown command" in ws.receive_json()["message"]
        ws.send_json({"cmd": "play"})
        steps = [ws.receive_json()["step"] for _ in range(2)]
        assert steps == sorted(steps) and steps[0] > 100
        # no third frame before the page says it drew one (a slow page gets no backlog)
        ws.send_json({"cmd": "ack"})
        steps.append(ws.receive_json()["step"])
        assert steps[2] > steps[1]
        ws.send_json({"cmd": "pause"})
        while ws.receive_json()["type"] != "paused":
            pass


def test_other_sites_cannot_open_the_playground(client) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), client.websocket_connect(
            "ws://127.0.0.1/ws/playground", headers={"origin": "http://attacker.example"}) as ws:
        ws.receive_json()


def test_the_runs_directory_is_never_written(client, runs_dir: Path) -> None:
    before = tree(runs_dir)
    for url in ("/", "/api/runs", "/api/index", "/runs/alpha", "/api/run/alpha",
                "/api/run/broken", "/api/sweep/sweeps/lr-grid", "/files/alpha/report.html",
                "/compare?runs=alpha,beta"):
        client.get(url)
    assert tree(runs_dir) == before
