"""Checkpoints: one safetensors file that holds everything needed to continue a run.

The file holds every array (model weights and buffers, optimizer moments, early
stopping's best weights, the Standardizer statistics) as safetensors tensors, and
everything else as JSON in the safetensors header's ``__metadata__``:

    "trainlab": JSON of {"format", "trainlab_version", "trainer": Trainer.state_dict(),
                "model_config", "standardizer", "extra"}, each array replaced by
                {"__array__": "<tensor name>"}
    "sha256":   SHA-256 of that JSON and of every tensor's name, dtype, shape and bytes

Loading checks the digest first, so a truncated file, a flipped bit or an edited
header is reported as a :class:`CheckpointError` rather than trained on. Nothing is
ever unpickled. Writes are atomic: the bytes go to a temporary file in the same
directory, are flushed and fsynced, and ``os.replace`` swaps it in; a crash leaves
the previous checkpoint intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import safetensors.numpy

from trainlab._atomic import atomic_write_bytes
from trainlab.train.history import History

if TYPE_CHECKING:  # pragma: no cover
    from trainlab.nn.module import Module
    from trainlab.train.fit import Trainer

FORMAT = 1
_ARRAY = "__array__"


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted: truncated, corrupted, edited, or of another format."""


# -- JSON with the arrays set aside ---------------------------------------------------


def _flatten(obj: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """``obj`` as JSON-able data; each array moves to ``arrays[path]`` and leaves a reference."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(
                f"save_checkpoint: cannot store an array of dtype {obj.dtype} at '{path}'."
            )
        arrays[path] = obj if obj.flags.c_contiguous else obj.copy(order="C")
        return {_ARRAY: path}
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str) or key == _ARRAY:
                raise TypeError(
                    f"save_checkpoint: keys must be strings other than {_ARRAY!r}. "
                    f"Received {key!r} at '{path}'."
                )
            child = f"{path}/{key}" if path else key
            if child in arrays:
                raise ValueError(f"save_checkpoint: two entries are both named '{child}'.")
            out[key] = _flatten(value, child, arrays)
        return out
    if isinstance(obj, (list, tuple)):
        return [_flatten(value, f"{path}/{i}", arrays) for i, value in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save_checkpoint: cannot store a {type(obj).__name__} at '{path}'.")


def _unflatten(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of :func:`_flatten`."""
    if isinstance(obj, dict):
        if set(obj) == {_ARRAY}:
            if not isinstance(obj[_ARRAY], str) or obj[_ARRAY] not in arrays:
                raise CheckpointError(f"The checkpoint refers to a missing tensor {obj[_ARRAY]!r}.")
            return arrays[obj[_ARRAY]]
        return {key: _unflatten(value, arrays) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(value, arrays) for value in obj]
    return obj


def _digest(metadata: str, arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the JSON metadata and every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256(metadata.encode("utf-8"))
    for name in sorted(arrays):
        array = arrays[name]
        if not array.flags.c_contiguous:
            array = array.copy(order="C")
        h.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode("utf-8"))
        h.update(array.tobytes())
    return h.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file.

    An OSError (no such directory, no permission, disk full) is raised again, of the
    same kind, with a message that names ``path``.
    """
    try:
        _replace_with(path, data)
    except OSError as exc:
        raise _os_error(exc, f"cannot write the checkpoint {str(path)!r}") from exc


def _os_error(exc: OSError, what: str) -> OSError:
    """An OSError of the same kind as ``exc`` whose message starts with ``what``."""
    if exc.errno is None:
        return type(exc)(f"{what}: {exc}")
    return type(exc)(exc.errno, f"{what}: {exc.strerror or exc}")


def check_writable(path: Path) -> None:
    """Raise a clear OSError now when checkpoints cannot be written next to ``path``."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not directory.is_dir():
            raise NotADirectoryError(20, "Not a directory")
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise _os_error(exc, f"cannot write checkpoints to {str(directory)!r}") from exc


def _replace_with(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


# -- saving and loading -------------------------------------------------------------


@dataclass
class Checkpoint:
    """A verified checkpoint. ``trainer_state`` is a :meth:`Trainer.state_dict`;
    ``standardizer`` is ``{"type", "state"}`` or None; ``model_config`` a dict or None."""

    path: Path
    trainlab_version: str
    trainer_state: dict[str, Any]
    model_config: dict[str, Any] | None
    standardizer: dict[str, Any] | None
    extra: Any

    @property
    def epoch(self) -> int:
        """Epochs completed when the checkpoint was written."""
        return int(self.trainer_state["epoch"])

    @property
    def global_step(self) -> int:
        return int(self.trainer_state["global_step"])

    @property
    def model_state(self) -> dict[str, np.ndarray]:
        return self.trainer_state["model"]

    @property
    def history(self) -> History:
        return History.from_dict(self.trainer_state["history"])


def save_checkpoint(
    path: str | os.PathLike,
    trainer: Trainer,
    *,
    model_config: Any = None,
    standardizer: Any = None,
    extra: Any = None,
) -> Path:
    """Write ``trainer``'s full state to ``path`` (a ``.safetensors`` file), atomically.

    model_config: the model's configuration (an ``MLPConfig`` or a JSON-able dict), so
        that :func:`load_model` can rebuild the model.
    standardizer: a fitted ``data.Standardizer`` (or other scaler) whose statistics
        the model's inputs need.
    extra: any JSON-able data (arrays allowed) to keep alongside.
    Returns the path written.
    """
    from trainlab import __version__

    if model_config is not None and hasattr(model_config, "to_dict"):
        model_config = model_config.to_dict()
    content = {
        "format": FORMAT,
        "trainlab_version": __version__,
        "trainer": trainer.state_dict(),
        "model_config": model_config,
        "standardizer": (
            None
            if standardizer is None
            else {
                "type": type(standardizer).__name__,
                "state": standardizer.state_dict(),
            }
        ),
        "extra": extra,
    }
    arrays: dict[str, np.ndarray] = {}
    metadata = json.dumps(_flatten(content, "", arrays))
    data = safetensors.numpy.save(
        arrays, metadata={"trainlab": metadata, "sha256": _digest(metadata, arrays)}
    )
    path = Path(path)
    _atomic_write(path, data)
    return path


_CONTENT_TYPES = {
    "trainlab_version": (str,),
    "trainer": (dict,),
    "model_config": (dict, type(None)),
    "standardizer": (dict, type(None)),
}


def _check_layout(content: dict[str, Any], where: str) -> None:
    """The entries a format-1 checkpoint must hold, with the right JSON types."""
    from trainlab.train.state import TRAINER_KEYS

    if "extra" not in content:
        raise CheckpointError(f"{where} has no 'extra' entry; it is incomplete.")
    for key, types in _CONTENT_TYPES.items():
        if key not in content:
            raise CheckpointError(f"{where} has no '{key}' entry; it is incomplete.")
        if not isinstance(content[key], types):
            raise CheckpointError(
                f"{where}: the entry '{key}' is a {type(content[key]).__name__}; expected "
                f"{' or '.join(t.__name__ for t in types)}."
            )
    missing = [key for key in TRAINER_KEYS if key not in content["trainer"]]
    if missing:
        raise CheckpointError(f"{where}: the trainer state lacks {missing}; it is incomplete.")
    for key in ("model", "model_rngs", "optimizer", "callbacks", "history"):
        if not isinstance(content["trainer"][key], dict):
            raise CheckpointError(
                f"{where}: the trainer state's '{key}' is a "
                f"{type(content['trainer'][key]).__name__}; expected a dict."
            )
    standardizer = content["standardizer"]
    if standardizer is not None and not (
        isinstance(standardizer.get("type"), str) and isinstance(standardizer.get("state"), dict)
    ):
        raise CheckpointError(f"{where}: the standardizer entry needs a 'type' and a 'state'.")


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and verify a checkpoint; nothing is restored (see :func:`restore_checkpoint`).

    Raises :class:`CheckpointError` when the file is truncated, its bytes do not match
    the stored SHA-256, or it was written in another format.
    """
    path = Path(path)
    data = path.read_bytes()
    where = f"Checkpoint {str(path)!r}"
    if len(data) < 8:
        raise CheckpointError(f"{where} is truncated: {len(data)} bytes, not even a header.")
    header_size = int.from_bytes(data[:8], "little")
    if 8 + header_size > len(data):
        raise CheckpointError(
            f"{where} is truncated or not a safetensors file: the header announces "
            f"{header_size} bytes but the file has {len(data)}."
        )
    try:
        header = json.loads(data[8 : 8 + header_size])
        metadata = header.get("__metadata__") or {}
        text, stored_digest = metadata["trainlab"], metadata["sha256"]
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise CheckpointError(
            f"{where} has no readable trainlab header (not a trainlab checkpoint, or "
            f"corrupted): {exc!r}."
        ) from exc
    try:
        arrays = safetensors.numpy.load(data)
    except Exception as exc:  # safetensors raises its own error type for bad files
        raise CheckpointError(f"{where} is truncated or corrupted: {exc}.") from exc
    if _digest(text, arrays) != stored_digest:
        raise CheckpointError(
            f"{where} does not match its SHA-256 digest: the file is corrupted or was modified. "
            "Use an intact copy or an earlier checkpoint."
        )
    content = json.loads(text)
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        found = content.get("format") if isinstance(content, dict) else None
        raise CheckpointError(
            f"{where} has format {found!r}; this version of trainlab reads format {FORMAT}."
        )
    _check_layout(content, where)
    try:
        content = _unflatten(content, arrays)
    except CheckpointError as exc:
        raise CheckpointError(f"{where}: {exc}") from exc
    return Checkpoint(
        path=path,
        trainlab_version=content["trainlab_version"],
        trainer_state=content["trainer"],
        model_config=content["model_config"],
        standardizer=content["standardizer"],
        extra=content["extra"],
    )


def _naming(exc: Exception, where: str) -> Exception:
    """``exc`` again (same kind: CheckpointError, TypeError or ValueError), prefixed with ``where``."""
    kind = next(k for k in (CheckpointError, TypeError, ValueError) if isinstance(exc, k))
    return kind(f"{where}: {exc}")


def restore_checkpoint(
    source: str | os.PathLike | Checkpoint, trainer: Trainer, *, standardizer: Any = None
) -> Checkpoint:
    """Load a checkpoint into ``trainer`` (model, optimizer, schedule, generators,
    callbacks, history, counters) and, when given, into ``standardizer``.

    The trainer must have been built like the saved one: same architecture (an error
    names the first layer that differs), optimizer type and schedule type.
    Returns the :class:`Checkpoint`.
    """
    checkpoint = source if isinstance(source, Checkpoint) else load_checkpoint(source)
    if standardizer is not None:
        saved = checkpoint.standardizer
        if saved is None:
            raise ValueError(f"restore_checkpoint: {str(checkpoint.path)!r} holds no standardizer.")
        if saved["type"] != type(standardizer).__name__:
            raise ValueError(
                f"restore_checkpoint: {str(checkpoint.path)!r} holds a {saved['type']}; "
                f"received a {type(standardizer).__name__}."
            )
    try:
        trainer.load_state_dict(checkpoint.trainer_state)
        if standardizer is not None:
            standardizer.load_state_dict(checkpoint.standardizer["state"])
    except (ValueError, TypeError) as exc:
        raise _naming(exc, f"restore_checkpoint: {str(checkpoint.path)!r}") from exc
    return checkpoint


def load_model(source: str | os.PathLike | Checkpoint) -> Module:
    """Rebuild the model from the checkpoint's ``model_config`` and load its weights,
    buffers and generators. Returned in evaluation mode."""
    from trainlab.models import MLPConfig, build_mlp
    from trainlab.train.state import load_model_state

    checkpoint = source if isinstance(source, Checkpoint) else load_checkpoint(source)
    if checkpoint.model_config is None:
        raise ValueError(
            f"load_model: {str(checkpoint.path)!r} holds no model_config; save it with "
            "save_checkpoint(..., model_config=config), or build the model yourself and "
            "use restore_checkpoint."
        )
    try:
        model = build_mlp(MLPConfig.from_dict(checkpoint.model_config), rng=0)
        load_model_state(model, checkpoint.model_state, checkpoint.trainer_state["model_rngs"])
    except (ValueError, TypeError) as exc:
        raise _naming(exc, f"load_model: {str(checkpoint.path)!r}") from exc
    return model.eval()
