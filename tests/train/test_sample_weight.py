"""Trainer.fit(sample_weight=...): the weighted mean loss, checked against torch."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn, optim
from trainlab.train import Trainer


def test_one_full_batch_step_matches_torch(torch, rng):
    X = rng.normal(size=(12, 3))
    y = rng.integers(0, 4, size=12)
    s = rng.uniform(0.0, 2.0, size=12)
    model = nn.Linear(3, 4, rng=0, dtype=np.float64)
    W0, b0 = model.weight.data.copy(), model.bias.data.copy()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5),
                      rng=0, verbose=0)
    trainer.fit(X, y, epochs=1, batch_size=12, sample_weight=s)

    W = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    per = torch.nn.functional.cross_entropy(torch.tensor(X) @ W + b, torch.tensor(y),
                                            reduction="none")
    loss = (per * torch.tensor(s)).sum() / torch.tensor(s).sum()
    loss.backward()
    np.testing.assert_allclose(model.weight.data, (W - 0.5 * W.grad).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(trainer.history.rows[0]["loss"], loss.item(), rtol=1e-10)


def test_bad_sample_weight_is_named(rng):
    model = nn.Linear(3, 2, rng=0)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()), verbose=0)
    with pytest.raises(ValueError, match=r"fit: expected sample_weight of shape \(5,\)"):
        trainer.fit(rng.normal(size=(5, 3)), [0, 1, 0, 1, 0], sample_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="not all zero"):
        trainer.fit(rng.normal(size=(5, 3)), [0, 1, 0, 1, 0], sample_weight=np.zeros(5))


def test_l1_and_huber_are_regression_losses():
    from trainlab.train.targets import infer_task

    assert infer_task(nn.HuberLoss()) == infer_task(nn.L1Loss()) == "regression"
