"""The compute backend: an object that layers and optimizers are given, never a flag.

========================  ==========================================================
``"numpy"``               :class:`NumpyBackend`: the NumPy code of every layer and
                          optimizer, the reference; nothing compiles
``"numba"``               :class:`NumbaBackend`: the same formulas as loops compiled by
                          Numba (``backend.loops``), bit for bit the same numbers
========================  ==========================================================

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


__all__ = [
    "BACKENDS",
    "AdamScalars",
    "Backend",
    "BackendLike",
    "NumbaBackend",
    "NumpyBackend",
    "SGDScalars",
    "get",
]
