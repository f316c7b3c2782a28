"""Notes §3 and §4: the chain-rule bound for sigmoid networks, the M^depth scaling of the
gradient, and initialisation by variance, measured with trainlab's layers."""

from __future__ import annotations

import math

import numpy as np

from trainlab import init, nn


def _sigmoid_stack(depth: int, width: int, seed: int) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = [nn.Linear(8, width, init="xavier_normal", rng=rng, dtype=np.float64),
                               nn.Sigmoid()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width, init="xavier_normal", rng=rng, dtype=np.float64),
                   nn.Sigmoid()]
    layers.append(nn.Linear(width, 3, init="xavier_normal", rng=rng, dtype=np.float64))
    return nn.Sequential(*layers)


def test_sigmoid_weight_gradient_carries_k_plus_one_factors_of_a_quarter():
    """|∂L/∂θ⁽ᴸ⁻ᵏ⁾| ≤ 0.25ᵏ⁺¹·‖h⁽ᴸ⁻ᵏ⁻¹⁾‖₂·∏‖W‖₂·‖∂L/∂h⁽ᴸ⁾‖ for every k, and so it vanishes
    towards the input."""
    rng = np.random.default_rng(0)
    depth = 8
    model = _sigmoid_stack(depth, 32, seed=1)
    x, labels = rng.standard_normal((64, 8)), rng.integers(0, 3, size=64)
    inputs, h = [], x
    for layer in model:
        if isinstance(layer, nn.Linear):
            inputs.append(h)
        h = layer.forward(h)
    loss = nn.CrossEntropyLoss()
    loss(h, labels)
    dy = loss.backward()
    model.backward(dy)
    top = np.linalg.norm(dy @ model[-1].weight.data.T)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    spectral = [np.linalg.norm(m.weight.data, 2) for m in linears[1:-1]]
    grads = [np.linalg.norm(m.weight.grad) for m in linears[:-1]]
    for j in range(depth):
        k = depth - 1 - j
        bound = 0.25 ** (k + 1) * np.linalg.norm(inputs[j], 2) * np.prod(spectral[j:]) * top
        assert grads[j] <= bound * (1 + 1e-12), (j, grads[j], bound)
    assert grads[0] < 1e-3 * grads[-1]


def _orthogonal_stack(depth: int, width: int, factor: float,
                      activation: type[nn.Module]) -> nn.Sequential:
    """Linear layers W = M·Q (Q orthogonal, fixed seed): each multiplies a norm by exactly M."""
    rng = np.random.default_rng(2)
    layers: list[nn.Module] = []
    for _ in range(depth):
        q, _ = np.linalg.qr(rng.standard_normal((width, width)))
        layer = nn.Linear(width, width, bias=False, init="zeros", dtype=np.float64)
        layer.weight.data[...] = factor * q
        layers += [layer, activation()]
    return nn.Sequential(*layers)


def _grads(model: nn.Sequential, x: np.ndarray, r: np.ndarray) -> tuple[float, np.ndarray]:
    model.zero_grad()
    model.forward(x)
    dx = model.backward(r)
    return float(np.linalg.norm(model[0].weight.grad)), dx


def test_gradient_scales_as_m_to_the_depth_and_with_x():
    """|dL/dW_l| ≈ |x|·|W_l|·M^depth: a factor M per layer (exact for M·orthogonal linear
    layers), proportional to |x|; ReLU stacks are positively homogeneous, so the same holds."""
    rng = np.random.default_rng(3)
    depth, width = 12, 16
    x, r = rng.standard_normal((5, width)), rng.standard_normal((5, width))
    for activation in (nn.Identity, nn.ReLU):
        base_w, base_dx = _grads(_orthogonal_stack(depth, width, 1.0, activation), x, r)
        for factor in (0.5, 0.9, 1.5):
            w, dx = _grads(_orthogonal_stack(depth, width, factor, activation), x, r)
            np.testing.assert_allclose(w, factor ** (depth - 1) * base_w, rtol=1e-10)
            np.testing.assert_allclose(dx, factor ** depth * base_dx, rtol=1e-10, atol=1e-300)
        w10, _ = _grads(_orthogonal_stack(depth, width, 1.2, activation), 10 * x, r)
        w1, _ = _grads(_orthogonal_stack(depth, width, 1.2, activation), x, r)
        np.testing.assert_allclose(w10, 10 * w1, rtol=1e-12)
    _, dx = _grads(_orthogonal_stack(depth, width, 1.0, nn.Identity), x, r)
    np.testing.assert_allclose(np.linalg.norm(dx), np.linalg.norm(r), rtol=1e-12)  # M = 1 keeps it


def test_var_y_is_k_var_w_var_x():
    """y = Σᵢ wᵢxᵢ + b with independent zero-mean w and x: Var(y) = k·Var(w)·Var(x)."""
    rng = np.random.default_rng(4)
    k, var_x = 200, 2.5
    ys, var_w = [], []
    for _ in range(20):  # 20 independent draws of the weights, 500 inputs each
        layer = nn.Linear(k, 50, init="naive_uniform", rng=rng, dtype=np.float64)
        ys.append(layer.forward(rng.normal(0, math.sqrt(var_x), size=(500, k))))
        var_w.append(layer.weight.data.var())
    assert abs(np.var(ys) / (k * np.mean(var_w) * var_x) - 1) < 0.03
    assert abs(np.mean(var_w) * 3 * k - 1) < 0.01  # naive: Var(w) = 1/(3k)


def test_after_100_naive_layers_the_variance_is_a_third_to_the_100():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((128, 128))
    h = x
    for _ in range(100):
        layer = nn.Linear(128, 128, bias=False, init="naive_uniform", rng=rng, dtype=np.float64)
        h = layer.forward(h)
    ratio = h.var() / x.var()
    assert abs(math.log10(ratio / (1 / 3) ** 100)) < 0.3  # (1/3)^100 ≈ 1.9e-48, within ×2
    assert ratio < 1e-47


def test_k_var_theta_below_one_collapses_above_one_explodes():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((128, 64))
    for k_var in (0.5, 1.0, 2.0):
        h = x
        for _ in range(30):
            w = rng.normal(0, math.sqrt(k_var / 64), size=(64, 64))
            h = h @ w
        ratio = h.var() / x.var()
        assert abs(math.log10(ratio / k_var ** 30)) < 0.5, (k_var, ratio)


def test_the_numpy_recipe_randn_over_sqrt_fan_in_is_lecun_normal():
    """W = np.random.randn(fan_in, fan_out)/np.sqrt(fan_in): the same draw as init.lecun_normal."""
    w = init.lecun_normal(300, 40, rng=np.random.default_rng(7), dtype=np.float64)
    recipe = np.random.default_rng(7).standard_normal((300, 40)) / np.sqrt(300)
    np.testing.assert_allclose(w, recipe, rtol=1e-14)


def test_xavier_variance_and_uniform_bound():
    k, m = 300, 500
    for name in ("xavier_normal", "xavier_uniform"):
        w = getattr(init, name)(k, m, rng=8, dtype=np.float64)
        assert abs(w.var() / (2 / (k + m)) - 1) < 0.02
    w = init.xavier_uniform(k, m, rng=8, dtype=np.float64)
    bound = math.sqrt(6) / math.sqrt(k + m)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound


def test_he_init_half_the_relu_units_are_zero_and_the_second_moment_is_kept():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1000, 256))
    h = x
    zero_fraction, halves = [], []
    for _layer in range(20):
        z = nn.Linear(256, 256, bias=False, init="he_normal", rng=rng, dtype=np.float64).forward(h)
        h = nn.ReLU().forward(z)
        zero_fraction.append(float(np.mean(h == 0)))
        # E[relu(z)²] = E[z²]/2 for symmetric z: so for the first layer (x zero-mean); deeper,
        # each unit's z has a weight-dependent offset that averages out only over layers
        halves.append(np.mean(h**2) / (np.mean(z**2) / 2))
    assert abs(halves[0] - 1) < 0.01 and abs(np.mean(halves) - 1) < 0.05
    assert abs(np.mean(zero_fraction) - 0.5) < 0.02
    assert 0.5 < np.mean(h**2) / np.mean(x**2) < 2  # He: N(0, 2/n) keeps it through 20 layers
