"""A long run: 200 epochs, memory flat, and the checkpoint and history consistent at the end."""

from __future__ import annotations

import gc
import math
import tracemalloc

import numpy as np
import pytest
from hardening_support import blobs

from trainlab import nn, optim
from trainlab.models import MLPConfig, build_mlp
from trainlab.train import (
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    Trainer,
    load_checkpoint,
    load_model,
    restore_checkpoint,
)

EPOCHS = 200
SAMPLE_EVERY = 20


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys against xs."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    return float(np.polyfit(x, y, 1)[0])


@pytest.mark.slow
def test_two_hundred_epochs_memory_flat_and_state_consistent(tmp_path):
    X, y = blobs(n=96, features=16, classes=4, seed=1)
    X_val, y_val = blobs(n=32, features=16, classes=4, seed=2)
    config = MLPConfig(in_features=16, hidden_sizes=(64, 64), out_features=4,
                       norm="batch", dropout=0.1)
    model = build_mlp(config, rng=0)
    samples: dict[int, int] = {}

    def measure(trainer, epoch, logs):
        if epoch % SAMPLE_EVERY == 0:
            gc.collect()
            samples[epoch] = tracemalloc.get_traced_memory()[0]

    path = tmp_path / "last.safetensors"
    trainer = Trainer(
        model, nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=1e-3), rng=0, verbose=0,
        callbacks=[LambdaCallback(on_epoch_end=measure),
                   ModelCheckpoint(path, monitor="val_loss", every=10, model_config=config),
                   EarlyStopping(patience=EPOCHS, restore_best=False)],
    )
    tracemalloc.start()
    try:
        history = trainer.fit(X, y, epochs=EPOCHS, batch_size=32, validation_data=(X_val, y_val))
    finally:
        tracemalloc.stop()

    # Memory: after warm-up, traced memory grows only by the history's rows (about 600 B
    # per epoch); keeping one 8-row batch per step would add about 2.5 kB per epoch.
    epochs = sorted(samples)[1:]
    values = [samples[e] for e in epochs]
    growth_per_epoch = slope(epochs, values)
    print(f"traced memory every {SAMPLE_EVERY} epochs: {samples}; "
          f"slope {growth_per_epoch:.0f} B/epoch")
    assert growth_per_epoch < 1536, (growth_per_epoch, samples)
    assert max(values) - min(values) < 1_000_000, samples

    # History: one finite row per epoch, counters consistent.
    assert len(history) == EPOCHS and history["epoch"] == list(range(1, EPOCHS + 1))
    assert history.stop_reason is None and history.diverged is None
    assert all(math.isfinite(v) for v in history["loss"] + history["val_loss"])
    assert trainer.epoch == EPOCHS and trainer.global_step == EPOCHS * 3
    assert history["loss"][-1] < history["loss"][0]

    # Checkpoint: the last one is of epoch 200 and agrees with the trainer exactly.
    saved = load_checkpoint(path)
    assert saved.epoch == EPOCHS and saved.global_step == EPOCHS * 3
    assert saved.history.to_dict() == history.to_dict()
    for key, value in trainer.model.state_dict().items():
        np.testing.assert_array_equal(saved.model_state[key], value)
    rebuilt = load_model(path)
    np.testing.assert_array_equal(rebuilt(X_val), trainer.predict(X_val))

    # ...and a trainer restored from it continues exactly as the original does.
    twin_model = build_mlp(config, rng=123)
    twin = Trainer(twin_model, nn.CrossEntropyLoss(), optim.Adam(twin_model.parameters()),
                   rng=5, verbose=0, callbacks=[EarlyStopping(patience=EPOCHS, restore_best=False)])
    restore_checkpoint(path, twin)
    trainer.fit(X, y, epochs=EPOCHS + 3, batch_size=32, validation_data=(X_val, y_val))
    twin.fit(X, y, epochs=EPOCHS + 3, batch_size=32, validation_data=(X_val, y_val))
    for key, value in trainer.model.state_dict().items():
        np.testing.assert_array_equal(twin.model.state_dict()[key], value)
