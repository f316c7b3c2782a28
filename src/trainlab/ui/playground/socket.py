"""The playground's WebSocket: one :class:`Session` per open page.

Messages from the page (JSON): ``{"cmd": "reset", "settings": {query parameters}}``,
``{"cmd": "step"}`` (100 steps), ``{"cmd": "play"}``, ``{"cmd": "pause"}``, ``{"cmd": "ack"}``.
Messages to the page: ``{"type": "setup", ...}`` after a reset, ``{"type": "frame", ...}``
after training, ``{"type": "error", "message": ...}`` for a refused setting.

Training runs on one worker thread shared by every page, so many pages slow each other
down but never block the server's event loop. While playing, a page gets a frame of
``PLAY_STEPS`` steps at most ``MAX_FPS`` times a second, and at most ``AHEAD`` frames
ahead of those it has drawn (it sends ``{"cmd": "ack"}`` after drawing one), so a slow
page sees the network as it is now, not a queue of old frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from concurrent.futures import Executor
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect

from trainlab.init import INITIALIZERS
from trainlab.nn import ACTIVATIONS
from trainlab.optim import OPTIMIZERS
from trainlab.ui.jsonout import dumps
from trainlab.ui.playground.data import DATASETS
from trainlab.ui.playground.session import Session
from trainlab.ui.playground.settings import NORMS, PlaygroundSettingError, parse_settings

STEP = 100
PLAY_STEPS = 5
MAX_FPS = 30
AHEAD = 2
MAX_SESSIONS = 32
MAX_MESSAGE = 4096  # characters


class PlaygroundHub:
    """The open playgrounds, and the executor that trains them."""

    def __init__(self, executor: Executor, max_sessions: int = MAX_SESSIONS,
                 hosts: list[str] | None = None) -> None:
        self.executor = executor
        self.hosts = hosts or ["*"]
        self.max_sessions = max_sessions
        self.open = 0

    @staticmethod
    def options() -> dict[str, list[str]]:
        """The choices of the playground's selects, from the library's registries."""
        return {"dataset": list(DATASETS), "activation": ACTIVATIONS.names(),
                "init": INITIALIZERS.names(), "norm": list(NORMS),
                "optimizer": OPTIMIZERS.names()}

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def _same_site(self, ws: WebSocket) -> bool:
        """A page of another site may not drive the playground (browsers send Origin)."""
        origin = ws.headers.get("origin")
        if origin is None or "*" in self.hosts:
            return True
        host = urlsplit(origin).hostname or ""
        return host in self.hosts or f"[{host}]" in self.hosts

    async def endpoint(self, ws: WebSocket) -> None:
        if not self._same_site(ws):
            await ws.close(code=1008)
            return
        await ws.accept()
        if self.open >= self.max_sessions:
            await ws.send_text(dumps({"type": "error", "message": f"too many playgrounds open "
                                      f"(at most {self.max_sessions}); close one and reload"}))
            await ws.close(code=1013)
            return
        self.open += 1
        inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=64)
        reader = asyncio.create_task(self._read(ws, inbox))
        try:
            await self._serve(ws, inbox)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the page went away
        finally:
            self.open -= 1
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    @staticmethod
    async def _read(ws: WebSocket, inbox: asyncio.Queue[dict[str, Any] | None]) -> None:
        try:
            while True:
                text = await ws.receive_text()
                try:
                    message = json.loads(text[:MAX_MESSAGE])
                except ValueError:
                    message = {"cmd": "invalid"}
                if not isinstance(message, dict):
                    message = {"cmd": "invalid"}
                if inbox.full():
                    inbox.get_nowait()  # drop the oldest: a page that floods loses messages
                inbox.put_nowait(message)
        except (WebSocketDisconnect, RuntimeError):
            inbox.put_nowait(None)

    async def _serve(self, ws: WebSocket, inbox: asyncio.Queue[dict[str, Any] | None]) -> None:
        session: Session | None = None
        playing = False
        unacknowledged = 0
        while True:
            if playing and session is not None and unacknowledged < AHEAD:
                message = inbox.get_nowait() if not inbox.empty() else {"cmd": "_tick"}
            else:
                message = await inbox.get()
            if message is None:
                return
            cmd = message.get("cmd")
            if cmd == "ack":
                unacknowledged = max(0, unacknowledged - 1)
            elif cmd == "reset":
                playing = False
                try:
                    raw = message.get("settings") or {}
                    if not isinstance(raw, dict):
                        raise PlaygroundSettingError("playground: 'settings' must be an object.")
                    settings = parse_settings({str(k): str(v) for k, v in raw.items()})
                    session = await self._run(Session, settings)
                except PlaygroundSettingError as exc:
                    await ws.send_text(dumps({"type": "error", "message": str(exc)}))
                    continue
                await ws.send_text(dumps(session.setup()))
                await ws.send_text(dumps(await self._run(session.frame)))
            elif session is None:
                await ws.send_text(dumps({"type": "error",
                                          "message": "playground: send a reset first"}))
            elif cmd == "step":
                playing = False
                await self._advance(ws, session, STEP)
            elif cmd == "play":
                playing, unacknowledged = True, 0
            elif cmd == "pause":
                playing = False
                await ws.send_text(dumps({"type": "paused", "step": session.step}))
            elif cmd == "_tick":
                start = time.perf_counter()
                await self._advance(ws, session, PLAY_STEPS)
                unacknowledged += 1
                if session.diverged is not None:
                    playing = False
                await asyncio.sleep(max(0.0, 1 / MAX_FPS - (time.perf_counter() - start)))
            else:
                await ws.send_text(dumps({"type": "error", "message": f"playground: unknown "
                                          f"command {str(cmd)[:40]!r}; expected reset, step, "
                                          "play, pause or ack"}))

    async def _advance(self, ws: WebSocket, session: Session, steps: int) -> None:
        def work() -> dict[str, Any]:
            session.train(steps)
            return session.frame(full=False)

        frame = await self._run(work)
        await ws.send_text(dumps(frame))
