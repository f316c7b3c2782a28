"""Server-sent events for a run page: a message whenever the run's files change.

The stream looks at run.json, metrics.csv and monitor.json every ``POLL`` seconds (a
``stat`` each, cheap for many tabs) and sends an ``update`` event with what changed:
``info`` and ``metrics`` whenever either changed, ``monitor`` (the health charts' data)
only when monitor.json did. When the run directory disappears it sends ``gone`` and
ends. A comment line every ``HEARTBEAT`` seconds finds closed tabs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from trainlab.ui.jsonout import dumps
from trainlab.ui.rundata import run_info, run_metrics, run_monitor, stamps

POLL = 0.1
IDLE_POLL = 1.0  # once the run has ended
HEARTBEAT = 10.0
ENDED = ("completed", "diverged", "interrupted", "failed")


def _event(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {dumps(data)}\n\n".encode()


async def _stream(request: Request, run: Path, name: str) -> AsyncIterator[bytes]:
    seen: dict[str, Any] = {}
    status: str | None = None
    last_sent = time.monotonic()
    yield b"retry: 1000\n\n"
    while True:
        if await request.is_disconnected():
            return
        now = await run_in_threadpool(stamps, run)
        if not run.is_dir():
            yield _event("gone", {"name": name, "message": f"the run {name!r} was deleted"})
            return
        if now != seen:
            payload: dict[str, Any] = {"name": name}
            if seen == {} or now["run.json"] != seen.get("run.json") or \
                    now["metrics.csv"] != seen.get("metrics.csv"):
                payload["info"] = info = await run_in_threadpool(run_info, run)
                status = info.get("status")
                payload.update(await run_in_threadpool(run_metrics, run))
            if seen == {} or now["monitor.json"] != seen.get("monitor.json"):
                payload.update(await run_in_threadpool(run_monitor, run))
            seen = now
            last_sent = time.monotonic()
            yield _event("update", payload)
        elif time.monotonic() - last_sent > HEARTBEAT:
            last_sent = time.monotonic()
            yield b": alive\n\n"
        await asyncio.sleep(IDLE_POLL if status in ENDED else POLL)


def run_events(request: Request, run: Path, name: str) -> StreamingResponse:
    return StreamingResponse(_stream(request, run, name), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
