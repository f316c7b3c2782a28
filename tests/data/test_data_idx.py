"""IDX reader/writer: round trips for every type code, gzip, and every malformed file."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from trainlab.data import read_idx, write_idx
from trainlab.data.idx import parse_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, rng, dtype, suffix):
    values = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, values)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, values)
    back[0, 0, 0] = 1  # writable


def test_gz_is_really_compressed_and_detected_by_content(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "l.gz", labels)
    raw = (tmp_path / "l.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw)[:4] == bytes([0, 0, 0x08, 1])
    (tmp_path / "no_suffix").write_bytes(raw)  # gzip content under a plain name
    np.testing.assert_array_equal(read_idx(tmp_path / "no_suffix"), labels)


def test_header_layout_is_big_endian(tmp_path):
    write_idx(tmp_path / "x", np.array([[1, 256]], dtype=np.int32))
    raw = (tmp_path / "x").read_bytes()
    assert raw == bytes([0, 0, 0x0C, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 0])


def test_big_endian_input_array_is_written(tmp_path):
    values = np.array([1.5, -2.0], dtype=">f8")
    write_idx(tmp_path / "x", values)
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), [1.5, -2.0])


def _valid_bytes() -> bytes:
    return bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6))


def test_parse_valid_bytes():
    np.testing.assert_array_equal(parse_idx(_valid_bytes()), np.arange(6).reshape(2, 3))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b[:3], "too short"),
        (lambda b: b"\x01" + b[1:], "wrong magic number"),
        (lambda b: b[:1] + b"\x08" + b[2:], "wrong magic number"),
        (lambda b: b[:2] + b"\x0a" + b[3:], "unknown type code"),
        (lambda b: b[:3] + b"\x00", "0 dimensions"),
        (lambda b: b[:9], "truncated inside its header"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\x00\x00", "2 bytes after the data"),
        (lambda b: b[:3] + b"\x03" + b[4:], "truncated"),  # 3 dims claimed: header eats the data
    ],
)
def test_malformed_files_raise_clear_errors(tmp_path, mutate, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(mutate(_valid_bytes()))
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_sizes_larger_than_the_file(tmp_path):
    raw = bytearray(_valid_bytes())
    raw[4:8] = (1000).to_bytes(4, "big")
    (tmp_path / "big").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"shape \(1000, 3\).*needs 3000 data bytes. Received 6"):
        read_idx(tmp_path / "big")


def test_truncated_and_corrupt_gzip(tmp_path):
    write_idx(tmp_path / "a.gz", np.arange(1000, dtype=np.int32))
    raw = (tmp_path / "a.gz").read_bytes()
    (tmp_path / "cut.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a complete gzip file"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "junk.gz").write_bytes(b"\x1f\x8b" + b"junk" * 10)
    with pytest.raises(ValueError, match="gzip"):
        read_idx(tmp_path / "junk.gz")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_write_rejects_unsupported_arrays(tmp_path):
    with pytest.raises(TypeError, match="dtype must be one of.*Received int64"):
        write_idx(tmp_path / "x", np.arange(3))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x", np.array(3, dtype=np.uint8))
