"""Central-difference gradients for the gradient-check tests (trainlab's own checker)."""

from __future__ import annotations

from trainlab.numerical import numerical_gradient

__all__ = ["numerical_gradient"]
