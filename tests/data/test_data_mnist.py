"""MNIST / Fashion-MNIST from IDX files: lookup, checks, download and the offline error."""

from __future__ import annotations

import dataclasses
import hashlib
import urllib.error

import numpy as np
import pytest

from trainlab.data import load_dataset, write_idx
from trainlab.data import mnist as mnist_module
from trainlab.data.mnist import MissingDataFilesError

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def make_files(folder, rng, n_train=6, n_test=4, gz=True, size=28):
    """Small fake MNIST files; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        STEMS[0]: rng.integers(0, 256, (n_train, size, size), dtype=np.uint8),
        STEMS[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
        STEMS[2]: rng.integers(0, 256, (n_test, size, size), dtype=np.uint8),
        STEMS[3]: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for stem, values in arrays.items():
        write_idx(folder / (stem + (".gz" if gz else "")), values)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_loads_all_train_and_test(tmp_path, rng, gz):
    arrays = make_files(tmp_path, rng, gz=gz)
    ds = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert ds.X.shape == (10, 784) and ds.X.dtype == np.float32 and ds.image_shape == (28, 28)
    assert ds.y.dtype == np.int64 and ds.n_classes == 10 and ds.task == "classification"
    np.testing.assert_array_equal(ds.X[:6], arrays[STEMS[0]].reshape(6, -1))
    np.testing.assert_array_equal(ds.X[6:], arrays[STEMS[2]].reshape(4, -1))
    np.testing.assert_array_equal(ds.y, np.concatenate([arrays[STEMS[1]], arrays[STEMS[3]]]))
    assert ds.feature_names[29] == "pixel_1_1"


def test_splits_and_torchvision_layout(tmp_path, rng):
    arrays = make_files(tmp_path / "FashionMNIST" / "raw", rng)
    train = load_dataset("fashion_mnist", data_dir=tmp_path, split="train", download=False)
    test = load_dataset("fashion_mnist", data_dir=tmp_path, split="test", download=False,
                        dtype=np.float64)
    assert train.n_samples == 6 and test.n_samples == 4 and test.X.dtype == np.float64
    np.testing.assert_array_equal(test.y, arrays[STEMS[3]])
    assert train.class_names[0] == "T-shirt/top" and train.class_names[9] == "Ankle boot"


def test_only_the_needed_split_is_required(tmp_path, rng):
    make_files(tmp_path, rng)
    (tmp_path / (STEMS[2] + ".gz")).unlink()
    assert load_dataset("mnist", data_dir=tmp_path, split="train", download=False).n_samples == 6
    with pytest.raises(MissingDataFilesError, match="t10k-images-idx3-ubyte.gz"):
        load_dataset("mnist", data_dir=tmp_path, split="test", download=False)


def test_offline_error_lists_files_directory_and_sources(tmp_path, monkeypatch):
    def offline(url, timeout):
        assert timeout == 10.0
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(mnist_module.urllib.request, "urlopen", offline)
    with pytest.raises(MissingDataFilesError) as info:
        load_dataset("mnist", data_dir=tmp_path / "mnist")
    message = str(info.value)
    assert "download failed" in message and "Name or service not known" in message
    assert f"into the directory {tmp_path / 'mnist'}" in message
    for stem in STEMS:
        assert f"{stem}.gz  (MD5 " in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in message
    assert not (tmp_path / "mnist").exists() or not any((tmp_path / "mnist").iterdir())


def test_no_data_dir_is_a_clear_error():
    with pytest.raises(ValueError, match="needs data_dir=") as info:
        load_dataset("mnist")
    assert "train-images-idx3-ubyte.gz" in str(info.value)


def _local_mirror(tmp_path, rng, monkeypatch):
    """Serve fake files from a file:// mirror whose MD5s are registered for 'mnist'."""
    mirror = tmp_path / "mirror"
    arrays = make_files(mirror, rng)
    md5 = {s + ".gz": hashlib.md5((mirror / (s + ".gz")).read_bytes()).hexdigest() for s in STEMS}
    source = dataclasses.replace(mnist_module.SOURCES["mnist"],
                                 mirrors=("file:///nonexistent-mirror/", mirror.as_uri() + "/"),
                                 md5=md5)
    monkeypatch.setitem(mnist_module.SOURCES, "mnist", source)
    return arrays, md5


def test_download_with_checksum(tmp_path, rng, monkeypatch):
    arrays, _ = _local_mirror(tmp_path, rng, monkeypatch)
    ds = load_dataset("mnist", data_dir=tmp_path / "data", split="train")
    np.testing.assert_array_equal(ds.y, arrays[STEMS[1]])
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == sorted(
        [STEMS[0] + ".gz", STEMS[1] + ".gz"])


def test_download_rejects_a_wrong_checksum(tmp_path, rng, monkeypatch):
    _, md5 = _local_mirror(tmp_path, rng, monkeypatch)
    source = mnist_module.SOURCES["mnist"]
    bad = dict(md5, **{STEMS[0] + ".gz": "0" * 32})
    monkeypatch.setitem(mnist_module.SOURCES, "mnist", dataclasses.replace(source, md5=bad))
    with pytest.raises(MissingDataFilesError, match="checksum mismatch.*expected MD5 0{32}"):
        load_dataset("mnist", data_dir=tmp_path / "data")
    assert not (tmp_path / "data" / (STEMS[0] + ".gz")).exists()


def test_inconsistent_files_are_reported(tmp_path, rng):
    make_files(tmp_path, rng)
    write_idx(tmp_path / (STEMS[1] + ".gz"), np.zeros(5, dtype=np.uint8))  # 6 images, 5 labels
    with pytest.raises(ValueError, match="expected 6 uint8 labels"):
        load_dataset("mnist", data_dir=tmp_path, split="train", download=False)
    write_idx(tmp_path / (STEMS[1] + ".gz"), np.full(6, 10, dtype=np.uint8))
    with pytest.raises(ValueError, match="labels must be 0..9"):
        load_dataset("mnist", data_dir=tmp_path, split="train", download=False)
    write_idx(tmp_path / (STEMS[0] + ".gz"), np.zeros((6, 784), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"uint8 images \(n, height, width\)"):
        load_dataset("mnist", data_dir=tmp_path, split="train", download=False)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        load_dataset("mnist", data_dir=tmp_path, split="validation")
    with pytest.raises(ValueError, match="timeout must be in"):
        load_dataset("mnist", data_dir=tmp_path, timeout=0)


def test_missing_files_are_a_value_error_that_says_what_to_put_where(tmp_path, monkeypatch):
    """Not a FileNotFoundError: no single path is missing, and front ends that print
    FileNotFoundError as "no such file PATH" would lose the list of files."""
    def offline(url, timeout):
        raise urllib.error.URLError("Network is unreachable")

    monkeypatch.setattr(mnist_module.urllib.request, "urlopen", offline)
    empty = tmp_path / "empty"
    empty.mkdir()
    for download in (True, False):
        with pytest.raises(MissingDataFilesError) as info:
            load_dataset("mnist", data_dir=empty, download=download)
        assert isinstance(info.value, ValueError) and not isinstance(info.value, OSError)
        message = str(info.value)
        assert f"into the directory {empty}" in message and "MNIST/raw" in message
        assert all(f"{stem}.gz" in message for stem in STEMS)
