"""Parameter groups, as in PyTorch: per-group options, ``param_groups``, every group in
``state_dict()``, ``lr`` as the first group's, and schedules that scale every group.
Trajectories are checked against torch in float64."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trainlab.nn import Parameter
from trainlab.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    ReduceLROnPlateau,
    RMSprop,
    StepLR,
)

# Our optimizer and PyTorch's, each with two groups: parameters 0 and 2 with their own
# options, parameter 1 with the constructor's.
CASES = {
    "sgd": (lambda g, **kw: SGD(g, lr=0.05, momentum=0.9, **kw),
            lambda torch, g: torch.optim.SGD(g, lr=0.05, momentum=0.9),
            {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1, "dampening": 0.2}),
    "sgd_nesterov": (lambda g, **kw: SGD(g, lr=0.05, momentum=0.9, nesterov=True, **kw),
                     lambda torch, g: torch.optim.SGD(g, lr=0.05, momentum=0.9, nesterov=True),
                     {"lr": 0.02, "weight_decay": 0.01}),
    "adagrad": (lambda g, **kw: Adagrad(g, lr=0.1, **kw),
                lambda torch, g: torch.optim.Adagrad(g, lr=0.1),
                # (not initial_accumulator_value: torch fills every group's sum with the
                # constructor's value; here a group's own value is used)
                {"lr": 0.3, "lr_decay": 0.01, "weight_decay": 0.1}),
    "rmsprop": (lambda g, **kw: RMSprop(g, lr=0.01, **kw),
                lambda torch, g: torch.optim.RMSprop(g, lr=0.01),
                {"lr": 0.003, "momentum": 0.9, "centered": True, "alpha": 0.9}),
    "adam": (lambda g, **kw: Adam(g, lr=0.05, **kw),
             lambda torch, g: torch.optim.Adam(g, lr=0.05),
             {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.99), "amsgrad": True}),
    "adamw": (lambda g, **kw: AdamW(g, lr=0.05, **kw),
              lambda torch, g: torch.optim.AdamW(g, lr=0.05),
              {"lr": 0.01, "weight_decay": 0.3, "eps": 1e-6}),
}


def groups(params, options):
    return [{"params": [params[0], params[2]], **options}, {"params": [params[1]]}]


@pytest.mark.parametrize("name", sorted(CASES))
def test_groups_match_torch(name, torch, check_against_torch):
    ours, theirs, options = CASES[name]
    check_against_torch(lambda ps: ours(groups(ps, options)),
                        lambda ts: theirs(torch, groups(ts, options)))


def test_param_groups_and_lr():
    p = [Parameter(np.zeros(2)), Parameter(np.zeros(3)), Parameter(np.zeros(1))]
    opt = Adam([{"params": [p[0]], "lr": 0.1}, {"params": [p[1], p[2]], "betas": (0.5, 0.9)}],
               lr=0.01, weight_decay=0.2)
    assert opt.lr == 0.1 and opt.params == p
    first, second = opt.param_groups
    assert first["params"] == [p[0]] and second["params"] == [p[1], p[2]]
    assert dict(first) == {"params": [p[0]], "lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8,
                           "weight_decay": 0.2, "amsgrad": False}
    assert second["lr"] == 0.01 and second["betas"] == (0.5, 0.9)
    second["lr"] = 0.5
    second["weight_decay"] = 0.0
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["weight_decay"] == 0.0
    assert opt.lr == 0.1
    opt.lr = 0.2  # the first group's
    assert opt.param_groups[0]["lr"] == 0.2 and opt.param_groups[1]["lr"] == 0.5
    with pytest.raises(ValueError, match=r"Adam: betas\[0\] must be in \[0, 1\). Received: 1.5"):
        second["betas"] = (1.5, 0.9)
    assert second["betas"] == (0.5, 0.9)
    with pytest.raises(KeyError, match="expected one of"):
        second["momentum"] = 0.9


def test_one_group_is_a_plain_list():
    p = [Parameter(np.ones(3))]
    a, b = SGD(p, lr=0.1, momentum=0.9), SGD([{"params": p, "lr": 0.1}], momentum=0.9)
    assert a.state_dict() == b.state_dict()
    assert set(a.state_dict()) == {"type", "hyperparameters", "step", "state"}


def make_grouped(params):
    return Adam(groups(params, {"lr": 0.01, "amsgrad": True}), lr=0.05, weight_decay=0.1)


def test_grouped_state_resumes_exactly(check_roundtrip):
    check_roundtrip(make_grouped)


def test_state_dict_holds_every_group():
    params = [Parameter(np.ones(s)) for s in [(2, 3), (3,), (4,)]]
    opt = make_grouped(params)
    for p in params:
        p.grad[...] = 0.5
    opt.step()
    saved = opt.state_dict()
    assert set(saved) == {"type", "param_groups", "step", "state"}
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2]]
    assert saved["param_groups"][0] == {"params": [0, 1], "lr": 0.01, "betas": [0.9, 0.999],
                                        "eps": 1e-8, "weight_decay": 0.1, "amsgrad": True}
    assert saved["param_groups"][1]["lr"] == 0.05 and not saved["param_groups"][1]["amsgrad"]
    assert list(saved["state"]["0"]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    assert list(saved["state"]["2"]) == ["exp_avg", "exp_avg_sq"]
    assert saved["state"]["1"]["exp_avg"].shape == (4,)  # params[2], the first group's second


def test_loading_checks_the_groups():
    p = [Parameter(np.zeros(2)), Parameter(np.zeros(3))]
    opt = SGD([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.5}], lr=0.1)
    state = opt.state_dict()
    with pytest.raises(ValueError, match=r"param_groups\[0\] must hold the parameters \[0\]. "
                                         r"Received: \[0, 1\]"):
        SGD([{"params": [p[1]]}, {"params": [p[0]]}], lr=0.1).load_state_dict(
            {**state, "param_groups": [{**state["param_groups"][0], "params": [0, 1]},
                                       state["param_groups"][1]]})
    with pytest.raises(ValueError, match=r"expected the keys \['hyperparameters', 'state', "):
        SGD(p, lr=0.1).load_state_dict(state)
    bad = json.loads(json.dumps({k: v for k, v in state.items() if k != "state"}))
    bad["param_groups"][1]["lr"] = -1.0
    with pytest.raises(ValueError, match="SGD: lr must be in"):
        opt.load_state_dict({**bad, "state": state["state"]})
    assert opt.param_groups[1]["lr"] == 0.5


def test_group_errors():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(2))
    with pytest.raises(ValueError, match=r"SGD: param_groups\[1\] must have the key 'params'"):
        SGD([{"params": [a]}, {"lr": 0.1}])
    with pytest.raises(ValueError, match=r"in param_groups\[0\] and again in param_groups\[1\]"):
        SGD([{"params": [a]}, {"params": [b, a]}])
    with pytest.raises(ValueError, match=r"Adam: param_groups\[1\] has options \['momentum'\] "
                                         r"that Adam does not take"):
        Adam([{"params": [a]}, {"params": [b], "momentum": 0.9}])
    with pytest.raises(TypeError, match="not a mix"):
        SGD([{"params": [a]}, b])
    with pytest.raises(ValueError, match=r"SGD: param_groups\[1\]: params is an empty list"):
        SGD([{"params": [a]}, {"params": []}])
    with pytest.raises(ValueError, match="SGD: Nesterov momentum requires"):
        SGD([{"params": [a]}, {"params": [b], "dampening": 0.5}], momentum=0.9, nesterov=True)


# -- schedules scale every group ------------------------------------------------------------

SCHEDULES = {
    "exponential": (lambda o: ExponentialLR(o, gamma=0.8),
                    lambda torch, o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)),
    "step": (lambda o: StepLR(o, step_size=3, gamma=0.5),
             lambda torch, o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    "cosine": (lambda o: CosineAnnealingLR(o, T_max=4, eta_min=0.001),
               lambda torch, o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4,
                                                                           eta_min=0.001)),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_scale_every_group_as_torch(name, torch):
    ours, theirs = SCHEDULES[name]
    p = [Parameter(np.zeros(2)), Parameter(np.zeros(3))]
    opt = SGD([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.3}], lr=0.1, momentum=0.9)
    schedule = ours(opt)
    t = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    topt = torch.optim.SGD([{"params": [t[0]]}, {"params": [t[1]], "lr": 0.3}], lr=0.1,
                           momentum=0.9)
    tschedule = theirs(torch, topt)
    assert schedule.get_last_lr() == [0.1, 0.3]
    for _ in range(11):
        schedule.step()
        topt.step()  # (no gradients: nothing moves; torch wants a step before its schedule's)
        tschedule.step()
        assert schedule.get_last_lr() == pytest.approx(tschedule.get_last_lr(), rel=1e-14)
        assert [g["lr"] for g in opt.param_groups] == schedule.get_last_lr()
    assert opt.lr == schedule.get_last_lr()[0]


def test_plateau_scales_every_group_as_torch(torch):
    p = [Parameter(np.zeros(2)), Parameter(np.zeros(3))]
    opt = Adam([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.02}], lr=0.1)
    schedule = ReduceLROnPlateau(opt, factor=0.5, patience=1, min_lr=0.004)
    t = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    topt = torch.optim.Adam([{"params": [t[0]]}, {"params": [t[1]], "lr": 0.02}], lr=0.1)
    tschedule = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, factor=0.5, patience=1,
                                                           min_lr=0.004)
    for metric in [1.0, 0.9, 0.95, 0.97, 0.99, 0.8, 0.85, 0.9, 0.91, 0.92, 0.93, 0.94]:
        schedule.step(metric)
        tschedule.step(metric)
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(
            [g["lr"] for g in topt.param_groups], rel=1e-14)
    assert schedule.get_last_lr()[1] == 0.004


def test_schedule_state_with_groups_round_trips():
    p = [Parameter(np.zeros(2)), Parameter(np.zeros(3))]

    def make():
        opt = SGD([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.3}], lr=0.1)
        return opt, CosineAnnealingLR(opt, T_max=5)

    opt, schedule = make()
    for _ in range(3):
        schedule.step()
    saved, saved_opt = schedule.state_dict(), opt.state_dict()
    assert saved["base_lr"] == [0.1, 0.3] and len(saved["last_lr"]) == 2
    json.dumps(saved)
    opt2, schedule2 = make()
    opt2.load_state_dict(saved_opt)
    schedule2.load_state_dict(saved)
    for _ in range(4):
        schedule.step()
        schedule2.step()
        assert schedule2.get_last_lr() == schedule.get_last_lr()
    with pytest.raises(ValueError, match="base_lr must be a list of 2 rates"):
        schedule2.load_state_dict({**saved, "base_lr": 0.1})
