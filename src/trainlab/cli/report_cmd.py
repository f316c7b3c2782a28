"""``trainlab report RUN``: rebuild a run's ``report.html`` (and ``figures/``) from its files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from trainlab.cli.commands import HELP
from trainlab.cli.errors import EXIT_OK, UsageError, one_line
from trainlab.report.run_report import write_run_report
from trainlab.runs.record import RunRecord
from trainlab.train import CheckpointError


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "report", help=HELP["report"],
        description="Rebuild the self-contained HTML report of a run from config.toml, "
        "run.json, metrics.csv, the model checkpoint and monitor.json: summary and final "
        "metrics, configuration, learning curves, learning rate, model summary, and the "
        "diagnostics (signal against depth with the theory, training health, gradient "
        "norms, saturation and dead units, histograms).",
    )
    parser.add_argument("run", metavar="RUN", help="a run directory, e.g. runs/digits")
    parser.add_argument("--output", metavar="FILE", help="write the page here instead of "
                        "RUN/report.html")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    run_obj = RunRecord.open(args.run)
    try:
        path = write_run_report(run_obj.path, output=args.output)
    except CheckpointError as exc:
        raise UsageError(f"run {str(run_obj.path)!r}: {one_line(exc)}") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"run {str(run_obj.path)!r}: cannot build the report "
                         f"({one_line(exc)}).") from None
    print(f"report: {Path(path)}")
    return EXIT_OK
