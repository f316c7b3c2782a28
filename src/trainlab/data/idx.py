"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

Layout (big-endian): two zero bytes, a type code, the number of dimensions n, then
n four-byte sizes, then the values in C order. Type codes: 0x08 uint8, 0x09 int8,
0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. A file whose first two bytes are
the gzip signature is decompressed first, whatever its name.

Reading never trusts the header: the data size (the product of the dimensions, in
Python integers, so it cannot overflow) is compared with what the file can hold before
anything is allocated, and a gzip stream is decompressed a chunk at a time up to exactly
the declared size; a stream longer or shorter than declared is refused.
"""

from __future__ import annotations

import gzip
import math
import os
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from trainlab.data._files import check_inflation, open_regular, read_exactly

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
_GZIP_SIGNATURE = b"\x1f\x8b"
_TRAILING_PROBE = 1 << 20  # how far past the declared data a gzip stream is followed


def _read_header(read: Callable[[int], bytes],
                 source: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """Type, shape and header length of an IDX stream; ``read(n)`` returns up to n bytes."""
    head = read(4)
    if len(head) < 4:
        raise ValueError(
            f"read_idx: {source} is too short to hold the 4-byte IDX header. "
            f"Received {len(head)} bytes."
        )
    if head[0] != 0 or head[1] != 0:
        raise ValueError(
            f"read_idx: {source} has a wrong magic number: an IDX file starts with two zero "
            f"bytes. Received 0x{head.hex()}."
        )
    code, ndim = head[2], head[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise ValueError(
            f"read_idx: {source} has an unknown type code; expected one of {known}. "
            f"Received 0x{code:02X}."
        )
    if ndim == 0:
        raise ValueError(f"read_idx: {source} declares 0 dimensions; expected at least 1.")
    header = 4 + 4 * ndim
    sizes = read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(
            f"read_idx: {source} is truncated inside its header: {ndim} dimensions need "
            f"{header} header bytes. Received {4 + len(sizes)} bytes."
        )
    shape = tuple(int.from_bytes(sizes[4 * i:4 * i + 4], "big") for i in range(ndim))
    return IDX_TYPES[code], shape, header


def _native(dtype: np.dtype) -> np.dtype:
    return dtype.newbyteorder("=")


def _truncated(source: str, shape, dtype, expected: int, found: int) -> ValueError:
    return ValueError(
        f"read_idx: {source} is truncated: shape {shape} of {_native(dtype)} needs "
        f"{expected} data bytes. Received {found}."
    )


def _trailing(source: str, shape, dtype, expected: int, extra: str) -> ValueError:
    return ValueError(
        f"read_idx: {source} has {extra} bytes after the data; shape {shape} "
        f"of {_native(dtype)} needs exactly {expected}. Is the header wrong?"
    )


def _empty_native(dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    return np.empty(shape, dtype=_native(dtype))


def _bytes_of(array: np.ndarray) -> memoryview:
    """The writable bytes of a C-contiguous array."""
    return array.reshape(-1).view(np.uint8).data


def _to_native_order(array: np.ndarray, stored: np.dtype) -> np.ndarray:
    """``array`` holds the stored (big-endian) bytes; swap them in place when needed."""
    if stored.itemsize > 1 and sys.byteorder == "little":
        array.byteswap(inplace=True)
    return array


def parse_idx(buffer: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an (uncompressed) IDX file into an array in native byte order."""
    view = memoryview(buffer)
    position = 0

    def read(n: int) -> bytes:
        nonlocal position
        chunk = bytes(view[position:position + n])
        position += len(chunk)
        return chunk

    dtype, shape, header = _read_header(read, source)
    expected = math.prod(shape) * dtype.itemsize
    found = len(view) - header
    if found < expected:
        raise _truncated(source, shape, dtype, expected, found)
    if found > expected:
        raise _trailing(source, shape, dtype, expected, str(found - expected))
    array = _empty_native(dtype, shape)
    _bytes_of(array)[:] = view[header:]
    return _to_native_order(array, dtype)


def _read_plain(handle, size: int, source: str) -> np.ndarray:
    dtype, shape, header = _read_header(handle.read, source)
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    found = size - header
    if found < expected:
        raise _truncated(source, shape, dtype, expected, found)
    if found > expected:
        raise _trailing(source, shape, dtype, expected, str(found - expected))
    array = _empty_native(dtype, shape)
    got = read_exactly(handle, _bytes_of(array))
    if got < expected:  # the file shrank while it was read
        raise _truncated(source, shape, dtype, expected, got)
    return _to_native_order(array, dtype)


def _read_gzip(handle, size: int, source: str) -> np.ndarray:
    stream = gzip.GzipFile(fileobj=handle, mode="rb")
    dtype, shape, header = _read_header(stream.read, source)
    expected = math.prod(shape) * dtype.itemsize
    check_inflation(header + expected, size, f"read_idx: {source}",
                    f"the gzip stream (shape {shape} of {_native(dtype)})")
    array = _empty_native(dtype, shape)
    got = read_exactly(stream, _bytes_of(array))
    if got < expected:
        raise _truncated(source, shape, dtype, expected, got)
    extra = len(stream.read(_TRAILING_PROBE))
    if extra:
        more = "at least " if extra == _TRAILING_PROBE else ""
        raise _trailing(source, shape, dtype, expected, f"{more}{extra}")
    return _to_native_order(array, dtype)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a NumPy array of its stored shape and type.

    Memory is the array itself: the header's sizes are checked against the file (or,
    gzipped, against the most its compressed size can expand to) before allocating, and
    decompression stops at the declared size.
    """
    path = Path(path)
    source = str(path)
    handle, size = open_regular(path, "read_idx")
    with handle:
        signature = handle.read(2)
        handle.seek(0)
        if signature != _GZIP_SIGNATURE:
            return _read_plain(handle, size, source)
        try:
            return _read_gzip(handle, size, source)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"read_idx: {path} is not a complete gzip file ({exc}).") from exc


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file; a name ending in ``.gz`` is gzip-compressed."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODE_OF:
        allowed = ", ".join(str(d.newbyteorder("=")) for d in IDX_TYPES.values())
        raise TypeError(f"write_idx: dtype must be one of {allowed}. Received {array.dtype}.")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(
            f"write_idx: array must have 1 to 255 dimensions. Received shape {array.shape}."
        )
    code = _CODE_OF[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
