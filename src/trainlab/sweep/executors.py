"""Where trials run: local worker processes, or tasks on an existing Ray cluster.

An executor has ``workers`` (how many trials run at once), ``submit(task) -> Future``
(a ``concurrent.futures.Future`` of a :class:`~trainlab.sweep.trial.TrialResult`) and
``close()``. Both run the same :func:`~trainlab.sweep.trial.run_trial`, so the same spec
and seeds give the same results on either.

- :class:`LocalExecutor`: one worker process per core by default (``spawn``ed, so no
  lock or thread of the sweep is copied into them); each runs BLAS on one thread (the
  trials are small: threads would fight over the cores) and dies with the sweep (Linux's
  ``PR_SET_PDEATHSIG``), so a killed sweep leaves no orphan training on.
- :class:`RayExecutor`: ``ray.init(address=HOST:PORT)`` on a running cluster; each trial
  is a task of one CPU. The cluster's workers need trainlab installed, and a SQLite
  storage on a path they can reach (or a PostgreSQL URL) when trials are pruned.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
from typing import Any

from trainlab.recipe import SettingError
from trainlab.sweep.trial import TrialResult, TrialTask, run_trial

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In a worker: be killed when the process that started it dies (Linux only)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _init_worker() -> None:
    """A local worker: one BLAS thread for the process's life, and no Ctrl-C of its own
    (the sweep decides what an interrupt means)."""
    from threadpoolctl import threadpool_limits

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpool_limits(limits=1)


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class LocalExecutor:
    """Trials in ``workers`` local processes."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else int(workers)
        # Environment read by BLAS when a worker imports NumPy (threadpoolctl caps it again
        # once loaded); a spawned worker starts from a copy of this process's environment.
        env = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker)
            # Start every worker now, while the environment says one thread.
            list(self._pool.map(_noop, range(self.workers)))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def submit(self, task: TrialTask) -> cf.Future:
        return self._pool.submit(run_trial, task)

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


def _noop(i: int) -> int:
    return i


def check_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` of a Ray cluster, reachable over TCP within 5 s; else SettingError."""
    host, sep, port = str(address).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingError(f"setting 'address' (--address) must be HOST:PORT of a running Ray "
                           f"cluster (e.g. 127.0.0.1:6379); received {address!r}.")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as exc:
        raise SettingError(f"setting 'address' (--address): no Ray cluster answers at "
                           f"{address} ({exc.strerror or exc}); start one with 'ray start "
                           "--head' or give its address.") from None
    return host, int(port)


class RayExecutor:
    """Trials as tasks of one CPU on the Ray cluster at ``address``."""

    name = "ray"

    def __init__(self, address: str, workers: int | None = None) -> None:
        try:
            import ray  # an optional dependency: pip install "trainlab[ray]"
        except ImportError:
            raise SettingError("--backend ray needs Ray: pip install 'trainlab[ray]'.") from None
        check_address(address)
        self._ray = ray
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False,
                     configure_logging=False)
        except Exception as exc:  # noqa: BLE001 - any failure to join means: not usable
            raise SettingError(f"setting 'address' (--address): cannot join the Ray cluster at "
                               f"{address} ({type(exc).__name__}: "
                               f"{' '.join(str(exc).split())[:300]}).") from None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, cpus if workers is None else int(workers))
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_trial)

    def submit(self, task: TrialTask) -> cf.Future:
        return self._remote.remote(task).future()

    def close(self, cancel: bool = False) -> None:
        del cancel
        self._ray.shutdown()


def _ray_trial(task: TrialTask) -> TrialResult:
    """A Ray task: the trial with one BLAS thread."""
    return run_trial(task)


def make_executor(backend: str, workers: int | None, address: str | None) -> Any:
    """The executor for ``--backend``."""
    if workers is not None and workers < 1:
        raise SettingError(f"setting 'workers' (--workers) must be an integer >= 1; received "
                           f"{workers!r}.")
    if backend == "ray":
        if not address:
            raise SettingError("--backend ray needs --address HOST:PORT of a running Ray "
                               "cluster.")
        return RayExecutor(address, workers)
    if address:
        raise SettingError("setting 'address' (--address) applies to --backend ray; received "
                           f"{address!r} with --backend {backend}.")
    return LocalExecutor(workers)
