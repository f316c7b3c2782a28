"""Measuring a hostile read in a fresh interpreter: its error, its peak memory and its time.

The child process caps its address space (RLIMIT_AS), so a reader that tries to allocate
what a hostile file claims fails there with a MemoryError instead of exhausting the
machine, and a reader that blocks (on a FIFO) is stopped by the timeout.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import trainlab

CHILD = r"""
import json, resource, sys, time
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np, pandas
import trainlab.data, trainlab.train
from trainlab.data import load_csv, load_npz, read_idx
from trainlab.train import load_checkpoint, load_model

def attempt(fn):
    try:
        return [None, repr(fn())[:300], []]
    except BaseException as exc:
        return [type(exc).__name__, str(exc)[:2000], [k.__name__ for k in type(exc).__mro__]]

def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

base = peak_mib()
start = time.perf_counter()
outcome = eval(sys.argv[1])
print(json.dumps({"outcome": outcome, "peak_mib": peak_mib() - base,
                  "seconds": time.perf_counter() - start}))
"""

ADDRESS_SPACE = 2 << 30  # the child's cap: far above what a bounded reader needs


def measure(call: str, *, timeout: float = 120.0, address_space: int = ADDRESS_SPACE) -> dict:
    """Evaluate ``call`` (an expression; ``attempt(lambda: ...)`` gives [error type,
    message, its classes] or [None, repr(result), []]) in a fresh interpreter after the
    imports; return
    ``{"outcome", "peak_mib" (peak RSS growth), "seconds"}``."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=str(Path(trainlab.__file__).resolve().parents[1]))
    env.pop("PYTHONWARNINGS", None)
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, call, str(address_space)],
                              capture_output=True, text=True, timeout=timeout, env=env,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{call} did not finish within {timeout} s")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def refused(result: dict, *words: str, kind: str | None = None) -> str:
    """The outcome is an error (of class ``kind`` or a subclass) whose message holds every
    one of ``words``."""
    error, message, classes = result["outcome"]
    assert error is not None, f"no error: {message}"
    if kind is not None:
        assert kind in classes, (error, message)
    for word in words:
        assert word in message, f"{word!r} not in {error}: {message}"
    return message


# -- making compressed bombs quickly ------------------------------------------------------

CHUNK = 64 << 20  # zeros compressed once and repeated


def zeros_gzip_member(size: int = CHUNK) -> bytes:
    """A gzip member holding ``size`` zero bytes (about size/1030 bytes)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return packer.compress(bytes(size)) + packer.flush()


def gzip_bomb(path: Path, head: bytes, zeros: int) -> Path:
    """A gzip file that inflates to ``head`` followed by ``zeros`` zero bytes (a multiple
    of 64 MiB), written as concatenated members so it is made in a second."""
    assert zeros % CHUNK == 0
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = zeros_gzip_member()
    with open(path, "wb") as f:
        f.write(packer.compress(head) + packer.flush())
        f.writelines(member for _ in range(zeros // CHUNK))
    return path


def deflate_zeros(prefix: bytes, zeros: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``prefix`` then ``zeros`` zero bytes, and its CRC-32.

    Made of byte-aligned pieces (Z_FULL_FLUSH), so one compressed 64 MiB piece of zeros
    is repeated instead of compressing gigabytes."""
    assert zeros % CHUNK == 0
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [first.compress(prefix) + first.flush(zlib.Z_FULL_FLUSH)]
    piece_packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = piece_packer.compress(bytes(CHUNK)) + piece_packer.flush(zlib.Z_FULL_FLUSH)
    parts += [piece] * (zeros // CHUNK)
    parts.append(zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH))
    crc, block = zlib.crc32(prefix), bytes(CHUNK)
    for _ in range(zeros // CHUNK):
        crc = zlib.crc32(block, crc)
    return b"".join(parts), crc


def write_zip(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip archive from ``(name, stored bytes, method, crc32, uncompressed size)``
    entries, written field by field (so sizes and data can disagree on purpose)."""
    body, directory = bytearray(), bytearray()
    for name, data, method, crc, size in members:
        raw = name.encode()
        offset = len(body)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(data),
                            size, len(raw), 0) + raw + data
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0,
                                 crc, len(data), size, len(raw), 0, 0, 0, 0, 0, offset) + raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                      len(directory), len(body), 0)
    path.write_bytes(bytes(body + directory + end))
    return path
