"""Notes §7 and §8: input normalisation, batch and layer normalisation in the notes' closed
forms, the running averages used at test time, and the regularisers' defining rules."""

from __future__ import annotations

import numpy as np

from trainlab import data, nn
from trainlab.models import MLPConfig, build_mlp


def test_input_normalisation_uses_the_training_set_statistics():
    """(x − x̄)/√(s² + ε), x̄ and s² from the training set, applied unchanged to new data."""
    rng = np.random.default_rng(0)
    train = rng.normal(100.0, 30.0, size=(400, 3))
    test = rng.normal(100.0, 30.0, size=(50, 3))
    eps = 1e-3
    scaler = data.Standardizer(eps=eps).fit(train)
    np.testing.assert_allclose(scaler.transform(test),
                               (test - train.mean(0)) / np.sqrt(train.var(0) + eps), rtol=1e-12)
    z = scaler.transform(train)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z.var(0), train.var(0) / (train.var(0) + eps), rtol=1e-12)


def _batchnorm(num: int, gamma: np.ndarray, beta: np.ndarray, **kwargs) -> nn.BatchNorm:
    layer = nn.BatchNorm(num, dtype=np.float64, **kwargs)
    layer.weight.data[...] = gamma
    layer.bias.data[...] = beta
    return layer


def test_batchnorm_training_uses_batch_statistics_and_test_time_the_moving_averages():
    """ẑ = (z − μ_B)/√(σ²_B + ε), γ·ẑ + β; μ* ← β·μ* + (1−β)·μ_B, σ²* likewise; test time
    γ·(z − μ*)/√(σ²* + ε) + β. trainlab's momentum is 1 − β (PyTorch's convention) and σ²*
    averages the unbiased batch variance."""
    rng = np.random.default_rng(1)
    gamma, beta_shift, eps, beta = np.array([2.0, 0.5, 1.0]), np.array([-1.0, 0.0, 3.0]), 1e-3, 0.8
    layer = _batchnorm(3, gamma, beta_shift, eps=eps, momentum=1 - beta)
    fresh = nn.BatchNorm(3)
    assert fresh.weight.data.tolist() == [1, 1, 1] and fresh.bias.data.tolist() == [0, 0, 0]
    mu_star, var_star = np.zeros(3), np.ones(3)
    for _ in range(4):
        z = rng.normal(5.0, 3.0, size=(16, 3))
        y = layer.forward(z)
        expected = gamma * (z - z.mean(0)) / np.sqrt(z.var(0) + eps) + beta_shift
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
        mu_star = beta * mu_star + (1 - beta) * z.mean(0)
        var_star = beta * var_star + (1 - beta) * z.var(0, ddof=1)
    np.testing.assert_allclose(layer.running_mean, mu_star, rtol=1e-13)
    np.testing.assert_allclose(layer.running_var, var_star, rtol=1e-13)
    layer.eval()
    z = rng.normal(5.0, 3.0, size=(4, 3))
    np.testing.assert_allclose(layer.forward(z),
                               gamma * (z - mu_star) / np.sqrt(var_star + eps) + beta_shift,
                               rtol=1e-12)


def test_layernorm_uses_per_example_statistics():
    rng = np.random.default_rng(2)
    x = rng.normal(2.0, 4.0, size=(5, 7))
    eps = 1e-3
    layer = nn.LayerNorm(7, eps=eps, dtype=np.float64)
    expected = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + eps)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-14)


def test_batch_norm_normalises_columns_layer_norm_normalises_rows():
    """BN(X) = LN(Xᵀ)ᵀ exactly: the same standardisation along the other axis."""
    x = np.random.default_rng(3).normal(1.0, 2.0, size=(6, 9))
    bn = nn.BatchNorm(9, eps=1e-5, dtype=np.float64).forward(x)
    ln = nn.LayerNorm(6, eps=1e-5, dtype=np.float64).forward(x.T).T
    np.testing.assert_allclose(bn, ln, rtol=1e-12, atol=1e-14)


def test_batchnorm_sits_between_the_affine_map_and_the_activation():
    """φ(BN(Wh + b)), e.g. tanh(BN(wᵀh)): the models put the norm there."""
    config = MLPConfig(4, (5,), 2, "tanh", "xavier_normal", norm="batch", dtype="float64")
    model = build_mlp(config, rng=0)
    x = np.random.default_rng(4).standard_normal((8, 4))
    linear, bn, tanh = model[0], model[1], model[2]
    assert isinstance(linear, nn.Linear) and isinstance(bn, nn.BatchNorm)
    assert isinstance(tanh, nn.Tanh)
    z = x @ linear.weight.data + linear.bias.data
    h = np.tanh((z - z.mean(0)) / np.sqrt(z.var(0) + 1e-5))
    expected = h @ model[3].weight.data + model[3].bias.data
    np.testing.assert_allclose(model.forward(x), expected, rtol=1e-12, atol=1e-14)


def test_dropout_drops_units_and_dropconnect_drops_weights():
    """Dropout zeroes whole units of h (scaled by 1/(1−p)); DropConnect zeroes single weights,
    so one example's output is x @ (M ⊙ W)/(1−p) with a mask on W, not on x."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4000, 20)) + 1.0
    dropout = nn.Dropout(0.25, rng=0)
    y = dropout.forward(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-15)
    assert abs(kept.mean() - 0.75) < 0.01
    layer = nn.DropConnect(20, 3, p=0.5, bias=False, rng=1, dtype=np.float64)
    one = x[:1]
    outputs = np.array([layer.forward(one)[0] for _ in range(2000)])
    assert len({tuple(row) for row in outputs.round(12)}) > 100  # a fresh weight mask per forward
    np.testing.assert_allclose(outputs.mean(0), (one @ layer.weight.data)[0], rtol=0.1, atol=0.1)
    layer.eval()
    np.testing.assert_allclose(layer.forward(one), one @ layer.weight.data, rtol=1e-14)
