"""Learning-rate schedules against torch.optim.lr_scheduler: the same lr sequences, exactly."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trainlab.nn import Parameter
from trainlab.optim import (
    SGD,
    Adam,
    CosineAnnealingLR,
    ExponentialLR,
    ReduceLROnPlateau,
    StepLR,
)

EPOCHS = 35
SCHEDULES = [
    ("ExponentialLR", {"gamma": 0.9}),
    ("ExponentialLR", {"gamma": 1.05}),
    ("StepLR", {"step_size": 4}),
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("CosineAnnealingLR", {"T_max": 10}),  # 35 epochs: down, up again and down
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.01}),
    ("CosineAnnealingLR", {"T_max": 1}),
]
# Metric sequences with improvements, plateaus and (in mode max) rises.
LOSSES = [1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.79995, 0.7, 0.7, 0.7, 0.7, 0.7, 0.6, 0.61, 0.62,
          0.6, 0.6, 0.6, 0.6, 0.6, 0.55, 0.55, 0.55, 0.55, 0.55, 0.55, 0.55, 0.55, 0.5, 0.5,
          0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
ACCURACIES = [0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.69, 0.75, 0.75, 0.75, 0.75,
              0.75, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8,
              0.8, 0.8]
PLATEAUS = [
    ({}, LOSSES),
    ({"patience": 2}, LOSSES),
    ({"patience": 1, "factor": 0.5, "cooldown": 2}, LOSSES),
    ({"patience": 0, "factor": 0.5, "min_lr": 0.02}, LOSSES),
    ({"patience": 1, "threshold": 0.05, "threshold_mode": "abs"}, LOSSES),
    ({"patience": 1, "threshold": 0.0}, LOSSES),
    ({"mode": "max", "patience": 2, "factor": 0.3, "cooldown": 1}, ACCURACIES),
    ({"mode": "max", "patience": 1, "threshold": 0.05, "threshold_mode": "abs", "min_lr": 1e-3},
     ACCURACIES),
    ({"patience": 0, "factor": 0.9, "eps": 0.009}, LOSSES),  # eps skips small reductions
]


def ours_and_torch(torch, lr=0.1):
    opt = SGD([Parameter(np.zeros(3))], lr=lr)
    t_opt = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=lr)
    return opt, t_opt


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES, ids=str)
def test_matches_torch(torch, name, kwargs):
    from trainlab import optim

    opt, t_opt = ours_and_torch(torch)
    ours = getattr(optim, name)(opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(t_opt, **kwargs)
    assert ours.last_epoch == theirs.last_epoch == 0
    assert ours.get_last_lr() == theirs.get_last_lr() == [0.1]
    for _ in range(EPOCHS):
        t_opt.step()
        opt.step()
        theirs.step()
        ours.step()
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert opt.lr == t_opt.param_groups[0]["lr"]
        assert isinstance(ours.get_last_lr()[0], float)
    assert ours.last_epoch == theirs.last_epoch == EPOCHS


@pytest.mark.parametrize(("kwargs", "metrics"), PLATEAUS, ids=str)
def test_plateau_matches_torch(torch, kwargs, metrics):
    opt, t_opt = ours_and_torch(torch)
    ours = ReduceLROnPlateau(opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kwargs)
    lrs = []
    for metric in metrics:
        ours.step(metric)
        theirs.step(metric)
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == (
            theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter,
        )
        lrs.append(opt.lr)
    assert len(set(lrs)) > 1  # the sequence really reduced the rate


def test_plateau_accepts_numpy_scalars():
    opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    sched = ReduceLROnPlateau(opt, patience=0)
    sched.step(np.float32(1.0))
    sched.step(np.array(2.0))
    assert opt.lr == 0.1


def test_exponential_is_the_notes_decay():
    """lr_n = lr_{n−1}·α."""
    opt = SGD([Parameter(np.zeros(1))], lr=0.5)
    sched = ExponentialLR(opt, gamma=0.8)
    expected = 0.5
    for _ in range(10):
        sched.step()
        expected *= 0.8
        assert opt.lr == expected


def test_cosine_follows_the_closed_form():
    opt = SGD([Parameter(np.zeros(1))], lr=0.2)
    sched = CosineAnnealingLR(opt, T_max=12, eta_min=0.02)
    for t in range(1, 13):
        sched.step()
        closed = 0.02 + 0.5 * (0.2 - 0.02) * (1 + math.cos(math.pi * t / 12))
        assert opt.lr == pytest.approx(closed, rel=1e-12, abs=1e-15)


SPLIT = 15


def _schedule(name, opt):
    if name == "plateau":
        return ReduceLROnPlateau(opt, mode="max", patience=1, cooldown=1, min_lr=0.004)
    return {
        "exp": lambda: ExponentialLR(opt, gamma=0.9),
        "step": lambda: StepLR(opt, step_size=4, gamma=0.5),
        "cosine": lambda: CosineAnnealingLR(opt, T_max=8, eta_min=0.001),
    }[name]()


def _advance(name, sched, epochs):
    lrs = []
    for epoch in epochs:
        if name == "plateau":
            sched.step(ACCURACIES[epoch % len(ACCURACIES)])
        else:
            sched.step()
        lrs.append(sched.get_last_lr()[0])
    return lrs


@pytest.mark.parametrize("name", ["exp", "step", "cosine", "plateau"])
def test_state_dict_roundtrip(name):
    def fresh():
        opt = Adam([Parameter(np.zeros(2))], lr=0.1)
        return opt, _schedule(name, opt)

    opt, sched = fresh()
    straight = _advance(name, sched, range(32))

    opt, sched = fresh()
    _advance(name, sched, range(SPLIT))
    saved_opt = opt.state_dict()
    saved = json.loads(json.dumps(sched.state_dict()))  # flat and JSON-able
    assert all(not isinstance(v, (dict, list, np.ndarray)) for v in saved.values())

    opt, sched = fresh()
    opt.load_state_dict(saved_opt)
    sched.load_state_dict(saved)
    assert sched.state_dict() == saved
    assert straight[SPLIT:] == _advance(name, sched, range(SPLIT, 32))


def test_state_dict_contents():
    opt = SGD([Parameter(np.zeros(1))], lr=0.1)
    assert StepLR(opt, step_size=3).state_dict() == {
        "type": "StepLR", "step_size": 3, "gamma": 0.1,
        "base_lr": 0.1, "last_epoch": 0, "last_lr": 0.1,
    }
    state = ReduceLROnPlateau(opt).state_dict()
    assert state["best"] == math.inf and state["mode"] == "min" and state["patience"] == 10
