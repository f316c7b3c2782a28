"""The top-level parser and the dispatch to the commands."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import sys
from collections.abc import Sequence
from typing import NoReturn

from trainlab import __version__
from trainlab.cli import (
    compare_cmd,
    doctor,
    evaluate,
    predict,
    report_cmd,
    sweep_cmd,
    train,
    ui_cmd,
)
from trainlab.cli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    UsageError,
    one_line,
    report,
)
from trainlab.lab.runner import main as lab_main
from trainlab.recipe.settings import SettingError


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are :class:`UsageError` (one line, exit status 2)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.commands: dict[str, Parser] = {}  # the subcommands' parsers, by name

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}; see '{self.prog} --help'.")


def build_parser() -> Parser:
    parser = Parser(
        prog="trainlab",
        description="Train, evaluate and inspect MLPs, and run the lab's experiments.",
        epilog="Exit status: 0 success, 1 training failed, 2 bad usage or settings, "
        "130 interrupted. 'trainlab COMMAND --help' lists a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"trainlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    train.add_parser(sub)
    evaluate.add_parser(sub)
    predict.add_parser(sub)
    report_cmd.add_parser(sub)
    sweep_cmd.add_parser(sub)
    compare_cmd.add_parser(sub)
    doctor.add_parsers(sub)
    ui_cmd.add_parser(sub)
    sub.add_parser("lab", help="run the experiments behind the notes' claims "
                   "(trainlab lab list | run NAME | run all; see 'trainlab lab --help')",
                   add_help=False)
    parser.commands = sub.choices
    return parser


def one_blas_thread() -> contextlib.AbstractContextManager:
    """Run BLAS on one thread: trainlab's matrices are small, threads cost more than they
    save on a busy machine, and one thread keeps every sum in the same order on any
    machine (the same command gives the same numbers)."""
    try:  # (an optional import: threadpoolctl comes with scikit-learn, not with trainlab)
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _unknown_option(parser: Parser, command: str | None, extras: list[str]) -> UsageError:
    sub = parser if command is None else parser.commands.get(command, parser)
    options = [o for action in sub._actions for o in action.option_strings]  # noqa: SLF001
    first = extras[0]
    flag = first.split("=", 1)[0]
    if flag.startswith("-"):
        close = difflib.get_close_matches(flag, options, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return UsageError(f"{sub.prog}: unknown option {flag}{hint}; see '{sub.prog} --help' "
                          "for the accepted options.")
    return UsageError(f"{sub.prog}: unexpected argument {first!r}; see '{sub.prog} --help'.")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``trainlab ARGS``; return the exit status."""
    argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    try:
        if argv and argv[0] == "lab":
            return lab_main(argv[1:])
        parser = build_parser()
        args, extras = parser.parse_known_args(argv)
        if extras:
            raise _unknown_option(parser, args.command, extras)
        args.argv = argv
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        with one_blas_thread():
            return args.handler(args)
    except (UsageError, SettingError) as exc:
        report(f"trainlab: error: {exc}")
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        report("trainlab: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback
        report(f"trainlab: error: {type(exc).__name__}: {one_line(exc)}")
        return EXIT_FAILED
