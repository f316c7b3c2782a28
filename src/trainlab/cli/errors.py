"""How the command line reports problems: one line on stderr and an exit status.

Exit statuses of every ``trainlab`` command:

    0    success
    1    training failed (divergence, an error while training) or a claim of the lab failed
    2    bad usage: an unknown option or setting, a wrong type, a value out of range,
         a missing or unreadable file, a directory that is not a run
    130  interrupted (Ctrl-C / SIGINT, or SIGTERM); the last complete checkpoint is kept
"""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def one_line(text: object) -> str:
    """``text`` on a single line (newlines and runs of spaces collapsed)."""
    return " ".join(str(text).split())


def report(message: str, stream=None) -> None:
    """Print ``message`` as one line on stderr."""
    print(one_line(message), file=stream or sys.stderr, flush=True)
