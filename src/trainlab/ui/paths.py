"""Resolving names from URLs to files under the runs directory, and nowhere else.

A name is a relative path of plain parts (``digits``, ``sweeps/lr/trials/t0001``). It
is refused when a part is empty, ``.``, ``..``, hidden (starts with a dot) or holds a
backslash or NUL, and when the resolved path (symbolic links followed) is not inside the
resolved runs directory: a link that leads out is refused like ``../``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_NAME = 512  # characters of a name from a URL


class UnsafePathError(ValueError):
    """A name that would leave the runs directory, or is not a plain relative path."""


def _parts(name: str) -> list[str]:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise UnsafePathError(f"expected a relative path of at most {MAX_NAME} characters. "
                              f"Received: {str(name)[:80]!r}.")
    if name.startswith("/"):
        raise UnsafePathError(f"expected a relative path. Received: {name[:80]!r}.")
    parts = name.rstrip("/").split("/")
    for part in parts:
        if part in ("", ".", "..") or part.startswith(".") or "\\" in part or "\x00" in part:
            raise UnsafePathError(f"expected a relative path of plain names (no '..', no "
                                  f"hidden or empty parts). Received: {name[:80]!r}.")
    return parts


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (links followed) is ``root`` or lies under it (``root`` resolved)."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a link loop
        return False
    return resolved == root or root in resolved.parents


def resolve_under(root: Path, name: str) -> Path:
    """The existing path ``root/name``, checked to stay under ``root`` (resolved).

    Raises UnsafePathError for a bad name or a path leading out, FileNotFoundError when
    nothing is there."""
    root = root.resolve()
    path = root.joinpath(*_parts(name))
    if not os.path.lexists(path):
        raise FileNotFoundError(name)
    if not inside(root, path):
        raise UnsafePathError(f"{name[:80]!r} leads outside the runs directory.")
    return path


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (ValueError otherwise)."""
    # O_NONBLOCK: a FIFO put in a run directory never blocks the server.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path.name}: not a regular file.")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path.name}: larger than {limit // 2**20} MiB; not read.")
    return data
