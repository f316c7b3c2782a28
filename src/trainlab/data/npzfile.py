"""Arrays from an ``.npz`` archive, read without trusting the archive.

``np.load`` allocates whatever shape a member's header declares and inflates whatever
its deflate stream holds. Here each member's ``.npy`` header is read first (with
``np.lib.format``); its declared size must match the size the zip directory records,
and a compressed member may not declare more than :func:`~trainlab.data._files.
inflation_limit` of its compressed size. The data is then decompressed a chunk at a
time into an array of exactly the declared size. Object arrays are refused from their
header, so nothing is ever unpickled.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Self

import numpy as np

from trainlab.data._files import (
    SizeLimitError,
    check_inflation,
    format_bytes,
    open_regular,
    read_exactly,
)

_NPY_MAGIC = b"\x93NUMPY"
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                NotImplementedError, RuntimeError)


class ObjectArrayError(ValueError):
    """A member holds Python objects, which only pickle could load."""


class SingleArrayError(ValueError):
    """The file is a single ``.npy`` array, not an ``.npz`` archive."""


class ArchiveError(ValueError):
    """A member whose header, sizes or format do not hold together."""


class NpzArchive:
    """An open ``.npz`` archive: ``files`` (array names) and ``read(name)``.

    Use as a context manager. Every failure is a ValueError that starts with ``owner``
    (such as ``"load_npz: data.npz"``) and names the array.
    """

    def __init__(self, path: str | os.PathLike, owner: str) -> None:
        self.path = Path(path)
        self.owner = owner
        self._handle, self.size = open_regular(self.path, owner.partition(":")[0])
        try:
            if self._handle.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                raise SingleArrayError(f"{owner}: received a single .npy array, not an .npz "
                                       f"archive.")
            self._handle.seek(0)
            self._zip = zipfile.ZipFile(self._handle)
        except SingleArrayError:
            self._handle.close()
            raise
        except _READ_ERRORS as exc:
            self._handle.close()
            raise ValueError(f"{owner} is not a readable .npz archive ({exc}).") from exc
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist():
            key = info.filename.removesuffix(".npy")
            self._members.setdefault(key, info)
        self.files = list(self._members)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()
        self._handle.close()

    def __contains__(self, key: str) -> bool:
        return key in self._members

    def read(self, key: str) -> np.ndarray:
        """The array ``key``, after its header and sizes were checked."""
        info = self._members[key]
        where = f"{self.owner}: array {key!r}"
        method = _METHODS.get(info.compress_type)
        if method is None:
            raise ValueError(f"{where} is compressed with zip method {info.compress_type}; "
                             f"expected stored or deflate (what np.savez and "
                             f"np.savez_compressed write).")
        if info.flag_bits & 0x1:
            raise ValueError(f"{where} is encrypted; expected a plain .npz archive.")
        if info.compress_size > self.size:
            raise ValueError(f"{self.owner} is not a readable .npz archive: array {key!r} "
                             f"claims {info.compress_size} compressed bytes in a file of "
                             f"{self.size}; the file is truncated or corrupted.")
        try:
            with self._zip.open(info) as stream:
                return self._read_member(stream, info, method, where)
        except (ObjectArrayError, SizeLimitError, ArchiveError):
            raise
        except _READ_ERRORS as exc:
            raise ValueError(f"{self.owner} is not a readable .npz archive (array {key!r}: "
                             f"{exc}).") from exc

    def _read_member(self, stream, info: zipfile.ZipInfo, method: str, where: str) -> np.ndarray:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ArchiveError(f"{where} is in .npy format version {version}; expected 1.0 or 2.0.")
        if dtype.hasobject:
            raise ObjectArrayError(
                f"{where} holds Python objects (dtype=object), which are not loaded because "
                f"loading them would run pickle (allow_pickle=False). Save plain numeric or "
                f"string arrays, e.g. np.savez(path, X=X.astype(np.float32), y=y)."
            )
        if any(n < 0 for n in shape):
            raise ArchiveError(f"{where} declares a negative dimension in shape {shape}.")
        header = stream.tell()
        nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        if header + nbytes != info.file_size:
            raise ArchiveError(
                f"{where} declares shape {shape} of {dtype} ({format_bytes(nbytes)} of data), "
                f"but the archive records {format_bytes(max(info.file_size - header, 0))} for "
                f"it; the archive is corrupted or was edited."
            )
        if method != "stored":
            check_inflation(info.file_size, info.compress_size, where, "its deflate stream")
        flat = np.empty(math.prod(shape), dtype=dtype)
        got = read_exactly(stream, flat.view(np.uint8).data)
        if got < nbytes or stream.read(1):
            raise ArchiveError(f"{where} holds {got} bytes of data; its header declares {nbytes}.")
        return flat.reshape(shape, order="F" if fortran_order else "C")
