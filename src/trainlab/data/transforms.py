"""Data augmentation: random transforms of a training batch (notes §8).

Each transform is a callable ``(X_batch, rng) -> X_batch``: it returns a new array of
the same shape and dtype and draws all of its randomness from the Generator passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from trainlab._checks import all_finite, check_int, check_number
from trainlab._rng import as_generator

Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]
FILL_MODES = ("nearest", "constant")


def _float_batch(X, owner: str) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind != "f":
        raise TypeError(f"{owner}: expected a floating-point batch. Received dtype {X.dtype}.")
    if not all_finite(X):
        raise ValueError(f"{owner}: the batch contains NaN or infinite values.")
    return X


class GaussianNoise:
    """Add independent noise: x + std·ε with ε ~ N(0, 1), drawn in X's dtype."""

    def __init__(self, std: float) -> None:
        self.std = check_number(std, "GaussianNoise: std", low=0.0)

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        X = _float_batch(X, "GaussianNoise")
        noise = as_generator(rng).standard_normal(X.shape, dtype=X.dtype)
        noise *= X.dtype.type(self.std)
        noise += X
        return noise

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std:g})"


def _bilinear_gather(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Sample images (B, H, W) at real coordinates (B, H', W') inside [0, H−1] x [0, W−1]."""
    batch, height, width = images.shape
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = (rows - r0).astype(images.dtype), (cols - c0).astype(images.dtype)
    r0, c0 = r0.astype(np.intp), c0.astype(np.intp)
    r1, c1 = np.minimum(r0 + 1, height - 1), np.minimum(c0 + 1, width - 1)
    flat = images.reshape(-1)
    base = (np.arange(batch) * (height * width))[:, None, None]
    top_left, top_right = flat[base + r0 * width + c0], flat[base + r0 * width + c1]
    bottom_left, bottom_right = flat[base + r1 * width + c0], flat[base + r1 * width + c1]
    top = top_left + (top_right - top_left) * fc
    bottom = bottom_left + (bottom_right - bottom_left) * fc
    return top + (bottom - top) * fr


def shift_rotate(
    X: np.ndarray,
    image_shape: tuple[int, int],
    shifts: np.ndarray,
    degrees: np.ndarray,
    mode: str = "nearest",
) -> np.ndarray:
    """Rotate each image about its centre, then shift it; bilinear interpolation.

    X: (B, height·width), rows are images in C order. shifts: (B, 2) pixel offsets
    (down, right). degrees: (B,) counter-clockwise angles. Output pixel p of image b
    reads the input at  R(−θ_b)·(p − s_b − c) + c,  c the image centre. Pixels that
    come from outside the image take the nearest edge pixel (mode "nearest") or 0
    ("constant"). Returns a new (B, height·width) array of X's dtype.
    """
    height, width = image_shape
    X = _float_batch(X, "shift_rotate")
    batch = X.shape[0] if X.ndim else 0
    shifts = np.asarray(shifts, dtype=np.float64)
    degrees = np.asarray(degrees, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != height * width:
        raise ValueError(f"shift_rotate: expected X of shape (batch, {height * width}) for images "
                         f"{tuple(image_shape)}. Received shape {X.shape}.")
    if shifts.shape != (batch, 2) or degrees.shape != (batch,):
        raise ValueError(f"shift_rotate: expected shifts of shape ({batch}, 2) and degrees of "
                         f"shape ({batch},). Received {shifts.shape} and {degrees.shape}.")
    if mode not in FILL_MODES:
        raise ValueError(f"shift_rotate: mode must be one of {FILL_MODES}. Received: {mode!r}.")
    if not (np.isfinite(shifts).all() and np.isfinite(degrees).all()):
        raise ValueError("shift_rotate: shifts and degrees must be finite.")
    images = X.reshape(batch, height, width)
    theta = np.deg2rad(degrees)[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    rows = np.arange(height)[None, :, None] - shifts[:, 0, None, None] - (height - 1) / 2
    cols = np.arange(width)[None, None, :] - shifts[:, 1, None, None] - (width - 1) / 2
    src_rows = cos * rows + sin * cols + (height - 1) / 2
    src_cols = cos * cols - sin * rows + (width - 1) / 2
    if mode == "nearest":
        src_rows = np.clip(src_rows, 0, height - 1)
        src_cols = np.clip(src_cols, 0, width - 1)
    else:  # a one-pixel frame of zeros; anything further out reads the frame
        images = np.pad(images, ((0, 0), (1, 1), (1, 1)))
        src_rows = np.clip(src_rows, -1, height) + 1
        src_cols = np.clip(src_cols, -1, width) + 1
    return _bilinear_gather(images, src_rows, src_cols).reshape(batch, height * width)


class RandomShiftRotate:
    """Shift each image by a random whole number of pixels and rotate it by a small random angle.

    Per image: shifts (down, right) uniform on {−max_shift, …, max_shift}, angle
    uniform on [−max_degrees, max_degrees] degrees. X: (B, height·width).
    """

    def __init__(self, image_shape: Sequence[int], max_shift: int = 2, max_degrees: float = 10.0,
                 mode: str = "nearest") -> None:
        if not isinstance(image_shape, Sequence) or len(image_shape) != 2:
            raise ValueError(f"RandomShiftRotate: image_shape must be (height, width). "
                             f"Received: {image_shape!r}.")
        height, width = (check_int(s, "RandomShiftRotate: image_shape", low=1) for s in image_shape)
        self.image_shape = (height, width)
        self.max_shift = check_int(max_shift, "RandomShiftRotate: max_shift", low=0)
        self.max_degrees = check_number(max_degrees, "RandomShiftRotate: max_degrees",
                                        low=0.0, high=180.0)
        if mode not in FILL_MODES:
            raise ValueError(f"RandomShiftRotate: mode must be one of {FILL_MODES}. "
                             f"Received: {mode!r}.")
        self.mode = mode

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        X = _float_batch(X, "RandomShiftRotate")
        height, width = self.image_shape
        if X.ndim != 2 or X.shape[1] != height * width:
            raise ValueError(
                f"RandomShiftRotate: expected a batch of shape (batch, {height * width}) for "
                f"images {self.image_shape}. Received shape {X.shape}."
            )
        rng = as_generator(rng)
        n: int = X.shape[0]
        shifts = rng.integers(-self.max_shift, self.max_shift + 1, size=(n, 2))
        degrees = rng.uniform(-self.max_degrees, self.max_degrees, size=n)
        return shift_rotate(X, self.image_shape, shifts, degrees, self.mode)

    def __repr__(self) -> str:
        return (f"RandomShiftRotate(image_shape={self.image_shape}, max_shift={self.max_shift}, "
                f"max_degrees={self.max_degrees:g}, mode={self.mode!r})")


class Compose:
    """Apply transforms in order: ``Compose([a, b])(X, rng) == b(a(X, rng), rng)``."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: transforms[{i}] must be callable (X, rng) -> X. "
                                f"Received: {t!r}.")
        self.transforms = transforms

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rng = as_generator(rng)
        X = np.array(X, copy=True) if not self.transforms else X
        for transform in self.transforms:
            X = transform(X, rng)
        return X

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"
