"""Run lab experiments, print their claim tables, write the lab's HTML report.

``trainlab lab list`` / ``trainlab lab run NAME`` / ``trainlab lab run all`` delegate to
:func:`main`, which returns the exit status: 0 when every claim holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np

from trainlab._checks import check_int
from trainlab.diagnostics.monitor import TrainingHealthWarning
from trainlab.diagnostics.sections import text_table
from trainlab.lab.experiment import Context, Result
from trainlab.lab.registry import experiments, get_experiment, list_experiments, names
from trainlab.report.html import Section, escape, render_page, table_html
from trainlab.runs.directory import check_writable
from trainlab.train import DivergenceWarning

DEFAULT_OUT = Path("runs") / "lab"


def run_experiment(
    name: str, out_dir: str | Path = DEFAULT_OUT, quick: bool = False, seed: int = 0
) -> Result:
    """Run one experiment; its figures go to ``out_dir/<name>/``. Errors propagate.

    quick: the reduced size (for tests). seed: the base seed of every random draw.
    Overflow and NaN are measured outcomes in the lab (a diverging network is a result),
    so NumPy's floating-point warnings and the divergence and health warnings of
    training are silenced while it runs.
    """
    experiment = get_experiment(name)
    seed = check_int(seed, "run_experiment: seed", low=0)
    result = Result(experiment.name, experiment.title, experiment.claim, quick=bool(quick),
                    seed=seed)
    folder = Path(out_dir) / experiment.name
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"), _one_blas_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            warnings.simplefilter("ignore", TrainingHealthWarning)
            experiment.run(Context(result, folder, bool(quick), seed))
    finally:
        result.seconds = time.perf_counter() - start
    return result


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """Limit BLAS to one thread: the lab's matrices are small, and on a small machine the
    threads' hand-offs cost more than they save (measured: several times slower with two)."""
    try:  # (an optional import: threadpoolctl comes with scikit-learn, not with trainlab)
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _guarded(name: str, out_dir: str | Path, quick: bool, seed: int) -> Result:
    """run_experiment, with an error recorded as the experiment's outcome."""
    try:
        return run_experiment(name, out_dir, quick, seed)
    except Exception:  # noqa: BLE001 - one broken experiment must not hide the others
        experiment = get_experiment(name)
        return Result(experiment.name, experiment.title, experiment.claim, quick=quick,
                      seed=seed, error=traceback.format_exc())


def _init_worker() -> None:
    """A worker process: one BLAS thread (each experiment also limits it while it runs)."""
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    threadpool_limits(limits=1)


def run_all(
    out_dir: str | Path = DEFAULT_OUT, quick: bool = False, seed: int = 0, verbose: bool = False,
    workers: int = 1, only: Sequence[str] | None = None,
) -> tuple[list[Result], Path]:
    """Run every experiment (an error fails that experiment only) and write
    ``out_dir/report.html``; return the results and the report's path.

    workers: experiments run at once, each in its own process (``spawn``ed, one BLAS
    thread). Each experiment draws only from its own seed and writes only its own folder,
    so its numbers and verdicts are those of a serial run; results are printed and
    reported in the registry's order either way. only: the names of the experiments to
    run (default: every one)."""
    workers = check_int(workers, "run_all: workers", low=1)
    names_ = [e.name for e in experiments() if only is None or e.name in only]
    if workers == 1:
        futures: list = []
        results_iter = (_guarded(name, out_dir, quick, seed) for name in names_)
    else:
        pool = cf.ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                      mp_context=multiprocessing.get_context("spawn"))
        futures = [pool.submit(_guarded, name, out_dir, quick, seed) for name in names_]
        results_iter = (f.result() for f in futures)
    results = []
    try:
        for result in results_iter:
            results.append(result)
            if verbose:
                print(format_result(result), flush=True)
    finally:
        if futures:
            pool.shutdown(cancel_futures=True)
    return results, write_report(results, Path(out_dir) / "report.html")


def default_workers() -> int:
    """One per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# -- text ---------------------------------------------------------------------------------


def format_result(result: Result) -> str:
    """The experiment's claim / expected / measured / holds table, with its time and verdict."""
    head = f"== {result.name}: {result.title} =="
    if result.error is not None:
        return f"{head}\nERROR\n{result.error}"
    rows = [[c.claim, c.expected, c.measured, "yes" if c.holds else "NO"] for c in result.claims]
    verdict = "every claim holds" if result.holds else "A CLAIM DOES NOT HOLD"
    lines = [head, text_table(["claim", "expected", "measured", "holds"], rows, width=70)]
    if result.main:
        lines.append(f"main result: {result.main}")
    folder = result.figures[0][0].parent if result.figures else "-"
    lines.append(f"{verdict} ({result.seconds:.1f} s{', quick' if result.quick else ''}); "
                 f"{len(result.figures)} figure(s) in {folder}")
    return "\n".join(lines)


def summary_table(results: Sequence[Result]) -> str:
    """One line per experiment: name, holds, seconds, main measured number."""
    rows = [[r.name, "yes" if r.holds else ("ERROR" if r.error else "NO"), f"{r.seconds:.1f}",
             r.main] for r in results]
    total = sum(r.seconds for r in results if r.seconds == r.seconds)
    table = text_table(["experiment", "holds", "seconds", "main measured number"], rows, width=90)
    return f"{table}\ntotal {total:.1f} s; {sum(r.holds for r in results)}/{len(results)} hold"


# -- HTML -----------------------------------------------------------------------------------


def _png_figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def result_section(result: Result) -> Section:
    """An HTML section for one experiment: claims, tables, figures."""
    body = [f"<p><b>Claim.</b> {escape(result.claim)}</p>"]
    if result.error is not None:
        body.append(f'<div class="warn"><pre>{escape(result.error)}</pre></div>')
    else:
        rows = [[escape(c.claim), escape(c.expected), escape(c.measured),
                 '<span class="ok">yes</span>' if c.holds else '<span class="bad">no</span>']
                for c in result.claims]
        body.append(table_html(["claim", "expected", "measured", "holds"], rows, raw=True))
        body.append(f"<p>Main measured number: <b>{escape(result.main)}</b>. "
                    f"Time: {result.seconds:.1f} s (seed {result.seed}"
                    f"{', reduced size' if result.quick else ''}).</p>")
        for title, header, table_rows in result.tables:
            body.append(f"<h3>{escape(title)}</h3>" + table_html(header, table_rows))
        body += [_png_figure(path, caption) for path, caption in result.figures if path.exists()]
    return Section(f"{result.name}: {result.title}", "\n".join(body), anchor=result.name)


def write_report(results: Sequence[Result], path: str | Path) -> Path:
    """Write one self-contained HTML page for ``results`` and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [[f'<a href="#{r.name}">{escape(r.name)}</a>',
             '<span class="ok">yes</span>' if r.holds else '<span class="bad">no</span>',
             f"{r.seconds:.1f}", escape(r.main)] for r in results]
    total = sum(r.seconds for r in results if r.seconds == r.seconds)
    summary = Section("Summary",
                      table_html(["experiment", "holds", "seconds", "main measured number"],
                                 rows, raw=True) + f"<p>Total time {total:.1f} s.</p>")
    page = render_page("trainlab lab: every claim of the notes, measured",
                       [summary, *map(result_section, results)],
                       subtitle=f"{sum(r.holds for r in results)} of {len(results)} "
                                "experiments hold.")
    path.write_text(page, encoding="utf-8")
    return path


# -- command line ------------------------------------------------------------------------------


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'.\n")


def build_parser(prog: str = "trainlab lab") -> argparse.ArgumentParser:
    parser = _OneLineParser(prog=prog, description="Run the experiments behind every claim "
                                     "of the notes and check each claim.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments and their claims")
    run = sub.add_parser("run", help="run one experiment, or 'all'")
    run.add_argument("name", help=f"one of: {', '.join(names())}, or 'all'")
    run.add_argument("--quick", action="store_true", help="a reduced size (seconds, not minutes)")
    run.add_argument("--seed", type=_seed, default=0,
                     help="base seed, 0 to 2**63-1 (default 0)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT,
                     help=f"output folder (default {DEFAULT_OUT})")
    run.add_argument("--workers", type=_workers, default=None,
                     help="'all': experiments at once, each in its own process (default: one "
                     "per core; 1 runs them one after another); verdicts are the same")
    return parser


def _seed(text: str) -> int:
    """``--seed``: an integer from 0 to 2**63-1 (the range of ``trainlab train --seed``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2**63-1; received "
                                         f"{text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2**63-1; received "
                                         f"{value}")
    return value


def _workers(text: str) -> int:
    """``--workers``: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; received {text!r}")
    return value


def _writable_out(out: Path) -> bool:
    """True when experiments can write under ``out``; else one line on stderr."""
    try:
        check_writable(out)
    except OSError as exc:
        print(f"trainlab lab run: error: argument --out: cannot write the experiments' "
              f"figures under {str(out)!r} ({' '.join(str(exc).split())}).", file=sys.stderr)
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """``trainlab lab ...``: 0 when every claim of what ran holds, 1 when one does not, 2 on bad
    usage."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.command == "list":
        print(text_table(["experiment", "claim"], list_experiments(), width=110))
        return 0
    if args.name == "all":
        if not _writable_out(args.out):
            return 2
        workers = default_workers() if args.workers is None else args.workers
        results, report = run_all(args.out, args.quick, args.seed, verbose=True,
                                  workers=workers)
        print()
        print(summary_table(results))
        print(f"report: {report}")
        return 0 if all(r.holds for r in results) else 1
    try:
        get_experiment(args.name)
    except ValueError as exc:
        print(f"trainlab {exc}", file=sys.stderr)
        return 2
    if not _writable_out(args.out):
        return 2
    try:
        result = run_experiment(args.name, args.out, args.quick, args.seed)
    except Exception:  # noqa: BLE001 - report the failure as the experiment's outcome
        print(traceback.format_exc())
        return 1
    print(format_result(result))
    return 0 if result.holds else 1
