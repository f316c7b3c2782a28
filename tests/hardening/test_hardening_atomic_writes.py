"""Checkpoint writes are atomic: a crash in the middle leaves the previous checkpoint intact,
and a place that cannot be written gives a clear error before training starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hardening_support import blobs, small_config, small_trainer

from trainlab.train import ModelCheckpoint, load_checkpoint, load_model, save_checkpoint
from trainlab.train import checkpoint as checkpoint_module


@pytest.fixture
def first(tmp_path) -> tuple[Path, bytes, object]:
    """A checkpoint after one epoch, its bytes, and the trainer (to be trained further)."""
    X, y = blobs()
    trainer = small_trainer()
    trainer.fit(X, y, epochs=1, batch_size=16)
    path = save_checkpoint(tmp_path / "run" / "last.safetensors", trainer,
                           model_config=small_config())
    trainer.fit(X, y, epochs=2, batch_size=16)  # the weights now differ from the file's
    return path, path.read_bytes(), trainer


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith((".tmp", ".probe")))


def assert_intact(path: Path, raw: bytes) -> None:
    assert path.read_bytes() == raw
    assert load_checkpoint(path).epoch == 1
    load_model(path)


@pytest.mark.parametrize("where", ["write", "fsync", "fchmod", "replace"])
def test_crash_during_a_checkpoint_write_keeps_the_previous_one(monkeypatch, first, where):
    path, raw, trainer = first

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if where == "write":  # half the bytes reach the temporary file, then the disk is full
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                self.f.write(data[: len(data) // 2])
                fail()

        monkeypatch.setattr(checkpoint_module.os, "fdopen",
                            lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(checkpoint_module.os, where, fail)
    with pytest.raises(OSError, match=r"cannot write the checkpoint .*last\.safetensors.*No space"):
        save_checkpoint(path, trainer)
    monkeypatch.undo()
    assert_intact(path, raw)
    assert leftovers(path.parent) == []  # the temporary file is removed


def test_keyboard_interrupt_during_a_write_keeps_the_previous_one(monkeypatch, first):
    path, raw, trainer = first

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint_module.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, trainer)
    monkeypatch.undo()
    assert_intact(path, raw)
    assert leftovers(path.parent) == []


def test_process_killed_in_the_middle_of_a_write(first):
    """SIGKILL between writing the temporary file and the rename: no cleanup runs at all,
    yet the checkpoint on disk is the previous one, intact."""
    path, raw, _ = first
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from hardening_support import blobs, small_trainer
        from trainlab.train import checkpoint, save_checkpoint
        trainer = small_trainer()
        trainer.fit(*blobs(), epochs=3, batch_size=16)
        checkpoint.os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
        save_checkpoint({str(path)!r}, trainer)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert_intact(path, raw)
    assert len(leftovers(path.parent)) == 1  # the orphaned temporary file, never loaded


def test_successful_write_replaces_the_file(first):
    path, raw, trainer = first
    save_checkpoint(path, trainer)
    assert path.read_bytes() != raw and load_checkpoint(path).epoch == 2
    assert leftovers(path.parent) == []


def test_path_under_a_regular_file_fails_clearly(tmp_path, first):
    _, _, trainer = first
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file")
    target = blocker / "sub" / "last.safetensors"
    with pytest.raises(OSError, match=r"cannot write the checkpoint .*not-a-directory"):
        save_checkpoint(target, trainer)
    assert blocker.read_text() == "a regular file"


def test_model_checkpoint_refuses_an_unwritable_place_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    X, y = blobs()
    epochs_run = []
    trainer = small_trainer(callbacks=[ModelCheckpoint(blocker / "ck-{epoch}.safetensors")])
    trainer.callbacks.insert(0, type("Count", (ModelCheckpoint.__mro__[1],), {
        "on_epoch_end": lambda self, t, e, logs: epochs_run.append(e)})())
    with pytest.raises(OSError, match=r"cannot write checkpoints to .*file"):
        trainer.fit(X, y, epochs=2, batch_size=16)
    assert epochs_run == [] and trainer.global_step == 0


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_read_only_directory_fails_clearly(tmp_path, first):
    _, _, trainer = first
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=r"cannot write the checkpoint .*read-only"):
            save_checkpoint(directory / "last.safetensors", trainer)
        with pytest.raises(PermissionError, match=r"cannot write checkpoints to .*read-only"):
            small_trainer(callbacks=[ModelCheckpoint(directory / "x.safetensors")]).fit(
                *blobs(), epochs=1)
    finally:
        directory.chmod(0o700)


def test_read_only_directory_as_root_is_reported_through_the_os(tmp_path, first, monkeypatch):
    """Where permissions are not enforced (root), simulate the refusal the OS would give."""
    _, _, trainer = first

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(checkpoint_module.tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError, match=r"\[Errno 13\] cannot write the checkpoint"):
        save_checkpoint(tmp_path / "last.safetensors", trainer)
    with pytest.raises(PermissionError, match=r"cannot write checkpoints to"):
        small_trainer(callbacks=[ModelCheckpoint(tmp_path / "x.safetensors")]).fit(
            *blobs(), epochs=1)
    assert not (tmp_path / "last.safetensors").exists()


def test_checkpoint_arrays_round_trip_bit_exactly(first):
    path, _, trainer = first
    save_checkpoint(path, trainer)
    saved = load_checkpoint(path).model_state
    for key, value in trainer.model.state_dict().items():
        assert saved[key].dtype == value.dtype
        np.testing.assert_array_equal(saved[key], value)
