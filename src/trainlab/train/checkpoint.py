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
the previous checkpoint intact. :class:`ModelCheckpoint` is the callback that writes
checkpoints during training.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from trainlab import __version__
from trainlab._atomic import atomic_write_bytes
from trainlab._checks import check_int
from trainlab.data._files import open_regular, read_exactly
from trainlab.models import MLPConfig, build_mlp
from trainlab.nn.module import Module
from trainlab.train.callbacks import (
    Callback,
    check_best,
    check_monitor_available,
    check_state,
    improved,
    monitored,
    resolve_mode,
    weights_finite,
)
from trainlab.train.history import History
from trainlab.train.protocols import TrainerView
from trainlab.train.state import TRAINER_KEYS, load_model_state

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
    trainer: TrainerView,
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


# -- reading: check the header before reading the data ----------------------------------

# A trainlab checkpoint's header (tensor table and JSON metadata) is a few kilobytes to a
# few megabytes; a longer one is refused before it is read.
MAX_HEADER_BYTES = 16 * 2**20
# Real metadata nests about six levels deep; deeper JSON is refused before it is used.
MAX_JSON_DEPTH = 64
_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U64": np.dtype("<u8"), "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}  # fmt: skip


def _json_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and dicts (iteratively: no recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _parse_json(text: str | bytes, where: str, what: str) -> Any:
    """``json.loads`` with nesting bounded by MAX_JSON_DEPTH; errors are CheckpointErrors."""
    try:
        value = json.loads(text)
    except RecursionError:
        value, depth = None, None
    except (ValueError, TypeError) as exc:
        raise CheckpointError(
            f"{where} has no readable trainlab header (not a trainlab checkpoint, or "
            f"corrupted): {what} is not JSON ({exc})."
        ) from None
    else:
        depth = _json_depth(value)
    if depth is None or depth > MAX_JSON_DEPTH:
        raise CheckpointError(
            f"{where} is not a trainlab checkpoint, or corrupted: its {what} nests lists and "
            f"objects {'more than ' + str(MAX_JSON_DEPTH) if depth is None else depth} levels "
            f"deep; at most {MAX_JSON_DEPTH} are read."
        )
    return value


@dataclass(frozen=True)
class _Tensor:
    dtype: np.dtype
    shape: tuple[int, ...]
    begin: int
    end: int


def _tensor_table(header: dict[str, Any], data_size: int, where: str) -> dict[str, _Tensor]:
    """Every tensor entry of a safetensors header, checked: a known dtype, a shape of
    non-negative integers whose size matches its byte range, and byte ranges that tile
    the data exactly (no gap, no overlap, nothing missing, nothing after)."""
    bad = f"{where} is truncated or corrupted"
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise CheckpointError(f"{bad}: the header entry {name!r} is not a tensor description.")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in _DTYPES:
            raise CheckpointError(f"{bad}: tensor {name!r} has dtype {dtype!r}; expected one of "
                                  f"{sorted(_DTYPES)}.")
        if not isinstance(shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
        ):
            raise CheckpointError(f"{bad}: tensor {name!r} has shape {shape!r}; expected a list "
                                  f"of non-negative integers.")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
            isinstance(n, int) and not isinstance(n, bool) for n in offsets
        ) and 0 <= offsets[0] <= offsets[1]):
            raise CheckpointError(f"{bad}: tensor {name!r} has data_offsets {offsets!r}; "
                                  f"expected [begin, end] with 0 <= begin <= end.")
        nbytes = math.prod(shape) * _DTYPES[dtype].itemsize  # Python ints: no overflow
        if offsets[1] - offsets[0] != nbytes:
            raise CheckpointError(
                f"{bad}: tensor {name!r} of shape {tuple(shape)} and dtype {dtype} needs "
                f"{nbytes} bytes; its offsets {offsets} span {offsets[1] - offsets[0]}."
            )
        tensors[name] = _Tensor(_DTYPES[dtype], tuple(shape), offsets[0], offsets[1])
    cursor = 0
    for name, tensor in sorted(tensors.items(), key=lambda item: (item[1].begin, item[1].end)):
        if tensor.begin != cursor:
            raise CheckpointError(
                f"{bad}: tensor {name!r} starts at byte {tensor.begin} of the data; the tensor "
                f"before it ends at {cursor} (tensors must not overlap or leave gaps)."
            )
        cursor = tensor.end
    if cursor != data_size:
        raise CheckpointError(
            f"{bad}: its tensors end at byte {cursor} of the data, but the file holds "
            f"{data_size} bytes of data after the header "
            f"({'truncated' if cursor > data_size else 'bytes appended'})."
        )
    return tensors


def _read_safetensors(path: Path, where: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header (checked) and the tensors of a safetensors file.

    The 8-byte header length is bounded by the file size and MAX_HEADER_BYTES, the
    header's JSON by MAX_JSON_DEPTH, and every tensor's byte range by the file size, all
    before a byte of tensor data is read; then exactly the announced data is read.
    """
    try:
        handle, size = open_regular(path, "load_checkpoint")
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    with handle:
        if size < 8:
            raise CheckpointError(f"{where} is truncated: {size} bytes, not even a header.")
        header_size = int.from_bytes(handle.read(8), "little")
        if 8 + header_size > size:
            raise CheckpointError(
                f"{where} is truncated or not a safetensors file: the header announces "
                f"{header_size} bytes but the file has {size}."
            )
        if header_size > MAX_HEADER_BYTES:
            raise CheckpointError(
                f"{where} is not a trainlab checkpoint, or corrupted: its header announces "
                f"{header_size} bytes; a checkpoint's header holds at most {MAX_HEADER_BYTES}."
            )
        raw = handle.read(header_size)
        if len(raw) < header_size:
            raise CheckpointError(f"{where} is truncated: it ended inside its header.")
        header = _parse_json(raw, where, "header")
        if not isinstance(header, dict):
            raise CheckpointError(
                f"{where} has no readable trainlab header (not a trainlab checkpoint, or "
                f"corrupted): the header is a {type(header).__name__}, not a JSON object."
            )
        data_size = size - 8 - header_size
        tensors = _tensor_table(header, data_size, where)
        buffer = bytearray(data_size)
        if read_exactly(handle, memoryview(buffer)) < data_size:
            raise CheckpointError(f"{where} is truncated: it ended inside its tensor data.")
    arrays = {}
    for name, tensor in tensors.items():
        count = math.prod(tensor.shape)
        if count == 0:
            array = np.zeros(tensor.shape, dtype=tensor.dtype)
        else:
            array = np.frombuffer(buffer, dtype=tensor.dtype, count=count, offset=tensor.begin)
        arrays[name] = array.reshape(tensor.shape).astype(tensor.dtype.newbyteorder("="),
                                                          copy=False)
    return header, arrays


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and verify a checkpoint; nothing is restored (see :func:`restore_checkpoint`).

    Raises :class:`CheckpointError` when the file is not a regular file, is truncated,
    its header is malformed or too large, its bytes do not match the stored SHA-256, or
    it was written in another format. The header is checked before any tensor data is
    read, so memory is bounded by the file's real size.
    """
    path = Path(path)
    where = f"Checkpoint {str(path)!r}"
    header, arrays = _read_safetensors(path, where)
    metadata = header.get("__metadata__") or {}
    try:
        text, stored_digest = metadata["trainlab"], metadata["sha256"]
        if not isinstance(text, str) or not isinstance(stored_digest, str):
            raise TypeError("the trainlab metadata entries are not strings")
    except (KeyError, AttributeError, TypeError) as exc:
        raise CheckpointError(
            f"{where} has no readable trainlab header (not a trainlab checkpoint, or "
            f"corrupted): {exc!r}."
        ) from exc
    if _digest(text, arrays) != stored_digest:
        raise CheckpointError(
            f"{where} does not match its SHA-256 digest: the file is corrupted or was modified. "
            "Use an intact copy or an earlier checkpoint."
        )
    content = _parse_json(text, where, "trainlab metadata")
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
    """``exc`` again (same kind: CheckpointError, TypeError or ValueError), prefixed with
    ``where``."""
    kind = next(k for k in (CheckpointError, TypeError, ValueError) if isinstance(exc, k))
    return kind(f"{where}: {exc}")


def restore_checkpoint(
    source: str | os.PathLike | Checkpoint, trainer: TrainerView, *, standardizer: Any = None
) -> Checkpoint:
    """Load a checkpoint into ``trainer`` (model, optimizer, schedule, generators,
    callbacks, history, counters) and, when given, into ``standardizer``.

    The trainer must have been built like the saved one: same architecture (an error
    names the first layer that differs), optimizer type and schedule type.
    Returns the :class:`Checkpoint`.
    """
    checkpoint = source if isinstance(source, Checkpoint) else load_checkpoint(source)
    saved = None
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
        if saved is not None:
            standardizer.load_state_dict(saved["state"])
    except (ValueError, TypeError) as exc:
        raise _naming(exc, f"restore_checkpoint: {str(checkpoint.path)!r}") from exc
    return checkpoint


def _layer_order(name: str) -> tuple[int, str]:
    head = name.partition(".")[0]
    return (int(head) if head.isdigit() else 2**62, name)


def check_config_fits(config: Any, state: dict[str, Any]) -> None:
    """Refuse a model configuration whose weight matrices differ from the stored ones.

    An MLP's 2-D tensors are its Linear (or DropConnect) weights, ``(in, out)``, in layer
    order; every other tensor is a vector the size of a layer. Comparing the shapes the
    configuration implies with the stored shapes bounds what building the model will
    allocate by what the checkpoint really holds (a configuration that claims hidden
    sizes of 20000 is refused here, not after allocating gigabytes).
    """
    widths = [config.in_features, *config.hidden_sizes, config.out_features]
    expected = list(itertools.pairwise(widths))
    stored = sorted(((name, tuple(value.shape)) for name, value in state.items()
                     if isinstance(value, np.ndarray) and value.ndim == 2),
                    key=lambda item: _layer_order(item[0]))
    for (name, shape), want in zip(stored, expected, strict=False):  # lengths: below
        if shape != want:
            raise ValueError(
                f"its model_config needs a weight of shape {want} at {name!r}; the checkpoint "
                f"holds {shape}. The configuration does not describe the stored weights."
            )
    if len(stored) != len(expected):
        raise ValueError(
            f"its model_config describes {len(expected)} weight matrices "
            f"{[tuple(w) for w in expected[:8]]}; the checkpoint holds {len(stored)} "
            f"{[shape for _, shape in stored[:8]]}. The configuration does not describe the "
            f"stored weights."
        )


def load_model(source: str | os.PathLike | Checkpoint) -> Module:
    """Rebuild the model from the checkpoint's ``model_config`` and load its weights,
    buffers and generators. Returned in evaluation mode."""
    checkpoint = source if isinstance(source, Checkpoint) else load_checkpoint(source)
    if checkpoint.model_config is None:
        raise ValueError(
            f"load_model: {str(checkpoint.path)!r} holds no model_config; save it with "
            "save_checkpoint(..., model_config=config), or build the model yourself and "
            "use restore_checkpoint."
        )
    try:
        config = MLPConfig.from_dict(checkpoint.model_config)
        check_config_fits(config, checkpoint.model_state)  # before anything is allocated
        model = build_mlp(config, rng=0)
        load_model_state(model, checkpoint.model_state, checkpoint.trainer_state["model_rngs"])
    except (ValueError, TypeError) as exc:
        raise _naming(exc, f"load_model: {str(checkpoint.path)!r}") from exc
    return model.eval()


# -- the callback that writes checkpoints -------------------------------------------


class ModelCheckpoint(Callback):
    """Save a checkpoint at the end of epochs: every ``every`` epochs, or only on a new best.

    path: the file. Only its file name may be a template: ``{epoch}`` there is replaced
        (``"ckpt-{epoch:03d}.safetensors"``); the folders are taken literally, so a run
        directory named ``x{epoch}`` is never rewritten.
    save_best_only: save only when ``monitor`` improves (``mode`` as in EarlyStopping).
    model_config, standardizer, extra: stored in the checkpoint as well (see
    :func:`~trainlab.train.save_checkpoint`).

    A checkpoint is never written from non-finite weights: the last finite one stays.
    """

    order = 10

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        monitor: str = "val_loss",
        mode: str = "auto",
        save_best_only: bool = False,
        every: int = 1,
        model_config: Any = None,
        standardizer: Any = None,
        extra: Any = None,
    ) -> None:
        self.path = os.fspath(path)
        self.extra = extra
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode, "ModelCheckpoint")
        self.save_best_only = bool(save_best_only)
        self.every = check_int(every, "ModelCheckpoint: every", low=1)
        self.model_config = model_config
        self.standardizer = standardizer
        self.best: float | None = None
        self.best_epoch = 0
        self.last_path: Path | None = None

    def on_train_begin(self, trainer: TrainerView) -> None:
        if self.save_best_only:
            check_monitor_available(trainer, self.monitor, "ModelCheckpoint")
        # An unwritable place is reported before the first epoch, not after it.
        check_writable(self._path(0))

    def on_epoch_end(self, trainer: TrainerView, epoch: int, logs: dict[str, float]) -> None:
        if self.save_best_only:
            value = monitored(logs, self.monitor, "ModelCheckpoint")
            if not improved(value, self.best, self.mode):
                return
            self.best, self.best_epoch = value, epoch
        elif epoch % self.every:
            return
        if not (math.isfinite(logs.get("loss", 0.0)) and weights_finite(trainer.model)):
            warnings.warn(
                f"ModelCheckpoint: epoch {epoch} ended with non-finite weights or loss; "
                f"the last finite checkpoint ({self.last_path}) is kept.",
                UserWarning,
                stacklevel=2,
            )
            return
        self.last_path = save_checkpoint(
            self._path(epoch), trainer, model_config=self.model_config,
            standardizer=self.standardizer, extra=self.extra,
        )

    def _path(self, epoch: int) -> Path:
        """The file for ``epoch``: ``{epoch}`` replaced in the file name only."""
        path = Path(self.path)
        if "{epoch" not in path.name:
            return path
        try:
            return path.with_name(path.name.format(epoch=epoch))
        except (IndexError, KeyError, ValueError) as exc:
            raise ValueError(f"ModelCheckpoint: the file name {path.name!r} is not a valid "
                             f"template ({exc!r}); write {{epoch}} or {{epoch:03d}}.") from None

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state(state, ("best", "best_epoch"), "ModelCheckpoint")
        self.best = check_best(state["best"], "ModelCheckpoint")
        self.best_epoch = check_int(state["best_epoch"], "ModelCheckpoint: best_epoch", low=0)
