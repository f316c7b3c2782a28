"""Atomic file writes: a temporary file in the same directory, flushed and fsynced, then
``os.replace`` onto the target, then the directory fsynced. A crash at any moment leaves
either the old file or the new one, never a mix.

Modes follow the usual rules of a program that writes files: a new file gets the mode
the umask allows (``0o666 & ~umask``, as ``open(path, "w")`` would give it); a file that
is replaced keeps its permission bits (a ``0o600`` file stays ``0o600``; set-id bits
are never carried over). Links are never followed: the temporary file is created by
``tempfile.mkstemp`` (``O_EXCL``, and ``O_NOFOLLOW`` where the system has it), and when
the target is a symbolic link, ``os.replace`` replaces the link itself, never the file
it points to.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux's
    /proc/self/status); elsewhere set and restored at once."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """The mode ``path`` gets: its own when it is a regular file, else 0o666 less the umask
    (a symbolic link's target is never consulted)."""
    try:
        existing = os.lstat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISREG(existing.st_mode):
        return stat.S_IMODE(existing.st_mode) & 0o777
    return 0o666 & ~_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (its directory must exist)."""
    path = Path(path)
    directory = path.parent
    mode = _mode_for(path)
    # mkstemp opens with O_EXCL | O_NOFOLLOW and mode 0o600 (readable by the owner only
    # until the file is complete); the mode is set on the open file, never by path.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` with the UTF-8 ``text`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))
