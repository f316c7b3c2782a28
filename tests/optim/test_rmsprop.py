"""RMSprop against torch.optim.RMSprop: defaults, each option alone and combined."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.nn import Parameter
from trainlab.optim import RMSprop

CONFIGS = [
    {},
    {"lr": 0.01, "alpha": 0.9},
    {"lr": 0.01, "alpha": 0.3},  # a weight 1 − α ≥ 0.5 takes lerp's other branch
    {"lr": 0.01, "eps": 1e-3},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "momentum": 0.9},
    {"lr": 0.01, "centered": True},
    {"lr": 0.01, "alpha": 0.3, "centered": True},
    {"lr": 0.005, "alpha": 0.95, "eps": 1e-6, "weight_decay": 0.05, "momentum": 0.8,
     "centered": True},
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_matches_torch(torch, check_against_torch, config):
    check_against_torch(
        lambda ps: RMSprop(ps, **config),
        lambda ts: torch.optim.RMSprop(ts, foreach=False, **config),
    )


def test_matches_torch_float32(torch, check_against_torch):
    config = CONFIGS[-1]
    check_against_torch(
        lambda ps: RMSprop(ps, **config),
        lambda ts: torch.optim.RMSprop(ts, foreach=False, **config),
        dtype=np.float32,
    )


@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[5], CONFIGS[-1]], ids=str)
def test_state_dict_roundtrip(check_roundtrip, config):
    check_roundtrip(lambda ps: RMSprop(ps, **config))


def test_notes_formula():
    """C_{n+1} = pC_n + (1−p)g², W_{n+1} = W_n − γg/(√C_{n+1} + ε)."""
    p = Parameter(np.array([0.5, -1.0]))
    opt = RMSprop([p], lr=0.1, alpha=0.9, eps=1e-8)
    g = np.array([2.0, 0.5])
    p.grad[...] = g
    opt.step()
    c = 0.1 * g**2
    np.testing.assert_allclose(opt.state[0]["square_avg"], c, rtol=1e-15)
    np.testing.assert_allclose(p.data, [0.5, -1.0] - 0.1 * g / (np.sqrt(c) + 1e-8), rtol=1e-15)


def test_state_names():
    p = Parameter(np.zeros(2))
    p.grad[...] = 1.0
    for config, names in [
        ({}, ["square_avg"]),
        ({"centered": True}, ["square_avg", "grad_avg"]),
        ({"momentum": 0.5, "centered": True}, ["square_avg", "grad_avg", "momentum_buffer"]),
    ]:
        opt = RMSprop([p], **config)
        opt.step()
        assert list(opt.state_dict()["state"]["0"]) == names
