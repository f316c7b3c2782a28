"""The lab's registry, result tables and command line (exit status)."""

from __future__ import annotations

import pytest

from trainlab import lab
from trainlab.cli import main
from trainlab.lab import runner
from trainlab.lab.experiment import Experiment

CURVATURE_EXPERIMENTS = ["edge-of-stability", "saddle-points", "linear-interpolation",
                         "lr-range-test", "critical-batch-size"]


def test_nineteen_experiments_each_with_a_claim():
    listed = lab.list_experiments()
    assert [name for name, _ in listed] == lab.names()
    assert len(listed) == 19 and len(set(lab.names())) == 19
    assert lab.names()[:3] == ["tasks", "sigmoid-gradient", "gradient-scale"]  # the notes' order
    assert lab.names()[13] == "checklist"  # the notes' fourteen, then the loss surface's five
    assert lab.names()[14:] == CURVATURE_EXPERIMENTS
    assert all(isinstance(claim, str) and len(claim) > 30 for _, claim in listed)
    assert lab.get_experiment("naive_init").name == "naive-init"


def test_unknown_experiment_is_named_in_the_error():
    with pytest.raises(ValueError, match="no experiment 'nope'.*naive-init"):
        lab.get_experiment("nope")
    assert lab.main(["run", "nope"]) == 2


def test_main_list_and_usage(capsys):
    assert lab.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "sigmoid-gradient" in out and "input-normalization" in out
    assert lab.main([]) == 2


def _fake(holds: bool):
    def run(ctx):
        ctx.check("a claim", "x > 1", "x = 2" if holds else "x = 0", holds)
        ctx.main("x")
    return Experiment("fake", "A fake experiment", "x is larger than 1.", run)


@pytest.mark.parametrize("holds, status", [(True, 0), (False, 1)])
def test_exit_status_follows_the_claims(monkeypatch, tmp_path, capsys, holds, status):
    monkeypatch.setattr(runner, "get_experiment", lambda name: _fake(holds))
    assert runner.main(["run", "fake", "--quick", "--out", str(tmp_path)]) == status
    out = capsys.readouterr().out
    assert "claim" in out and "expected" in out and "measured" in out and "holds" in out
    assert ("every claim holds" in out) == holds


def test_an_experiment_that_raises_fails_with_status_one(monkeypatch, tmp_path):
    def broken(ctx):
        raise RuntimeError("broken experiment")

    monkeypatch.setattr(runner, "get_experiment", lambda name: Experiment("x", "x", "x", broken))
    assert runner.main(["run", "x", "--out", str(tmp_path)]) == 1


def test_result_without_claims_does_not_hold():
    result = lab.Result("x", "x", "x")
    assert not result.holds
    assert "A CLAIM DOES NOT HOLD" in lab.format_result(result)


@pytest.mark.parametrize("seed", ["-1", "x", str(2**63)])
def test_lab_seed_out_of_range_is_one_line(capsys, tmp_path, seed):
    status = main(["lab", "run", "naive-init", "--quick", "--seed", seed, "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    assert err.count("\n") == 1 and "--seed" in err and "Traceback" not in out + err


@pytest.mark.slow
def test_experiments_in_parallel_give_the_serial_verdicts(tmp_path):
    """Two worker processes: the same claims, measurements and verdicts as one after another,
    in the registry's order."""
    from trainlab.lab.runner import run_all

    chosen = ["sigmoid-gradient", "naive-init"]
    serial, _ = run_all(tmp_path / "serial", quick=True, only=chosen, workers=1)
    parallel, report = run_all(tmp_path / "parallel", quick=True, only=chosen, workers=2)
    assert [r.name for r in parallel] == [r.name for r in serial] == chosen
    for a, b in zip(serial, parallel, strict=True):
        assert a.error is None and b.error is None, (a.error, b.error)
        assert [(c.claim, c.measured, c.holds) for c in a.claims] == \
            [(c.claim, c.measured, c.holds) for c in b.claims]
        assert a.main == b.main
    assert report.is_file() and all(p.exists() for r in parallel for p in r.figure_paths)
