"""SGD against torch.optim.SGD: defaults, each option alone and combined."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.nn import Parameter
from trainlab.optim import SGD

CONFIGS = [
    {},
    {"lr": 0.05},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.3},
    {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.01},
    {"lr": 0.02, "momentum": 0.95, "nesterov": True, "weight_decay": 0.05},
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_matches_torch(torch, check_against_torch, config):
    check_against_torch(
        lambda ps: SGD(ps, **config),
        lambda ts: torch.optim.SGD(ts, foreach=False, **config),
    )


@pytest.mark.parametrize("config", [CONFIGS[4], CONFIGS[6]], ids=str)
def test_matches_torch_float32(torch, check_against_torch, config):
    check_against_torch(
        lambda ps: SGD(ps, **config),
        lambda ts: torch.optim.SGD(ts, foreach=False, **config),
        dtype=np.float32,
    )


@pytest.mark.parametrize("config", CONFIGS[2:], ids=str)
def test_state_dict_roundtrip(check_roundtrip, config):
    check_roundtrip(lambda ps: SGD(ps, **config))


def test_plain_step_is_the_notes_formula():
    """W_{n+1} = W_n − γ∇L, and with momentum V_{n+1} = ρV_n + ∇L, W_{n+1} = W_n − γV_{n+1}."""
    w0 = np.array([1.0, -2.0])
    g1, g2 = np.array([0.5, 0.25]), np.array([-1.0, 2.0])
    p = Parameter(w0)
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad[...] = g1
    opt.step()
    np.testing.assert_array_equal(p.data, w0 - 0.1 * g1)
    p.grad[...] = g2
    opt.step()
    np.testing.assert_allclose(p.data, w0 - 0.1 * g1 - 0.1 * (0.9 * g1 + g2), rtol=1e-15)


def test_defaults_and_state_layout():
    p = Parameter(np.zeros((2, 3), dtype=np.float32))
    opt = SGD([p])
    assert (opt.lr, opt.momentum, opt.dampening, opt.nesterov, opt.weight_decay) == (
        1e-3, 0.0, 0.0, False, 0.0,
    )
    assert opt.state_dict() == {
        "type": "SGD",
        "hyperparameters": {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0,
                            "nesterov": False, "weight_decay": 0.0},
        "step": 0,
        "state": {"0": {}},
    }
    opt = SGD([p], momentum=0.5)
    p.grad[...] = 1.0
    opt.step()
    state = opt.state_dict()["state"]["0"]
    assert list(state) == ["momentum_buffer"] and state["momentum_buffer"].dtype == np.float32


def test_state_is_updated_in_place():
    p = Parameter(np.ones(4))
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    data, grad = p.data, p.grad
    p.grad[...] = 1.0
    opt.step()
    buf = opt.state[0]["momentum_buffer"]
    scratch = [id(a) for a in opt._scratch[0]]
    for _ in range(3):
        opt.step()
    assert opt.state[0]["momentum_buffer"] is buf
    assert [id(a) for a in opt._scratch[0]] == scratch
    assert p.data is data and p.grad is grad
    np.testing.assert_array_equal(p.grad, 1.0)  # the gradient itself is never changed


def test_zero_grad():
    ps = [Parameter(np.ones(3)), Parameter(np.ones((2, 2)))]
    for p in ps:
        p.grad[...] = 5.0
    SGD(ps).zero_grad()
    assert all(not p.grad.any() for p in ps)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_gradient_left_marked_zero_updates_as_zero(backend):
    """After zero_grad a gradient is only marked zero (its array keeps the old values until
    it is read); a parameter that no backward pass reached must still see a zero gradient
    in the step: with momentum 0 and no decay it does not move."""
    used, unused = Parameter(np.ones((3, 2))), Parameter(np.ones(4))
    opt = SGD([used, unused], lr=0.5).use_backend(backend)
    used.grad[...] = 1.0
    unused.grad[...] = 7.0
    opt.zero_grad()
    stale = unused.grad_to_write()[0]  # the array itself, without reading it as zeros
    unused.zero_grad()
    assert stale[0] == 7.0  # not written by zero_grad
    used.grad[...] = 2.0  # what a backward pass writes
    opt.step()
    np.testing.assert_array_equal(used.data, np.zeros((3, 2)))  # 1 − 0.5·2
    np.testing.assert_array_equal(unused.data, np.ones(4))
    assert not unused.grad.any() and unused.grad is stale
