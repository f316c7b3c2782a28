"""LinearLR, MultiStepLR, LambdaLR, OneCycleLR, CosineAnnealingWarmRestarts and SequentialLR
against torch.optim.lr_scheduler, step by step over hundreds of steps, with two parameter
groups; state_dict round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trainlab import optim
from trainlab.nn import Parameter

STEPS = 400
LRS = (0.1, 0.03)


def ours_optimizer(kind: str):
    groups = [{"params": [Parameter(np.zeros(2))], "lr": LRS[0]},
              {"params": [Parameter(np.zeros(3))], "lr": LRS[1]}]
    if kind == "sgd":
        return optim.SGD(groups, momentum=0.9)
    return optim.Adam(groups)


def torch_optimizer(torch, kind: str):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": LRS[0]},
              {"params": [torch.zeros(3, requires_grad=True)], "lr": LRS[1]}]
    if kind == "sgd":
        return torch.optim.SGD(groups, momentum=0.9)
    return torch.optim.Adam(groups)


def lam(epoch):
    return 0.97 ** epoch if epoch % 7 else 1.0 / (1 + epoch)


def make(module, opt, name):
    """Our schedule or torch's (``module`` is trainlab.optim or torch's lr_scheduler)."""
    M = module
    if name == "linear":
        return M.LinearLR(opt)
    if name == "linear_down":
        return M.LinearLR(opt, start_factor=0.5, end_factor=0.1, total_iters=150)
    if name == "multistep":
        return M.MultiStepLR(opt, milestones=[30, 80, 80, 200], gamma=0.5)
    if name == "lambda":
        return M.LambdaLR(opt, lam)
    if name == "lambda_groups":
        return M.LambdaLR(opt, [lam, lambda e: 1.0 / (1 + 0.01 * e)])
    if name == "onecycle":
        return M.OneCycleLR(opt, max_lr=[0.5, 0.2], total_steps=STEPS)
    if name == "onecycle_linear3":
        return M.OneCycleLR(opt, max_lr=0.4, total_steps=STEPS + 5, pct_start=0.25,
                            anneal_strategy="linear", three_phase=True, div_factor=10.0,
                            final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9)
    if name == "onecycle_nomomentum":
        return M.OneCycleLR(opt, max_lr=0.3, total_steps=STEPS, cycle_momentum=False)
    if name == "restarts":
        return M.CosineAnnealingWarmRestarts(opt, T_0=17)
    if name == "restarts_mult":
        return M.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2, eta_min=0.001)
    if name == "warmup_cosine":
        a = M.LinearLR(opt, start_factor=0.1, total_iters=20)
        b = M.CosineAnnealingLR(opt, T_max=150, eta_min=0.002)
        return M.SequentialLR(opt, [a, b], milestones=[20])
    if name == "three":
        a = M.LinearLR(opt, start_factor=0.25, total_iters=10)
        b = M.ExponentialLR(opt, gamma=0.99)
        c = M.MultiStepLR(opt, milestones=[50, 100])
        return M.SequentialLR(opt, [a, b, c], milestones=[15, 120])
    if name == "warmup_step":
        a = M.LinearLR(opt, start_factor=0.5, total_iters=4)
        b = M.StepLR(opt, step_size=30, gamma=0.3)
        return M.SequentialLR(opt, [a, b], milestones=[4])
    raise AssertionError(name)


NAMES = ["linear", "linear_down", "multistep", "lambda", "lambda_groups", "onecycle",
         "onecycle_linear3", "onecycle_nomomentum", "restarts", "restarts_mult",
         "warmup_cosine", "three", "warmup_step"]


def momentum(opt, kind):
    return [g["momentum"] if kind == "sgd" else g["betas"][0] for g in opt.param_groups]


def trajectory(opt, schedule, kind, steps):
    out = []
    for _ in range(steps):
        opt.step()
        schedule.step()
        out.append((list(schedule.get_last_lr()), [g["lr"] for g in opt.param_groups],
                    momentum(opt, kind)))
    return out


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name", NAMES)
def test_matches_torch_step_by_step(torch, name, kind):
    import warnings

    from torch.optim import lr_scheduler

    opt = ours_optimizer(kind)
    ours = make(optim, opt, name)
    t_opt = torch_optimizer(torch, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = make(lr_scheduler, t_opt, name)
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in t_opt.param_groups]
        assert momentum(opt, kind) == momentum(t_opt, kind)
        assert ours.get_last_lr() == theirs.get_last_lr()
        steps = STEPS if "onecycle" not in name else ours.total_steps
        mine = trajectory(opt, ours, kind, steps)
        reference = trajectory(t_opt, theirs, kind, steps)
    for t, (a, b) in enumerate(zip(mine, reference, strict=True)):
        assert a == b, f"step {t + 1}: {a} != {b}"


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name):
    kind = "adam" if name.endswith("3") else "sgd"
    opt = ours_optimizer(kind)
    schedule = make(optim, opt, name)
    straight = trajectory(opt, schedule, kind, 300)

    opt = ours_optimizer(kind)
    schedule = make(optim, opt, name)
    trajectory(opt, schedule, kind, 137)
    saved_opt, saved = opt.state_dict(), schedule.state_dict()
    json.loads(json.dumps(saved))
    fresh_opt = ours_optimizer(kind)
    fresh = make(optim, fresh_opt, name)
    fresh_opt.load_state_dict(saved_opt)
    fresh.load_state_dict(saved)
    assert fresh.state_dict() == saved
    assert trajectory(fresh_opt, fresh, kind, 163) == straight[137:]


def test_onecycle_refuses_steps_past_the_end():
    opt = ours_optimizer("sgd")
    schedule = optim.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    for _ in range(10):
        schedule.step()
    with pytest.raises(ValueError, match="total_steps is 10"):
        schedule.step()


@pytest.mark.parametrize(("make_bad", "match"), [
    (lambda o: optim.OneCycleLR(o, max_lr=0.1, total_steps=3), "phase without steps"),
    (lambda o: optim.OneCycleLR(o, max_lr=[0.1], total_steps=100), "list of 2"),
    (lambda o: optim.OneCycleLR(o, max_lr=0.1, total_steps=100, anneal_strategy="exp"),
     "anneal_strategy"),
    (lambda o: optim.LinearLR(o, start_factor=0.0), "start_factor"),
    (lambda o: optim.MultiStepLR(o, milestones=5), "milestones"),
    (lambda o: optim.SequentialLR(o, [optim.LinearLR(o)], milestones=[3]), "expected 0"),
    (lambda o: optim.SequentialLR(o, [optim.LinearLR(o), optim.OneCycleLR(
        o, max_lr=0.1, total_steps=100)], milestones=[3]), "per epoch or all per step"),
    (lambda o: optim.LambdaLR(o, 0.5), "lr_lambda"),
    (lambda o: optim.CosineAnnealingWarmRestarts(o, T_0=0), "T_0"),
])
def test_bad_arguments_are_named(make_bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_bad(ours_optimizer("sgd"))


def test_onecycle_needs_momentum_to_cycle():
    opt = optim.Adagrad([Parameter(np.zeros(2))])
    with pytest.raises(ValueError, match="cycle_momentum"):
        optim.OneCycleLR(opt, max_lr=0.1, total_steps=100)
    optim.OneCycleLR(opt, max_lr=0.1, total_steps=100, cycle_momentum=False)


def test_intervals():
    opt = ours_optimizer("sgd")
    assert optim.OneCycleLR(opt, max_lr=0.1, total_steps=100).interval == "step"
    assert optim.CosineAnnealingWarmRestarts(opt, T_0=3).interval == "step"
    assert optim.LinearLR(opt).interval == "epoch"
    assert optim.MultiStepLR(opt, [3]).interval == "epoch"


def test_load_state_dict_checks_before_changing():
    opt = ours_optimizer("sgd")
    schedule = optim.OneCycleLR(opt, max_lr=0.1, total_steps=100)
    lrs = [g["lr"] for g in opt.param_groups]
    bad = schedule.state_dict()
    bad["pct_start"] = 2.0
    with pytest.raises(ValueError, match="pct_start"):
        schedule.load_state_dict(bad)
    assert [g["lr"] for g in opt.param_groups] == lrs
    assert schedule.pct_start == 0.3
