import numpy as np
import pytest

from trainlab.data import Dataset, describe, load_dataset


def test_describe_digits_matches_numpy():
    ds = load_dataset("digits")
    summary = describe(ds)
    X = ds.X.astype(np.float64)
    assert (summary.n_samples, summary.n_features) == X.shape
    np.testing.assert_allclose(summary.mean, X.mean(0), rtol=1e-12)
    np.testing.assert_allclose(summary.std, X.std(0), rtol=1e-12)
    np.testing.assert_array_equal(summary.class_counts, np.bincount(ds.y, minlength=10))
    # digits has all-zero border pixels: the constant features are exactly those
    np.testing.assert_array_equal(summary.constant_features, np.flatnonzero(X.std(0) == 0))
    assert 0 in summary.constant_features
    assert "1797 examples × 64 features" in str(summary)


def test_describe_regression_has_no_class_counts():
    X = np.arange(12.0).reshape(4, 3)
    summary = describe(Dataset(X, np.array([0.5, 1.0, 2.0, 3.0]), task="regression"))
    assert summary.class_counts is None
    np.testing.assert_array_equal(summary.max, [9.0, 10.0, 11.0])


def test_describe_refuses_arrays():
    with pytest.raises(TypeError, match="describe: dataset"):
        describe(np.zeros((3, 2)))
