"""Watch each layer of a model without changing it: forward and backward taps.

:func:`layer_chain` lists a model's layers in the order the signal flows through them
(``Sequential`` containers are opened, recursively; any other module is one layer).
:func:`tap` wraps each layer's ``forward`` and ``backward`` for the duration of a
``with`` block so that a callback sees the layer's input and output, and the gradient
that reaches the layer's output. The wrappers only read the arrays they are shown:
they draw no random numbers and touch no parameter, gradient or buffer, so a model
computes exactly the same numbers inside and outside the block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from trainlab.nn.module import Module, Sequential

ForwardTap = Callable[[int, Module, np.ndarray, np.ndarray], None]
BackwardTap = Callable[[int, Module, np.ndarray], None]


def layer_chain(model: Module) -> list[tuple[str, Module]]:
    """``(dotted_name, layer)`` of every layer in forward order; Sequentials are flattened."""
    if not isinstance(model, Module):
        raise TypeError(
            f"layer_chain: expected a trainlab.nn.Module. Received: {type(model).__name__}."
        )

    def walk(module: Module, prefix: str) -> Iterator[tuple[str, Module]]:
        if isinstance(module, Sequential):
            for name, child in module._modules.items():
                yield from walk(child, f"{prefix}.{name}" if prefix else name)
        else:
            yield prefix or type(module).__name__, module

    return list(walk(model, ""))


def layer_label(name: str, layer: Module) -> str:
    """A short label, e.g. ``"3 Tanh"``: the key of a layer in the monitor's records,
    samples and warnings (``monitor.json``)."""
    return f"{name} {type(layer).__name__}"


def display_label(label: str) -> str:
    """The label a reader sees in tables and figures: ``"3 Tanh"`` → ``"layer 3 · Tanh"``
    (the layer's position in the model, as in the report's model table); a label of
    another form is returned as it is."""
    name, _, kind = label.partition(" ")
    if kind and all(part.isdigit() for part in name.split(".")):
        return f"layer {name} · {kind}"
    return label


@contextmanager
def tap(
    model: Module,
    on_forward: ForwardTap | None = None,
    on_backward: BackwardTap | None = None,
) -> Iterator[list[tuple[str, Module]]]:
    """Within the block, call ``on_forward(i, layer, x, y)`` after layer ``i``'s forward and
    ``on_backward(i, layer, dy)`` before its backward (``dy``: the gradient w.r.t. its output).

    Yields the layer chain. The original methods are restored on exit, also after an error.
    """
    chain = layer_chain(model)
    saved: list[tuple[Module, dict[str, Any]]] = []
    try:
        for i, (_, layer) in enumerate(chain):
            own: dict[str, Any] = {
                k: layer.__dict__[k] for k in ("forward", "backward") if k in layer.__dict__
            }
            saved.append((layer, own))
            if on_forward is not None:
                object.__setattr__(layer, "forward", _forward_wrapper(i, layer, on_forward))
            if on_backward is not None:
                object.__setattr__(layer, "backward", _backward_wrapper(i, layer, on_backward))
        yield chain
    finally:
        for layer, own in saved:
            for key in ("forward", "backward"):
                layer.__dict__.pop(key, None)
            layer.__dict__.update(own)


def _forward_wrapper(
    i: int, layer: Module, callback: ForwardTap
) -> Callable[[np.ndarray], np.ndarray]:
    inner = layer.forward

    def forward(x: np.ndarray) -> np.ndarray:
        y = inner(x)
        callback(i, layer, x, y)
        return y

    return forward


def _backward_wrapper(
    i: int, layer: Module, callback: BackwardTap
) -> Callable[..., np.ndarray | None]:
    inner = layer.backward

    def backward(dy: np.ndarray, **kwargs: Any) -> np.ndarray | None:
        callback(i, layer, dy)
        return inner(dy, **kwargs)

    return backward


class Snapshot:
    """Everything a probing forward/backward could change, to put back afterwards:
    parameter values and gradients, buffers (BatchNorm's running statistics), the
    state of every random generator a layer holds (Dropout, DropConnect masks) and
    the training mode of every module."""

    def __init__(self, model: Module) -> None:
        self.model = model
        self.state = model.state_dict()
        self.grads = [p.grad.copy() for p in model.parameters()]
        self.modes = [(m, m.training) for m in model.modules()]
        self.rngs = [
            (gen, gen.bit_generator.state)
            for m in model.modules()
            for gen in m.__dict__.values()
            if isinstance(gen, np.random.Generator)
        ]

    def restore(self) -> None:
        """Put everything back in place (arrays are copied into, not replaced)."""
        self.model.load_state_dict(self.state)
        for p, g in zip(self.model.parameters(), self.grads, strict=False):
            np.copyto(p.grad, g)
        for module, mode in self.modes:
            object.__setattr__(module, "training", mode)
        for gen, state in self.rngs:
            gen.bit_generator.state = state

