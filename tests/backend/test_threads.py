"""The ``threads`` setting (``trainlab.backend.threads``): the default rule, the BLAS
limit it sets, and the recipe's setting."""

from __future__ import annotations

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


def test_recipe_setting():
    setting = SETTINGS["threads"]
    assert setting.section == "training" and setting.default is None and setting.flag == "--threads"
