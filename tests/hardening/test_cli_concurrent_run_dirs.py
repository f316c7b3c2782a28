"""Runs started at the same moment never share a run directory."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from cli_support import FAST, cli_process

from trainlab import runs
from trainlab.train import load_checkpoint


@pytest.mark.slow
def test_two_runs_started_at_once_get_different_directories(tmp_path):
    out = tmp_path / "runs"
    procs = [cli_process("train", "--data", "iris", *FAST, "--out", out, "--name", "same",
                         "--seed", str(seed), cwd=tmp_path) for seed in (1, 2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    dirs = sorted(p.name for p in out.iterdir())
    assert dirs == ["same", "same-2"]
    seeds = set()
    for name in dirs:
        info = json.loads((out / name / "run.json").read_text())
        assert info["status"] == "completed" and info["epochs_completed"] == 2
        assert load_checkpoint(out / name / "model.safetensors").epoch == 2
        seeds.add((out / name / "config.toml").read_text().split("seed = ")[1].split("\n")[0])
    assert seeds == {"1", "2"}  # each directory holds its own run's files, not a mix


def _create_after(barrier, out, queue) -> None:
    barrier.wait()
    queue.put(runs.create_run_dir(out, "race").name)


def test_many_processes_racing_for_one_name(tmp_path):
    """Eight processes released together by a barrier: eight distinct directories."""
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(8), ctx.Queue()
    workers = [ctx.Process(target=_create_after, args=(barrier, tmp_path, queue))
               for _ in range(8)]
    for w in workers:
        w.start()
    names = [queue.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert sorted(names) == sorted(["race"] + [f"race-{i}" for i in range(2, 9)])
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == sorted(names)
