"""Opening untrusted files: regular files only, reads bounded by what the file can hold.

A FIFO, a character device (``/dev/zero``) or a directory named as a data file would
block or read without end; :func:`open_regular` refuses them before reading a byte.
:func:`read_exactly` fills a preallocated buffer from a stream (a plain file or a
decompressor) and says how many bytes it really got, so that a declared size is checked
against the data without ever reading more than was declared.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import Protocol

# The largest factor by which deflate (gzip, zip) can expand data: 1032:1 for a stream
# of one repeated byte. A stream that declares more is lying about its size.
DEFLATE_MAX_RATIO = 1032
# What a compressed data file may declare it inflates to. Real data sets compress far
# less than 1032:1 (MNIST's images about 5:1, sparse float arrays rarely beyond 100:1);
# a stream that inflates beyond MAX_INFLATION times its compressed size, and beyond
# INFLATION_FLOOR bytes, is refused before anything is allocated. HARD_CAP_BYTES bounds
# any one decompressed array whatever the ratio. An uncompressed file is bounded by its
# own size and needs none of these.
MAX_INFLATION = 200
INFLATION_FLOOR = 256 * 2**20
HARD_CAP_BYTES = 16 * 2**30

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike, owner: str) -> tuple[io.BufferedReader, int]:
    """Open ``path`` for binary reading if it is a regular file; return it and its size.

    The file is opened without blocking (a FIFO would otherwise wait for a writer) and
    checked with ``fstat`` on the open descriptor, so it cannot be swapped in between.
    A missing file raises FileNotFoundError naming it; anything else that is not a
    regular file raises ValueError saying what it is.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise ValueError(f"{owner}: {path} is a directory; expected a regular file.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(
                f"{owner}: {path} is {file_kind(info.st_mode)}; expected a regular file."
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return handle, info.st_size


class ReadInto(Protocol):
    """A binary stream that fills a buffer: a file, a gzip stream, a zip archive's member."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...


def read_exactly(stream: ReadInto, buffer: memoryview, chunk: int = 1 << 20) -> int:
    """Fill ``buffer`` from ``stream``; return the number of bytes read (less at the end
    of the stream). Never reads past the buffer."""
    filled, size = 0, len(buffer)
    while filled < size:
        n = stream.readinto(buffer[filled:min(size, filled + chunk)])
        if not n:
            break
        filled += n
    return filled


class SizeLimitError(ValueError):
    """A file declares more data than it can hold, or more than trainlab will inflate."""


def inflation_limit(compressed: int) -> int:
    """The most bytes a compressed stream of ``compressed`` bytes may declare."""
    return min(HARD_CAP_BYTES, max(INFLATION_FLOOR, MAX_INFLATION * compressed))


def check_inflation(declared: int, compressed: int, owner: str, what: str) -> None:
    """Refuse a compressed ``what`` that declares more data than :func:`inflation_limit`."""
    limit = inflation_limit(compressed)
    if declared > limit:
        if declared > DEFLATE_MAX_RATIO * compressed:
            why = (f"deflate expands at most {DEFLATE_MAX_RATIO}:1, so the declared size is "
                   f"false: the file is corrupted or hostile")
        elif limit == HARD_CAP_BYTES:
            why = f"more than the {format_bytes(HARD_CAP_BYTES)} trainlab reads from one stream"
        else:
            why = (f"more than {MAX_INFLATION} times its compressed size, which real data sets "
                   f"do not reach (a decompression bomb?); if the file is genuine, store it "
                   f"uncompressed")
        raise SizeLimitError(
            f"{owner}: {what} declares {format_bytes(declared)} of data from "
            f"{format_bytes(compressed)} compressed; {why}."
        )


def format_bytes(n: int) -> str:
    """``n`` bytes in words: ``"2.1 GB (2147483648 bytes)"``."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit} ({n} bytes)"
    return f"{n} bytes"
