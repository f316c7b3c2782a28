"""Kernels and products split over the compute threads (``trainlab.backend.parallel``):
the chunks, the pool, and that a split update or product gives the numbers of the
unsplit one."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from backends import needs_numba
from trainlab import nn, optim
from trainlab.backend import gemm, parallel, threads
from trainlab.backend.compiled import SPLIT_SIZE, NumbaBackend


@pytest.mark.parametrize("length,parts", [(1000, 3), (1024, 2), (64, 4), (130, 2), (10**6, 7),
                                          (5, 2), (128, 1)])
def test_chunks_cover_the_length_once_in_aligned_slices(length, parts):
    cut = parallel.chunks(length, parts)
    assert 1 <= len(cut) <= parts
    assert cut[0].start == 0 and cut[-1].stop == length
    for left, right in zip(cut[:-1], cut[1:], strict=True):
        assert left.stop == right.start
    assert all(s.start % parallel.ALIGN == 0 for s in cut)
    if length >= parts * parallel.ALIGN:
        sizes = [s.stop - s.start for s in cut]
        assert len(cut) == parts and max(sizes) - min(sizes) <= 2 * parallel.ALIGN


def test_run_parts_runs_every_part_on_several_threads():
    seen: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2, timeout=10)

    def call(i: int) -> None:
        barrier.wait()  # both parts must be running at once to pass
        with lock:
            seen.append((i, threading.current_thread().name))

    if threads.available_cores() < 2:
        pytest.skip("one core: the pool has one worker and the parts may not overlap")
    parallel.run_parts(call, [(0,), (1,)])
    assert sorted(i for i, _ in seen) == [0, 1]
    assert len({name for _, name in seen}) == 2


def test_run_parts_raises_a_part_s_error_after_all_parts_ran():
    done = []

    def call(i: int) -> None:
        if i == 1:
            raise ValueError("part 1 failed")
        done.append(i)

    with pytest.raises(ValueError, match="part 1 failed"):
        parallel.run_parts(call, [(0,), (1,), (2,)])
    assert sorted(done) == [0, 2]


def test_blas_threads_sets_and_restores_the_compute_threads():
    outside = threads.compute_threads()
    assert outside == threads.available_cores()
    with threads.blas_threads(3):
        assert threads.compute_threads() == 3
        with threads.blas_threads(1):
            assert threads.compute_threads() == 1
        assert threads.compute_threads() == 3
    assert threads.compute_threads() == outside


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None])
def test_blas_threads_refuses_a_bad_count(bad):
    with pytest.raises(ValueError, match=rf"blas_threads: expected an integer >= 1. "
                                         rf"Received: {bad!r}"):
        with threads.blas_threads(bad):
            pass
    assert threads.compute_threads() == threads.available_cores()


def _train(opt_name: str, backend: str, n_threads: int, rows: int) -> list[np.ndarray]:
    """Five updates of a layer whose weight has ``rows``·256 elements."""
    layer = nn.Linear(rows, 256, rng=0)
    params = layer.parameters()
    makers = {
        "adam": lambda: optim.Adam(params, lr=1e-2, backend=backend),
        "adamw-amsgrad": lambda: optim.AdamW(params, lr=1e-2, weight_decay=0.1, amsgrad=True,
                                             backend=backend),
        "sgd-nesterov": lambda: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True,
                                          weight_decay=1e-3, backend=backend),
    }
    opt = makers[opt_name]()
    rng = np.random.default_rng(1)
    with threads.blas_threads(n_threads):
        for _ in range(5):
            for p in params:
                p.grad[...] = rng.standard_normal(p.shape).astype(p.dtype)
            opt.step()
    return [p.data.copy() for p in params]


@needs_numba
@pytest.mark.parametrize("opt_name", ["adam", "adamw-amsgrad", "sgd-nesterov"])
def test_split_update_gives_the_reference_numbers_bit_for_bit(opt_name):
    rows = -(-SPLIT_SIZE // 256) + 3  # a weight just above the split size
    reference = _train(opt_name, "numpy", 1, rows)
    for n_threads in (1, 2, 3):
        split = _train(opt_name, NumbaBackend(gemm="numpy"), n_threads, rows)
        for want, got in zip(reference, split, strict=True):
            np.testing.assert_array_equal(got, want)


needs_mkl = pytest.mark.skipif(not gemm.MklGemm.is_available(), reason="MKL is not installed")


@needs_mkl
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("shape", [(128, 784, 1024), (1024, 128, 1024), (300, 500, 700)])
def test_split_mkl_product_is_the_unsplit_one(rng, shape, transposed):
    m, k, n = shape
    assert 2 * m * k * n >= gemm.SPLIT_FLOPS
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    if transposed:  # a transposed view, as the backward's xᵀ and Wᵀ
        a = np.ascontiguousarray(a.T).T
        b = np.ascontiguousarray(b.T).T
    provider = gemm.provider("mkl")
    outs = []
    for n_threads in (1, 2, 3, 2):
        out = np.ones((m, n), dtype=np.float32)
        with threads.blas_threads(n_threads):
            provider.gemm(a, b, out, accumulate=True)
        outs.append(out)
    exact = a.astype(np.float64) @ b.astype(np.float64) + 1
    np.testing.assert_allclose(outs[0], exact, rtol=0, atol=2e-6 * np.abs(exact).max())
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork on this platform")
def test_a_forked_child_makes_its_own_pool():
    import multiprocessing

    parallel.run_parts(lambda i: None, [(0,), (1,)])  # the parent's pool has started
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.apply_async(_split_in_child).get(timeout=60) == [0, 1]


def _split_in_child() -> list[int]:
    done: list[int] = []
    parallel.run_parts(done.append, [(0,), (1,)])
    return sorted(done)
