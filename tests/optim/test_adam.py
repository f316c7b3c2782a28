"""Adam and AdamW against torch.optim: defaults, each option alone and combined."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.nn import Module, Parameter
from trainlab.optim import Adam, AdamW

CONFIGS = [
    {},
    {"lr": 0.05},
    {"lr": 0.05, "betas": (0.8, 0.99)},
    {"lr": 0.05, "betas": (0.3, 0.4)},  # weights 1 − β ≥ 0.5 take lerp's other branch
    {"lr": 0.05, "eps": 1e-3},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "amsgrad": True},
    {"lr": 0.02, "betas": (0.85, 0.95), "eps": 1e-6, "weight_decay": 0.05, "amsgrad": True},
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_matches_torch(torch, check_against_torch, name, config):
    ours = {"Adam": Adam, "AdamW": AdamW}[name]
    theirs = getattr(torch.optim, name)
    check_against_torch(
        lambda ps: ours(ps, **config),
        lambda ts: theirs(ts, foreach=False, **config),
    )


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_matches_torch_float32(torch, check_against_torch, name):
    ours = {"Adam": Adam, "AdamW": AdamW}[name]
    config = CONFIGS[-1]
    check_against_torch(
        lambda ps: ours(ps, **config),
        lambda ts: getattr(torch.optim, name)(ts, foreach=False, **config),
        dtype=np.float32,
    )


@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[-1]], ids=str)
@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_state_dict_roundtrip(check_roundtrip, cls, config):
    check_roundtrip(lambda ps: cls(ps, **config))


def test_roundtrip_float32(check_roundtrip):
    check_roundtrip(lambda ps: Adam(ps, lr=0.05, amsgrad=True), dtype=np.float32)


def test_defaults():
    p = Parameter(np.zeros(2))
    assert Adam([p]).hyperparameters() == {
        "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
    }
    assert AdamW([p]).weight_decay == 1e-2
    assert AdamW([p]).state_dict()["type"] == "AdamW"


def test_notes_formula_first_step():
    """m̂ = g and v̂ = g² after one step, so W moves by γ·g/(|g| + ε)."""
    p = Parameter(np.array([1.0, -1.0, 0.0]))
    opt = Adam([p], lr=0.1)
    g = np.array([0.3, -2.0, 5.0])
    p.grad[...] = g
    opt.step()
    np.testing.assert_allclose(p.data, [1.0, -1.0, 0.0] - 0.1 * g / (np.abs(g) + 1e-8),
                               rtol=1e-14)
    np.testing.assert_allclose(opt.state[0]["exp_avg"], 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(opt.state[0]["exp_avg_sq"], 0.001 * g**2, rtol=1e-15)


def test_adamw_decays_before_the_update():
    """With a zero gradient AdamW only shrinks the weights: W ← W·(1 − γλ)."""
    p = Parameter(np.array([2.0, -4.0]))
    opt = AdamW([p], lr=0.1, weight_decay=0.5)
    opt.step()
    np.testing.assert_array_equal(p.data, np.array([2.0, -4.0]) * (1 - 0.05))


def test_state_keeps_dtype_and_follows_astype():
    model = Module()
    model.weight = Parameter(np.ones((3, 2), dtype=np.float32))
    model.bias = Parameter(np.zeros(2, dtype=np.float32))
    opt = Adam(model.parameters(), lr=0.01, amsgrad=True)
    for p in model.parameters():
        p.grad[...] = 0.5
    opt.step()
    assert all(a.dtype == np.float32 for s in opt.state for a in s.values())
    model.astype(np.float64)
    for p in model.parameters():
        p.grad[...] = 0.5
    opt.step()
    assert all(a.dtype == np.float64 for s in opt.state for a in s.values())
    assert all(p.data.dtype == np.float64 for p in model.parameters())


def test_effective_lr_is_the_median_step():
    """γ/(1 − β₁ᵗ) / (√v̂ + ε) over every coordinate (NaN before the first step)."""
    rng = np.random.default_rng(2)
    params = [Parameter(rng.standard_normal(s)) for s in [(5, 4), (7,)]]
    opt = Adam(params, lr=0.01, betas=(0.8, 0.9))
    assert np.isnan(opt.effective_lr())
    for _ in range(3):
        for p in params:
            p.grad[...] = rng.standard_normal(p.shape)
        opt.step()
    v = np.concatenate([s["exp_avg_sq"].reshape(-1) for s in opt.state])
    expected = np.median(0.01 / (1 - 0.8**3) / (np.sqrt(v) / np.sqrt(1 - 0.9**3) + 1e-8))
    assert opt.effective_lr() == pytest.approx(expected, rel=1e-14)
