"""How many threads the matrix products run on (the BLAS: OpenBLAS, or MKL).

``threads`` (the recipe's ``training.threads``, ``--threads`` on the command line):

- an integer n: the BLAS runs on n threads;
- None (the default): every core this process may use for a model of at least
  :data:`LARGE_MODEL` parameters, whose products are large enough to gain from
  threads; one thread for smaller ones, where starting and synchronising threads
  costs more than the products take.

The same count is the process's *compute threads* (:func:`compute_threads`, every core
unless :func:`blas_threads` says otherwise, as ``torch.set_num_threads`` is one setting
per process): the MKL provider splits a large product into that many blocks
(``backend.gemm``), and the compiled optimizer updates split a large parameter into that
many chunks (``backend.parallel``). An update is element by element, so its numbers do
not depend on the split; a product's blocks each compute their own outputs in full.
Under the MKL provider, training keeps NumPy's OpenBLAS on one thread
(:func:`small_products_blas`): it runs only the products too small for MKL, and its idle
workers would spin on the cores that trainlab's workers need for the large ones.
Results are the same at every run for a given machine, GEMM provider and thread count;
with one thread, every sum is done in one fixed order on any machine with that provider.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

LARGE_MODEL: int = 1_000_000
"""The fewest parameters for which ``threads=None`` uses every core."""

_compute_threads: list[int] = []
"""The counts set by the :func:`blas_threads` contexts now open, innermost last."""


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


def compute_threads() -> int:
    """The threads a split kernel or product may use now: the innermost
    :func:`blas_threads` context's count, else every core this process may use."""
    return _compute_threads[-1] if _compute_threads else available_cores()


@contextlib.contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """A context in which the BLAS libraries loaded in this process (NumPy's OpenBLAS,
    MKL) and trainlab's split kernels (:func:`compute_threads`) run on ``threads``
    threads; the previous counts come back on exit."""
    from threadpoolctl import threadpool_limits

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"blas_threads: expected an integer >= 1. Received: {threads!r}.")
    with threadpool_limits(limits=threads, user_api="blas"):
        _compute_threads.append(threads)
        try:
            yield
        finally:
            _compute_threads.pop()


@contextlib.contextmanager
def small_products_blas(gemm: str) -> Iterator[None]:
    """The context ``Trainer.fit`` trains in, for a model on the GEMM provider ``gemm``
    (a backend's ``gemm``: "numpy" or "mkl"). Under "mkl" with more than one compute
    thread, trainlab's own workers run the large products (``backend.gemm``) and NumPy's
    OpenBLAS only those too small for MKL, which gain nothing from threads: OpenBLAS runs
    on one thread then, as its idle workers would otherwise spin for a while after each
    small product on the cores the next large one needs (on two cores that made an epoch
    of a 784-1024-1024-10 MLP take 70% longer). Nothing changes under another provider;
    the previous count comes back on exit."""
    from trainlab.backend.gemm import GEMMS  # (gemm imports this module)

    if gemm not in GEMMS:
        raise ValueError(f"small_products_blas: expected gemm to be one of {GEMMS.names()}. "
                         f"Received: {gemm!r}.")
    if gemm.strip().lower() != "mkl" or compute_threads() == 1:  # (names as the registry's)
        yield
        return
    from threadpoolctl import ThreadpoolController

    with ThreadpoolController().select(internal_api="openblas").limit(limits=1):
        yield
