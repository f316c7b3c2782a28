"""One call split over the compute threads: the parts of a large product or update.

A kernel that releases the GIL (a Numba loop compiled with ``nogil``, a C function called
through ``ctypes``) can run on several threads at once on disjoint parts of its arrays.
:func:`run_parts` runs the first part on the calling thread and the others on a pool of
worker threads, made once per process with one worker fewer than the cores, and returns
when every part is done. :func:`chunks` cuts a length into such parts.

Why not Numba's parallel loops or MKL's OpenMP threads: their workers spin for a while
after each call (200 ms by default for Intel's OpenMP), taking the cores that the next
product's or kernel's threads need; on two cores that made the products slower with two
threads than with one. The pool's workers wait on a lock, and each part is a plain
sequential call whose result does not depend on which thread ran it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from trainlab.backend.threads import available_cores

ALIGN: int = 64
"""Parts start at multiples of this many elements (whole cache lines and SIMD vectors)."""


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(available_cores() - 1, 1),
                              thread_name_prefix="trainlab")


# A forked child has none of its parent's worker threads: it makes its own pool.
os.register_at_fork(after_in_child=_pool.cache_clear)


def chunks(length: int, parts: int, align: int = ALIGN) -> list[slice]:
    """``length`` cut into at most ``parts`` consecutive slices of near-equal size (the
    boundaries at the multiples of ``align`` nearest to i·length/parts), each starting at
    a multiple of ``align`` (fewer slices when ``length`` is too short for them)."""
    parts = max(min(parts, length // align), 1)
    bounds = [0] + [(length * i // parts + align // 2) // align * align
                    for i in range(1, parts)] + [length]
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True) if hi > lo]


def run_parts(call: Callable[..., Any], parts: Sequence[tuple[Any, ...]]) -> None:
    """``call(*args)`` for every ``args`` in ``parts``, at the same time: the first on
    this thread, the rest on the pool. Exceptions propagate after every part finished."""
    if len(parts) == 1:
        call(*parts[0])
        return
    futures = [_pool().submit(call, *args) for args in parts[1:]]
    try:
        call(*parts[0])
    finally:
        for future in futures:
            future.result()
