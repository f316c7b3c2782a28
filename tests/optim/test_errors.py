"""Every invalid argument raises a clear error naming the argument and the received value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab.nn import Module, Parameter
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
    clip_grad_norm,
    clip_grad_value,
)

OPTIMIZERS = [SGD, Adagrad, RMSprop, Adam, AdamW]


def params():
    return [Parameter(np.zeros((2, 3))), Parameter(np.zeros(3))]


# -- parameters ----------------------------------------------------------------------
@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_params_empty(cls):
    with pytest.raises(ValueError, match=f"{cls.__name__}: params is an empty list"):
        cls([])


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_params_not_parameters(cls):
    with pytest.raises(TypeError, match=r"params\[1\] must be a trainlab.nn.Parameter. "
                                        r"Received: ndarray"):
        cls([Parameter(np.zeros(2)), np.zeros(2)])


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_params_duplicates(cls):
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match=r"params\[2\] is the same Parameter as params\[0\]"):
        cls([p, Parameter(np.zeros(2)), p])


@pytest.mark.parametrize("bad", [Module(), Parameter(np.zeros(2)), np.zeros(2), 3, None])
def test_params_not_a_list(bad):
    with pytest.raises(TypeError, match="SGD: params must be a list of Parameters"):
        SGD(bad)


def test_params_generator_is_accepted():
    ps = params()
    assert SGD(p for p in ps).params == ps


# -- hyperparameters -----------------------------------------------------------------
@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_negative_lr(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: lr must be in \[0, inf\]. "
                                         r"Received: -0.1"):
        cls(params(), lr=-0.1)
    opt = cls(params())
    with pytest.raises(ValueError, match="Received: -1.0"):
        opt.lr = -1.0
    with pytest.raises(TypeError, match="lr must be a real number"):
        opt.lr = "0.1"
    with pytest.raises(ValueError, match="lr must be finite"):
        opt.lr = math.inf


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_negative_weight_decay(cls):
    with pytest.raises(ValueError, match=f"{cls.__name__}: weight_decay .*Received: -0.01"):
        cls(params(), weight_decay=-0.01)


@pytest.mark.parametrize("cls", [Adagrad, RMSprop, Adam, AdamW])
def test_negative_eps(cls):
    with pytest.raises(ValueError, match=f"{cls.__name__}: eps .*Received: -1e-08"):
        cls(params(), eps=-1e-8)


@pytest.mark.parametrize("cls", [SGD, RMSprop])
@pytest.mark.parametrize("momentum", [-0.1, 1.0, 1.5])
def test_momentum_range(cls, momentum):
    with pytest.raises(ValueError, match=rf"momentum must be in \[0, 1\). Received: {momentum}"):
        cls(params(), momentum=momentum)


@pytest.mark.parametrize("dampening", [-0.5, 1.5])
def test_dampening_range(dampening):
    with pytest.raises(ValueError, match=rf"SGD: dampening must be in \[0, 1\]. "
                                         rf"Received: {dampening}"):
        SGD(params(), momentum=0.9, dampening=dampening)


def test_nesterov_needs_momentum_and_no_dampening():
    with pytest.raises(ValueError, match="Nesterov momentum requires momentum > 0"):
        SGD(params(), nesterov=True)
    with pytest.raises(ValueError, match="dampening = 0. Received: momentum=0.9, dampening=0.1"):
        SGD(params(), momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(TypeError, match="SGD: nesterov must be True or False. Received: 1"):
        SGD(params(), momentum=0.9, nesterov=1)


@pytest.mark.parametrize("cls", [Adam, AdamW])
@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.999), (0.9, -0.5)])
def test_betas_range(cls, betas):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: betas\[[01]\] must be in \[0, 1\)"):
        cls(params(), betas=betas)


@pytest.mark.parametrize("betas", [0.9, (0.9,), (0.9, 0.99, 0.999)])
def test_betas_shape(betas):
    with pytest.raises(TypeError, match="Adam: betas must be a pair"):
        Adam(params(), betas=betas)


def test_amsgrad_and_centered_are_flags():
    with pytest.raises(TypeError, match="Adam: amsgrad must be True or False"):
        Adam(params(), amsgrad="yes")
    with pytest.raises(TypeError, match="RMSprop: centered must be True or False"):
        RMSprop(params(), centered=None)


@pytest.mark.parametrize("alpha", [-0.01, 1.01])
def test_alpha_range(alpha):
    with pytest.raises(ValueError,
                       match=rf"RMSprop: alpha must be in \[0, 1\]. Received: {alpha}"):
        RMSprop(params(), alpha=alpha)


def test_adagrad_options():
    with pytest.raises(ValueError, match="Adagrad: lr_decay .*Received: -0.1"):
        Adagrad(params(), lr_decay=-0.1)
    with pytest.raises(ValueError, match="Adagrad: initial_accumulator_value .*Received: -1.0"):
        Adagrad(params(), initial_accumulator_value=-1.0)


# -- optimizer state_dict --------------------------------------------------------------
def stepped(cls=Adam, **kwargs):
    opt = cls(params(), **kwargs)
    for p in opt.params:
        p.grad[...] = 1.0
    opt.step()
    return opt


def test_load_wrong_type():
    with pytest.raises(ValueError, match="the state was saved by 'Adam', expected 'AdamW'"):
        AdamW(params()).load_state_dict(stepped(Adam).state_dict())
    with pytest.raises(TypeError, match="expected a dict. Received: list"):
        Adam(params()).load_state_dict([])


def test_load_missing_keys():
    state = stepped().state_dict()
    del state["step"]
    with pytest.raises(ValueError, match=r"expected the keys \['hyperparameters', 'state', "
                                         r"'step', 'type'\]"):
        Adam(params()).load_state_dict(state)


def test_load_wrong_parameter_count():
    with pytest.raises(ValueError, match="expected state for 3 parameters .*Received 2 entries"):
        Adam(params() + [Parameter(np.zeros(1))]).load_state_dict(stepped().state_dict())


def test_load_wrong_shape():
    opt = Adam([Parameter(np.zeros((3, 2))), Parameter(np.zeros(3))])
    with pytest.raises(ValueError, match=r"state\['0'\]\['exp_avg'\] must have the parameter's "
                                         r"shape \(3, 2\). Received shape \(2, 3\)"):
        opt.load_state_dict(stepped().state_dict())


def test_load_wrong_buffers_and_step():
    state = stepped().state_dict()
    del state["state"]["1"]["exp_avg_sq"]
    with pytest.raises(ValueError, match=r"state\['1'\] must hold \['exp_avg', 'exp_avg_sq'\] "
                                         r"after 1 steps"):
        Adam(params()).load_state_dict(state)
    state = stepped().state_dict()
    state["step"] = -1
    with pytest.raises(ValueError, match="'step' must be an integer >= 0. Received: -1"):
        Adam(params()).load_state_dict(state)


def test_load_invalid_hyperparameters_changes_nothing():
    source = stepped(SGD, lr=0.1, momentum=0.5)
    state = source.state_dict()
    state["hyperparameters"]["momentum"] = 2.0
    target = stepped(SGD, lr=0.2, momentum=0.9)
    before = target.state_dict()
    with pytest.raises(ValueError, match=r"SGD: momentum must be in \[0, 1\). Received: 2.0"):
        target.load_state_dict(state)
    state = source.state_dict()
    state["hyperparameters"]["nesterov_momentum"] = True
    with pytest.raises(ValueError, match="expected the hyperparameters"):
        target.load_state_dict(state)
    after = target.state_dict()
    assert after["hyperparameters"] == before["hyperparameters"] and after["step"] == 1
    np.testing.assert_array_equal(after["state"]["0"]["momentum_buffer"],
                                  before["state"]["0"]["momentum_buffer"])


def test_load_copies_into_existing_buffers():
    opt = stepped(Adam)
    buffers = [dict(s) for s in opt.state]
    opt.load_state_dict(stepped(Adam).state_dict())
    assert all(opt.state[i][k] is buffers[i][k] for i in range(2) for k in buffers[i])


# -- schedules -----------------------------------------------------------------------
@pytest.mark.parametrize("bad", [None, [Parameter(np.zeros(1))], "SGD"])
def test_schedule_needs_an_optimizer(bad):
    for make in (lambda: ExponentialLR(bad, gamma=0.9), lambda: StepLR(bad, 2),
                 lambda: CosineAnnealingLR(bad, 10), lambda: ReduceLROnPlateau(bad)):
        with pytest.raises(TypeError, match="expected an optimizer with an ..lr.. attribute"):
            make()


def test_schedule_arguments():
    opt = SGD(params(), lr=0.1)
    with pytest.raises(ValueError, match=r"ExponentialLR: gamma must be in \(0, inf\]. "
                                         r"Received: 0.0"):
        ExponentialLR(opt, gamma=0.0)
    with pytest.raises(ValueError, match="StepLR: gamma .*Received: -0.5"):
        StepLR(opt, step_size=2, gamma=-0.5)
    with pytest.raises(ValueError, match="StepLR: step_size must be an integer >= 1. Received: 0"):
        StepLR(opt, step_size=0)
    with pytest.raises(TypeError, match="StepLR: step_size must be an integer. Received: 2.5"):
        StepLR(opt, step_size=2.5)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be an integer >= 1"):
        CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: eta_min .*Received: -0.1"):
        CosineAnnealingLR(opt, T_max=5, eta_min=-0.1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"factor": 1.0}, r"factor must be in \(0, 1\). Received: 1.0"),
    ({"factor": 2}, r"factor must be in \(0, 1\). Received: 2"),
    ({"factor": 0.0}, r"factor must be in \(0, 1\). Received: 0.0"),
    ({"mode": "minimum"}, "mode must be 'min' or 'max'. Received: 'minimum'"),
    ({"threshold_mode": "relative"}, "threshold_mode must be 'rel' or 'abs'"),
    ({"patience": -1}, "patience must be an integer >= 0. Received: -1"),
    ({"cooldown": -2}, "cooldown must be an integer >= 0. Received: -2"),
    ({"min_lr": -1e-3}, "min_lr .*Received: -0.001"),
    ({"threshold": -1e-3}, "threshold .*Received: -0.001"),
    ({"eps": -1.0}, "eps .*Received: -1.0"),
])
def test_plateau_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=f"ReduceLROnPlateau: {message}"):
        ReduceLROnPlateau(SGD(params()), **kwargs)


@pytest.mark.parametrize("metric", ["0.5", None, np.zeros(3), True])
def test_plateau_metric(metric):
    with pytest.raises(TypeError, match="ReduceLROnPlateau.step: metric must be a real number"):
        ReduceLROnPlateau(SGD(params())).step(metric)


def test_schedule_load_errors():
    opt = SGD(params(), lr=0.1)
    with pytest.raises(ValueError,
                       match="the state was saved by 'StepLR', expected 'ExponentialLR'"):
        ExponentialLR(opt, 0.9).load_state_dict({**StepLR(opt, 2).state_dict()})
    state = StepLR(opt, 2).state_dict()
    del state["last_epoch"]
    with pytest.raises(ValueError, match="StepLR.load_state_dict: expected the keys"):
        StepLR(opt, 2).load_state_dict(state)
    state = StepLR(opt, 2).state_dict()
    state["step_size"] = 0
    with pytest.raises(ValueError, match="StepLR: step_size must be an integer >= 1"):
        StepLR(opt, 2).load_state_dict(state)
    state = ReduceLROnPlateau(opt).state_dict()
    state["num_bad_epochs"] = -1
    with pytest.raises(ValueError, match="num_bad_epochs must be an integer >= 0"):
        ReduceLROnPlateau(opt).load_state_dict(state)


# -- clipping ------------------------------------------------------------------------
@pytest.mark.parametrize("max_norm", [0.0, -1.0])
def test_clip_norm_max_norm(max_norm):
    with pytest.raises(ValueError, match=rf"clip_grad_norm: max_norm must be in \(0, inf\]. "
                                         rf"Received: {max_norm}"):
        clip_grad_norm(params(), max_norm)


@pytest.mark.parametrize("norm_type", [0.0, -2.0, math.nan, -math.inf, "fro", True])
def test_clip_norm_type(norm_type):
    with pytest.raises(ValueError, match="clip_grad_norm: norm_type must be a positive number"):
        clip_grad_norm(params(), 1.0, norm_type=norm_type)


@pytest.mark.parametrize("clip_value", [0.0, -0.5])
def test_clip_value(clip_value):
    with pytest.raises(ValueError, match=rf"clip_grad_value: clip_value must be in \(0, inf\]. "
                                         rf"Received: {clip_value}"):
        clip_grad_value(params(), clip_value)


@pytest.mark.parametrize("fn", [lambda ps: clip_grad_norm(ps, 1.0),
                                lambda ps: clip_grad_value(ps, 1.0)])
def test_clip_params(fn):
    with pytest.raises(TypeError, match=r"params\[0\] must be a trainlab.nn.Parameter"):
        fn([np.zeros(2)])
    with pytest.raises(TypeError, match="e.g. model.parameters()"):
        fn(Module())
    with pytest.raises(TypeError, match="must be a Parameter or a list of Parameters"):
        fn(np.zeros(2))
