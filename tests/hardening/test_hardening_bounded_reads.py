"""Files that used to exhaust memory or time: each is now read, or refused with a clear
error, within a bounded peak memory and time, measured in a fresh interpreter whose
address space is capped (see bounded_support)."""

from __future__ import annotations

import io
import json
import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from bounded_support import deflate_zeros, gzip_bomb, measure, refused, write_zip
from hardening_support import blobs, small_config, small_trainer
from test_hardening_checkpoint_files import _edit_metadata

from trainlab import data
from trainlab.train import EarlyStopping, save_checkpoint

pytestmark = pytest.mark.slow

GiB = 1 << 30

# -- special files: refused before a byte is read ------------------------------------------

READERS = {
    "load_csv": "load_csv(p)",
    "load_npz": "load_npz(p)",
    "read_idx": "read_idx(p)",
    "load_checkpoint": "load_checkpoint(p)",
}


def _special(tmp_path: Path, kind: str) -> tuple[str, str]:
    if kind == "fifo":
        path = tmp_path / "pipe.csv"
        os.mkfifo(path)
        assert stat.S_ISFIFO(os.stat(path).st_mode)
        return str(path), "FIFO"
    if kind == "character device":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero here")
        return "/dev/zero", "character device"
    path = tmp_path / "folder.csv"
    path.mkdir()
    return str(path), "directory"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
@pytest.mark.parametrize("kind", ["fifo", "character device", "directory"])
def test_special_files_are_refused_at_once(tmp_path, kind):
    """A FIFO blocked every reader forever; /dev/zero was read until memory ran out."""
    path, words = _special(tmp_path, kind)
    calls = ", ".join(f"attempt(lambda: {call})" for call in READERS.values())
    result = measure(f"[{calls}] if (p := {path!r}) else None", timeout=60)
    for reader, (error, message, classes) in zip(READERS, result["outcome"], strict=True):
        assert "ValueError" in classes, (reader, error, message)
        assert path in message and words in message and "regular file" in message, message
    assert result["seconds"] < 5 and result["peak_mib"] < 50, result


# -- CSV ------------------------------------------------------------------------------------


def test_one_long_numeric_cell_is_read_without_padding_every_cell(tmp_path):
    """144 kB with one 100,000-digit cell used to take 3.8 GB: every cell was padded to
    the widest in a fixed-width string array."""
    path = tmp_path / "long.csv"
    rows = ["1," * 9 + "0"] * 2200
    rows[450] = "1," + "1." + "0" * 100_000 + "," + "1," * 7 + "1"
    path.write_text(",".join(f"c{j}" for j in range(10)) + "\n" + "\n".join(rows) + "\n")
    assert 140_000 < path.stat().st_size < 150_000
    result = measure(f"attempt(lambda: float(load_csv({str(path)!r}).X[450, 1]))")
    assert result["outcome"][:2] == [None, "1.0"], result
    assert result["peak_mib"] < 100 and result["seconds"] < 10, result


def test_a_wide_table_is_read_in_linear_time(tmp_path):
    """40,000 columns took 18 s (a quadratic duplicate-name check); wide tables are
    legitimate. The bound leaves room for a loaded machine; pandas itself takes ~2 s."""
    path = tmp_path / "wide.csv"
    columns = 40_000
    lines = [",".join(f"c{j}" for j in range(columns))]
    lines += [",".join(str((i + j) % 7) for j in range(columns)) for i in range(3)]
    path.write_text("\n".join(lines) + "\n")
    result = measure(f"attempt(lambda: load_csv({str(path)!r}).X.shape)")
    assert result["outcome"][:2] == [None, f"(3, {columns - 1})"], result
    assert result["seconds"] < 12 and result["peak_mib"] < 250, result
    duplicate = tmp_path / "duplicate.csv"
    duplicate.write_text(lines[0] + ",c17\n" + lines[1] + ",1\n")
    result = measure(f"attempt(lambda: load_csv({str(duplicate)!r}))")
    refused(result, "duplicate column names", "'c17'", str(duplicate))
    assert result["seconds"] < 12, result


def test_csv_memory_is_a_small_multiple_of_the_file(tmp_path):
    """A 10 MB numeric table: the old reader held every cell as a Python string and then a
    fixed-width array (about 15x the file); through pandas it is the arrays themselves."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60_000, 20))
    y = np.arange(60_000) % 3
    path = tmp_path / "numbers.csv"
    with open(path, "w") as f:
        f.write(",".join(f"c{j}" for j in range(20)) + ",y\n")
        np.savetxt(f, np.column_stack([X, y]), fmt=["%.5f"] * 20 + ["%d"], delimiter=",")
    size_mib = path.stat().st_size / 2**20
    result = measure(f"attempt(lambda: load_csv({str(path)!r}).X.shape)")
    assert result["outcome"][:2] == [None, "(60000, 20)"], result
    assert result["peak_mib"] < 6 * size_mib, (result, size_mib)


# -- IDX ------------------------------------------------------------------------------------


def _idx_head(shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, 0x08, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


@pytest.mark.parametrize("case", ["trailing stream", "declared in full"])
def test_gzip_idx_bomb_is_not_inflated(tmp_path, case):
    """About 2 MB of gzip that inflates to 2 GiB used to be inflated whole before its
    header was checked. Now the header bounds what is inflated: 16 declared bytes are
    read and the rest is refused as trailing data; 2 GiB declared in 2 MB is more than
    real data compresses to and is refused before anything is allocated."""
    shape = (16,) if case == "trailing stream" else (2 * GiB,)
    head = _idx_head(shape) + bytes(16 if case == "trailing stream" else 0)
    path = gzip_bomb(tmp_path / "bomb-idx1-ubyte.gz", head, 2 * GiB)
    assert path.stat().st_size < 3_000_000
    result = measure(f"attempt(lambda: read_idx({str(path)!r}))")
    if case == "trailing stream":
        refused(result, str(path), "at least 1048576 bytes after the data", kind="ValueError")
    else:
        refused(result, str(path), "declares", "2147483656 bytes", kind="ValueError")
    assert result["peak_mib"] < 50 and result["seconds"] < 10, result


def test_gzip_idx_declaring_more_than_deflate_can_hold(tmp_path):
    import gzip

    path = tmp_path / "liar-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_head((2 * GiB,)) + bytes(100)))
    with pytest.raises(ValueError, match="deflate expands at most 1032:1") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("shape", [(65536,) * 4, (2**32 - 1,) * 3, (65536, 65536, 65536, 65536, 1)])
def test_idx_dimensions_whose_product_overflows(tmp_path, shape):
    """The product of the dimensions wrapped around in int64 and passed the size check
    (then 'cannot reshape', without the file's name, or a wrong byte count)."""
    path = tmp_path / "overflow-idx"
    path.write_bytes(_idx_head(shape))
    with pytest.raises(ValueError) as info:
        data.read_idx(path)
    message = str(info.value)
    assert str(path) in message and f"needs {math.prod(shape)} data bytes. Received 0" in message


# -- .npz -------------------------------------------------------------------------------------


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _y_member() -> tuple[str, bytes, int, int, int]:
    buffer = io.BytesIO()
    np.save(buffer, np.array([0, 1]))
    raw = buffer.getvalue()
    import zlib

    return ("y.npy", raw, 0, zlib.crc32(raw), len(raw))


def test_npz_member_declaring_64_gib(tmp_path):
    """A member whose .npy header declares a 64 GiB shape gave a MemoryError."""
    import zlib

    x = _npy_header((8 * GiB,)) + bytes(8)
    path = write_zip(tmp_path / "huge.npz",
                     [("X.npy", x, 0, zlib.crc32(x), len(x)), _y_member()])
    result = measure(f"attempt(lambda: load_npz({str(path)!r}))")
    refused(result, str(path), "array 'X'", "declares shape (8589934592,)", kind="ValueError")
    assert result["peak_mib"] < 50 and result["seconds"] < 5, result


def test_npz_deflate_bomb(tmp_path):
    """A deflate-bombed member (2 MB inflating to 2 GiB, consistent sizes) took 3.1 GB;
    its ratio is beyond what real data compresses to, so it is refused unread."""
    header = _npy_header((2 * GiB,), "|u1")
    stream, crc = deflate_zeros(header, 2 * GiB)
    path = write_zip(tmp_path / "bomb.npz",
                     [("X.npy", stream, 8, crc, len(header) + 2 * GiB), _y_member()])
    assert path.stat().st_size < 3_000_000
    result = measure(f"attempt(lambda: load_npz({str(path)!r}))")
    refused(result, str(path), "array 'X'", "declares", "compressed", kind="ValueError")
    assert result["peak_mib"] < 50 and result["seconds"] < 5, result


def test_npz_member_whose_stream_is_longer_than_recorded(tmp_path):
    """The zip directory records 8 data bytes; the deflate stream holds 64 MiB more. Only
    the recorded bytes are inflated (a guard: the rest is never read)."""
    import zlib

    header = _npy_header((1,))
    stream, _ = deflate_zeros(header + bytes(8), 64 << 20)
    path = write_zip(tmp_path / "long.npz", [
        ("X.npy", stream, 8, zlib.crc32(header + bytes(8)), len(header) + 8), _y_member()])
    result = measure(f"attempt(lambda: load_npz({str(path)!r}))")
    refused(result, str(path), "X must have shape", kind="ValueError")  # X is 1-D
    assert result["peak_mib"] < 50, result


def test_npz_values_that_overflow_float32(tmp_path):
    path = tmp_path / "big.npz"
    np.savez(path, X=np.array([[1.0, 2.0], [3.0, 1e39]]), y=np.array([0, 1]))
    with pytest.raises(ValueError, match=r"X\[1, 1\] = 1e\+39 overflows float32"):
        data.load_npz(path)
    assert data.load_npz(path, dtype=np.float64).X[1, 1] == 1e39
    np.savez(path, X=np.ones((2, 2)), y=np.array([0.5, -1e40]))
    with pytest.raises(ValueError, match=r"y\[1\] = -1e\+40 overflows float32"):
        data.load_npz(path)


# -- checkpoints ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory) -> bytes:
    X, y = blobs()
    trainer = small_trainer(callbacks=[EarlyStopping(monitor="loss", patience=10)])
    trainer.fit(X, y, epochs=1, batch_size=16)
    path = tmp_path_factory.mktemp("ckpt") / "model.safetensors"
    save_checkpoint(path, trainer, model_config=small_config(),
                    standardizer=data.Standardizer().fit(X))
    return path.read_bytes()


def test_signed_config_claiming_huge_layers_is_refused_before_building(tmp_path,
                                                                       checkpoint_bytes):
    """A 4.5 kB, validly signed model file whose config claims hidden sizes of 20000 made
    load_model (and so predict, evaluate and report) allocate 4.7 GB before refusing it."""
    def edit(content):
        content["model_config"]["hidden_sizes"] = [20000] * 4

    path = tmp_path / "model.safetensors"
    path.write_bytes(_edit_metadata(checkpoint_bytes, edit, resign=True))
    assert path.stat().st_size < 10_000
    result = measure(f"attempt(lambda: load_model({str(path)!r}))")
    refused(result, str(path), "model_config", "(4, 20000)", "'0.weight'", "(4, 6)",
            kind="ValueError")
    assert result["peak_mib"] < 50 and result["seconds"] < 5, result


@pytest.mark.parametrize("case", ["bytes after the tensors", "header length"])
def test_sparse_3_gb_checkpoint_is_refused_from_its_header(tmp_path, checkpoint_bytes, case):
    """A sparse 3 GB model.safetensors was read whole before its header was checked."""
    path = tmp_path / "model.safetensors"
    raw = bytearray(checkpoint_bytes)
    if case == "header length":
        raw[:8] = (3 * GiB - 64).to_bytes(8, "little")
    path.write_bytes(bytes(raw))
    os.truncate(path, 3 * GiB)
    result = measure(f"attempt(lambda: load_checkpoint({str(path)!r}))")
    words = ["bytes appended"] if case == "bytes after the tensors" else ["header announces",
                                                                          "at most"]
    refused(result, str(path), *words, kind="CheckpointError")
    assert result["peak_mib"] < 50 and result["seconds"] < 5, result


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [65, 5000, 200_000])
def test_deeply_nested_metadata_is_refused(tmp_path, checkpoint_bytes, depth):
    """JSON nested 200,000 deep in a re-signed checkpoint's metadata escaped as a
    RecursionError (and a depth the parser survives then recursed in the loader)."""
    import safetensors.numpy

    from trainlab.train import CheckpointError, load_checkpoint
    from trainlab.train import checkpoint as checkpoint_module

    arrays = safetensors.numpy.load(checkpoint_bytes)
    size = int.from_bytes(checkpoint_bytes[:8], "little")
    text = json.loads(checkpoint_bytes[8:8 + size])["__metadata__"]["trainlab"]
    content = json.loads(text)
    content["extra"] = "NESTED"
    text = json.dumps(content).replace('"NESTED"', _nested(depth))
    digest = checkpoint_module._digest(text, arrays)
    path = tmp_path / "nested.safetensors"
    path.write_bytes(safetensors.numpy.save(arrays, metadata={"trainlab": text, "sha256": digest}))
    with pytest.raises(CheckpointError, match="levels deep") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_deeply_nested_safetensors_header_is_refused(tmp_path, checkpoint_bytes):
    from trainlab.train import CheckpointError, load_checkpoint

    size = int.from_bytes(checkpoint_bytes[:8], "little")
    header = checkpoint_bytes[8:8 + size].rstrip()
    deep = header[:-1] + b', "x": ' + _nested(100_000).encode() + b"}"
    path = tmp_path / "nested.safetensors"
    path.write_bytes(len(deep).to_bytes(8, "little") + deep + checkpoint_bytes[8 + size:])
    with pytest.raises(CheckpointError, match="levels deep") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
