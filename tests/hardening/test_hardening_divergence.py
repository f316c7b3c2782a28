"""Divergence with every optimizer and both float dtypes: the NaN guard always fires,
names the epoch and the step, suggests clipping and a lower learning rate, and the last
checkpoint on disk stays finite and loadable."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hardening_support import OPTIMIZERS, blobs, small_config

from trainlab import nn
from trainlab.models import build_mlp
from trainlab.train import (
    DivergenceWarning,
    LambdaCallback,
    ModelCheckpoint,
    Trainer,
    load_checkpoint,
    load_model,
)

HUGE_LR = {"float32": 1e30, "float64": 1e250}
DTYPES = ["float32", "float64"]


def make(opt_name: str, dtype: str, callbacks=(), lr: float = 1e-2, **kw) -> Trainer:
    config = small_config(dtype)
    model = build_mlp(config, rng=0)
    return Trainer(model, nn.CrossEntropyLoss(), OPTIMIZERS[opt_name](model.parameters(), lr),
                   rng=0, verbose=0, callbacks=callbacks, **kw)


def assert_divergence_message(message: str, epoch: int) -> None:
    assert re.search(rf"diverged at epoch {epoch}, step \d+ of \d+ \(global step \d+\)", message)
    assert "clip the gradients" in message and "clip_norm" in message
    assert "lower the learning rate" in message


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_huge_learning_rate_mid_run(tmp_path, opt_name, dtype):
    """Two good epochs, then the learning rate jumps: the guard stops epoch 3, and the
    checkpoint of epoch 2 on disk is finite, loads and holds the weights of epoch 2."""
    X, y = blobs()
    snapshots = {}

    def after_epoch(trainer, epoch, logs):
        snapshots[epoch] = trainer.model.state_dict()
        if epoch == 2:
            trainer.optimizer.lr = HUGE_LR[dtype]

    path = tmp_path / "last.safetensors"
    checkpoint = ModelCheckpoint(path, monitor="loss", model_config=small_config(dtype))
    trainer = make(opt_name, dtype, [LambdaCallback(on_epoch_end=after_epoch), checkpoint])
    with pytest.warns(DivergenceWarning) as caught:
        history = trainer.fit(X, y, epochs=8, batch_size=16)
    message = str(caught[0].message)
    assert_divergence_message(message, epoch=3)
    assert history.diverged["epoch"] == 3 and history.stop_reason == message
    assert f"step {history.diverged['step']} of 3" in message
    assert f"(it is {HUGE_LR[dtype]:g})" in message
    assert trainer.epoch == 2  # the diverged epoch is not counted as completed

    saved = load_checkpoint(path)
    assert saved.epoch == 2
    for key, value in saved.model_state.items():
        assert np.isfinite(value).all(), key
        np.testing.assert_array_equal(value, snapshots[2][key])
    model = load_model(path)
    assert np.isfinite(model(X)).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_huge_initialisation_stops_at_the_first_step(tmp_path, opt_name, dtype):
    X, y = blobs()
    path = tmp_path / "never.safetensors"
    trainer = make(opt_name, dtype, [ModelCheckpoint(path, monitor="loss")])
    for p in trainer.model.parameters():
        p.data *= p.data.dtype.type(1e30 if dtype == "float32" else 1e200)
    with pytest.warns(DivergenceWarning) as caught:
        history = trainer.fit(X, y, epochs=3, batch_size=16)
    assert_divergence_message(str(caught[0].message), epoch=1)
    assert history.diverged["step"] == 1 and history.diverged["global_step"] == 1
    assert trainer.global_step == 0
    assert not path.exists()  # nothing finite was ever reached: nothing written


@pytest.mark.parametrize("dtype", DTYPES)
def test_guard_keeps_the_weights_of_the_last_finite_step(dtype):
    X, y = blobs()
    seen = []

    def remember(trainer, batch, loss):
        seen.append({k: v.copy() for k, v in trainer.model.state_dict().items()})

    def explode(trainer, epoch, logs):
        trainer.optimizer.lr = HUGE_LR[dtype]

    trainer = make("SGD", dtype, [LambdaCallback(on_batch_end=remember, on_epoch_end=explode)])
    with pytest.warns(DivergenceWarning) as caught:
        trainer.fit(X, y, epochs=5, batch_size=16)
    message = str(caught[0].message)
    weights_ok = all(np.isfinite(p.data).all() for p in trainer.model.parameters())
    assert ("keeps the weights of the last finite step" in message) == weights_ok
    assert ("reload the last checkpoint" in message) == (not weights_ok)
    if weights_ok:
        for k, v in trainer.model.state_dict().items():
            np.testing.assert_array_equal(v, seen[-1][k])


@pytest.mark.parametrize("dtype", DTYPES)
def test_without_the_guard_the_losses_turn_nan_and_the_checkpoint_survives(tmp_path, dtype):
    """nan_guard=False: as in a PyTorch loop, no layer raises; the run goes on with NaN
    losses, and the last finite checkpoint stays on disk, finite and loadable."""
    X, y = blobs()
    path = tmp_path / "last.safetensors"

    def explode(trainer, epoch, logs):
        if epoch == 2:
            trainer.optimizer.lr = HUGE_LR[dtype]

    trainer = make("SGD", dtype, [LambdaCallback(on_epoch_end=explode),
                                  ModelCheckpoint(path, monitor="loss",
                                                  model_config=small_config(dtype))],
                   nan_guard=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow, unguarded on purpose
        warnings.simplefilter("ignore", UserWarning)  # ModelCheckpoint keeps the last finite one
        history = trainer.fit(X, y, epochs=6, batch_size=16)
    assert history.diverged is None and trainer.epoch == 6
    assert np.isfinite(history["loss"][:2]).all() and np.isnan(history["loss"][-1])
    saved = load_checkpoint(path)
    assert saved.epoch >= 2
    assert all(np.isfinite(v).all() for v in saved.model_state.values())
    load_model(path)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_clipping_is_the_remedy_it_names(opt_name):
    """A rate that diverges unclipped trains to a finite loss with clip_norm=1.0 (SGD),
    or at least never produces a non-finite loss (Adam's steps are bounded by lr)."""
    X, y = blobs()
    lr = 50.0 if opt_name == "SGD" else 1.0
    trainer = make(opt_name, "float64", clip_norm=1.0, lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        history = trainer.fit(X, y, epochs=3, batch_size=16)
    assert history.diverged is None and np.isfinite(history["loss"]).all()
