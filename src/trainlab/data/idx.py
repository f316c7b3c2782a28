"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

Layout (big-endian): two zero bytes, a type code, the number of dimensions n, then
n four-byte sizes, then the values in C order. Type codes: 0x08 uint8, 0x09 int8,
0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. A file whose first two bytes are
the gzip signature is decompressed first, whatever its name.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

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


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_SIGNATURE):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"read_idx: {path} is not a complete gzip file ({exc}).") from exc


def parse_idx(buffer: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an (uncompressed) IDX file into an array in native byte order."""
    if len(buffer) < 4:
        raise ValueError(
            f"read_idx: {source} is too short to hold the 4-byte IDX header. "
            f"Received {len(buffer)} bytes."
        )
    if buffer[0] != 0 or buffer[1] != 0:
        raise ValueError(
            f"read_idx: {source} has a wrong magic number: an IDX file starts with two zero "
            f"bytes. Received 0x{buffer[:4].hex()}."
        )
    code, ndim = buffer[2], buffer[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise ValueError(
            f"read_idx: {source} has an unknown type code; expected one of {known}. "
            f"Received 0x{code:02X}."
        )
    if ndim == 0:
        raise ValueError(f"read_idx: {source} declares 0 dimensions; expected at least 1.")
    header = 4 + 4 * ndim
    if len(buffer) < header:
        raise ValueError(
            f"read_idx: {source} is truncated inside its header: {ndim} dimensions need "
            f"{header} header bytes. Received {len(buffer)} bytes."
        )
    shape = tuple(int(s) for s in np.frombuffer(buffer, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(buffer) - header
    if found < expected:
        raise ValueError(
            f"read_idx: {source} is truncated: shape {shape} of {dtype.newbyteorder('=')} needs "
            f"{expected} data bytes. Received {found}."
        )
    if found > expected:
        raise ValueError(
            f"read_idx: {source} has {found - expected} bytes after the data; shape {shape} "
            f"of {dtype.newbyteorder('=')} needs exactly {expected}. Is the header wrong?"
        )
    data = np.frombuffer(buffer, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a NumPy array of its stored shape and type."""
    path = Path(path)
    return parse_idx(_read_bytes(path), str(path))


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
