"""Augmentation transforms: shapes, dtypes, seeds, and shift/rotation numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from trainlab.data import Compose, GaussianNoise, RandomShiftRotate, shift_rotate


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_noise_shape_dtype_seed_and_std(rng, dtype):
    X = rng.standard_normal((400, 50)).astype(dtype)
    noise = GaussianNoise(0.5)
    a = noise(X, np.random.default_rng(1))
    b = noise(X, np.random.default_rng(1))
    c = noise(X, np.random.default_rng(2))
    assert a.shape == X.shape and a.dtype == dtype and a is not X
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    expected = X + dtype(0.5) * np.random.default_rng(1).standard_normal(X.shape, dtype=dtype)
    np.testing.assert_allclose(a, expected, rtol=1e-6)
    assert abs((a - X).std() - 0.5) < 0.01 and abs((a - X).mean()) < 0.01
    np.testing.assert_array_equal(GaussianNoise(0.0)(X, rng), X)


def test_gaussian_noise_validation(rng):
    with pytest.raises(ValueError, match=r"GaussianNoise: std must be in \[0, inf\]"):
        GaussianNoise(-1.0)
    with pytest.raises(TypeError, match="floating-point batch"):
        GaussianNoise(1.0)(np.ones((2, 2), dtype=np.int64), rng)


def reference(X, image_shape, shifts, degrees, mode):
    """scipy.ndimage.affine_transform, one image at a time: the oracle."""
    height, width = image_shape
    centre = np.array([(height - 1) / 2, (width - 1) / 2])
    out = np.empty_like(X)
    for b, image in enumerate(X.reshape(-1, height, width)):
        theta = np.deg2rad(degrees[b])
        matrix = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
        offset = centre - matrix @ (centre + shifts[b])
        out[b] = ndimage.affine_transform(
            image, matrix, offset=offset, order=1,
            mode="nearest" if mode == "nearest" else "grid-constant").ravel()
    return out


@pytest.mark.parametrize("image_shape", [(8, 8), (28, 28), (5, 7)])
@pytest.mark.parametrize("mode", ["nearest", "constant"])
def test_shift_rotate_matches_scipy(rng, image_shape, mode):
    X = rng.random((16, image_shape[0] * image_shape[1]))
    shifts = rng.integers(-3, 4, (16, 2))
    degrees = rng.uniform(-40, 40, 16)
    np.testing.assert_allclose(shift_rotate(X, image_shape, shifts, degrees, mode),
                               reference(X, image_shape, shifts, degrees, mode), atol=1e-13)


def test_integer_shift_is_exact():
    image = np.arange(1.0, 26.0).reshape(5, 5)
    out = shift_rotate(image.reshape(1, -1), (5, 5), np.array([[1, -2]]), np.zeros(1), "constant")
    expected = np.zeros((5, 5))
    expected[1:, :3] = image[:-1, 2:]  # down 1, left 2, zeros come in
    np.testing.assert_array_equal(out.reshape(5, 5), expected)
    out = shift_rotate(image.reshape(1, -1), (5, 5), np.array([[0, 1]]), np.zeros(1), "nearest")
    np.testing.assert_array_equal(out.reshape(5, 5)[:, 0], image[:, 0])  # edge repeated
    np.testing.assert_array_equal(out.reshape(5, 5)[:, 1:], image[:, :-1])


def test_rotation_by_90_degrees_is_counter_clockwise():
    image = np.arange(9.0).reshape(3, 3)
    out = shift_rotate(image.reshape(1, -1), (3, 3), np.zeros((1, 2)), np.array([90.0]))
    np.testing.assert_allclose(out.reshape(3, 3), np.rot90(image), atol=1e-12)


@pytest.mark.parametrize("image_shape", [(8, 8), (28, 28)])
def test_random_shift_rotate_shape_dtype_seed(rng, image_shape):
    X = rng.random((64, image_shape[0] * image_shape[1])).astype(np.float32)
    augment = RandomShiftRotate(image_shape, max_shift=2, max_degrees=10)
    a = augment(X, np.random.default_rng(5))
    b = augment(X, np.random.default_rng(5))
    c = augment(X, np.random.default_rng(6))
    assert a.shape == X.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the draws: shifts then angles from the same Generator
    g = np.random.default_rng(5)
    shifts, degrees = g.integers(-2, 3, (64, 2)), g.uniform(-10, 10, 64)
    assert np.abs(shifts).max() == 2
    np.testing.assert_allclose(a, reference(X.astype(np.float64), image_shape, shifts, degrees,
                                            "nearest"), atol=1e-5)


def test_random_shift_rotate_identity_when_ranges_are_zero(rng):
    X = rng.random((4, 64))
    np.testing.assert_array_equal(RandomShiftRotate((8, 8), 0, 0)(X, rng), X)


@pytest.mark.parametrize(
    "args, error, message",
    [
        (((8,),), ValueError, r"image_shape must be \(height, width\)"),
        ((8,), ValueError, r"image_shape must be \(height, width\)"),
        (((0, 8),), ValueError, "image_shape must be an integer >= 1"),
        (((8, 8), -1), ValueError, "max_shift must be an integer >= 0"),
        (((8, 8), 1.5), TypeError, "max_shift must be an integer"),
        (((8, 8), 2, 200.0), ValueError, r"max_degrees must be in \[0, 180\]"),
        (((8, 8), 2, 10.0, "wrap"), ValueError, "mode must be one of"),
    ],
)
def test_random_shift_rotate_validation(args, error, message):
    with pytest.raises(error, match=message):
        RandomShiftRotate(*args)


def test_random_shift_rotate_checks_batch_shape(rng):
    with pytest.raises(ValueError, match=r"expected a batch of shape \(batch, 64\)"):
        RandomShiftRotate((8, 8))(rng.random((2, 63)), rng)


def test_compose_applies_in_order_with_one_generator(rng):
    X = rng.random((8, 64)).astype(np.float32)
    pipeline = Compose([RandomShiftRotate((8, 8)), GaussianNoise(0.1)])
    out = pipeline(X, np.random.default_rng(9))
    g = np.random.default_rng(9)
    manual = GaussianNoise(0.1)(RandomShiftRotate((8, 8))(X, g), g)
    np.testing.assert_array_equal(out, manual)
    assert out.dtype == np.float32
    empty = Compose([])(X, rng)
    np.testing.assert_array_equal(empty, X)
    assert empty is not X
    with pytest.raises(TypeError, match=r"transforms\[1\] must be callable"):
        Compose([GaussianNoise(0.1), 3])
