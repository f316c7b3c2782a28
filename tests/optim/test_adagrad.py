"""Adagrad against torch.optim.Adagrad: defaults, each option alone and combined."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.nn import Parameter
from trainlab.optim import Adagrad

CONFIGS = [
    {},
    {"lr": 0.1},
    {"lr": 0.1, "lr_decay": 0.05},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.1, "initial_accumulator_value": 0.5},
    {"lr": 0.1, "eps": 1e-3},
    {"lr": 0.1, "lr_decay": 0.02, "weight_decay": 0.05, "initial_accumulator_value": 0.2,
     "eps": 1e-6},
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_matches_torch(torch, check_against_torch, config):
    check_against_torch(
        lambda ps: Adagrad(ps, **config),
        lambda ts: torch.optim.Adagrad(ts, foreach=False, **config),
    )


def test_matches_torch_float32(torch, check_against_torch):
    config = CONFIGS[-1]
    check_against_torch(
        lambda ps: Adagrad(ps, **config),
        lambda ts: torch.optim.Adagrad(ts, foreach=False, **config),
        dtype=np.float32,
    )


@pytest.mark.parametrize("config", [CONFIGS[1], CONFIGS[-1]], ids=str)
def test_state_dict_roundtrip(check_roundtrip, config):
    check_roundtrip(lambda ps: Adagrad(ps, **config))


def test_first_steps_by_hand():
    """G_t = G_{t-1} + g², W ← W − γ_t·g/(√G_t + ε), γ_t = γ/(1 + (t−1)η)."""
    p = Parameter(np.array([1.0, 2.0]))
    opt = Adagrad([p], lr=0.5, lr_decay=0.5, initial_accumulator_value=1.0, eps=0.0)
    g = np.array([3.0, -4.0])
    p.grad[...] = g
    opt.step()
    w1 = np.array([1.0, 2.0]) - 0.5 * g / np.sqrt(1.0 + g**2)
    np.testing.assert_allclose(p.data, w1, rtol=1e-15)
    opt.step()
    w2 = w1 - 0.5 / 1.5 * g / np.sqrt(1.0 + 2 * g**2)
    np.testing.assert_allclose(p.data, w2, rtol=1e-15)
    np.testing.assert_allclose(opt.state[0]["sum"], 1.0 + 2 * g**2)
