"""``trainlab sweep``: many runs from one spec; ``trainlab sweep show DIR``: its table.

    trainlab sweep lr.toml                       # sweeps/lr, one worker per core
    trainlab sweep lr.toml --workers 2 --out sweeps/lr2
    trainlab sweep lr.toml --resume sweeps/lr    # after an interruption or a kill
    trainlab sweep lr.toml --backend ray --address 10.0.0.5:6379
    trainlab sweep lr.toml --storage postgresql://me@db:5432/sweeps   # a shared study
    trainlab sweep show sweeps/lr

The command parses and prints; the sweep itself is :mod:`trainlab.sweep`'s.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from trainlab.cli.commands import HELP
from trainlab.cli.errors import EXIT_OK, UsageError
from trainlab.cli.train import _sigterm_as_interrupt
from trainlab.diagnostics.sections import text_table


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "sweep", help=HELP["sweep"],
        description="Run a sweep: every point of SPEC.toml's search, once per seed, each a "
        "complete run directory with its report. DIR (default sweeps/NAME, after the spec's "
        "file name) receives spec.toml, sweep.db (an Optuna SQLite storage), trials/, "
        "results.csv, sweep.json and report.html. 'trainlab sweep show DIR' prints the table "
        "of a sweep.",
        epilog="Exit status: 0 when every trial has ended (failed trials are recorded, not "
        "fatal), 2 a bad spec or option (before any trial runs), 130 interrupted (continue "
        "with --resume DIR).",
    )
    parser.add_argument("spec", metavar="SPEC.toml", help="the sweep spec, or 'show'")
    parser.add_argument("dir", nargs="?", metavar="DIR", help="with 'show': the sweep directory")
    parser.add_argument("--out", metavar="DIR", help="the sweep directory (default sweeps/NAME)")
    parser.add_argument("--workers", type=_positive, metavar="N", help="trials at once "
                        "(default: one per core; with Ray: the cluster's CPUs)")
    parser.add_argument("--backend", choices=("local", "ray"), default="local",
                        help="local worker processes (default) or an existing Ray cluster")
    parser.add_argument("--address", metavar="HOST:PORT", help="the Ray cluster's address")
    parser.add_argument("--storage", metavar="URL", help="the study's database (default "
                        "sqlite:///DIR/sweep.db), e.g. postgresql://USER@HOST:PORT/DB")
    parser.add_argument("--resume", metavar="DIR", help="continue the interrupted sweep in DIR")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, received {text!r}")
    return value


def _sweep_package() -> Any:
    try:
        import optuna  # optional: pip install 'trainlab[sweep]'

        import trainlab.sweep as sweep
    except ImportError as exc:
        raise UsageError(f"trainlab sweep needs Optuna ({exc}); install it with: pip install "
                         "'trainlab[sweep]'.") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the command prints its own lines
    return sweep


def run(args: argparse.Namespace) -> int:
    if args.spec == "show":
        if args.dir is None:
            raise UsageError("trainlab sweep show: expected a sweep directory, e.g. trainlab "
                             "sweep show sweeps/lr.")
        return show(Path(args.dir))
    if args.dir is not None:
        raise UsageError(f"trainlab sweep: unexpected argument {args.dir!r}; see 'trainlab "
                         "sweep --help'.")
    with _sigterm_as_interrupt():
        return _sweep(args)


def _sweep(args: argparse.Namespace) -> int:
    sweep = _sweep_package()
    spec = sweep.read_spec(args.spec)
    if args.resume is not None and args.out is not None and \
            Path(args.out).resolve() != Path(args.resume).resolve():
        raise UsageError("trainlab sweep: --resume DIR continues the sweep in DIR; --out "
                         f"{args.out} names another directory.")
    target = args.resume or args.out or str(Path("sweeps") / spec.name)
    # Everything that can be refused is refused before any trial runs.
    if args.storage is not None:
        from trainlab.sweep.storage import open_storage

        open_storage(args.storage)
    executor = sweep.make_executor(args.backend, args.workers, args.address)
    try:
        sweep_dir, _ = sweep.prepare_dir(args.spec, target, resume=args.resume is not None,
                                         storage=args.storage)
    except BaseException:
        executor.close(cancel=True)
        raise
    stream = None if args.quiet else sys.stdout
    if stream is not None:
        print(f"sweep {spec.name}: {spec.planned()} trials ({spec.method}, "
              f"{len(spec.seeds)} seed(s)) on {executor.workers} {executor.name} worker(s) "
              f"-> {sweep_dir}", flush=True)
    outcome = sweep.run_sweep(spec, sweep_dir, executor, storage=args.storage,
                              join=args.resume is not None or args.storage is not None,
                              stream=stream)
    if stream is not None:
        _print_outcome(spec, outcome, sweep_dir)
    return EXIT_OK


def _print_outcome(spec: Any, outcome: Any, sweep_dir: Path) -> None:
    print()
    best = outcome.best
    if best is not None:
        settings = ", ".join(f"{k} = {v}" for k, v in best.settings.items())
        print(f"best: trial {best.trial} (seed {best.seed}) {spec.metric} = {best.value:.4g}; "
              f"{settings}; {sweep_dir / best.run_dir}")
    if not outcome.finished:
        print(f"note: {len(outcome.rows)} of {outcome.planned} trials have ended; others are "
              "running elsewhere or waiting (continue with --resume).")
    print(f"results: {sweep_dir / 'results.csv'}")
    if outcome.report is not None:
        print(f"report: {outcome.report}")
    sys.stdout.flush()


def _short(text: str) -> str:
    """A metric's value with 6 significant digits (results.csv keeps every digit)."""
    try:
        return f"{float(text):.6g}"
    except ValueError:
        return text


def show(sweep_dir: Path) -> int:
    """Print the sweep's table, best first, with the reason of each pruned or failed trial."""
    sweep = _sweep_package()
    if not (sweep_dir / "results.csv").is_file():
        raise UsageError(f"trainlab sweep show: {str(sweep_dir)!r} is not a sweep directory "
                         "(no results.csv).")
    header, rows = sweep.read_results(sweep_dir)
    summary = sweep.read_summary(sweep_dir)
    metric = header[3] if len(header) > 3 else ""
    goal = summary.get("goal", "maximize")

    def key(row: dict[str, str]) -> tuple[int, float]:
        try:
            value = float(row.get(metric) or "nan")
        except ValueError:
            value = math.nan
        rank = {"complete": 0, "pruned": 1}.get(row.get("status", ""), 2)
        if not math.isfinite(value):
            return rank, math.inf
        return rank, -value if goal == "maximize" else value

    ordered = sorted(rows, key=key)
    reasons = summary.get("reasons", {})
    table = [[*(_short(row.get(h, "")) if h == metric else row.get(h, "") for h in header[:-1]),
              reasons.get(row.get("trial", ""), "")] for row in ordered]
    counts = {s: sum(r.get("status") == s for r in rows) for s in ("complete", "pruned", "failed")}
    planned = summary.get("planned", len(rows))
    print(f"sweep {summary.get('name', sweep_dir.name)}: {summary.get('method', '?')} search, "
          f"{goal} {metric}; {len(rows)}/{planned} trials ended ({counts['complete']} complete, "
          f"{counts['pruned']} pruned, {counts['failed']} failed)")
    print(text_table([*header[:-1], "reason"], table, width=50))
    best = summary.get("best")
    if best:
        print(f"best: trial {best['trial']} {metric} = {best['value']:.4g} "
              f"({sweep_dir / best['run_dir']})")
    if (sweep_dir / "report.html").is_file():
        print(f"report: {sweep_dir / 'report.html'}")
    return EXIT_OK
