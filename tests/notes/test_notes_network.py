"""Notes §1: the MLP as a chain of affine maps and nonlinearities, ψ by task, training by
gradient descent from random weights."""

from __future__ import annotations

import numpy as np

from trainlab import init, nn, optim
from trainlab.models import MLPConfig, build_mlp


def test_mlp_is_the_chain_y_n_equals_W_n_transpose_y_n_minus_1_plus_b_n(rng):
    """ŷ = ψ(θ⁽ᴸ⁾ … φ(θ⁽¹⁾ φ(θ⁽⁰⁾x))) with yₙ = Wₙᵀyₙ₋₁ + bₙ, one column vector x at a time."""
    model = build_mlp(MLPConfig(5, (4, 3), 2, "tanh", "xavier_normal", dtype="float64"), rng=3)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for layer in linears:  # non-zero biases so that bₙ is checked too
        layer.bias.data[...] = rng.standard_normal(layer.bias.data.shape)
    X = rng.standard_normal((6, 5))
    expected = []
    for x in X:
        y = x
        for i, layer in enumerate(linears):
            y = layer.weight.data.T @ y + layer.bias.data
            if i < len(linears) - 1:
                y = np.tanh(y)  # φ; ψ is the identity (the loss fuses sigmoid/softmax)
        expected.append(y)
    np.testing.assert_allclose(model.forward(X), np.array(expected), rtol=1e-13, atol=1e-15)


def _sigmoid(z):
    return nn.Sigmoid().forward(z)


def test_output_layer_sigmoid_for_binary_softmax_for_multiclass_identity_for_regression(rng):
    """The fused losses are the losses of ψ(z): BCE of σ(z), cross-entropy of softmax(z),
    squared error of z itself; their gradient is (ψ(z) − y)/N (·2 for the squared error)."""
    n = 7
    z = 3 * rng.standard_normal((n, 1))
    t = rng.integers(0, 2, size=n).astype(np.float64)
    p = _sigmoid(z)[:, 0]
    bce = nn.BCEWithLogitsLoss()
    np.testing.assert_allclose(bce(z, t), -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)),
                               rtol=1e-13)
    np.testing.assert_allclose(bce.backward(), ((p - t) / n)[:, None], rtol=1e-12, atol=1e-17)

    logits = 3 * rng.standard_normal((n, 4))
    labels = rng.integers(0, 4, size=n)
    s = nn.Softmax().forward(logits)
    ce = nn.CrossEntropyLoss()
    np.testing.assert_allclose(ce(logits, labels), -np.mean(np.log(s[np.arange(n), labels])),
                               rtol=1e-13)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(ce.backward(), (s - onehot) / n, rtol=1e-12, atol=1e-17)

    pred, target = rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
    mse = nn.MSELoss()
    np.testing.assert_allclose(mse(pred, target), np.mean((pred - target) ** 2), rtol=1e-14)
    np.testing.assert_allclose(mse.backward(), 2 * (pred - target) / pred.size, rtol=1e-14)


def _loss_and_grads(model, loss, X, y):
    model.zero_grad()
    value = loss(model.forward(X), y)
    model.backward(loss.backward())
    return value, [p.grad.copy() for p in model.parameters()]


def test_a_gradient_descent_step_from_random_weights_lowers_the_loss_to_first_order(rng):
    """W ← W − γ∇L changes L by −γ‖∇L‖² + O(γ²): the step that θ* = argmin L is sought with."""
    model = build_mlp(MLPConfig(4, (16,), 3, "tanh", "he_normal", dtype="float64"), rng=1)
    X, y = rng.standard_normal((32, 4)), rng.integers(0, 3, size=32)
    loss = nn.CrossEntropyLoss()
    before, grads = _loss_and_grads(model, loss, X, y)
    squared = sum(float(np.sum(g * g)) for g in grads)
    gamma = 1e-4
    optim.SGD(model.parameters(), lr=gamma).step()
    after = loss(model.forward(X), y)
    assert after < before
    np.testing.assert_allclose(before - after, gamma * squared, rtol=1e-2)


def test_identical_initial_weights_never_break_the_symmetry(rng):
    """Without noise in the initial weights every hidden unit gets the same update."""
    def constant(fan_in, fan_out, rng=None, dtype=np.float64):
        return np.full((fan_in, fan_out), 0.1, dtype=dtype)

    model = nn.Sequential(nn.Linear(4, 8, init=constant, dtype=np.float64), nn.Tanh(),
                          nn.Linear(8, 3, init=constant, dtype=np.float64))
    X, y = rng.standard_normal((32, 4)), rng.integers(0, 3, size=32)
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    loss = nn.CrossEntropyLoss()
    for _ in range(20):
        _loss_and_grads(model, loss, X, y)
        opt.step()
    W = model[0].weight.data
    assert np.abs(W - W[:, :1]).max() < 1e-12  # all 8 hidden units still identical
    assert np.abs(W - 0.1).max() > 1e-2  # although the weights did move
    noisy = init.he_normal(4, 8, rng=0, dtype=np.float64)
    assert np.abs(noisy - noisy[:, :1]).max() > 0.1
