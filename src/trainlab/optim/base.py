"""``Optimizer``: the base class of every optimizer (parameters, ``lr``, state, checkpoints).

An optimizer holds a list of :class:`~trainlab.nn.Parameter` and, for each one, a
dict of state arrays (moment estimates, momentum buffers) of the parameter's shape
and dtype. ``step()`` reads ``p.grad`` and updates ``p.data`` and the state in place;
the state arrays are allocated at the first step and reused afterwards, together
with a few scratch arrays per parameter, so a step allocates no parameter-sized
arrays.

``state_dict()`` has this shape (what checkpoints store)::

    {"type": "Adam",
     "hyperparameters": {"lr": 0.001, "betas": [0.9, 0.999], ...},   # JSON-able
     "step": 10,                                                       # steps taken
     "state": {"0": {"exp_avg": ndarray, "exp_avg_sq": ndarray},     # by parameter index
               "1": {...}}}

The state dicts are empty before the first step; the arrays are copies.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from trainlab._checks import check_number
from trainlab.nn.module import Module, Parameter
from trainlab.optim import fused
from trainlab.registry import Registry

OPTIMIZERS: Registry[type] = Registry("optimizer", "trainlab.optimizers")
"""Optimizers by name (``--optimizer``, the estimators, TOML, sweep specs, checkpoints);
plugins come from the ``trainlab.optimizers`` entry points."""


def check_params(params: Any, owner: str) -> list[Parameter]:
    """Return ``params`` as a list after checking it holds distinct ``Parameter`` objects."""
    if isinstance(params, Module):
        raise TypeError(
            f"{owner}: params must be a list of Parameters, e.g. model.parameters(). "
            f"Received the module {type(params).__name__}."
        )
    if isinstance(params, (Parameter, np.ndarray)) or not isinstance(params, Iterable):
        raise TypeError(
            f"{owner}: params must be a list of Parameters (write [p] for a single one). "
            f"Received: {type(params).__name__}."
        )
    params = list(params)
    if not params:
        raise ValueError(f"{owner}: params is an empty list; there is nothing to optimize.")
    seen: dict[int, int] = {}
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(
                f"{owner}: params[{i}] must be a trainlab.nn.Parameter. "
                f"Received: {type(p).__name__}."
            )
        if id(p) in seen:
            raise ValueError(
                f"{owner}: params[{i}] is the same Parameter as params[{seen[id(p)]}]; "
                "each parameter may appear only once."
            )
        seen[id(p)] = i
    return params


def check_flag(value: Any, name: str) -> bool:
    """A boolean option (``nesterov``, ``centered``, ``amsgrad``)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False. Received: {value!r}.")
    return bool(value)


class Optimizer:
    """Base class: parameters, learning rate ``lr``, per-parameter state, ``step``.

    Subclasses implement

    - ``_check_hyperparameters(**hp) -> dict``: validate and normalise every
      hyperparameter (including ``lr``); the dict's keys are the constructor's
      keyword arguments and become attributes of the optimizer;
    - ``_buffer_names(hp) -> tuple[str, ...]``: the state arrays kept per parameter;
    - ``_update(p, state, scratch, first)``: one in-place update of ``p.data``, using
      ``num_scratch`` preallocated work arrays; ``first`` is True when the state was
      just created (the first step);
    - optionally ``_fused_kernel()`` and ``_fused_scalars()``: the same update as one
      compiled pass (Adam and SGD, when Numba is installed; see ``optim.fused``),
      used instead of ``_update`` for arrays it can take.
    """

    num_scratch: int = 1  # parameter-sized work arrays per parameter

    def __init__(self, params: Iterable[Parameter], **hyperparameters: Any) -> None:
        owner = type(self).__name__
        self.params: list[Parameter] = check_params(params, owner)
        self._set_hyperparameters(self._check_hyperparameters(**hyperparameters))
        self._step_count = 0
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]
        self._scratch: list[list[np.ndarray]] = [[] for _ in self.params]
        # For the compiled kernels, per parameter: its arrays (data, grad, state) at the last
        # step and their flat views (None: the kernel cannot take them).
        self._flat: list[tuple[tuple[np.ndarray, ...], Any] | None] = [None for _ in self.params]

    # -- hyperparameters -------------------------------------------------------------
    @property
    def lr(self) -> float:
        """The current learning rate (schedules change it between steps)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_number(value, f"{type(self).__name__}: lr", low=0.0)

    @property
    def step_count(self) -> int:
        """How many times ``step()`` has run."""
        return self._step_count

    def _check_hyperparameters(self, **hp: Any) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def _buffer_names(hp: dict[str, Any]) -> tuple[str, ...]:
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters as JSON-able scalars and lists (``betas`` becomes a list)."""
        out = {}
        for name in self._hyperparameter_names:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def _set_hyperparameters(self, hp: dict[str, Any]) -> None:
        self._hyperparameter_names = tuple(hp)
        for name, value in hp.items():
            setattr(self, name, value)
        self._state_names = self._buffer_names(hp)

    # -- the update ------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero in place."""
        for p in self.params:
            p.grad.fill(0)

    def step(self) -> None:
        """Apply one update to every parameter from its gradient ``p.grad``."""
        self._step_count += 1
        names = self._state_names
        kernel = self._fused_kernel()
        scalars: dict[np.dtype, np.ndarray] = {}  # the kernel's scalars of this step, per dtype
        for i, p in enumerate(self.params):
            state = self.state[i]
            first = not state
            if kernel is not None and not first:
                # Steady state: the same arrays as at the last step, their flat views cached.
                cached = self._flat[i]
                arrays = (p.data, p.grad, *[state[n] for n in names])
                if cached is not None and all(map(operator.is_, cached[0], arrays)):
                    if cached[1] is not None:
                        self._run_kernel(kernel, cached[1], scalars, first)
                        continue
            if first:
                state.update(self._new_state(p, names))
            elif any(state[n].dtype != p.data.dtype for n in names):
                for n in names:  # the model was converted with astype
                    state[n] = state[n].astype(p.data.dtype)
            if kernel is not None:
                arrays = (p.data, p.grad, *[state[n] for n in names])
                views = fused.flat_views(arrays)
                self._flat[i] = (arrays, views)
                if views is not None:
                    self._run_kernel(kernel, views, scalars, first)
                    continue
            self._update(p, state, self._work(i, p), first)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle and deepcopy without the cached flat views: copied, they would no longer
        share memory with the copied parameters (the next step makes them anew)."""
        state = self.__dict__.copy()
        state["_flat"] = [None for _ in self.params]
        return state

    def _run_kernel(
        self,
        kernel: Callable[..., None],
        views: tuple[np.ndarray, ...],
        scalars: dict[np.dtype, np.ndarray],
        first: bool,
    ) -> None:
        dtype = views[0].dtype
        c = scalars.get(dtype)
        if c is None:
            c = scalars[dtype] = np.array(self._fused_scalars(), dtype=dtype)
        kernel(*views, c, first)

    def _new_state(self, p: Parameter, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        """Fresh state arrays for ``p`` (zeros unless a subclass says otherwise)."""
        return {name: np.zeros_like(p.data) for name in names}

    def _work(self, i: int, p: Parameter) -> list[np.ndarray]:
        """The scratch arrays of parameter ``i``, (re)allocated only when shape or dtype change."""
        work = self._scratch[i]
        if len(work) != self.num_scratch or (
            work and (work[0].shape != p.data.shape or work[0].dtype != p.data.dtype)
        ):
            work = [np.empty_like(p.data) for _ in range(self.num_scratch)]
            self._scratch[i] = work
        return work

    def _update(
        self, p: Parameter, state: dict[str, np.ndarray], scratch: list[np.ndarray], first: bool
    ) -> None:
        raise NotImplementedError

    # -- the same update, compiled (optim.fused) ------------------------------------------
    def _fused_kernel(self) -> Callable[..., None] | None:
        """A compiled kernel doing :meth:`_update` in one pass, or None (the default).

        It is called as ``kernel(data, grad, *state_arrays, scalars, first)`` with flat
        views of the parameter, its gradient and its state (in ``_buffer_names`` order)
        and the array :meth:`_fused_scalars` in the parameter's dtype.
        """
        return None

    def _fused_scalars(self) -> tuple[float, ...]:
        """The kernel's scalar arguments for this step (see ``_fused_kernel``)."""
        raise NotImplementedError

    # -- checkpoints -----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Type, hyperparameters (with the current ``lr``), step count and copies of the state."""
        return {
            "type": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "step": self._step_count,
            "state": {
                str(i): {name: array.copy() for name, array in state.items()}
                for i, state in enumerate(self.state)
            },
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` exactly, copying arrays into this optimizer's buffers.

        Checks the optimizer type, the hyperparameters, the number of parameters and
        every array's shape before changing anything.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{owner}: expected a dict. Received: {type(state_dict).__name__}.")
        if state_dict.get("type") != type(self).__name__:
            raise ValueError(
                f"{owner}: the state was saved by {state_dict.get('type')!r}, "
                f"expected {type(self).__name__!r}."
            )
        expected_keys = {"type", "hyperparameters", "step", "state"}
        if set(state_dict) != expected_keys:
            raise ValueError(
                f"{owner}: expected the keys {sorted(expected_keys)}. "
                f"Received: {sorted(map(str, state_dict))}."
            )
        hp = self._load_hyperparameters(state_dict["hyperparameters"], owner)
        step = state_dict["step"]
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"{owner}: 'step' must be an integer >= 0. Received: {step!r}.")
        arrays = self._load_arrays(state_dict["state"], self._buffer_names(hp), int(step), owner)

        self._set_hyperparameters(hp)
        self._step_count = int(step)
        for i, (p, loaded) in enumerate(zip(self.params, arrays)):
            current = self.state[i]
            if not loaded:
                current.clear()
                continue
            for name, value in loaded.items():
                target = current.get(name)
                if target is None or target.shape != p.data.shape or target.dtype != p.data.dtype:
                    target = current[name] = np.empty_like(p.data)
                np.copyto(target, value, casting="same_kind")
            for name in set(current) - set(loaded):
                del current[name]

    def _load_hyperparameters(self, hp: Any, owner: str) -> dict[str, Any]:
        if not isinstance(hp, dict):
            raise TypeError(
                f"{owner}: 'hyperparameters' must be a dict. Received: {type(hp).__name__}."
            )
        if set(hp) != set(self._hyperparameter_names):
            raise ValueError(
                f"{owner}: expected the hyperparameters {sorted(self._hyperparameter_names)}. "
                f"Received: {sorted(map(str, hp))}."
            )
        return self._check_hyperparameters(**hp)

    def _load_arrays(
        self, state: Any, names: tuple[str, ...], step: int, owner: str
    ) -> list[dict[str, np.ndarray]]:
        if not isinstance(state, dict):
            raise TypeError(f"{owner}: 'state' must be a dict. Received: {type(state).__name__}.")
        indices = [str(i) for i in range(len(self.params))]
        if sorted(map(str, state)) != sorted(indices):
            raise ValueError(
                f"{owner}: expected state for {len(self.params)} parameters (keys "
                f"'0'..'{len(self.params) - 1}'). Received {len(state)} entries: "
                f"{sorted(map(str, state))}."
            )
        by_index = {str(k): v for k, v in state.items()}
        out = []
        for i, p in enumerate(self.params):
            entry = by_index[str(i)]
            if not isinstance(entry, dict):
                raise TypeError(
                    f"{owner}: state['{i}'] must be a dict. Received: {type(entry).__name__}."
                )
            wanted = set(names) if step > 0 else set()
            if set(entry) != wanted:
                raise ValueError(
                    f"{owner}: state['{i}'] must hold {sorted(wanted)} after {step} steps. "
                    f"Received: {sorted(map(str, entry))}."
                )
            arrays = {}
            for name in names if step > 0 else ():
                value = np.asarray(entry[name])
                if value.shape != p.data.shape:
                    raise ValueError(
                        f"{owner}: state['{i}']['{name}'] must have the parameter's shape "
                        f"{p.data.shape}. Received shape {value.shape}."
                    )
                if value.dtype.kind not in "fiu":
                    raise TypeError(
                        f"{owner}: state['{i}']['{name}'] must be a float array. "
                        f"Received dtype {value.dtype}."
                    )
                arrays[name] = value
            out.append(arrays)
        return out

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {options})"


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``start ← start + weight·(end − start)`` in place, rounded as ``torch.lerp``.

    That is the moving average ``β·start + (1 − β)·end`` with ``weight = 1 − β``;
    ``tmp`` is a scratch array of the same shape (``end`` may not be ``tmp``).
    """
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1 - weight
        np.subtract(end, tmp, out=start)
