"""Warmup, one-cycle and warm restarts in runs: built from the recipe, stepped per epoch or
per optimizer step as each schedule requires, and resumed exactly."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from interrupt import StopAfter

from trainlab import optim
from trainlab.nn import Parameter
from trainlab.recipe import SettingError, from_flat
from trainlab.runs.run import Run, RunError
from trainlab.train import Callback

SMALL = {"data": "iris", "hidden": [8], "epochs": 4, "monitor": False, "batch_size": 16}




class _Rates(Callback):
    """The optimizer's lr (and SGD momentum) before every step."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float]] = []

    def on_batch_begin(self, trainer, batch):
        self.seen.append((trainer.optimizer.lr, trainer.optimizer.param_groups[0]["momentum"]))


def test_onecycle_is_stepped_after_every_optimizer_step():
    rates = _Rates()
    config = {**SMALL, "schedule": "onecycle", "optimizer": "sgd", "lr": 0.05, "momentum": 0.9}
    run = Run.in_memory(from_flat(config), callbacks=[rates])
    steps = run.trainer.batches_per_epoch or -(-len(run.data.X_train) // 16)
    assert isinstance(run.schedule, optim.OneCycleLR)
    assert run.schedule.total_steps == 4 * steps and run.schedule.max_lrs == [0.05]
    run.train()
    # the same sequence from the schedule alone, on a fresh optimizer
    opt = optim.SGD([Parameter(np.zeros(1))], lr=0.05, momentum=0.9)
    alone = optim.OneCycleLR(opt, max_lr=0.05, total_steps=4 * steps)
    expected = []
    for _ in range(4 * steps):
        expected.append((opt.lr, opt.param_groups[0]["momentum"]))
        alone.step()
    assert rates.seen == expected
    assert run.schedule.last_epoch == 4 * steps


def test_warmup_then_cosine_per_epoch(tmp_path):
    config = {**SMALL, "epochs": 6, "warmup_epochs": 2, "warmup_start_factor": 0.1,
              "lr": 0.01}
    Run.create(from_flat(config), out=tmp_path, name="w").train()
    with open(tmp_path / "w" / "metrics.csv", newline="") as f:
        rates = [float(row["lr"]) for row in csv.DictReader(f)]
    opt = optim.Adam([Parameter(np.zeros(1))], lr=0.01)
    schedule = optim.SequentialLR(opt, [optim.LinearLR(opt, start_factor=0.1, total_iters=2),
                                        optim.CosineAnnealingLR(opt, T_max=4)], milestones=[2])
    expected = []
    for _ in range(6):
        expected.append(opt.lr)
        schedule.step()
    assert rates == expected
    assert rates[0] == pytest.approx(0.001) and rates[2] == pytest.approx(0.01)


@pytest.mark.parametrize("extra", [
    {"schedule": "onecycle"},
    {"schedule": "cosine_restarts", "schedule_options": {"T_0": 7, "T_mult": 2}},
    {"warmup_epochs": 2, "schedule": "step", "step_size": 1},
    {"optimizer": "adamw", "decay_bias": False, "class_weight": "balanced"},
])
def test_resume_is_exact(tmp_path, extra):
    config = from_flat({**SMALL, **extra})
    Run.create(config, out=tmp_path, name="full").train()
    part = Run.create(config, out=tmp_path, name="part")
    part.trainer.callbacks.append(StopAfter(2))
    part.train()
    part._lock.close()
    resumed = Run.resume(tmp_path / "part")
    resumed.train()
    assert ((tmp_path / "part" / "metrics.csv").read_bytes()
            == (tmp_path / "full" / "metrics.csv").read_bytes())


def test_a_longer_resume_of_a_onecycle_run_is_refused(tmp_path):
    run = Run.create(from_flat({**SMALL, "schedule": "onecycle"}), out=tmp_path, name="o")
    run.trainer.callbacks.append(StopAfter(2))
    run.train()
    run._lock.close()
    with pytest.raises(RunError, match="one-cycle schedule spans the run's 4 epochs"):
        Run.resume(tmp_path / "o", epochs=8)


@pytest.mark.parametrize(("values", "match"), [
    ({"schedule": "onecycle", "warmup_epochs": 2}, "warmup_epochs.*does not apply"),
    ({"schedule": "plateau", "warmup_epochs": 2}, "warmup_epochs.*does not apply"),
    ({"warmup_start_factor": 0.1}, "warmup_start_factor.*does not apply"),
    ({"schedule": "multistep"}, "needs 'milestones'.*--milestones"),
    ({"milestones": [3]}, "milestones.*does not apply"),
    ({"max_lr": 0.1}, "max_lr.*does not apply"),
])
def test_bad_combinations_are_refused(values, match):
    with pytest.raises(SettingError, match=match):
        from_flat(values)


def test_multistep_from_the_recipe(tmp_path):
    config = {**SMALL, "epochs": 5, "schedule": "multistep", "milestones": [2, 4],
              "gamma": 0.5, "lr": 0.01}
    Run.create(from_flat(config), out=tmp_path, name="m").train()
    with open(tmp_path / "m" / "metrics.csv", newline="") as f:
        rates = [float(row["lr"]) for row in csv.DictReader(f)]
    assert rates == [0.01, 0.01, 0.005, 0.005, 0.0025]
