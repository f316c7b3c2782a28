"""Clocks, the GEMM peak, thread control and resident-memory probes used by the harness."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

_LIMITS: Any = None  # keeps the threadpoolctl limit alive for the whole process


def blas_threads() -> int:
    """Threads NumPy's BLAS uses now (threadpoolctl), or the CPU count when it cannot tell."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1
    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts) if counts else (os.cpu_count() or 1)


def framework_threads(framework: str, threads: int) -> contextlib.AbstractContextManager[Any]:
    """The thread settings a framework's timed epochs run under: for trainlab, those a
    trainlab run on the default backend trains under (``Run.train``'s ``blas_threads`` and
    ``Trainer.fit``'s ``small_products_blas``: with the MKL provider, NumPy's OpenBLAS on
    one thread); the process's (see :func:`set_threads`) for the others, so that
    scikit-learn's products keep OpenBLAS's threads."""
    if framework != "trainlab":
        return contextlib.nullcontext()
    from trainlab.backend import get
    from trainlab.backend.threads import blas_threads as trainlab_threads
    from trainlab.backend.threads import small_products_blas

    stack = contextlib.ExitStack()
    stack.enter_context(trainlab_threads(threads))
    stack.enter_context(small_products_blas(get(None).gemm))
    return stack


def set_threads(n: int | None) -> int:
    """Pin every BLAS in this process, and trainlab's split kernels, to ``n`` threads
    (None: keep NumPy's count); return it."""
    global _LIMITS
    threads = blas_threads() if n is None else int(n)
    try:
        from trainlab.backend.threads import blas_threads as trainlab_threads

        if _LIMITS is not None:
            _LIMITS.__exit__(None, None, None)
        _LIMITS = trainlab_threads(threads)
        _LIMITS.__enter__()
    except ImportError:
        pass
    return threads


def time_reps(fn: Callable[[], Any], warmup: int, reps: int) -> list[float]:
    """Run ``fn`` ``warmup`` times untimed, then ``reps`` times; seconds of each timed run.

    The garbage collector is off while timing (and collected before), as ``timeit`` does.
    """
    for _ in range(warmup):
        fn()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    times = []
    try:
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    finally:
        if was_enabled:
            gc.enable()
    return times


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes, with the garbage collector paused (as ``timeit`` does)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()


def gemm_peak(dtype: str, n: int = 2048, reps: int = 10) -> dict[str, float]:
    """GFLOP/s of NumPy's ``n×n @ n×n`` product (2n³ flops): median and best of ``reps``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    c = np.empty((n, n), dtype=dtype)
    times = time_reps(lambda: np.matmul(a, b, out=c), warmup=2, reps=reps)
    flops = 2.0 * n**3
    return {
        "n": n,
        "gflops_median": flops / statistics.median(times) / 1e9,
        "gflops_best": flops / min(times) / 1e9,
    }


def gemm_floor(shapes: list[tuple[int, int, int]], dtype: str, reps: int = 3) -> float:
    """Seconds (median of ``reps``) of the matrix products ``shapes`` (M, K, N) alone, on
    preallocated operands, with the fastest of the GEMM providers available here: the
    time an epoch cannot go below while its products are computed by trainlab."""
    from trainlab.backend import gemm

    rng = np.random.default_rng(0)
    operands = {}
    for m, k, n in set(shapes):
        operands[(m, k, n)] = (
            rng.standard_normal((m, k)).astype(dtype),
            rng.standard_normal((k, n)).astype(dtype),
            np.empty((m, n), dtype=dtype),
        )

    def products(provider: gemm.GemmProvider) -> None:
        for shape in shapes:
            a, b, c = operands[shape]
            provider.matmul(a, b, out=c)

    available = [name for name in gemm.GEMMS.names()
                 if gemm.GEMMS.get_named(name, owner="gemm").is_available()]
    return min(statistics.median(time_reps(functools.partial(products, gemm.provider(name)),
                                           warmup=1, reps=reps))
               for name in available)


def torch_gemm(dtype: str, n: int = 2048, reps: int = 10) -> float | None:
    """GFLOP/s (median) of the same product in PyTorch, for reference; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.standard_normal((n, n)).astype(dtype))
    b = torch.from_numpy(rng.standard_normal((n, n)).astype(dtype))
    c = torch.empty((n, n), dtype=a.dtype)
    times = time_reps(lambda: torch.matmul(a, b, out=c), warmup=2, reps=reps)
    return 2.0 * n**3 / statistics.median(times) / 1e9


# -- resident memory (Linux /proc; falls back to getrusage) ---------------------------------


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float | None:
    """Current resident set size in MiB (None where /proc is missing)."""
    kb = _status_kb("VmRSS")
    return None if kb is None else kb / 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's resident high-water mark (``/proc/self/clear_refs`` = 5); True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Resident high-water mark in MiB: VmHWM (since the last reset) or ru_maxrss (since start)."""
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def machine_info() -> dict[str, Any]:
    """CPU, core count, library versions and the BLAS libraries loaded, for the JSON record."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: i.get(k) for k in ("internal_api", "prefix", "version", "num_threads", "architecture")}
            for i in threadpool_info()
        ]
    except ImportError:
        pass
    for name in ("scipy", "sklearn", "torch", "numba"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    from trainlab import backend

    chosen = backend.get(None)
    info["trainlab_backend"] = chosen.name
    info["trainlab_gemm"] = getattr(chosen, "gemm", "numpy")
    info["trainlab_compiled_updates"] = info["trainlab_backend"] == "numba"
    return info
