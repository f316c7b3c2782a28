"""nn.Residual: y = x + f(x), its closed-form backward (central differences and torch), the
Monitor's view inside it, and build_mlp's residual hidden blocks."""

from __future__ import annotations

import numpy as np
import pytest

import trainlab as tl
from trainlab import nn, optim
from trainlab.diagnostics import Monitor
from trainlab.diagnostics.probe import layer_chain
from trainlab.models import MLPConfig, build_mlp
from trainlab.train import Trainer


def block(dtype=np.float64):
    return nn.Residual(nn.Linear(4, 4, rng=0, dtype=dtype), nn.LayerNorm(4, dtype=dtype),
                       nn.Tanh())


def test_gradients_by_central_differences(rng):
    assert tl.gradcheck(nn.Sequential(nn.Linear(3, 4, rng=1, dtype=np.float64), block()),
                        rng.normal(size=(5, 3)), atol=1e-8, rtol=1e-6)


def test_matches_torch(torch, rng):
    layer = block()
    x = rng.normal(size=(6, 4))
    dy = rng.normal(size=(6, 4))
    y = layer.forward(x)
    dx = layer.backward(dy)
    lin = layer[0]
    tx = torch.tensor(x, requires_grad=True)
    W = torch.tensor(lin.weight.data, requires_grad=True)
    b = torch.tensor(lin.bias.data, requires_grad=True)
    h = torch.nn.functional.layer_norm(tx @ W + b, (4,), eps=1e-5)
    ty = tx + torch.tanh(h)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(lin.weight.grad, W.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_input_grad_false_still_accumulates_parameters(rng):
    layer = block()
    x, dy = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    layer.forward(x)
    layer.backward(dy)
    expected = layer[0].weight.grad.copy()
    layer.zero_grad()
    layer.forward(x)
    assert layer.backward(dy, input_grad=False) is None
    np.testing.assert_array_equal(layer[0].weight.grad, expected)


def test_width_must_be_kept(rng):
    with pytest.raises(ValueError, match=r"Residual: f must keep the input's shape"):
        nn.Residual(nn.Linear(4, 3, rng=0)).forward(rng.normal(size=(2, 4)))
    with pytest.raises(ValueError, match="at least one module"):
        nn.Residual()


def test_build_mlp_residual_blocks_and_the_monitor_inside(rng):
    config = MLPConfig(in_features=5, hidden_sizes=(8, 8, 8), out_features=3, residual=True,
                       norm="batch")
    model = build_mlp(config, rng=0)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "BatchNorm", "ReLU", "Residual", "Residual", "Linear"]
    names = [name for name, _ in layer_chain(model)]
    assert "3.0" in names and "4.2" in names  # the layers inside the blocks
    assert MLPConfig.from_dict(config.to_dict()) == config
    monitor = Monitor(every=1, warn=False)
    X, y = rng.normal(size=(40, 5)).astype(np.float32), rng.integers(0, 3, size=40)
    Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), rng=0, verbose=0,
            callbacks=[monitor]).fit(X, y, epochs=1, batch_size=20)
    recorded = [layer.name for layer in monitor.last_record.layers]
    assert recorded == names
    assert all(np.isfinite(layer.grad_rms) for layer in monitor.last_record.layers)


def test_residual_needs_an_equal_width():
    with pytest.raises(ValueError, match="residual blocks need a hidden layer as wide"):
        MLPConfig(in_features=5, hidden_sizes=(8, 4), residual=True)
    assert "residual" not in MLPConfig(in_features=5).to_dict()  # old files read back the same
