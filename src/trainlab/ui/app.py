"""The ``trainlab ui`` web application (Starlette): pages, JSON, live streams.

    app = create_app(Path("runs"))
    uvicorn.run(app, host="127.0.0.1", port=8765)

Pages: ``/`` (runs and sweeps), ``/runs/NAME`` (one run, live), ``/compare?runs=A,B``,
``/sweeps/NAME``, ``/playground``. JSON: ``/api/runs`` (``[{"name", "status",
"metrics"}]``), ``/api/index`` (every run row and sweep, all fields), ``/api/run/NAME``,
``/api/sweep/NAME``, ``/api/playground/check?SETUP``. Live: ``/api/events/NAME`` (server-sent
events while a run trains) and the WebSocket ``/ws/playground``. Files:
``/files/NAME/figures/X.png`` and ``/files/NAME/report.html`` (sandboxed).

Read-only over the runs directory: nothing under it is written, and only files under it
(symbolic links resolved) are read. Anything out of bounds answers 4xx with a message.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from trainlab import __version__
from trainlab.ui.index import scan
from trainlab.ui.jsonout import dumps
from trainlab.ui.live import run_events
from trainlab.ui.paths import UnsafePathError, resolve_under
from trainlab.ui.playground.settings import PlaygroundSettingError, parse_settings
from trainlab.ui.playground.socket import PlaygroundHub
from trainlab.ui.rundata import run_data
from trainlab.ui.runfiles import is_run, is_sweep
from trainlab.ui.sweeps import read_sweep

HERE = Path(__file__).parent
SERVED_SUFFIXES = {".png": "image/png", ".html": "text/html; charset=utf-8",
                   ".csv": "text/csv; charset=utf-8", ".toml": "text/plain; charset=utf-8",
                   ".json": "application/json"}
MAX_COMPARE = 12
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "X-Frame-Options": "SAMEORIGIN"}


class StrictJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


def create_app(runs: Path, hosts: list[str] | None = None) -> Starlette:
    """The application serving the runs under ``runs`` (read-only).

    hosts: the Host header values accepted (default: localhost names), so that a page on
    another site cannot reach the server through DNS rebinding."""
    root = Path(runs)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["version"] = __version__
    allowed = hosts or ["127.0.0.1", "localhost", "[::1]"]
    hub = PlaygroundHub(ThreadPoolExecutor(max_workers=1, thread_name_prefix="playground"),
                        hosts=allowed)

    def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
        response = templates.TemplateResponse(request, template, context, status_code=status)
        response.headers.update(SECURITY_HEADERS)
        return response

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def locate(name: str, kind: str = "run") -> Path:
        try:
            path = resolve_under(root, name)
        except UnsafePathError as exc:
            raise HTTPException(400, f"refused: {exc}") from None
        except FileNotFoundError:
            raise HTTPException(404, f"no {kind} named {name[:80]!r} under the runs "
                                     "directory") from None
        check = is_run if kind == "run" else is_sweep
        if not path.is_dir() or not check(path):
            raise HTTPException(404, f"{name[:80]!r} is not a {kind} directory")
        return path

    async def error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        if wants_json(request):
            return StrictJSON({"error": detail, "status": status}, status_code=status)
        return page(request, "error.html", status=status, status_code=status, message=detail)

    # -- pages -------------------------------------------------------------------------
    async def index(request: Request) -> Response:
        runs, sweeps = await run_in_threadpool(scan, root)
        metric_names = sorted({k for r in runs for k in r.metrics})
        return page(request, "index.html", runs=runs, sweeps=sweeps, root=str(root),
                    metric_names=metric_names[:12], exists=root.is_dir())

    async def run_page(request: Request) -> Response:
        name = request.path_params["name"]
        await run_in_threadpool(locate, name)
        return page(request, "run.html", name=name)

    async def compare_page(request: Request) -> Response:
        names = _compare_names(request)
        for name in names:
            await run_in_threadpool(locate, name)
        return page(request, "compare.html", names=names)

    async def sweep_page(request: Request) -> Response:
        name = request.path_params["name"]
        await run_in_threadpool(locate, name, "sweep")
        return page(request, "sweep.html", name=name)

    async def playground_page(request: Request) -> Response:
        try:
            settings = parse_settings(dict(request.query_params))
        except PlaygroundSettingError as exc:
            raise HTTPException(400, str(exc)) from None
        return page(request, "playground.html", settings=settings.query(),
                    options=hub.options())

    # -- JSON --------------------------------------------------------------------------
    async def api_runs(request: Request) -> Response:
        runs, _ = await run_in_threadpool(scan, root)
        return StrictJSON([r.public() for r in runs])

    async def api_index(request: Request) -> Response:
        runs, sweeps = await run_in_threadpool(scan, root)
        return StrictJSON({"runs": [vars(r) for r in runs], "sweeps": [vars(s) for s in sweeps]})

    async def api_run(request: Request) -> Response:
        name = request.path_params["name"]
        path = await run_in_threadpool(locate, name)
        return StrictJSON(await run_in_threadpool(run_data, path, name))

    async def api_sweep(request: Request) -> Response:
        name = request.path_params["name"]
        path = await run_in_threadpool(locate, name, "sweep")
        try:
            data = await run_in_threadpool(read_sweep, root, path)
        except FileNotFoundError:
            raise HTTPException(404, f"sweep {name[:80]!r} has no results.csv yet") from None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise HTTPException(422, f"sweep {name[:80]!r}: results.csv cannot be read "
                                     f"({type(exc).__name__}: {str(exc)[:200]})") from None
        return StrictJSON({"name": name, **data})

    async def api_playground_check(request: Request) -> Response:
        try:
            settings = parse_settings(dict(request.query_params))
        except PlaygroundSettingError as exc:
            raise HTTPException(400, str(exc)) from None
        return StrictJSON({"settings": settings.query()})

    async def events(request: Request) -> Response:
        name = request.path_params["name"]
        path = await run_in_threadpool(locate, name)
        return run_events(request, path, name)

    async def files(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            path = await run_in_threadpool(resolve_under, root, name)
        except UnsafePathError as exc:
            raise HTTPException(400, f"refused: {exc}") from None
        except FileNotFoundError:
            raise HTTPException(404, f"no file {name[:80]!r} under the runs directory") from None
        media = SERVED_SUFFIXES.get(path.suffix.lower())
        if media is None or not path.is_file():
            raise HTTPException(403, f"refused: only {', '.join(sorted(SERVED_SUFFIXES))} "
                                     "files of runs are served")
        response = FileResponse(path, media_type=media)
        response.headers.update(SECURITY_HEADERS)
        # A page from a run directory runs no script in this server's origin.
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; " \
            "img-src data:; style-src 'unsafe-inline'"
        return response

    async def not_found(request: Request) -> Response:
        raise HTTPException(404, f"no page {request.url.path[:80]!r}")

    routes = [
        Route("/", index),
        Route("/runs/{name:path}", run_page),
        Route("/compare", compare_page),
        Route("/sweeps/{name:path}", sweep_page),
        Route("/playground", playground_page),
        Route("/api/runs", api_runs),
        Route("/api/index", api_index),
        Route("/api/run/{name:path}", api_run),
        Route("/api/sweep/{name:path}", api_sweep),
        Route("/api/events/{name:path}", events),
        Route("/api/playground/check", api_playground_check),
        Route("/files/{name:path}", files),
        WebSocketRoute("/ws/playground", hub.endpoint),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        Route("/{rest:path}", not_found),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: error, Exception: error},
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed)],
    )
    app.state.hub = hub
    app.state.root = root
    return app


def _compare_names(request: Request) -> list[str]:
    raw = request.query_params.get("runs", "")
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names:
        raise HTTPException(400, "compare: expected ?runs=A,B (run names separated by commas). "
                                 f"Received: {raw[:80]!r}.")
    if len(names) > MAX_COMPARE:
        raise HTTPException(400, f"compare: at most {MAX_COMPARE} runs. Received {len(names)}.")
    return list(dict.fromkeys(names))
