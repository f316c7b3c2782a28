"""Gradient clipping against torch.nn.utils.clip_grad_norm_ and clip_grad_value_."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab.nn import Parameter
from trainlab.optim import clip_grad_norm, clip_grad_value

SHAPES = ((4, 3), (3,), (2, 5))


def _pair(torch, scale: float, dtype=np.float64):
    rng = np.random.default_rng(3)
    grads = [rng.normal(scale=scale, size=s).astype(dtype) for s in SHAPES]
    params = [Parameter(np.zeros(s, dtype=dtype)) for s in SHAPES]
    for p, g in zip(params, grads, strict=False):
        p.grad[...] = g
    tensors = [torch.zeros(s, dtype=torch.from_numpy(g).dtype, requires_grad=True)
               for s, g in zip(SHAPES, grads, strict=False)]
    for t, g in zip(tensors, grads, strict=False):
        t.grad = torch.tensor(g)
    return params, tensors


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("scale", [0.01, 1.0, 10.0])  # below and above max_norm
def test_norm_matches_torch(torch, norm_type, scale):
    params, tensors = _pair(torch, scale)
    max_norm = 1.0
    total = clip_grad_norm(params, max_norm, norm_type=norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(tensors, max_norm, norm_type=norm_type,
                                             foreach=False)
    assert isinstance(total, float)
    assert total == pytest.approx(float(t_total), rel=1e-13)
    for p, t in zip(params, tensors, strict=False):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-13, atol=1e-300)
    new_total = clip_grad_norm(params, 1e9, norm_type=norm_type)
    if total > max_norm:
        assert new_total == pytest.approx(max_norm, rel=1e-5)
    else:
        assert new_total == pytest.approx(total, rel=1e-15)  # left alone


def test_norm_float32(torch):
    params, tensors = _pair(torch, 10.0, dtype=np.float32)
    total = clip_grad_norm(params, 0.5)
    t_total = torch.nn.utils.clip_grad_norm_(tensors, 0.5, foreach=False)
    assert total == pytest.approx(float(t_total), rel=1e-6)
    for p, t in zip(params, tensors, strict=False):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-6)


def test_norm_is_the_notes_rule():
    """If ‖g‖ > ε then g ← ε·g/‖g‖ (up to the 1e-6 guard); one norm over all gradients."""
    a, b = Parameter(np.zeros(1)), Parameter(np.zeros(1))
    a.grad[...], b.grad[...] = 3.0, 4.0
    assert clip_grad_norm([a, b], 1.0) == 5.0
    np.testing.assert_allclose([a.grad[0], b.grad[0]], [0.6, 0.8], rtol=1e-6)
    single = Parameter(np.zeros(4))
    single.grad[...] = 0.1
    assert clip_grad_norm(single, 1.0) == pytest.approx(0.2, rel=1e-15)  # a single Parameter
    np.testing.assert_array_equal(single.grad, 0.1)


def test_nonfinite_norm(torch):
    params, tensors = _pair(torch, 1.0)
    params[1].grad[0] = np.inf
    tensors[1].grad[0] = math.inf
    with pytest.raises(RuntimeError, match="total gradient norm is inf"):
        clip_grad_norm(params, 1.0, error_if_nonfinite=True)
    total = clip_grad_norm(params, 1.0)
    torch.nn.utils.clip_grad_norm_(tensors, 1.0, foreach=False)
    assert total == math.inf
    for p, t in zip(params, tensors, strict=False):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())  # NaN where inf·0, else 0


def test_empty_list():
    assert clip_grad_norm([], 1.0) == 0.0
    clip_grad_value([], 1.0)


@pytest.mark.parametrize("clip_value", [0.05, 0.5, 100.0])
def test_value_matches_torch(torch, clip_value):
    params, tensors = _pair(torch, 1.0)
    assert clip_grad_value(params, clip_value) is None
    torch.nn.utils.clip_grad_value_(tensors, clip_value, foreach=False)
    for p, t in zip(params, tensors, strict=False):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
        assert np.abs(p.grad).max() <= clip_value


def test_value_in_place_keeps_dtype():
    p = Parameter(np.linspace(-2, 2, 5, dtype=np.float32))
    p.grad[...] = p.data
    grad = p.grad
    clip_grad_value([p], 1.0)
    assert p.grad is grad and grad.dtype == np.float32
    np.testing.assert_array_equal(grad, [-1.0, -1.0, 0.0, 1.0, 1.0])
