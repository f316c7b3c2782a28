"""``Parameter``, ``Module`` and ``Sequential``: the containers every layer is built from.

A module owns parameters (trained arrays with a gradient), buffers (state that is
not trained, such as BatchNorm's running statistics) and child modules. Its
``forward(x)`` caches what its ``backward(dy)`` needs; ``backward`` returns the
gradient with respect to the input and *adds* each parameter's gradient into the
preallocated ``p.grad``. There is no autograd tape: every layer writes its own
closed-form derivative.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, Protocol, Self, cast, overload

import numpy as np

from trainlab._checks import FLOAT_DTYPES, all_finite, check_dtype
from trainlab.backend import Backend, BackendLike
from trainlab.backend import get as get_backend
from trainlab.nn import anomaly


class Parameter:
    """A trained array ``data`` and its gradient ``grad`` (same shape and dtype, zero at start).

    ``zero_grad()`` marks the gradient as zero without writing it, as PyTorch's
    ``zero_grad(set_to_none=True)`` spares the fill: the next layer that adds into it
    and knows the mark (:meth:`grad_to_write`; ``Linear``) writes its gradient straight
    into ``grad`` instead of adding it to zeros (no fill, and no read of the old values);
    anything that reads ``grad`` while it is marked finds zeros (written then).
    """

    __slots__ = ("data", "_grad", "_marked_zero")

    def __init__(self, data: np.ndarray) -> None:
        data = np.array(data, copy=True, order="C")
        if data.dtype not in FLOAT_DTYPES:
            raise TypeError(
                f"Parameter: expected float32 or float64 data. Received dtype {data.dtype}."
            )
        self.data = data
        self._grad = np.zeros_like(data)
        self._marked_zero = True  # zeros already; the first backward writes, not adds

    @property
    def grad(self) -> np.ndarray:
        """The gradient (same shape and dtype as ``data``); zeros after :meth:`zero_grad`."""
        if self._marked_zero:
            self._grad.fill(0)
            self._marked_zero = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        self._grad = value
        self._marked_zero = False

    def grad_to_write(self) -> tuple[np.ndarray, bool]:
        """(the gradient array, whether it is marked zero). When it is, the caller must
        write every entry (its gradient, not a sum with the old values) before anything
        reads ``grad``; the mark is cleared."""
        marked, self._marked_zero = self._marked_zero, False
        return self._grad, marked

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        """Set the gradient to zero: marked now, written when it is next read (see the
        class)."""
        self._marked_zero = True

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of every layer, loss-free container and model.

    Subclasses set parameters and children as attributes (registered automatically),
    call :meth:`register_buffer` for non-trained state, and implement
    ``forward(x) -> y`` and ``backward(dy) -> dx``.

    ``backend`` is the compute backend whose fused kernels the layer offers its arrays
    to (``trainlab.backend``; the fastest available unless :meth:`use_backend` says).
    """

    # Set in __init__ through object.__setattr__ (bypassing the registration below);
    # declared here for the type checker only.
    _parameters: dict[str, Parameter]
    _buffers: dict[str, Any]
    _modules: dict[str, Module]
    training: bool
    _backend: Backend

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_backend", get_backend(None))

    # -- registration -------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes."
            )
        # Replacing a parameter or a child keeps its place in the registration order.
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._modules[name] = value
        else:
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
            if name in self._buffers:
                self._buffers[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Register non-trained state that belongs in ``state_dict`` (e.g. running statistics)."""
        self._buffers[name] = value
        object.__setattr__(self, name, value)

    # -- computation ---------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward.")

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward.")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _backward_before_forward(self) -> RuntimeError:
        """The error every layer raises when ``backward`` comes before any ``forward``."""
        return RuntimeError(
            f"{type(self).__name__}.backward was called before forward: "
            "run forward(x) on a batch first, then backward(dy) with dy of the output's shape."
        )

    # -- mode ---------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and its children."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool. Received: {mode!r}.")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (same as ``train(False)``)."""
        return self.train(False)

    # -- compute backend --------------------------------------------------------------
    @property
    def backend(self) -> Backend:
        """The compute backend of this module's kernels (see :meth:`use_backend`)."""
        backend = self.__dict__.get("_backend")
        if backend is None:  # a module made without Module.__init__ (e.g. an old pickle)
            backend = get_backend(None)
            object.__setattr__(self, "_backend", backend)
        return backend

    @backend.setter
    def backend(self, spec: BackendLike) -> None:
        object.__setattr__(self, "_backend", get_backend(spec))

    def use_backend(self, spec: BackendLike) -> Self:
        """Run this module and all its children on the backend ``spec`` (None or "auto":
        the fastest available, a name such as "numpy" or "numba", or a Backend); return self."""
        backend = get_backend(spec)
        for module in self.modules():
            object.__setattr__(module, "_backend", backend)
        return self

    # -- traversal ------------------------------------------------------------------
    def children(self) -> list[Module]:
        return list(self._modules.values())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, with dotted names ('' for self)."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    def _named_members(self, kind: str) -> list[tuple[str, Any]]:
        out, seen = [], set()
        for prefix, module in self.named_modules():
            for name, value in getattr(module, kind).items():
                if kind == "_parameters":  # a shared Parameter is listed once, as in PyTorch
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                out.append((f"{prefix}.{name}" if prefix else name, value))
        return out

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """``(dotted_name, Parameter)`` pairs in a stable order (registration, depth first)."""
        return self._named_members("_parameters")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> list[tuple[str, np.ndarray]]:
        return self._named_members("_buffers")

    def buffers(self) -> list[np.ndarray]:
        return [b for _, b in self.named_buffers()]

    def num_parameters(self) -> int:
        """Total number of trained scalars."""
        return int(sum(p.size for p in self.parameters()))

    def zero_grad(self) -> None:
        """Set every parameter gradient to zero."""
        for p in self.parameters():
            p.zero_grad()

    # -- state ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer by dotted name, in PyTorch's order:
        each module's parameters, then its buffers, then its children's."""
        state: dict[str, np.ndarray] = {}
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name, p in module._parameters.items():
                state[dot + name] = p.data.copy()
            for name, b in module._buffers.items():
                state[dot + name] = np.array(b, copy=True)
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays from ``state`` into this module's parameters and buffers, in place.

        Keys must match exactly when ``strict``; shapes must always match.
        Values are cast to the receiving array's dtype.
        """
        if not isinstance(state, dict):
            raise TypeError(
                f"load_state_dict: expected a dict of arrays. Received: {type(state).__name__}."
            )
        targets: dict[str, tuple[Module, str, str]] = {}
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name in module._parameters:
                targets[dot + name] = (module, name, "param")
            for name in module._buffers:
                targets[dot + name] = (module, name, "buffer")
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if strict and (missing or unexpected):
            raise ValueError(
                f"load_state_dict: keys do not match {type(self).__name__}. "
                f"Missing: {missing}. Unexpected: {unexpected}."
            )
        # Check every value before copying any, so a bad state leaves the module untouched.
        checked: list[tuple[Module, str, str, np.ndarray]] = []
        for key, (module, name, kind) in targets.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            target = module._parameters[name].data if kind == "param" else module._buffers[name]
            if value.dtype.kind not in "biuf":
                raise TypeError(
                    f"load_state_dict: '{key}' of {type(module).__name__} must hold real "
                    f"numbers. Received dtype {value.dtype}."
                )
            if value.shape != np.shape(target):
                raise ValueError(
                    f"load_state_dict: '{key}' has shape {np.shape(target)} in "
                    f"{type(module).__name__}, received shape {value.shape}."
                )
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                raise ValueError(
                    f"load_state_dict: '{key}' of {type(module).__name__} holds NaN or "
                    f"infinite values; refusing to load them."
                )
            checked.append((module, name, kind, value))
        for module, name, kind, value in checked:
            target = module._parameters[name].data if kind == "param" else module._buffers[name]
            if isinstance(target, np.ndarray):
                np.copyto(target, value, casting="unsafe")
            else:
                module.__setattr__(name, value.copy())

    def astype(self, dtype: Any) -> Module:
        """Convert parameters, gradients and float buffers to ``dtype`` in place; return self."""
        dtype = check_dtype(dtype)
        for module in self.modules():
            for p in module._parameters.values():
                p.data = p.data.astype(dtype)
                p.grad = p.grad.astype(dtype)
            for name, b in list(module._buffers.items()):
                if isinstance(b, np.ndarray) and b.dtype.kind == "f":
                    module.__setattr__(name, b.astype(dtype))
            if "dtype" in module.__dict__:
                object.__setattr__(module, "dtype", dtype)
            module._on_astype()
        return self

    def _on_astype(self) -> None:
        """Hook for layers that hold dtype-dependent scratch space; called by astype."""

    # -- display ---------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def summary(self) -> Summary:
        """A table of the layers, as Keras's ``model.summary()``: each leaf module's dotted
        name, type, output width (``(batch, n)`` where the layer declares ``out_features``
        or ``num_features``; ``same`` for shape-keeping layers), parameter shapes and
        count, then the totals (count and bytes). Prints as the table."""
        rows: list[tuple[str, ...]] = []
        for name, module in self.named_modules():
            if module._modules:  # a container: its layers are listed
                continue
            width = getattr(module, "out_features", None) or getattr(module, "num_features", None)
            shapes = ", ".join(f"{k} {tuple(p.data.shape)}" for k, p in module._parameters.items())
            count = sum(p.data.size for p in module._parameters.values())
            rows.append((name or type(module).__name__, type(module).__name__,
                         "same" if width is None else f"(batch, {width})", shapes or "-",
                         f"{count:,}"))
        params = self.parameters()
        total = sum(p.data.size for p in params)
        nbytes = sum(p.data.nbytes for p in params) + sum(
            np.asarray(b).nbytes for b in self.buffers())
        return Summary(type(self).__name__, rows, total, nbytes)

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)


class Summary:
    """What :meth:`Module.summary` returns: ``rows`` (name, type, output, parameter shapes,
    count), ``total_parameters`` and ``total_bytes``; printed (or shown) as a table."""

    HEADER = ("layer", "type", "output", "parameters", "count")

    def __init__(self, model: str, rows: list[tuple[str, ...]], total: int, nbytes: int) -> None:
        self.model, self.rows = model, rows
        self.total_parameters, self.total_bytes = total, nbytes

    def __str__(self) -> str:
        table: list[tuple[str, ...]] = [self.HEADER, *self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(self.HEADER))]
        lines = [f"{self.model}"]
        for k, row in enumerate(table):
            cells = [cell.rjust(w) if i == 4 else cell.ljust(w)
                     for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
            lines.append("  ".join(cells).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines.append(f"total: {self.total_parameters:,} parameters, "
                     f"{self.total_bytes:,} bytes with the buffers")
        return "\n".join(lines)

    __repr__ = __str__


class _SkipsInputGrad(Protocol):
    """A layer whose ``backward`` takes ``input_grad`` (``can_skip_input_grad`` is True)."""

    def backward(self, dy: np.ndarray, input_grad: bool = ...) -> np.ndarray | None: ...


class Sequential(Module):
    """A chain of modules: ``forward`` runs them in order, ``backward`` in reverse.

    Children are named ``"0"``, ``"1"``, …; ``len``, indexing (int or slice) and
    iteration work as in PyTorch. Inside ``trainlab.detect_anomaly()`` it checks each
    layer's output and gradients, and names the first that is not finite
    (:mod:`trainlab.nn.anomaly`).
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential: argument {i} must be a trainlab.nn.Module. "
                    f"Received: {type(module).__name__}."
                )
            setattr(self, str(i), module)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if anomaly.enabled():
            return self._checked_forward(x)
        for module in self._modules.values():
            x = module.forward(x)
        return x

    @overload
    def backward(self, dy: np.ndarray, input_grad: Literal[True] = ...) -> np.ndarray: ...
    @overload
    def backward(self, dy: np.ndarray, input_grad: bool) -> np.ndarray | None: ...
    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dy: the gradient w.r.t. the last output -> the gradient w.r.t. the input.

        input_grad=False: the input is data and needs no gradient (like a torch tensor
        without ``requires_grad``); a first layer that can skip its dx product (Linear,
        DropConnect) does, and None is returned. Parameter gradients are the same.
        """
        if not isinstance(input_grad, (bool, np.bool_)):
            raise TypeError(
                f"Sequential.backward: input_grad must be True or False. Received: {input_grad!r}."
            )
        if anomaly.enabled():
            return self._checked_backward(dy, bool(input_grad))
        modules = list(self._modules.values())
        for module in reversed(modules[1:]):
            dy = module.backward(dy)
        if not modules:
            return dy if input_grad else None
        first = modules[0]
        if input_grad:
            return first.backward(dy)
        if getattr(first, "can_skip_input_grad", False):
            return cast(_SkipsInputGrad, first).backward(dy, input_grad=False)
        first.backward(dy)
        return None

    # -- inside trainlab.detect_anomaly() ----------------------------------------------
    def _checked_forward(self, x: np.ndarray) -> np.ndarray:
        """``forward``, checking each layer's output (see :mod:`trainlab.nn.anomaly`)."""
        outer = anomaly.position() or anomaly.Position()
        model = outer.model or type(self).__name__
        data = np.asarray(x)
        note = ""
        if outer.model is None and data.dtype.kind == "f" and not all_finite(data):
            note = " Its input, the data, was not finite already."
        for i, (name, module) in enumerate(self._modules.items()):
            token = anomaly.enter(model, f"{outer.prefix}{name}.")
            try:
                x = module.forward(x)
            finally:
                anomaly.leave(token)
            anomaly.check_layer(x, "output", outer.prefix + name, module, model, "forward",
                                note if i == 0 else "")
        return x

    def _checked_backward(self, dy: np.ndarray, input_grad: bool) -> np.ndarray | None:
        """``backward``, checking each layer's input gradient and its own parameters'
        gradients (see :mod:`trainlab.nn.anomaly`)."""
        outer = anomaly.position() or anomaly.Position()
        model = outer.model or type(self).__name__
        items = list(self._modules.items())
        for i in range(len(items) - 1, -1, -1):
            name, module = items[i]
            where = outer.prefix + name
            token = anomaly.enter(model, f"{where}.")
            try:
                out: np.ndarray | None
                if i == 0 and not input_grad and getattr(module, "can_skip_input_grad", False):
                    out = cast(_SkipsInputGrad, module).backward(dy, input_grad=False)
                else:
                    out = module.backward(dy)
            finally:
                anomaly.leave(token)
            if out is not None:  # None only from the first layer, skipping its input gradient
                dy = out
                anomaly.check_layer(dy, "input gradient", where, module, model, "backward")
            for key, p in module._parameters.items():
                anomaly.check_layer(p.grad, f"gradient of its parameter '{key}'", where, module,
                                    model, "backward")
        return dy if input_grad else None

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(
                "Sequential.append: expected a trainlab.nn.Module. "
                f"Received: {type(module).__name__}."
            )
        setattr(self, str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index: int | slice) -> Module:
        layers = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*layers[index])
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"Sequential: index must be an int or a slice. Received: {index!r}.")
        if not -len(layers) <= index < len(layers):
            raise IndexError(
                f"Sequential: index {index} is out of range for {len(layers)} modules."
            )
        return layers[index]
