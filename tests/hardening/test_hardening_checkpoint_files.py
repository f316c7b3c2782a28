"""Hostile checkpoint files: truncated, bit-flipped, edited, from another model, or a pickle.

Every one ends in a ValueError (``CheckpointError`` for a file that cannot be trusted)
whose message names the file and the problem; a failed restore changes nothing.
"""

from __future__ import annotations

import json
import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from hardening_support import FUZZ, assert_clear_error, blobs, small_config, small_trainer
from hypothesis import given
from hypothesis import strategies as st

from trainlab import data
from trainlab.train import (
    CheckpointError,
    EarlyStopping,
    load_checkpoint,
    load_model,
    restore_checkpoint,
    save_checkpoint,
)
from trainlab.train import checkpoint as checkpoint_module


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, bytes]:
    """A checkpoint of a small trained model (with a standardizer), and its bytes."""
    X, y = blobs()
    trainer = small_trainer(callbacks=[EarlyStopping(monitor="loss", patience=10)])
    trainer.fit(X, y, epochs=2, batch_size=16)
    path = tmp_path_factory.mktemp("ckpt") / "good.safetensors"
    save_checkpoint(path, trainer, model_config=small_config(),
                    standardizer=data.Standardizer().fit(X))
    return path, path.read_bytes()


def header_size(raw: bytes) -> int:
    return int.from_bytes(raw[:8], "little")


def write(tmp_path: Path, raw: bytes, name: str = "hostile.safetensors") -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def assert_untrusted(path: Path, *words: str) -> CheckpointError:
    err = assert_clear_error(lambda: load_checkpoint(path), str(path), *words,
                             kinds=(CheckpointError,))
    assert_clear_error(lambda: load_model(path), str(path), kinds=(CheckpointError,))
    return err


def test_the_intact_checkpoint_loads(saved):
    path, _ = saved
    assert load_checkpoint(path).epoch == 2
    assert load_model(path) is not None


@pytest.mark.parametrize("keep", [0, 1, 7, 8, 9, 64, 0.25, 0.5, 0.9, -8, -1])
def test_truncated_checkpoint(tmp_path, saved, keep):
    _, raw = saved
    if isinstance(keep, float):
        n = int(len(raw) * keep)
    else:
        n = keep if keep >= 0 else len(raw) + keep
    assert_untrusted(write(tmp_path, raw[:n]), "truncated")


def test_checkpoint_with_bytes_appended(tmp_path, saved):
    _, raw = saved
    assert_untrusted(write(tmp_path, raw + b"\x00" * 16))


def _flip_sample(raw: bytes, region: str, count: int, seed: int) -> list[tuple[int, int]]:
    start, stop = {"length": (0, 8), "header": (8, 8 + header_size(raw)),
                   "tensors": (8 + header_size(raw), len(raw))}[region]
    rng = random.Random(seed)
    return [(rng.randrange(start, stop), rng.randrange(8)) for _ in range(count)]


@pytest.mark.parametrize("region, count", [("length", 24), ("header", 120), ("tensors", 120)])
def test_every_bit_flip_is_detected(tmp_path, saved, region, count):
    """A single flipped bit anywhere (the length prefix, the JSON header with the trainlab
    metadata, the weights) is reported, never loaded: 264 seeded flips in all."""
    _, raw = saved
    for pos, bit in _flip_sample(raw, region, count, seed=hash(region) % 1000):
        corrupted = bytearray(raw)
        corrupted[pos] ^= 1 << bit
        path = write(tmp_path, bytes(corrupted))
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert str(path) in str(info.value), (pos, bit, info.value)


def _edit_metadata(raw: bytes, edit, *, resign: bool) -> bytes:
    """Change the trainlab JSON; with ``resign`` recompute the digest as a writer would."""
    arrays = safetensors.numpy.load(raw)
    header = json.loads(raw[8:8 + header_size(raw)])
    meta = header["__metadata__"]
    content = json.loads(meta["trainlab"])
    edit(content)
    text = json.dumps(content)
    digest = checkpoint_module._digest(text, arrays) if resign else meta["sha256"]
    return safetensors.numpy.save(arrays, metadata={"trainlab": text, "sha256": digest})


@pytest.mark.parametrize("edit", [
    lambda c: c["trainer"].__setitem__("epoch", 99),
    lambda c: c["trainer"]["optimizer"]["hyperparameters"].__setitem__("lr", 10.0),
    lambda c: c["model_config"].__setitem__("hidden_sizes", [7]),
    lambda c: c.__setitem__("extra", {"note": "edited"}),
    lambda c: c["trainer"]["history"]["metrics"]["loss"].__setitem__(0, 0.0),
], ids=["epoch", "lr", "model_config", "extra", "history"])
def test_tampered_metadata_is_caught_by_the_stored_sha256(tmp_path, saved, edit):
    _, raw = saved
    assert_untrusted(write(tmp_path, _edit_metadata(raw, edit, resign=False)), "SHA-256")


def test_tampered_digest_is_caught(tmp_path, saved):
    _, raw = saved
    header = json.loads(raw[8:8 + header_size(raw)])
    arrays = safetensors.numpy.load(raw)
    forged = safetensors.numpy.save(arrays, metadata={
        "trainlab": header["__metadata__"]["trainlab"], "sha256": "0" * 64})
    assert_untrusted(write(tmp_path, forged), "SHA-256")


def test_tampered_weights_are_caught(tmp_path, saved):
    _, raw = saved
    arrays = safetensors.numpy.load(raw)
    header = json.loads(raw[8:8 + header_size(raw)])
    name = next(k for k in arrays if k.endswith("weight"))
    arrays[name] = arrays[name] * 2
    forged = safetensors.numpy.save(arrays, metadata=header["__metadata__"])
    assert_untrusted(write(tmp_path, forged), "SHA-256")


@pytest.mark.parametrize("edit, words", [
    (lambda c: c.pop("trainer"), ["'trainer'", "incomplete"]),
    (lambda c: c.__setitem__("trainer", 5), ["'trainer'", "int"]),
    (lambda c: c["trainer"].pop("optimizer"), ["optimizer", "incomplete"]),
    (lambda c: c["trainer"].__setitem__("model_rngs", [1]), ["model_rngs"]),
    (lambda c: c["trainer"].__setitem__("callbacks", None), ["callbacks"]),
    (lambda c: c.__setitem__("model_config", "mlp"), ["model_config"]),
    (lambda c: c["standardizer"].pop("state"), ["standardizer"]),
    (lambda c: c.__setitem__("format", 2), ["format 2"]),
    (lambda c: c.pop("trainlab_version"), ["trainlab_version"]),
    (lambda c: c["trainer"]["model"].__setitem__("0.weight", {"__array__": "nope"}),
     ["missing tensor 'nope'"]),
], ids=["no-trainer", "trainer-int", "no-optimizer", "rngs-list", "callbacks-none",
        "config-str", "standardizer-no-state", "format-2", "no-version", "dangling-tensor"])
def test_well_signed_but_malformed_checkpoint(tmp_path, saved, edit, words):
    """A file whose digest matches but whose content is not a trainlab checkpoint of this
    format (another writer, another version) is refused with what is wrong."""
    _, raw = saved
    assert_untrusted(write(tmp_path, _edit_metadata(raw, edit, resign=True)), *words)


@pytest.mark.parametrize("edit, words", [
    (lambda c: c["model_config"].__setitem__("in_features", -3), ["in_features"]),
    (lambda c: c["model_config"].__setitem__("evil", 1), ["evil"]),
    (lambda c: c["model_config"].__setitem__("hidden_sizes", [7]), ["'0.weight'", "(4, 7)"]),
])
def test_well_signed_checkpoint_with_a_config_that_does_not_fit(tmp_path, saved, edit, words):
    _, raw = saved
    path = write(tmp_path, _edit_metadata(raw, edit, resign=True))
    assert_clear_error(lambda: load_model(path), str(path), *words)


def test_checkpoint_that_is_a_pickle_is_refused_and_nothing_is_unpickled(tmp_path):
    marker = tmp_path / "MARKER"

    class Marker:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = write(tmp_path, pickle.dumps({"model": Marker(), "optimizer": Marker()}),
                 "model.safetensors")
    assert_untrusted(path, "not a safetensors file")
    with pytest.raises(CheckpointError):
        restore_checkpoint(path, small_trainer())
    assert not marker.exists()


@pytest.mark.parametrize("content", [
    b'{"format": 1}', b"not a checkpoint at all, just text\n", b"\x00" * 64,
    (64).to_bytes(8, "little") + b"[" + b" " * 63,  # a header that is JSON but not an object
], ids=["json", "text", "zeros", "json-list-header"])
def test_other_files_are_refused(tmp_path, content):
    assert_untrusted(write(tmp_path, content))


def test_zip_archive_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"a": 1}))
    assert_untrusted(path)


@pytest.mark.parametrize("config, words", [
    (small_config(hidden_sizes=(7,)), ["layer '0' (Linear)", "'0.weight'", "(4, 7)", "(4, 6)"]),
    (small_config(hidden_sizes=(6, 6)), ["layer '4' (Linear)", "'4.weight'"]),
    (small_config(out_features=2), ["layer '2' (Linear)", "'2.weight'"]),
    (small_config(norm="batch"), ["layer '1' (BatchNorm)"]),
    (small_config(dropout=0.5), ["layer '3' (Linear)", "'3.weight'"]),
    (small_config(dropconnect=0.5), ["layer '0' (DropConnect)", "random generator '0.rng'"]),
    (small_config(dtype="float64"), ["'0.weight'", "float64", "float32"]),
])
def test_checkpoint_from_an_incompatible_model_names_the_layer(saved, config, words):
    path, _ = saved
    trainer = small_trainer(config)
    before = {k: v.copy() for k, v in trainer.model.state_dict().items()}
    assert_clear_error(lambda: restore_checkpoint(path, trainer), str(path), *words)
    after = trainer.model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before), \
        "a failed restore changed weights"
    assert trainer.epoch == 0 and trainer.global_step == 0


def test_checkpoint_with_another_optimizer_or_standardizer(saved):
    path, _ = saved
    from trainlab import nn, optim
    from trainlab.models import build_mlp
    from trainlab.train import Trainer

    model = build_mlp(small_config(), rng=0)
    sgd = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()), verbose=0)
    assert_clear_error(lambda: restore_checkpoint(path, sgd), str(path), "Adam", "SGD")
    assert_clear_error(lambda: restore_checkpoint(path, small_trainer(),
                                                  standardizer=data.MinMaxScaler()),
                       str(path), "Standardizer", "MinMaxScaler")


# -- fuzzing the structure of a well-signed checkpoint -----------------------------------


def _paths(obj, prefix=()):
    """Every (path, value) inside nested dicts and lists."""
    yield prefix, obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _paths(value, (*prefix, i))


def _set(obj, path, value):
    for key in path[:-1]:
        obj = obj[key]
    if value is _DELETE:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


_DELETE = object()


@FUZZ
@given(data_=st.data())
def test_fuzzed_checkpoint_structure_fails_cleanly(tmp_path_factory, saved, data_):
    """Replace or delete any entry of the metadata (and re-sign it, as another writer
    would): restoring either works or raises ValueError/TypeError naming the file, never
    a KeyError, AttributeError or IndexError from deep inside."""
    _, raw = saved
    content = json.loads(json.loads(raw[8:8 + header_size(raw)])["__metadata__"]["trainlab"])
    paths = [p for p, _ in _paths(content) if p]
    path = data_.draw(st.sampled_from(paths), label="entry")
    replacement = data_.draw(st.one_of(
        st.just(_DELETE), st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(),
        st.text(max_size=4), st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)), label="value")
    if replacement is _DELETE and isinstance(path[-1], int):
        replacement = None

    def edit(c):
        _set(c, path, replacement)

    target = tmp_path_factory.mktemp("fuzz") / "fuzzed.safetensors"
    target.write_bytes(_edit_metadata(raw, edit, resign=True))
    def restore():
        trainer = small_trainer(callbacks=[EarlyStopping(monitor="loss", patience=10)])
        restore_checkpoint(target, trainer, standardizer=data.Standardizer())

    for action in (restore,
                   lambda: load_model(target)):
        try:
            action()
        except (ValueError, TypeError) as exc:
            assert str(target) in str(exc), (path, replacement, exc)
