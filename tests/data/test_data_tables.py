"""CSV and npz loaders: targets, task inference, and a clear error for every bad file."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.data import MAX_INFERRED_CLASSES, load_csv, load_dataset, load_npz


def write(tmp_path, text: str, name: str = "t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_text_target_becomes_sorted_class_labels(tmp_path):
    path = write(tmp_path, "a,b,kind\n1,2.5,dog\n3,4,cat\n5, 6e1 ,dog\n\n")
    ds = load_csv(path)
    assert ds.task == "classification" and ds.name == "t"
    assert ds.X.dtype == np.float32 and ds.X.shape == (3, 2)
    np.testing.assert_array_equal(ds.X, [[1, 2.5], [3, 4], [5, 60]])
    assert ds.y.dtype == np.int64
    np.testing.assert_array_equal(ds.y, [1, 0, 1])
    assert ds.class_names == ("cat", "dog") and ds.n_classes == 2
    assert ds.feature_names == ("a", "b")


def test_csv_integer_target_with_few_values_is_classification(tmp_path):
    path = write(tmp_path, "x,label\n0.1,3\n0.2,1\n0.3,3\n0.4,-1\n")
    ds = load_csv(path)
    assert ds.task == "classification"
    assert ds.class_names == ("-1", "1", "3")
    np.testing.assert_array_equal(ds.y, [2, 1, 2, 0])


def test_csv_real_or_many_valued_target_is_regression(tmp_path):
    ds = load_csv(write(tmp_path, "x,y\n1,0.5\n2,1.5\n3,2\n"))
    assert ds.task == "regression" and ds.y.dtype == np.float32 and ds.y.shape == (3,)
    np.testing.assert_array_equal(ds.y, [0.5, 1.5, 2.0])
    assert ds.class_names is None and ds.n_classes is None and ds.n_outputs == 1
    n = MAX_INFERRED_CLASSES + 1
    rows = "\n".join(f"{i},{i}" for i in range(n))
    assert load_csv(write(tmp_path, f"x,y\n{rows}\n", "many.csv")).task == "regression"


def test_csv_target_by_name_task_override_and_float64(tmp_path):
    path = write(tmp_path, "y,x1,x2\n1,2,3\n0,5,6\n1,8,9\n")
    ds = load_csv(path, target="y", task="regression", dtype=np.float64)
    assert ds.task == "regression" and ds.y.dtype == np.float64 and ds.X.dtype == np.float64
    np.testing.assert_array_equal(ds.X, [[2, 3], [5, 6], [8, 9]])
    assert ds.feature_names == ("x1", "x2")
    assert load_csv(path, target="y").task == "classification"


def test_csv_several_targets_give_multi_output_regression(tmp_path):
    ds = load_csv(write(tmp_path, "a,t1,t2\n1,2,3\n4,5,6\n"), target=["t1", "t2"])
    assert ds.task == "regression" and ds.y.shape == (2, 2) and ds.n_outputs == 2


def test_csv_through_load_dataset_with_data_dir(tmp_path):
    write(tmp_path, "a;b;c\n1;2;x\n3;4;y\n", "semi.csv")
    ds = load_dataset("csv:semi.csv", data_dir=tmp_path, delimiter=";", target="c")
    assert ds.X.shape == (2, 2) and ds.class_names == ("x", "y")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ("a,b,c\n", "header row but no data rows"),
        ("a,b,c\n1,2,3\n4,5\n", "line 3 has 2 fields; expected 3"),
        ("a,b,c\n1,2,3\n4,5,6,7\n", "line 3 has 4 fields; expected 3"),
        ("a,b,c\n1,,3\n", "line 2, column 'b': missing value ''"),
        ("a,b,c\n1,NA,3\n", "line 2, column 'b': missing value 'NA'"),
        ("a,b,c\n1,nan,3\n", "missing value 'nan'"),
        ("a,b,c\n1,2,3\n1,inf,3\n", "line 3, column 'b': non-finite value 'inf'"),
        ("a,b,c\n1,2,3\nred,2,3\n", "line 3, column 'a': could not read 'red' as a number"),
        ("a,b,c\n1,2,\n", "line 2, column 'c': missing value"),
        ("a,a,c\n1,2,3\n", "duplicate column names"),
        ("a,,c\n1,2,3\n", "column 2 of the header has no name"),
        ("c\n1\n", "at least one target and one feature"),
    ],
)
def test_csv_bad_files(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as info:
        load_csv(path)
    assert str(path) in str(info.value)


def test_csv_bad_arguments(tmp_path):
    path = write(tmp_path, "a,b\n1,2.5\n2,3\n")
    with pytest.raises(ValueError, match="target column 'z' is not in the header"):
        load_csv(path, target="z")
    with pytest.raises(ValueError, match="integer-like or text. Received a value such as 2.5"):
        load_csv(path, task="classification")
    with pytest.raises(ValueError, match="task must be one of"):
        load_csv(path, task="ranking")
    with pytest.raises(ValueError, match="regression targets must be numbers"):
        load_csv(write(tmp_path, "a,b\n1,x\n", "t2.csv"), task="regression")
    with pytest.raises(FileNotFoundError):
        load_csv(tmp_path / "missing.csv")


def test_npz_classification_images_and_names(tmp_path):
    X = np.arange(4 * 2 * 3, dtype=np.uint8).reshape(4, 2, 3)
    y = np.array([2, 0, 2, 5])
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y, class_names=np.array([f"c{k}" for k in range(6)]))
    ds = load_npz(path)
    assert ds.task == "classification" and ds.image_shape == (2, 3)
    assert ds.X.shape == (4, 6) and ds.X.dtype == np.float32
    np.testing.assert_array_equal(ds.X, X.reshape(4, 6))
    np.testing.assert_array_equal(ds.y, [1, 0, 1, 2])
    assert ds.class_names == ("c0", "c2", "c5")


def test_npz_regression_and_override(tmp_path):
    path = tmp_path / "r.npz"
    np.savez(path, X=np.ones((3, 2)), y=np.array([[0.5, 1], [1, 2], [3, 4]]),
             feature_names=np.array(["u", "v"]))
    ds = load_dataset(f"npz:{path}", dtype=np.float64)
    assert ds.task == "regression" and ds.y.shape == (3, 2) and ds.y.dtype == np.float64
    assert ds.feature_names == ("u", "v")
    np.savez(path, X=np.ones((3, 2)), y=np.array([1, 2, 3]))
    assert load_npz(path, task="regression").y.dtype == np.float32


def test_npz_string_labels(tmp_path):
    path = tmp_path / "s.npz"
    np.savez(path, X=np.zeros((3, 1)), y=np.array(["b", "a", "b"]))
    ds = load_npz(path)
    assert ds.class_names == ("a", "b")
    np.testing.assert_array_equal(ds.y, [1, 0, 1])


def test_npz_object_array_is_refused(tmp_path):
    path = tmp_path / "o.npz"
    np.savez(path, X=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=r"array 'y' holds Python objects \(dtype=object\)"):
        load_npz(path)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"X": np.zeros((2, 2))}, r"missing array\(s\) \['y'\]"),
        ({"features": np.zeros((2, 2)), "y": np.zeros(2)}, r"missing array\(s\) \['X'\]"),
        ({"X": np.zeros(4), "y": np.zeros(4)}, "X must have shape"),
        ({"X": np.zeros((3, 2)), "y": np.zeros(2)}, "n = 3 rows"),
        ({"X": np.array([[1.0, np.nan]]), "y": np.zeros(1)}, "X contains NaN"),
        ({"X": np.zeros((1, 2)), "y": np.array([np.inf])}, "y contains NaN"),
        ({"X": np.array([["a", "b"]]), "y": np.zeros(1)}, "X must be numeric"),
    ],
)
def test_npz_bad_contents(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises((ValueError, TypeError), match=message):
        load_npz(path)


def test_npz_not_an_archive(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="not a readable .npz archive"):
        load_npz(tmp_path / "junk.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single .npy array"):
        load_npz(tmp_path / "single.npy")
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "absent.npz")
