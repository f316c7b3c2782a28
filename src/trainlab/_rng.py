"""The one way trainlab turns a seed into a random generator.

Nothing in trainlab uses NumPy's global random state: every random draw comes from
a ``np.random.Generator`` that was handed in (or built from an int seed here).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

RngLike = int | np.random.Generator | None


def as_generator(rng: RngLike, name: str = "rng") -> np.random.Generator:
    """Return a Generator: ``rng`` itself, one seeded with the int, or a fresh one for None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{name} must be a non-negative int seed. Received: {rng!r}.")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be a np.random.Generator, an int seed or None. Received: {rng!r}."
    )


def generator_state(rng: np.random.Generator) -> dict[str, Any]:
    """The JSON-serialisable state of a Generator (its bit generator's state dict)."""
    return dict(rng.bit_generator.state)


def set_generator_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    """Restore a state captured by :func:`generator_state`, in place."""
    rng.bit_generator.state = state
