"""``trainlab compare RUN RUN ...``: runs side by side (metrics, settings, health) in the
terminal, and in an HTML page with their learning curves overlaid."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from trainlab.cli.commands import HELP
from trainlab.cli.errors import EXIT_OK, UsageError, one_line
from trainlab.report.compare import compare_page, compare_text
from trainlab.runs import atomic_write_text


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "compare", help=HELP["compare"],
        description="Compare two or more run directories: their final metrics, the settings "
        "that differ, and their per-layer health tables, printed; and an HTML page (--output, "
        "default compare.html) that adds their learning curves overlaid.",
    )
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories")
    parser.add_argument("--output", metavar="FILE", default="compare.html",
                        help="the HTML page to write (default compare.html)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if len(args.runs) < 2:
        raise UsageError("trainlab compare: expected at least two run directories; received "
                         f"{len(args.runs)}.")
    print(compare_text(args.runs))
    output = Path(args.output)
    try:
        atomic_write_text(output, compare_page(args.runs))
    except OSError as exc:
        raise UsageError(f"trainlab compare: cannot write {str(output)!r} "
                         f"({one_line(exc.strerror or exc)}).") from None
    print(f"\ncomparison: {output}")
    return EXIT_OK
