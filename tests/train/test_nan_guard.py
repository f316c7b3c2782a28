"""The NaN guard: divergence stops training with a message, the last finite checkpoint stays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab import nn, optim
from trainlab.models import MLPConfig, build_mlp
from trainlab.train import (
    DivergenceWarning,
    LambdaCallback,
    ModelCheckpoint,
    Trainer,
    load_checkpoint,
)


def make_trainer(*callbacks, loss=None, lr=0.05, **kwargs):
    model = build_mlp(MLPConfig(64, (32,), 10), rng=0)
    return Trainer(
        model,
        loss or nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=lr),
        callbacks=list(callbacks),
        rng=0,
        verbose=0,
        **kwargs,
    )


def explode_at_epoch(epoch):
    """From ``epoch`` on, a learning rate so large that the loss diverges."""

    def on_epoch_begin(trainer, e):
        if e == epoch:
            trainer.optimizer.lr = 1e12

    return LambdaCallback(on_epoch_begin=on_epoch_begin)


def test_a_huge_learning_rate_stops_training_and_keeps_the_last_finite_checkpoint(
    small_digits, tmp_path
):
    X, y, Xv, yv = small_digits
    path = tmp_path / "last.safetensors"
    trainer = make_trainer(explode_at_epoch(3), ModelCheckpoint(path))
    with pytest.warns(DivergenceWarning) as record:
        history = trainer.fit(X, y, epochs=6, validation_data=(Xv, yv))
    message = str(record[0].message)
    diverged = history.diverged
    assert diverged["epoch"] == 3 and 1 <= diverged["step"] <= trainer.batches_per_epoch
    assert diverged["global_step"] == 2 * trainer.batches_per_epoch + diverged["step"]
    assert (
        f"Training diverged at epoch 3, step {diverged['step']} of {trainer.batches_per_epoch}"
        in message
    )
    for remedy in (
        "clip_norm",
        "clip_value",
        "lower the learning rate (it is 1e+12)",
        "ExponentialLR",
        "Standardizer",
        "norm='batch'",
    ):
        assert remedy in message, remedy
    assert history.stop_reason == message
    assert trainer.epoch == 2 and history["epoch"] == [1, 2, 3]
    assert math.isfinite(history["loss"][1])
    checkpoint = load_checkpoint(path)
    assert checkpoint.epoch == 2
    assert all(np.isfinite(value).all() for value in checkpoint.model_state.values())


class FlakyLoss(nn.CrossEntropyLoss):
    """Cross-entropy whose value (or gradient) is NaN at one global call."""

    def __init__(self, at, where):
        super().__init__()
        self.calls, self.at, self.where = 0, at, where

    def forward(self, pred, target):
        self.calls += 1
        value = super().forward(pred, target)
        return math.nan if self.where == "loss" and self.calls == self.at else value

    def backward(self):
        grad = super().backward()
        if self.where == "grad" and self.calls == self.at:
            grad[0, 0] = np.nan
        return grad


def test_a_nan_gradient_is_caught_before_the_step(small_digits):
    X, y, _, _ = small_digits
    snapshots = []
    trainer = make_trainer(
        LambdaCallback(on_batch_end=lambda t, b, loss: snapshots.append(t.model.state_dict())),
        loss=FlakyLoss(at=13, where="grad"),
    )
    with pytest.warns(
        DivergenceWarning,
        match=r"epoch 2, step 3 of 10 \(global step 13\): the gradient "
        r"of '0.weight' contains NaN or infinite values",
    ):
        history = trainer.fit(X, y, epochs=3)
    assert history.diverged == {
        "epoch": 2,
        "step": 3,
        "global_step": 13,
        "cause": "the gradient of '0.weight' contains NaN or infinite values",
    }
    assert "The failing update was not applied" in history.stop_reason
    assert trainer.global_step == 12
    for key, value in trainer.model.state_dict().items():  # the weights after step 12
        np.testing.assert_array_equal(value, snapshots[-1][key])


def test_a_nan_loss_is_caught(small_digits):
    X, y, _, _ = small_digits
    trainer = make_trainer(loss=FlakyLoss(at=4, where="loss"))
    with pytest.warns(
        DivergenceWarning, match=r"epoch 1, step 4 of 10 \(global step 4\): the loss is nan"
    ):
        history = trainer.fit(X, y, epochs=2)
    assert len(history) == 1 and math.isnan(history["loss"][0]) and trainer.epoch == 0


def test_with_clipping_the_same_run_does_not_diverge(small_digits):
    X, y, _, _ = small_digits
    trainer = make_trainer(clip_value=1e-6, lr=1e5)
    history = trainer.fit(X, y, epochs=2)
    assert history.diverged is None and trainer.epoch == 2


def test_without_the_guard_training_runs_on_with_nan_losses(small_digits):
    """nan_guard=False: as in a PyTorch loop, nothing raises; the losses become NaN."""
    X, y, _, _ = small_digits
    trainer = make_trainer(explode_at_epoch(1), nan_guard=False)
    with np.errstate(all="ignore"):
        history = trainer.fit(X, y, epochs=3)
    assert history.diverged is None and trainer.epoch == 3
    assert all(math.isnan(loss) for loss in history["loss"][1:])


def test_a_plain_loop_that_diverges_yields_nan_losses(small_digits):
    """A hand-written loop with a learning rate far too large: no layer raises, the loss
    becomes nan (then stays nan), as it would in PyTorch."""
    X, y, _, _ = small_digits
    model = build_mlp(MLPConfig(64, (32, 32), 10), rng=0)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=1e6)
    losses = []
    with np.errstate(all="ignore"):
        for step in range(20):
            batch = slice(16 * step % 300, 16 * step % 300 + 16)
            losses.append(loss_fn(model(X[batch]), y[batch]))
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()
    assert math.isfinite(losses[0])
    first_nan = next(i for i, loss in enumerate(losses) if math.isnan(loss))
    assert all(math.isnan(loss) for loss in losses[first_nan:])


def test_inside_detect_anomaly_the_guard_names_the_layer(small_digits):
    import trainlab as tl

    X, y, _, _ = small_digits
    trainer = make_trainer()
    trainer.model[2].weight.data[0, 0] = np.inf  # the output layer
    with tl.detect_anomaly(), pytest.warns(
        DivergenceWarning,
        match=r"epoch 1, step 1 of 10 \(global step 1\): the forward pass produced NaN or "
        r"infinite values \(detect_anomaly: .* output of layer 2 \(Linear\) of Sequential",
    ):
        history = trainer.fit(X, y, epochs=2)
    assert history.diverged["step"] == 1 and trainer.global_step == 0
