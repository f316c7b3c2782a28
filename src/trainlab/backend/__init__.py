"""The compute backend: an object that layers and optimizers are given, never a flag.

========================  ==========================================================
``"numpy"``               :class:`NumpyBackend`: the NumPy code of every layer and
                          optimizer, the reference; nothing compiles
``"numba"``               :class:`NumbaBackend`: the same formulas as loops compiled by
                          Numba (``backend.loops``), bit for bit the same numbers,
                          and its matrix products on the fastest GEMM provider
========================  ==========================================================

The GEMM provider (``backend.gemm``: "numpy" — OpenBLAS in NumPy's wheels — or "mkl",
Intel MKL from ``pip install trainlab[mkl]``) is chosen by the environment variable
``TRAINLAB_GEMM`` (``numpy``, ``mkl`` or ``auto``), else by the rule "MKL on an Intel
CPU where it is installed". On the NumPy provider every backend gives the same numbers;
MKL's products differ from OpenBLAS's in the last bits (see ``backend.gemm``).
:func:`describe` says what the default is on this machine.

``get(spec)`` resolves what a module's or optimizer's ``backend`` is: None or ``"auto"``
(the fastest available: "numba" when Numba is installed, else "numpy"), a name in
:data:`BACKENDS`, or a :class:`Backend` object. Every kernel of a backend may decline
the arrays it is given, and then the NumPy code runs (see :class:`Backend`).
"""

from __future__ import annotations

from typing import Any

from trainlab.backend.base import (
    BACKENDS,
    AdamScalars,
    Backend,
    NumpyBackend,
    SGDScalars,
)
from trainlab.backend.compiled import NumbaBackend
from trainlab.backend.gemm import GEMM_ENV, GEMMS, GemmProvider

BackendLike = Backend | str | None
"""What ``backend=`` and ``use_backend`` accept (see :func:`get`)."""


def get(spec: Any = None) -> Backend:
    """The backend for ``spec``: None or "auto" (NumbaBackend when Numba is installed,
    else NumpyBackend), a name in :data:`BACKENDS`, or a :class:`Backend` (returned as is)."""
    if isinstance(spec, Backend):
        return spec
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "auto"):
        return NumbaBackend() if NumbaBackend.is_available() else NumpyBackend()
    if not isinstance(spec, str):
        raise TypeError(
            f"backend: expected None, 'auto', one of {BACKENDS.names()} or a "
            f"trainlab.backend.Backend. Received: {spec!r}."
        )
    return BACKENDS.get_named(spec, owner="backend")()


def describe() -> str:
    """The default compute backend and GEMM provider here, e.g. "numba (GEMM: mkl)"."""
    chosen = get(None)
    return f"{chosen.name} (GEMM: {chosen.gemm})"


__all__ = [
    "BACKENDS",
    "GEMMS",
    "GEMM_ENV",
    "GemmProvider",
    "describe",
    "AdamScalars",
    "Backend",
    "BackendLike",
    "NumbaBackend",
    "NumpyBackend",
    "SGDScalars",
    "get",
]
