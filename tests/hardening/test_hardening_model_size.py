"""A model too large to train is refused before anything is allocated, in one line that
names --hidden: more than MAX_PARAMETERS parameters, or more memory than the machine has."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from cli_support import assert_one_clear_line, run_cli


@pytest.mark.parametrize("how", ["flag", "toml"])
def test_a_model_larger_than_the_machine_is_refused_before_allocating(tmp_path, capsys,
                                                                     monkeypatch, how):
    from trainlab.runs import build

    monkeypatch.setattr(build, "machine_memory", lambda: 16 * 2**30)
    if how == "flag":
        argv = ["--hidden", "100000000"]
    else:
        (tmp_path / "big.toml").write_text("hidden = [100000000]\n")
        argv = ["--config", tmp_path / "big.toml"]
    tracemalloc.start()
    started = time.perf_counter()
    status, _, err = run_cli(capsys, "train", "--data", "iris", *argv, "--out", tmp_path)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    line = assert_one_clear_line(status, err, "hidden", "GiB")
    assert "16.0 GiB" in line
    assert peak < 50 * 2**20 and seconds < 30, (peak, seconds)
    assert not list(tmp_path.glob("iris*"))  # refused before the run directory exists


def test_more_parameters_than_the_stated_maximum_are_refused_on_any_machine(tmp_path, capsys):
    (tmp_path / "big.toml").write_text("hidden = [3000000000]\n")
    tracemalloc.start()
    status, _, err = run_cli(capsys, "train", "--data", "iris", "--config",
                             tmp_path / "big.toml", "--out", tmp_path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert_one_clear_line(status, err, "hidden", "2,147,483,648")
    assert peak < 50 * 2**20
