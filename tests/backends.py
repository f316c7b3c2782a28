"""The compute backends the kernel tests run on, as a fixture: ``backend`` is each of
"numpy" (the reference, every kernel declines) and "numba" (compiled loops; skipped
where Numba is not installed), the latter taking arrays of every size (``min_size=0``)
so that small test arrays take the compiled path too, and running its matrix products
on NumPy (``gemm="numpy"``: the reference's numbers, bit for bit; the MKL provider is
tested in ``tests/backend/test_gemm.py``)."""

from __future__ import annotations

import pytest

from trainlab.backend import Backend, NumbaBackend, NumpyBackend

NAMES = ["numpy", "numba"]

needs_numba = pytest.mark.skipif(not NumbaBackend.is_available(), reason="Numba is not installed")


def make(name: str) -> Backend:
    """The backend ``name`` for the tests (skips "numba" without Numba)."""
    if name == "numpy":
        return NumpyBackend()
    if not NumbaBackend.is_available():
        pytest.skip("Numba is not installed")
    return NumbaBackend(min_size=0, gemm="numpy")


@pytest.fixture(name="backend", params=NAMES)
def backend_fixture(request) -> Backend:
    """Each backend in turn (import this into a test module to use ``backend``)."""
    return make(request.param)
