"""GEMM providers: who runs the matrix products of the compiled backend.

=========  ===================================================================
``numpy``  ``np.matmul``: the BLAS NumPy was built with (OpenBLAS in the wheels)
``mkl``    Intel MKL's ``cblas_sgemm`` / ``cblas_dgemm``, from Intel's ``mkl``
           wheel (``pip install trainlab[mkl]``), called through ctypes
=========  ===================================================================

A provider computes ``C ← A·B + β·C`` for 2-D float32/float64 arrays; β = 1 adds the
product to what C holds (a bias broadcast into C beforehand, or a gradient that
accumulates), in one pass over C. ``numpy`` cannot accumulate, so β = 1 costs it a
product into scratch space and an addition; its numbers are those of ``np.matmul``.

:func:`choose` picks the provider: the environment variable ``TRAINLAB_GEMM``
(``numpy``, ``mkl`` or ``auto``) when it is set, else the rule "MKL on an Intel CPU
where the ``mkl`` wheel loads, otherwise NumPy" — MKL's products were 10–35% faster
than OpenBLAS's on the MLP shapes of an AVX-512 Xeon; on AMD CPUs MKL does not take
its fastest code paths, and OpenBLAS is the better choice.

Threads: MKL runs on the calling thread only (its sequential threading layer). A product
of at least :data:`SPLIT_FLOPS` is cut into blocks of rows or columns of C, one per
compute thread (``backend.threads.compute_threads``), each a whole product run by MKL on
trainlab's own worker threads (``backend.parallel``): MKL's OpenMP workers spin after
each product and, on a two-core machine, made two threads slower than one.

Determinism: for a given machine, provider and thread count the products are the
same at every run. MKL is loaded with its conditional numerical reproducibility set to
``AUTO`` and ``STRICT`` (``mkl_cbwr_set``), so that its results do not depend on how
the arrays happen to be aligned in memory. MKL and OpenBLAS sum in different orders, so
their products differ in the last bits: a run records which provider it used.

With PyTorch in the same process: MKL's runtime loads its libraries into the process's
global symbol namespace, and a ``torch`` imported *after* it binds its own (statically
linked) MKL calls to them, with the sequential threading set here: torch's products then
run on one thread (about half their speed on two cores). Import torch first, or set
``TRAINLAB_GEMM=numpy``, in a process that uses both.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import os
import platform
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.backend.parallel import chunks, run_parts
from trainlab.backend.threads import compute_threads
from trainlab.registry import Registry

GEMM_ENV = "TRAINLAB_GEMM"
"""The environment variable that overrides the choice of provider."""

GEMMS: Registry[type[GemmProvider]] = Registry("gemm")
"""GEMM provider classes by name ("numpy", "mkl")."""

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class GemmProvider(ABC):
    """``C ← A·B + β·C`` (β 0 or 1) for 2-D float arrays of one dtype."""

    name: str = ""

    @classmethod
    @abstractmethod
    def is_available(cls) -> bool:
        """Whether this provider can run on this machine and install."""

    @abstractmethod
    def gemm(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool) -> None:
        """out ← a @ b (``accumulate`` False) or out ← out + a @ b (True); a: (M, K),
        b: (K, N), out: (M, N) C-contiguous, of one float dtype, out not overlapping a, b."""

    def takes(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether :meth:`gemm` runs this provider's own code on a @ b (else NumPy's)."""
        return True

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``a @ b`` into ``out`` (a new array when None), as ``np.matmul`` for 2-D arrays."""
        if out is None:
            out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
        self.gemm(a, b, out, accumulate=False)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@GEMMS.register("numpy")
class NumpyGemm(GemmProvider):
    """``np.matmul``; β = 1 through a scratch product and an addition."""

    name = "numpy"

    @classmethod
    def is_available(cls) -> bool:
        return True

    def gemm(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool) -> None:
        if accumulate:
            out += np.matmul(a, b)
        else:
            np.matmul(a, b, out=out)


# -- MKL through ctypes -------------------------------------------------------------------------

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_CBWR_AUTO, _CBWR_STRICT, _CBWR_SUCCESS = 2, 0x10000, 0
_THREADING_SEQUENTIAL = 1

SPLIT_FLOPS: int = 2 * 128 * 512 * 256
"""Products of at least this many flops are split over the compute threads (about 0.2 ms
on one core: a part handed to another thread costs some tens of microseconds)."""

MIN_FLOPS: int = 2 * 64 * 256 * 256
"""Products of fewer flops (2·M·K·N) go to ``np.matmul`` even under MKL: the ctypes call
and MKL's own start cost more than they save on such small products, which OpenBLAS
runs at least as fast (a batch of 32 through 64-128-128-10 was several times slower on
MKL). The choice depends on the shapes alone, so it is the same at every run."""


def mkl_library_path() -> Path | None:
    """Where Intel's ``mkl`` wheel put ``libmkl_rt`` (None when it is not installed)."""
    try:
        files = importlib.metadata.distribution("mkl").files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name.startswith("libmkl_rt.so") or f.name in ("mkl_rt.2.dll", "libmkl_rt.2.dylib"):
            path = Path(str(f.locate())).resolve()
            if path.exists():
                return path
    return None


@functools.cache
def _mkl() -> tuple[ctypes.CDLL, Any, Any] | None:
    """MKL's runtime library, loaded once (None when it is not installed or will not load)."""
    path = mkl_library_path()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(str(path))
        sgemm, dgemm = lib.cblas_sgemm, lib.cblas_dgemm
    except (OSError, AttributeError):
        return None
    # MKL on the calling thread only (no OpenMP workers): trainlab splits a large product
    # over its own threads (``MklGemm.gemm``). Set before any other MKL call.
    lib.MKL_Set_Threading_Layer.argtypes = [ctypes.c_int]
    lib.MKL_Set_Threading_Layer.restype = ctypes.c_int
    lib.MKL_Set_Threading_Layer(_THREADING_SEQUENTIAL)
    lib.MKL_CBWR_Set.argtypes = [ctypes.c_int]
    lib.MKL_CBWR_Set.restype = ctypes.c_int
    lib.MKL_CBWR_Set(_CBWR_AUTO | _CBWR_STRICT)
    ptr, i = ctypes.c_void_p, ctypes.c_int
    for f, scalar in ((sgemm, ctypes.c_float), (dgemm, ctypes.c_double)):
        f.argtypes = [i, i, i, i, i, i, scalar, ptr, i, ptr, i, scalar, ptr, i]
        f.restype = None
    return lib, sgemm, dgemm


def _address(x: np.ndarray) -> int:
    """The address of x's first element (``x.ctypes.data`` makes a reference cycle per
    call, garbage that waits for the collector)."""
    return int(x.__array_interface__["data"][0])


def _operand(x: np.ndarray) -> tuple[int, int] | None:
    """(CBLAS transpose flag, leading dimension) of a 2-D operand, or None when its
    layout is neither row-major (C-contiguous rows) nor column-major (a transpose)."""
    rows, cols = x.shape
    item = x.itemsize
    if x.strides[1] == item and x.strides[0] >= cols * item and x.strides[0] % item == 0:
        return _NO_TRANS, max(x.strides[0] // item, 1)
    if x.strides[0] == item and x.strides[1] >= rows * item and x.strides[1] % item == 0:
        return _TRANS, max(x.strides[1] // item, 1)
    return None


@GEMMS.register("mkl")
class MklGemm(GemmProvider):
    """Intel MKL's ``cblas_?gemm`` (row-major; transposed views such as ``x.T`` are
    passed as transposes, not copied). Falls back to ``np.matmul`` for what it does not
    take: other dtypes or layouts, mixed dtypes, and products below :data:`MIN_FLOPS`."""

    name = "mkl"

    @classmethod
    def is_available(cls) -> bool:
        return _mkl() is not None

    def takes(self, a: np.ndarray, b: np.ndarray) -> bool:
        """2-D operands of one float dtype, row- or column-major, K matching, and a
        product of at least :data:`MIN_FLOPS`."""
        return (
            a.ndim == 2
            and b.ndim == 2
            and a.shape[1] == b.shape[0]
            and 2 * a.shape[0] * a.shape[1] * b.shape[1] >= MIN_FLOPS
            and a.dtype == b.dtype
            and a.dtype in _FLOATS
            and _operand(a) is not None
            and _operand(b) is not None
            and _mkl() is not None
        )

    def gemm(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool) -> None:
        if not (
            self.takes(a, b)
            and out.dtype == a.dtype
            and out.flags.c_contiguous
            and out.shape == (a.shape[0], b.shape[1])
        ):
            NumpyGemm.gemm(self, a, b, out, accumulate)  # type: ignore[arg-type]
            return
        m, n = out.shape
        threads = 1 if 2 * m * a.shape[1] * n < SPLIT_FLOPS else compute_threads()
        if threads == 1:
            _mkl_gemm(a, b, out, accumulate)
            return
        # Blocks of the longer side of out, one per thread: each block is a whole product
        # of its rows of a (or columns of b), so it is the same whichever thread runs it.
        if n >= m:
            parts = [(a, b[:, cols], out[:, cols], accumulate) for cols in chunks(n, threads)]
        else:
            parts = [(a[rows], b, out[rows], accumulate) for rows in chunks(m, threads)]
        run_parts(_mkl_gemm, parts)


def _mkl_gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool) -> None:
    """One ``cblas_?gemm`` call: out ← a·b (+ out); out's rows may be a block of a wider
    array (unit column stride)."""
    m, k = a.shape
    n = b.shape[1]
    fa, fb = _operand(a), _operand(b)
    loaded = _mkl()
    assert fa is not None and fb is not None and loaded is not None
    f = loaded[1] if a.dtype == np.float32 else loaded[2]
    f(
        _ROW_MAJOR, fa[0], fb[0], m, n, k, 1.0, _address(a), fa[1],
        _address(b), fb[1], 1.0 if accumulate else 0.0, _address(out),
        max(out.strides[0] // out.itemsize, n, 1),
    )


def intel_cpu() -> bool:
    """Whether this machine's CPU is an Intel one (``GenuineIntel`` in /proc/cpuinfo, or
    the processor string elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return "GenuineIntel" in line
    except OSError:
        pass
    return "intel" in platform.processor().lower()


def best_available() -> str:
    """The rule: "mkl" on an Intel CPU where MKL loads, else "numpy"."""
    return "mkl" if intel_cpu() and MklGemm.is_available() else "numpy"


def resolve_name(spec: str | None = None) -> str:
    """The provider's name for ``spec`` ("auto", "numpy", "mkl"; None reads
    ``TRAINLAB_GEMM``, unset meaning "auto")."""
    raw = os.environ.get(GEMM_ENV, "auto") if spec is None else spec
    name = raw.strip().lower() if isinstance(raw, str) else raw
    if name == "auto":
        return best_available()
    if name not in GEMMS:
        source = GEMM_ENV if spec is None else "gemm"
        raise ValueError(
            f"{source}: expected 'auto' or one of {GEMMS.names()}. Received: {raw!r}."
        )
    if not GEMMS.get_named(name, owner="gemm").is_available():
        raise ValueError(
            f"gemm: {name!r} is not available here (install Intel's MKL with "
            "'pip install trainlab[mkl]'), or choose 'numpy'."
        )
    return name


@functools.cache
def provider(name: str) -> GemmProvider:
    """The provider object of a resolved name (one per name)."""
    return GEMMS.get_named(name, owner="gemm")()


def choose(spec: str | None = None) -> GemmProvider:
    """The provider for ``spec`` (see :func:`resolve_name`)."""
    return provider(resolve_name(spec))


def provider_for_resume(current: str, recorded: Any) -> tuple[str, str | None]:
    """The provider a resumed run continues on, given the one it runs on now (``current``)
    and the one its first part recorded (``run.json``'s ``compute.gemm``): the recorded
    one where it is available and ``TRAINLAB_GEMM`` does not ask for another, so that the
    resume is exact. Returns (name, note); the note, when not None, says why the
    continuation's products differ in the last bits from the first part's."""
    if not isinstance(recorded, str) or recorded not in GEMMS or recorded == current:
        return current, None
    if GEMM_ENV in os.environ:
        return current, (f"the run began on the {recorded!r} GEMM provider and continues on "
                         f"{current!r}, as {GEMM_ENV} asks; its products differ in the last bits")
    if GEMMS.get_named(recorded, owner="gemm").is_available():
        return recorded, None
    return current, (f"the run began on the {recorded!r} GEMM provider, which is not available "
                     f"here, and continues on {current!r}; its products differ in the last bits")

