"""How many threads the matrix products run on (the BLAS: OpenBLAS, or MKL).

``threads`` (the recipe's ``training.threads``, ``--threads`` on the command line):

- an integer n: the BLAS runs on n threads;
- None (the default): every core this process may use for a model of at least
  :data:`LARGE_MODEL` parameters, whose products are large enough to gain from
  threads; one thread for smaller ones, where starting and synchronising threads
  costs more than the products take.

The compiled element-wise kernels run on the calling thread whatever the setting.
Results are the same at every run for a given machine, GEMM provider and thread count;
with one thread, every sum is done in one fixed order on any machine with that provider.
"""

from __future__ import annotations

import contextlib
import os

LARGE_MODEL: int = 1_000_000
"""The fewest parameters for which ``threads=None`` uses every core."""


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # not on Linux
        return max(os.cpu_count() or 1, 1)


def resolve_threads(threads: int | None, parameters: int) -> int:
    """The thread count for the setting ``threads`` and a model of ``parameters``
    parameters (see the module's docstring)."""
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads: expected an integer >= 1 or None. Received: {threads!r}.")
        return threads
    return available_cores() if parameters >= LARGE_MODEL else 1


def blas_threads(threads: int) -> contextlib.AbstractContextManager:
    """A context in which the BLAS libraries loaded in this process (NumPy's OpenBLAS,
    MKL) run on ``threads`` threads; the previous counts come back on exit."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")
