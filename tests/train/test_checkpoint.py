"""Checkpoints: exact resumption, integrity checks, atomic writes, mismatched models."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
import safetensors.numpy

from trainlab import data, nn, optim
from trainlab.models import MLPConfig, build_mlp
from trainlab.train import (
    CheckpointError,
    EarlyStopping,
    ModelCheckpoint,
    Trainer,
    load_checkpoint,
    load_model,
    module_generators,
    restore_checkpoint,
    save_checkpoint,
)

CONFIG = MLPConfig(64, (32, 16), 10, dropout=0.2, dropconnect=0.1, norm="batch")


def build(model_seed, trainer_seed, *callbacks, config=CONFIG, optimizer=optim.Adam, model=None):
    """A run with every source of randomness and state: DropConnect and Dropout masks,
    BatchNorm buffers, Adam moments, a schedule, augmentation, early-stopping state."""
    model = model or build_mlp(config, rng=model_seed)
    opt = optimizer(model.parameters(), lr=1e-2)
    return Trainer(
        model,
        nn.CrossEntropyLoss(),
        opt,
        schedule=optim.ExponentialLR(opt, gamma=0.8),
        transform=data.GaussianNoise(0.3),
        callbacks=[EarlyStopping(monitor="loss", patience=100), *callbacks],
        rng=trainer_seed,
        verbose=0,
    )


def assert_identical(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    for key, value in sa["model"].items():
        np.testing.assert_array_equal(value, sb["model"][key], err_msg=key)
    assert sa["model_rngs"] == sb["model_rngs"] and sa["rng"] == sb["rng"]
    for i, state in sa["optimizer"]["state"].items():
        for name, value in state.items():
            np.testing.assert_array_equal(value, sb["optimizer"]["state"][i][name])
    assert sa["optimizer"]["hyperparameters"] == sb["optimizer"]["hyperparameters"]
    assert sa["schedule"] == sb["schedule"]
    assert (sa["epoch"], sa["global_step"]) == (sb["epoch"], sb["global_step"])
    for key in a.history.keys():
        if key != "epoch_time":
            assert a.history[key] == b.history[key], key


def test_resume_is_bit_identical_to_training_straight_through(small_digits, tmp_path):
    X, y, Xv, yv = small_digits
    straight = build(0, 1)
    straight.fit(X, y, epochs=6, batch_size=32, validation_data=(Xv, yv))

    path = tmp_path / "run.safetensors"
    first = build(0, 1, ModelCheckpoint(path))
    first.fit(X, y, epochs=3, batch_size=32, validation_data=(Xv, yv))

    resumed = build(123, 456)  # other seeds: everything must come from the checkpoint
    checkpoint = restore_checkpoint(path, resumed)
    assert checkpoint.epoch == resumed.epoch == 3 and len(resumed.history) == 3
    assert resumed.optimizer.lr == pytest.approx(1e-2 * 0.8**3)
    resumed.fit(X, y, epochs=6, batch_size=32, validation_data=(Xv, yv))
    assert_identical(straight, resumed)
    stoppers = [
        [cb for cb in t.callbacks if isinstance(cb, EarlyStopping)][0] for t in (straight, resumed)
    ]
    assert stoppers[0].best == stoppers[1].best and stoppers[0].best_epoch == stoppers[1].best_epoch


def test_checkpoint_keeps_config_standardizer_and_extra(small_digits, tmp_path):
    X, y, _, _ = small_digits
    trainer = build(0, 1)
    trainer.fit(X[:64], y[:64], epochs=1)
    scaler = data.Standardizer().fit(X * 3 + 1)
    path = save_checkpoint(
        tmp_path / "sub" / "c.safetensors",
        trainer,
        model_config=CONFIG,
        standardizer=scaler,
        extra={"note": "digits", "seed": 0},
    )
    checkpoint = load_checkpoint(path)
    assert checkpoint.model_config == CONFIG.to_dict()
    assert checkpoint.extra == {"note": "digits", "seed": 0}
    assert checkpoint.trainlab_version == __import__("trainlab").__version__
    restored = data.Standardizer()
    restore_checkpoint(checkpoint, build(0, 1), standardizer=restored)
    np.testing.assert_array_equal(restored.mean, scaler.mean)
    np.testing.assert_array_equal(restored.std, scaler.std)

    model = load_model(path)
    assert not model.training
    np.testing.assert_array_equal(model(X[:20]), trainer.predict(X[:20]))
    assert {k: g.bit_generator.state for k, g in module_generators(model).items()} == {
        k: g.bit_generator.state for k, g in module_generators(trainer.model).items()
    }


def test_checkpoint_is_a_plain_safetensors_file_and_loading_never_unpickles(
    small_digits, tmp_path, monkeypatch
):
    X, y, _, _ = small_digits
    trainer = build(0, 1)
    trainer.fit(X[:64], y[:64], epochs=1)
    path = save_checkpoint(tmp_path / "c.safetensors", trainer)
    tensors = safetensors.numpy.load_file(path)
    np.testing.assert_array_equal(tensors["trainer/model/0.weight"], trainer.model[0].weight.data)
    assert "trainer/optimizer/state/0/exp_avg" in tensors

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(np, "load", refuse)
    restore_checkpoint(path, build(5, 6))


@pytest.fixture
def saved(small_digits, tmp_path):
    X, y, _, _ = small_digits
    trainer = build(0, 1)
    trainer.fit(X[:64], y[:64], epochs=1)
    return save_checkpoint(tmp_path / "c.safetensors", trainer)


def test_truncated_files_are_detected(saved):
    data_ = saved.read_bytes()
    for size in (len(data_) - 10, len(data_) // 2, 100, 4, 0):
        saved.write_bytes(data_[:size])
        with pytest.raises(CheckpointError, match="truncated"):
            load_checkpoint(saved)


def test_a_flipped_bit_is_detected(saved):
    original = saved.read_bytes()
    header = 8 + int.from_bytes(original[:8], "little")
    for position in (header + 5, len(original) - 3):
        corrupted = bytearray(original)
        corrupted[position] ^= 0x04
        saved.write_bytes(bytes(corrupted))
        with pytest.raises(CheckpointError, match="does not match its SHA-256"):
            load_checkpoint(saved)


def _rewrite(path, change):
    """Rewrite the checkpoint with its metadata changed but the old digest kept."""
    with open(path, "rb") as f:
        raw = f.read()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    metadata = header["__metadata__"]
    change(metadata)
    safetensors.numpy.save_file(safetensors.numpy.load_file(path), path, metadata=metadata)


def test_edited_metadata_is_detected(saved):
    def more_epochs(metadata):
        content = json.loads(metadata["trainlab"])
        content["trainer"]["epoch"] = 99
        metadata["trainlab"] = json.dumps(content)

    _rewrite(saved, more_epochs)
    with pytest.raises(CheckpointError, match="corrupted or was modified"):
        load_checkpoint(saved)


def test_files_that_are_not_trainlab_checkpoints(tmp_path):
    path = tmp_path / "other.safetensors"
    safetensors.numpy.save_file({"w": np.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="no readable trainlab header"):
        load_checkpoint(path)
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(CheckpointError, match="no readable trainlab header"):
        load_checkpoint(path)


def test_another_format_is_refused(saved):
    from trainlab.train.checkpoint import _digest

    def future(metadata):
        content = json.loads(metadata["trainlab"])
        content["format"] = 2
        metadata["trainlab"] = json.dumps(content)
        metadata["sha256"] = _digest(metadata["trainlab"], safetensors.numpy.load_file(saved))

    _rewrite(saved, future)
    with pytest.raises(CheckpointError, match="format 2; this version of trainlab reads format 1"):
        load_checkpoint(saved)


def test_a_crash_while_writing_keeps_the_old_checkpoint(small_digits, tmp_path, monkeypatch):
    X, y, _, _ = small_digits
    trainer = build(0, 1)
    trainer.fit(X[:64], y[:64], epochs=1)
    path = save_checkpoint(tmp_path / "c.safetensors", trainer)
    trainer.fit(X[:64], y[:64], epochs=2)

    def crash(src, dst):
        raise OSError("simulated crash")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save_checkpoint(path, trainer)
    monkeypatch.undo()
    assert load_checkpoint(path).epoch == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]  # no temporary left


def test_a_different_architecture_is_named(saved):
    wider = build(
        0, 1, config=MLPConfig(64, (32, 8), 10, dropout=0.2, dropconnect=0.1, norm="batch")
    )
    with pytest.raises(
        ValueError,
        match=r"layer '4' \(DropConnect\): '4.weight' has shape \(32, 8\) "
        r"in the model and \(32, 16\) in the checkpoint",
    ):
        restore_checkpoint(saved, wider)
    layers = list(build_mlp(CONFIG, rng=0))
    layers[3] = nn.Identity()  # the same weights and buffers, one generator fewer
    no_dropout = build(0, 1, model=nn.Sequential(*layers))
    with pytest.raises(
        ValueError,
        match=r"layer '3' \(Identity\): the checkpoint holds a random "
        r"generator '3.rng' that the model does not",
    ):
        restore_checkpoint(saved, no_dropout)
    no_norm = build(0, 1, config=MLPConfig(64, (32, 16), 10, dropout=0.2, dropconnect=0.1))
    with pytest.raises(ValueError, match="does not match the checkpoint"):
        restore_checkpoint(saved, no_norm)
    float64 = build(0, 1, config=MLPConfig(**{**CONFIG.to_dict(), "dtype": "float64"}))
    with pytest.raises(ValueError, match=r"'0.weight' is float64 in the model and float32"):
        restore_checkpoint(saved, float64)
    sgd = build(0, 1, optimizer=optim.SGD)
    before = sgd.model.state_dict()
    with pytest.raises(ValueError, match="the state has the optimizer Adam; this trainer has SGD"):
        restore_checkpoint(saved, sgd)
    assert sgd.epoch == 0  # nothing was changed
    for key, value in sgd.model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_load_model_needs_a_config(saved):
    with pytest.raises(ValueError, match="holds no model_config"):
        load_model(saved)
