"""The ``threads`` setting (``trainlab.backend.threads``): the default rule, the BLAS
limit it sets, and the recipe's setting."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.backend import threads
from trainlab.recipe import SETTINGS


def test_default_is_every_core_for_large_models_and_one_for_small(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 6)
    assert threads.resolve_threads(None, threads.LARGE_MODEL) == 6
    assert threads.resolve_threads(None, threads.LARGE_MODEL - 1) == 1
    assert threads.resolve_threads(3, 10) == 3
    assert threads.resolve_threads(1, 10**9) == 1


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_thread_count_is_a_clear_error(bad):
    with pytest.raises(ValueError, match=rf"threads: expected an integer >= 1 or None. "
                                         rf"Received: {bad!r}"):
        threads.resolve_threads(bad, 10)


def test_blas_threads_limits_and_restores_the_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def counts():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]

    before = counts()
    assert before, "NumPy's BLAS is visible to threadpoolctl"
    with threads.blas_threads(1):
        assert set(counts()) == {1}
    assert counts() == before


def test_under_the_mkl_provider_openblas_runs_on_one_thread():
    """With MKL running the large products on trainlab's workers, NumPy's OpenBLAS (the
    small products) keeps one thread, so that its idle workers do not spin on their
    cores; under the NumPy provider it has them all. The compute threads are the count
    blas_threads gave either way, with one compute thread nothing changes, and every
    limit comes back on exit."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def openblas():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["internal_api"] == "openblas"]

    before = openblas()
    if not before:
        pytest.skip("NumPy's BLAS is not OpenBLAS here")
    with threads.blas_threads(2):
        with threads.small_products_blas("mkl"):
            assert set(openblas()) == {1} and threads.compute_threads() == 2
        assert set(openblas()) == {2}
        with threads.small_products_blas("numpy"):
            assert set(openblas()) == {2} and threads.compute_threads() == 2
        with threads.blas_threads(1), threads.small_products_blas("mkl"):
            assert set(openblas()) == {1} and threads.compute_threads() == 1
        with threads.blas_threads(3), threads.small_products_blas(" MKL"):  # as GEMMS reads it
            assert set(openblas()) == {1} and threads.compute_threads() == 3
        assert set(openblas()) == {2}
    assert openblas() == before


@pytest.mark.parametrize("bad", ["openblas", "", None, 1])
def test_small_products_blas_refuses_an_unknown_provider(bad):
    with pytest.raises(ValueError, match=r"small_products_blas: expected gemm to be one of "
                                         rf"\[.*'mkl'.*\]. Received: {bad!r}"):
        with threads.small_products_blas(bad):
            pass


def test_fit_runs_under_the_models_provider(monkeypatch):
    """Trainer.fit trains inside small_products_blas(model.backend.gemm), so a model on the
    MKL provider trains with OpenBLAS on one thread, as a run does."""
    import contextlib
    import importlib

    from trainlab import nn, optim
    from trainlab.train import Trainer

    fit_module = importlib.import_module("trainlab.train.fit")  # the module, not fit()

    entered = []

    @contextlib.contextmanager
    def recording(gemm):
        entered.append(gemm)
        yield

    monkeypatch.setattr(fit_module, "small_products_blas", recording)
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    rng = np.random.default_rng(0)
    Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), rng=0,
            verbose=0).fit(rng.standard_normal((8, 3)), np.arange(8) % 2, epochs=1)
    assert entered == [model.backend.gemm]


def test_recipe_setting():
    setting = SETTINGS["threads"]
    assert setting.section == "training" and setting.default is None and setting.flag == "--threads"
