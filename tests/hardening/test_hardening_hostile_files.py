"""Hostile data files through the API: each ends in a clear ValueError (or TypeError) that
names the file and the problem, and nothing is ever unpickled."""

from __future__ import annotations

import gzip
import os
import pickle
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from hardening_support import assert_clear_error

from trainlab import data
from trainlab.data import load_csv, load_npz, read_idx, write_idx

# -- CSV ----------------------------------------------------------------------------------

HOSTILE_CSV = {
    # name: (file contents, load_csv keyword arguments, what the message must say)
    "missing value": (b"a,b,y\n1,,0\n2,3,1\n", {}, r"line 2, column 'b': missing value"),
    "NA marker": (b"a,b,y\n1,NA,0\n2,3,1\n", {}, r"line 2, column 'b': missing value 'NA'"),
    "missing target": (b"a,b,y\n1,2,0\n2,3,\n", {}, r"line 3, column 'y': missing value"),
    "text in a numeric column": (b"a,b,y\n1,2,0\n2,three,1\n", {},
                                 r"line 3, column 'b': could not read 'three' as a number"),
    "infinite value": (b"a,b,y\n1,inf,0\n2,3,1\n", {}, r"column 'b': non-finite value 'inf'"),
    "overflowing value": (b"a,b,y\n1,1e999,0\n2,3,1\n", {}, r"non-finite value '1e999'"),
    "value overflowing float32": (b"a,b,y\n1,1e39,0\n2,3,1\n", {},
                                  r"line 2, column 'b': the value '1e39' overflows float32"),
    "target overflowing float32": (b"a,y\n1,0.5\n2,-1e39\n3,2.5\n", {"task": "regression"},
                                   r"line 3, column 'y': the value '-1e39' overflows float32"),
    "missing marker with spaces": (b"a,b,y\n1, NA ,0\n2,3,1\n", {},
                                   r"line 2, column 'b': missing value ' NA '"),
    "text below the sampled rows": (
        b"a,b,y\n" + b"".join(b"%d,%d,%d\n" % (i, i, i % 2) for i in range(300)) + b"7,x7,1\n",
        {}, r"line 302, column 'b': could not read 'x7' as a number"),
    "short ragged row": (b"a,b,y\n1,2,0\n2,3\n", {}, r"line 3 has 2 fields; expected 3"),
    "long ragged row": (b"a,b,y\n1,2,0,9\n2,3,1\n", {}, r"line 2 has 4 fields; expected 3"),
    "empty file": (b"", {}, r"is empty"),
    "blank lines only": (b"\n\n\n", {}, r"is empty"),
    "header only": (b"a,b,y\n", {}, r"header row but no data rows"),
    "one class": (b"a,b,y\n1,2,0\n2,3,0\n4,5,0\n", {}, r"only one class"),
    "one text class": (b"a,y\n1,cat\n2,cat\n", {}, r"only one class"),
    "non-existent target": (b"a,b,y\n1,2,0\n2,3,1\n", {"target": "label"},
                            r"target column 'label' is not in the header"),
    "only a target column": (b"y\n0\n1\n", {}, r"at least one target and one feature"),
    "duplicate header": (b"a,a,y\n1,2,0\n2,3,1\n", {}, r"duplicate column names"),
    "unnamed column": (b"a,,y\n1,2,0\n2,3,1\n", {}, r"column 2 of the header has no name"),
    "binary garbage": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8", {}, r"not UTF-8 text"),
    "latin-1 text": (b"caf\xe9,y\n1,0\n2,1\n", {}, r"not UTF-8 text"),
    "NUL bytes": (b"a,y\n1\x00,0\n2,1\n", {}, r"line 2 contains a NUL byte"),
    "fractional class with task": (b"a,y\n1,0.5\n2,1\n", {"task": "classification"},
                                   r"integer-like or text"),
    "unknown task": (b"a,y\n1,0\n2,1\n", {"task": "clustering"}, r"task must be one of"),
    "text target for regression": (b"a,y\n1,cat\n2,dog\n", {"task": "regression"},
                                   r"regression targets must be numbers"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_CSV))
def test_hostile_csv(tmp_path: Path, case: str):
    content, kwargs, pattern = HOSTILE_CSV[case]
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    err = assert_clear_error(lambda: load_csv(path, **kwargs), str(path))
    assert isinstance(err, ValueError)
    assert re.search(pattern, str(err)), str(err)
    # the same through load_dataset("csv:PATH")
    assert_clear_error(lambda: data.load_dataset(f"csv:{path}", **kwargs), str(path))


def test_csv_that_does_not_exist_names_the_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_csv(tmp_path / "nope.csv")


# -- .npz -------------------------------------------------------------------------------


class Marker:
    """Unpickling this object would create the marker file: proof that pickle ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def save_object_npz(path: Path, marker: Path, which: str) -> None:
    arrays = {"X": np.ones((2, 2)), "y": np.array([0, 1])}
    arrays[which] = np.array([Marker(marker), Marker(marker)], dtype=object)
    np.savez(path, **arrays)  # object arrays are pickled inside the archive


def test_marker_would_be_created_by_unpickling(tmp_path: Path):
    """The control: a real unpickle of the same archive does create the marker."""
    marker = tmp_path / "MARKER"
    save_object_npz(tmp_path / "evil.npz", marker, "X")
    with np.load(tmp_path / "evil.npz", allow_pickle=True) as archive:
        archive["X"]
    assert marker.exists()


@pytest.mark.parametrize("which", ["X", "y"])
def test_npz_with_object_arrays_is_refused_and_nothing_is_unpickled(tmp_path: Path, which):
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.npz"
    save_object_npz(path, marker, which)
    err = assert_clear_error(lambda: load_npz(path), str(path), f"'{which}'", "object")
    assert isinstance(err, ValueError)
    assert_clear_error(lambda: data.load_dataset(f"npz:{path}"), str(path))
    assert not marker.exists()


def test_npz_that_is_a_pickle_is_refused_and_nothing_is_unpickled(tmp_path: Path):
    marker = tmp_path / "MARKER"
    path = tmp_path / "pickle.npz"
    path.write_bytes(pickle.dumps({"X": Marker(marker), "y": Marker(marker)}))
    assert_clear_error(lambda: load_npz(path), str(path), "not a readable .npz")
    assert not marker.exists()


def test_npy_with_an_object_array_is_refused(tmp_path: Path):
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.npy"
    np.save(path, np.array([Marker(marker)], dtype=object), allow_pickle=True)
    assert_clear_error(lambda: load_npz(path), str(path))
    assert not marker.exists()


def _npz(tmp_path: Path, **arrays) -> Path:
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


HOSTILE_NPZ = {
    "missing X": (lambda: {"y": np.arange(3)}, r"missing array\(s\) \['X'\]"),
    "missing y": (lambda: {"X": np.ones((3, 2))}, r"missing array\(s\) \['y'\]"),
    "missing both": (lambda: {"Z": np.ones(3)}, r"missing array\(s\) \['X', 'y'\]"),
    "NaN in X": (lambda: {"X": np.array([[np.nan, 1.0], [0, 1]]), "y": np.array([0, 1])},
                 r"X contains NaN"),
    "inf in y": (lambda: {"X": np.ones((2, 2)), "y": np.array([np.inf, 1.0])}, r"y contains NaN"),
    "X of rank 4": (lambda: {"X": np.ones((2, 2, 2, 2)), "y": np.array([0, 1])}, r"shape \(n, d\)"),
    "X of rank 1": (lambda: {"X": np.ones(2), "y": np.array([0, 1])}, r"shape \(n, d\)"),
    "y rows differ": (lambda: {"X": np.ones((3, 2)), "y": np.array([0, 1])}, r"n = 3 rows"),
    "text X": (lambda: {"X": np.array([["a", "b"], ["c", "d"]]), "y": np.array([0, 1])},
               r"X must be numeric"),
    "complex X": (lambda: {"X": np.ones((2, 2), complex), "y": np.array([0, 1])},
                  r"X must be numeric"),
    "no rows": (lambda: {"X": np.ones((0, 2)), "y": np.ones(0, int)}, r"X has no rows"),
    "one class": (lambda: {"X": np.ones((3, 2)), "y": np.zeros(3, int)}, r"only one class"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_NPZ))
def test_hostile_npz(tmp_path: Path, case: str):
    arrays, pattern = HOSTILE_NPZ[case]
    path = _npz(tmp_path, **arrays())
    err = assert_clear_error(lambda: load_npz(path), str(path))
    assert re.search(pattern, str(err)), str(err)


@pytest.mark.parametrize("cut", [0, 10, 0.5, -1])
def test_truncated_npz(tmp_path: Path, cut):
    good = _npz(tmp_path, X=np.ones((4, 2)), y=np.array([0, 1, 0, 1])).read_bytes()
    n = int(len(good) * cut) if isinstance(cut, float) else (cut if cut >= 0 else len(good) + cut)
    path = tmp_path / "truncated.npz"
    path.write_bytes(good[:n])
    assert_clear_error(lambda: load_npz(path), str(path), "not a readable .npz")


# -- IDX --------------------------------------------------------------------------------


@pytest.fixture
def idx_bytes(tmp_path: Path) -> bytes:
    write_idx(tmp_path / "good.idx", np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    return (tmp_path / "good.idx").read_bytes()


HOSTILE_IDX = {
    "wrong magic": (lambda b: b"\x01\x02" + b[2:], r"wrong magic number"),
    "unknown type code": (lambda b: b[:2] + b"\x07" + b[3:], r"unknown type code"),
    "zero dimensions": (lambda b: b[:3] + b"\x00" + b[4:], r"0 dimensions"),
    "dimension too large": (lambda b: b[:4] + struct.pack(">I", 5) + b[8:],
                            r"truncated: shape \(5, 3, 4\)"),
    "dimension too small": (lambda b: b[:4] + struct.pack(">I", 1) + b[8:],
                            r"12 bytes after the data"),
    "absurd dimensions": (lambda b: b[:4] + struct.pack(">III", *(3 * [2**32 - 1])) + b[16:],
                          r"truncated"),
    "too many dimensions": (lambda b: b[:3] + b"\xff" + b[4:], r"truncated inside its header"),
    "truncated data": (lambda b: b[:-3], r"needs 24 data bytes. Received 21"),
    "truncated header": (lambda b: b[:6], r"truncated inside its header"),
    "empty": (lambda b: b"", r"too short"),
    "truncated gzip": (lambda b: gzip.compress(b)[:-6], r"not a complete gzip file"),
    "gzip of garbage": (lambda b: gzip.compress(b"\x00\x00" + b"\xff" * 10), r"unknown type code"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_IDX))
def test_hostile_idx(tmp_path: Path, idx_bytes: bytes, case: str):
    mutate, pattern = HOSTILE_IDX[case]
    path = tmp_path / "hostile-idx3-ubyte"
    path.write_bytes(mutate(idx_bytes))
    err = assert_clear_error(lambda: read_idx(path), str(path))
    assert isinstance(err, ValueError)
    assert re.search(pattern, str(err)), str(err)


def test_hostile_idx_files_in_an_mnist_directory(tmp_path: Path):
    """MNIST loading with mismatched image and label files names the file."""
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 2, 2), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))  # 2 labels, 3 images
    assert_clear_error(
        lambda: data.load_mnist(tmp_path, split="train", download=False),
        "train-labels-idx1-ubyte", "3",
    )
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 12], np.uint8))
    assert_clear_error(lambda: data.load_mnist(tmp_path, split="train", download=False), "0..9")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 4), np.uint8))
    assert_clear_error(
        lambda: data.load_mnist(tmp_path, split="train", download=False), "train-images-idx3-ubyte")


def test_hostile_files_leave_no_files_behind(tmp_path: Path):
    """Reading never writes: the directory holds only what the test put there."""
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,y\n1,\n")
    with pytest.raises(ValueError):
        load_csv(path)
    assert sorted(os.listdir(tmp_path)) == ["x.csv"]
