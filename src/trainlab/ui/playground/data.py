"""The playground's 2-D datasets (after TensorFlow Playground's), in the square [-1, 1]².

Classification (labels 0/1): ``circle`` (a disc inside a ring), ``xor`` (the quadrants'
sign product), ``gauss`` (two Gaussian blobs), ``spiral`` (two interleaved spirals),
``moons`` (two interleaving half circles). Regression (a target in about [-1, 1]):
``reg-plane`` (y = (x₁ + x₂)/2) and ``reg-gauss`` (a sum of signed Gaussian bumps).
``noise`` is the standard deviation of Gaussian noise added to the points
(classification) or to the targets (regression), in the square's units.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    radius = np.concatenate([rng.uniform(0.0, 0.45, half), rng.uniform(0.65, 0.95, n - half)])
    angle = rng.uniform(0.0, 2 * math.pi, n)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    y = np.concatenate([np.ones(half), np.zeros(n - half)])
    return X + rng.normal(0.0, noise, X.shape), y


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1.0, 1.0, (n, 2))
    X += np.where(X >= 0, 0.05, -0.05)  # keep the points off the axes, as the playground does
    X = np.clip(X, -1.0, 1.0)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.float64)
    return X + rng.normal(0.0, noise, X.shape), y


def _gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    spread = 0.2 + noise
    a = rng.normal(0.45, spread, (half, 2))
    b = rng.normal(-0.45, spread, (n - half, 2))
    return np.concatenate([a, b]), np.concatenate([np.ones(half), np.zeros(n - half)])


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    parts, labels = [], []
    for label, count, delta in ((1.0, half, 0.0), (0.0, n - half, math.pi)):
        t = np.arange(count) / count
        radius = 0.95 * t
        angle = 1.75 * 2 * math.pi * t + delta
        parts.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        labels.append(np.full(count, label))
    X = np.concatenate(parts)
    return X + rng.normal(0.0, noise, X.shape), np.concatenate(labels)


def _moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    a = rng.uniform(0.0, math.pi, half)
    b = rng.uniform(0.0, math.pi, n - half)
    upper = np.stack([np.cos(a), np.sin(a)], axis=1)
    lower = np.stack([1 - np.cos(b), 0.5 - np.sin(b)], axis=1)
    X = (np.concatenate([upper, lower]) - [0.5, 0.25]) * 0.6
    return X + rng.normal(0.0, noise, X.shape), np.concatenate([np.ones(half), np.zeros(n - half)])


def _reg_plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1.0, 1.0, (n, 2))
    return X, (X[:, 0] + X[:, 1]) / 2 + rng.normal(0.0, noise, n)


_BUMPS = ((-0.6, 0.6, 1.0), (0.0, 0.6, -1.0), (0.6, 0.6, 1.0),
          (-0.6, -0.6, -1.0), (0.0, -0.6, 1.0), (0.6, -0.6, -1.0))


def reg_gauss_surface(X: np.ndarray) -> np.ndarray:
    """Σ sign·exp(−|x − c|²/(2·0.25²)) over six bumps on a 3×2 grid, (N, 2) -> (N,)."""
    out = np.zeros(X.shape[0])
    for cx, cy, sign in _BUMPS:
        out += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / (2 * 0.25**2))
    return out


def _reg_gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1.0, 1.0, (n, 2))
    return X, reg_gauss_surface(X) + rng.normal(0.0, noise, n)


CLASSIFICATION: dict[str, Generator] = {"circle": _circle, "xor": _xor, "gauss": _gauss,
                                        "spiral": _spiral, "moons": _moons}
REGRESSION: dict[str, Generator] = {"reg-plane": _reg_plane, "reg-gauss": _reg_gauss}
DATASETS: dict[str, Generator] = {**CLASSIFICATION, **REGRESSION}


def make_dataset(name: str, n: int, noise: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(X (n, 2) float64, y (n,) float64) of the named dataset, in a random order."""
    X, y = DATASETS[name](n, noise, rng)
    order = rng.permutation(n)
    return X[order], y[order]
