"""Notes §5 and §6: the update rules over several steps, written as in the notes, against
trainlab's optimizers; the EWMA inside Adam; learning-rate decay; clipping."""

from __future__ import annotations

import numpy as np

from trainlab import optim
from trainlab.nn.module import Parameter

W0 = np.array([0.5, -1.0, 2.0, 0.0])
STEPS = 8


def _gradients(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 2, size=(STEPS, W0.size))


def _run(opt_factory) -> tuple[np.ndarray, object]:
    p = Parameter(W0.copy())
    opt = opt_factory([p])
    trajectory = []
    for g in _gradients():
        p.grad[...] = g
        opt.step()
        trajectory.append(p.data.copy())
    return np.array(trajectory), opt


def test_plain_gradient_descent():
    """W_{n+1} = W_n − γ·∇_W L."""
    got, _ = _run(lambda ps: optim.SGD(ps, lr=0.1))
    w, expected = W0.copy(), []
    for g in _gradients():
        w = w - 0.1 * g
        expected.append(w)
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-15)


def test_momentum_v_is_rho_v_plus_gradient():
    """V_{n+1} = ρV_n + ∇_W L (V_0 = 0, ρ = 0.9), W_{n+1} = W_n − γV_{n+1}."""
    got, _ = _run(lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9))
    w, v, expected = W0.copy(), np.zeros_like(W0), []
    for g in _gradients():
        v = 0.9 * v + g
        w = w - 0.05 * v
        expected.append(w)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


def test_adagrad_accumulates_squared_gradients_and_divides_by_their_root():
    got, _ = _run(lambda ps: optim.Adagrad(ps, lr=0.3, eps=0.0))
    w, total, expected = W0.copy(), np.zeros_like(W0), []
    for g in _gradients():
        total = total + g**2
        w = w - 0.3 * g / np.sqrt(total)
        expected.append(w)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


def test_rmsprop_c_is_an_ewma_of_squared_gradients():
    """C_{n+1} = p·C_n + (1−p)(∇L)², W_{n+1} = W_n − γ·∇L/√C_{n+1} (ε = 0)."""
    got, opt = _run(lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=0.0))
    w, c, expected = W0.copy(), np.zeros_like(W0), []
    for g in _gradients():
        c = 0.9 * c + 0.1 * g**2
        w = w - 0.01 * g / np.sqrt(c)
        expected.append(w)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(opt.state[0]["square_avg"], c, rtol=1e-14)


def test_adam_with_bias_correction():
    """m_t = β₁m + (1−β₁)g, v_t = β₂v + (1−β₂)g², m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ),
    W_{t+1} = W_t − γ·m̂/(√v̂ + ε)."""
    b1, b2, eps, lr = 0.8, 0.95, 1e-3, 0.02
    got, opt = _run(lambda ps: optim.Adam(ps, lr=lr, betas=(b1, b2), eps=eps))
    w, m, v, expected = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), []
    for t, g in enumerate(_gradients(), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        expected.append(w)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(opt.state[0]["exp_avg"], m, rtol=1e-14)
    np.testing.assert_allclose(opt.state[0]["exp_avg_sq"], v, rtol=1e-14)


def test_ewma_bias_correction_recovers_a_constant_signal():
    """v_t = β·v_{t−1} + (1−β)·x_t from v_0 = 0 is (1−βᵗ)·x for a constant x, so Adam's
    bias-corrected m̂, v̂ equal g, g² and every step is γ·g/(|g| + ε)."""
    p = Parameter(np.array([1.0, -2.0]))
    opt = optim.Adam([p], lr=0.1, betas=(0.9, 0.99), eps=0.0)
    g = np.array([0.5, -3.0])
    for t in range(1, 6):
        p.grad[...] = g
        opt.step()
        np.testing.assert_allclose(opt.state[0]["exp_avg"], (1 - 0.9**t) * g, rtol=1e-14)
        np.testing.assert_allclose(p.data, np.array([1.0, -2.0]) - 0.1 * t * np.sign(g), rtol=1e-14)


def test_learning_rate_decay_lr_n_is_lr_0_alpha_to_the_n():
    opt = optim.SGD([Parameter(np.zeros(1))], lr=0.3)
    schedule = optim.ExponentialLR(opt, gamma=0.7)
    for n in range(1, 13):
        schedule.step()
        np.testing.assert_allclose(opt.lr, 0.3 * 0.7**n, rtol=1e-14)


def _params(rng, scale):
    params = [Parameter(np.zeros(shape)) for shape in ((3, 4), (4,), (2, 2))]
    for p in params:
        p.grad[...] = scale * rng.standard_normal(p.grad.shape)
    return params


def test_clip_by_norm_keeps_the_direction_and_caps_the_length():
    """If ‖g‖₂ > ε then g ← ε·g/‖g‖₂ (one norm over all gradients), else g is unchanged."""
    rng = np.random.default_rng(1)
    params = _params(rng, 5.0)
    g = np.concatenate([p.grad.ravel() for p in params])
    returned = optim.clip_grad_norm(params, 1.5)
    clipped = np.concatenate([p.grad.ravel() for p in params])
    np.testing.assert_allclose(returned, np.linalg.norm(g), rtol=1e-14)
    np.testing.assert_allclose(clipped, 1.5 * g / np.linalg.norm(g), rtol=1e-5)  # 1e-6 guard
    assert np.linalg.norm(clipped) <= 1.5
    cosine = clipped @ g / (np.linalg.norm(clipped) * np.linalg.norm(g))
    np.testing.assert_allclose(cosine, 1.0, rtol=1e-14)
    small = _params(rng, 0.01)
    before = [p.grad.copy() for p in small]
    optim.clip_grad_norm(small, 1.5)
    for p, b in zip(small, before, strict=True):
        np.testing.assert_array_equal(p.grad, b)


def test_clip_by_value_is_max_min_elementwise():
    rng = np.random.default_rng(2)
    params = _params(rng, 3.0)
    expected = [np.maximum(np.minimum(p.grad, 0.7), -0.7) for p in params]
    optim.clip_grad_value(params, 0.7)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_array_equal(p.grad, e)
    assert any((np.abs(e) == 0.7).any() for e in expected)
    assert any((np.abs(e) < 0.7).any() for e in expected)
