"""EarlyStopping, learning-rate schedules stepped by the trainer, ModelCheckpoint."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn, optim
from trainlab.models import MLPConfig, build_mlp
from trainlab.train import (
    Callback,
    EarlyStopping,
    LRScheduler,
    ModelCheckpoint,
    Trainer,
    load_checkpoint,
)


class Score(Callback):
    """Puts a scripted metric ``score`` into each epoch's logs and snapshots the weights."""

    order = -20  # before the schedules

    def __init__(self, values):
        self.values = values
        self.snapshots = {}

    def on_epoch_end(self, trainer, epoch, logs):
        logs["score"] = self.values[epoch - 1]
        self.snapshots[epoch] = trainer.model.state_dict()


def make_trainer(*callbacks, optimizer=optim.Adam, lr=1e-2, seed=0, **kwargs):
    model = build_mlp(MLPConfig(64, (16,), 10), rng=seed)
    opt = optimizer(model.parameters(), lr=lr)
    return Trainer(
        model, nn.CrossEntropyLoss(), opt, callbacks=list(callbacks), rng=seed, verbose=0, **kwargs
    )


def assert_weights_equal(model, state):
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)


def test_early_stopping_restores_the_best_weights(small_digits):
    X, y, _, _ = small_digits
    score = Score([5.0, 3.0, 4.0, 2.5, 2.6, 2.7, 1.0, 0.5])
    stopper = EarlyStopping(monitor="score", patience=2)
    trainer = make_trainer(score, stopper)
    history = trainer.fit(X, y, epochs=8)
    assert len(history) == trainer.epoch == 6
    assert stopper.best_epoch == 4 and stopper.best == 2.5 and stopper.stopped_epoch == 6
    assert "Early stopping at epoch 6" in history.stop_reason and "epoch 4" in history.stop_reason
    assert_weights_equal(trainer.model, score.snapshots[4])
    assert history["score"] == [5.0, 3.0, 4.0, 2.5, 2.6, 2.7]


def test_early_stopping_without_restore_keeps_the_last_weights(small_digits):
    X, y, _, _ = small_digits
    score = Score([1.0, 2.0, 3.0])
    trainer = make_trainer(score, EarlyStopping(monitor="score", patience=1, restore_best=False))
    assert len(trainer.fit(X, y, epochs=3)) == 2
    assert_weights_equal(trainer.model, score.snapshots[2])


def test_early_stopping_min_delta_and_max_mode(small_digits):
    X, y, _, _ = small_digits
    trainer = make_trainer(
        Score([1.0, 0.95, 0.9, 0.85]), EarlyStopping(monitor="score", patience=2, min_delta=0.1)
    )
    assert len(trainer.fit(X, y, epochs=4)) == 3  # 0.95 and 0.9 are not better by 0.1
    accuracy_stopper = EarlyStopping(monitor="accuracy", patience=0)
    assert accuracy_stopper.mode == "max"
    trainer = make_trainer(Score([0.0] * 4), EarlyStopping(monitor="score", mode="max", patience=1))
    assert len(trainer.fit(X, y, epochs=4)) == 2


def test_early_stopping_on_real_validation_loss(small_digits):
    X, y, Xv, yv = small_digits
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 10, size=y.shape)  # random labels: the validation loss must rise
    stopper = EarlyStopping(patience=2)
    trainer = make_trainer(stopper, lr=3e-2)
    history = trainer.fit(X[:100], noisy[:100], epochs=40, validation_data=(Xv, yv))
    assert len(history) < 40
    best = int(np.argmin(history["val_loss"])) + 1
    assert stopper.best_epoch == best
    assert trainer.evaluate(Xv, yv)["loss"] == pytest.approx(min(history["val_loss"]), rel=1e-6)


def test_reduce_lr_on_plateau_gets_the_monitored_metric_as_torch_does(small_digits, torch):
    X, y, _, _ = small_digits
    values = [1.0, 0.9, 0.95, 0.91, 0.92, 0.5, 0.6, 0.7, 0.8, 0.9]
    model = build_mlp(MLPConfig(64, (8,), 10), rng=0)
    opt = optim.SGD(model.parameters(), lr=1.0)
    plateau = optim.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        opt,
        rng=0,
        verbose=0,
        callbacks=[Score(values), LRScheduler(plateau, monitor="score")],
    )
    history = trainer.fit(X[:32], y[:32], epochs=len(values))
    assert trainer.schedule is plateau

    p = torch.nn.Parameter(torch.zeros(1))
    torch_opt = torch.optim.SGD([p], lr=1.0)
    torch_plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, factor=0.5, patience=1)
    expected = []
    for value in values:
        expected.append(torch_opt.param_groups[0]["lr"])
        torch_plateau.step(value)
    assert history["lr"] == expected
    assert len(set(expected)) > 2  # the rate was reduced more than once
    assert opt.lr == torch_opt.param_groups[0]["lr"]


def test_reduce_lr_on_plateau_defaults_to_val_loss(small_digits):
    X, y, Xv, yv = small_digits
    seen = []

    class Recording(optim.ReduceLROnPlateau):
        def step(self, metric):
            seen.append(metric)
            super().step(metric)

    model = build_mlp(MLPConfig(64, (8,), 10), rng=0)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, schedule=Recording(opt), rng=0, verbose=0)
    history = trainer.fit(X, y, epochs=3, validation_data=(Xv, yv))
    assert seen == history["val_loss"]
    with pytest.raises(ValueError, match="monitor='val_loss' needs validation data"):
        trainer.fit(X, y, epochs=4)


def test_model_checkpoint_best_only_and_every(small_digits, tmp_path):
    X, y, _, _ = small_digits
    best = ModelCheckpoint(tmp_path / "best.safetensors", monitor="score", save_best_only=True)
    every = ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}.safetensors", every=2)
    trainer = make_trainer(Score([3.0, 1.0, 2.0, 1.5, 0.5, 0.7]), best, every)
    trainer.fit(X[:64], y[:64], epochs=6)
    assert load_checkpoint(tmp_path / "best.safetensors").epoch == 5
    assert best.best == 0.5 and best.best_epoch == 5
    assert sorted(p.name for p in tmp_path.glob("ckpt-*")) == [
        "ckpt-02.safetensors",
        "ckpt-04.safetensors",
        "ckpt-06.safetensors",
    ]
    assert load_checkpoint(tmp_path / "ckpt-04.safetensors").global_step == 4 * 2


def test_callback_argument_errors():
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'. Received: 'up'"):
        EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="patience must be an integer >= 0"):
        EarlyStopping(patience=-1)
    with pytest.raises(TypeError, match="schedule must be a trainlab.optim schedule"):
        LRScheduler(object())
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        ModelCheckpoint("x.safetensors", every=0)
