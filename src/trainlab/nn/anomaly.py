"""``detect_anomaly()``: find the first layer that produces NaN or infinity (opt-in).

Layers and losses do not check their inputs for NaN or infinity: as in PyTorch,
non-finite values propagate through the layers and a loss returns ``nan``. Data is
validated where it enters the library (the trainer, the estimators, the loaders, the
command line). To find where a diverging network first goes non-finite, run its steps
inside ``detect_anomaly()``, as one would with ``torch.autograd.detect_anomaly``::

    with trainlab.detect_anomaly():
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward())

Inside the block every ``Sequential`` checks each of its layers after it runs: the
layer's output in the forward pass, and its input gradient and its own parameters'
gradients in the backward pass. The first one that holds NaN or infinity raises
:class:`~trainlab.NonFiniteError` (a ``ValueError``) naming the layer's position in the
model and its type, e.g. ``"layer 3 (ReLU) of Sequential"`` (``"layer 2.1"`` inside a
nested ``Sequential``, the dotted names of ``named_modules`` and ``state_dict``). A
loss whose value or gradient is not finite raises it too. Each check reads the whole
array, so this is for debugging, not for every run. Around ``Trainer.fit``, the NaN
guard reports an anomaly of the forward pass as the cause of the divergence (the
message names the layer); one of the backward pass propagates out of ``fit``.

The switch is a context variable, not a module flag: it holds for the code inside the
``with`` block (in this thread, or this asyncio task) and is restored when the block
ends, also after an error. Outside the block a ``Sequential`` call or a loss costs one
lookup of that variable more, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab._checks import NonFiniteError, all_finite


@dataclass(frozen=True)
class Position:
    """Where the checked forward or backward pass is: ``model``, the class name of the
    outermost ``Sequential`` (None before one runs), and ``prefix``, the dotted position
    of the ``Sequential`` now running inside it plus a dot ("" at the top)."""

    model: str | None = None
    prefix: str = ""


_POSITION: ContextVar[Position | None] = ContextVar("trainlab_detect_anomaly", default=None)


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Within the block, the first layer whose output (forward) or input gradient
    (backward) holds NaN or infinity raises :class:`~trainlab.NonFiniteError` naming the
    layer's position in the model and its type (see the module docstring)."""
    token = _POSITION.set(Position())
    try:
        yield
    finally:
        _POSITION.reset(token)


def enabled() -> bool:
    """Whether the caller runs inside :func:`detect_anomaly`."""
    return _POSITION.get() is not None


def position() -> Position | None:
    """The current :class:`Position`, or None outside :func:`detect_anomaly`."""
    return _POSITION.get()


def enter(model: str, prefix: str) -> Token[Position | None]:
    """Make ``(model, prefix)`` the position while a child layer runs; undo with :func:`leave`."""
    return _POSITION.set(Position(model, prefix))


def leave(token: Token[Position | None]) -> None:
    _POSITION.reset(token)


def _count(values: np.ndarray) -> str:
    nan = int(np.count_nonzero(np.isnan(values)))
    inf = int(np.count_nonzero(np.isinf(values)))
    return f"{nan} NaN and {inf} infinite values among {values.size}"


def check_layer(values: Any, part: str, where: str, layer: Any, model: str, phase: str,
                note: str = "") -> None:
    """Raise :class:`~trainlab.NonFiniteError` unless every element of ``values`` is finite.

    part: what ``values`` is ("output", "input gradient", ...); where: the layer's dotted
    position; layer: the layer; model: the outermost container's class name; phase:
    "forward" or "backward"; note: a sentence added to the message.
    """
    values = np.asarray(values)
    if values.dtype.kind not in "fc" or all_finite(values):
        return
    raise NonFiniteError(
        f"detect_anomaly: expected finite values in the {part} of layer {where} "
        f"({type(layer).__name__}) of {model} in the {phase} pass. "
        f"Received {_count(values)}.{note}"
    )


def check_loss(value: Any, owner: str, pred: Any, target: Any) -> None:
    """Raise :class:`~trainlab.NonFiniteError` when the loss ``value`` (a float, or the
    per-example array of an unreduced loss) is not finite."""
    values = np.asarray(value, dtype=float)
    if all_finite(values):
        return
    shown = f"{float(values)}" if values.ndim == 0 else _count(values)
    parts = []
    for name, array in (("pred", pred), ("target", target)):
        array = np.asarray(array)
        if array.dtype.kind == "f" and not all_finite(array):
            parts.append(f"its {name} holds {_count(array)}")
    cause = "; ".join(parts) if parts else "its pred and target are finite"
    raise NonFiniteError(f"detect_anomaly: expected a finite loss from {owner}. "
                         f"Received {shown} ({cause}).")


def check_loss_gradient(grad: np.ndarray, owner: str) -> None:
    """Raise :class:`~trainlab.NonFiniteError` when the loss's gradient is not finite."""
    if not all_finite(grad):
        raise NonFiniteError(f"detect_anomaly: expected finite values in the gradient of "
                             f"{owner} with respect to pred. Received {_count(grad)}.")
