"""``trainlab ui``: serve the runs directory's pages and the playground on this machine."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path
from typing import Any

from trainlab.cli.errors import EXIT_OK, UsageError

DEFAULT_PORT = 8765
MAX_CONNECTIONS = 512  # beyond this the server answers 503 instead of queueing forever


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "ui", help="a local web app: runs (live), compare, sweeps, and a playground",
        description="Serve a local web application over the runs directory: the runs and "
        "sweeps, each run live while it trains, runs compared, sweeps' parallel coordinates "
        "and heatmaps, and a playground that trains small networks on 2-D data. It reads "
        "the runs directory and writes nothing there. Needs the 'ui' extra: "
        "pip install 'trainlab[ui]'.",
    )
    parser.add_argument("--runs", default="runs", metavar="DIR",
                        help="the runs directory (default: runs)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"the port (default: {DEFAULT_PORT})")
    parser.set_defaults(handler=run)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected an integer in [1, 65535], received {text!r}")
    return value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    runs = Path(args.runs)
    if runs.exists() and not runs.is_dir():
        raise UsageError(f"trainlab ui: --runs {args.runs!r} is not a directory.")
    try:  # (the optional 'ui' extra: Starlette, uvicorn, Jinja2)
        import uvicorn

        from trainlab.ui.app import create_app
    except ImportError as exc:
        raise UsageError(f"trainlab ui needs the 'ui' extra ({exc.name or exc} is missing): "
                         "pip install 'trainlab[ui]'.") from None
    hosts = ["127.0.0.1", "localhost", "[::1]"]
    if not _loopback(args.host):
        print(f"trainlab ui: listening on {args.host}: anyone who can reach this address can "
              "read the runs' metrics and use the playground.", file=sys.stderr)
        hosts = ["*"]
    app = create_app(runs, hosts=hosts)
    print(f"trainlab ui: http://{args.host}:{args.port}/ (runs: {runs.resolve()}); "
          "Ctrl-C stops it", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                limit_concurrency=MAX_CONNECTIONS, timeout_graceful_shutdown=2,
                ws_max_size=2**16)
    return EXIT_OK
