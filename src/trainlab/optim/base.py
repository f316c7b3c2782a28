"""``Optimizer``: the base class of every optimizer (parameters, ``lr``, state, checkpoints).

An optimizer holds a list of :class:`~trainlab.nn.Parameter`, its hyperparameters as
plain attributes (``lr``, ``betas``, ...), and per parameter a :class:`State`: a small
dataclass of arrays of the parameter's shape and dtype (moment estimates, momentum
buffers), kept apart from the parameters. ``step()`` reads ``p.grad`` and updates
``p.data`` and the state in place; the state arrays are made at the first step and
reused afterwards, together with a few scratch arrays per parameter (:class:`Scratch`),
so a step allocates no parameter-sized arrays.

A subclass writes its update rule and nothing else:

- ``__init__(params, lr=..., <hyperparameters>, *, backend=None)`` passes them all to
  ``super().__init__(params, backend=backend, lr=lr, ...)``;
- ``_configure(**hyperparameters)`` checks each hyperparameter and sets it as a typed
  attribute (the constructor's path, and ``load_state_dict``'s); ``hyperparameters()``
  lists them;
- ``_new_state(like)``: the fresh :class:`State` of a parameter whose data is ``like``;
- ``_scalars()``: what one step computes once for every parameter (bias corrections, a
  decayed learning rate), and ``_update(p, state, scalars, work)``: the rule itself, in
  NumPy (the reference), after offering the arrays to ``self.backend``'s fused kernel
  when there is one (Adam, SGD).

Weight decay (``optim.weight_decay``) and clipping (``optim.clip``) are pieces of
their own.

Parameter groups (``params`` given as a list of dicts, as in PyTorch) are optimizers of
the same type, one per further group, that the first group (this object) steps along
with itself; ``lr`` and the hyperparameter attributes are the first group's.

``state_dict()`` has this shape (what checkpoints store)::

    {"type": "Adam",
     "hyperparameters": {"lr": 0.001, "betas": [0.9, 0.999], ...},   # JSON-able
     "step": 10,                                                       # steps taken
     "state": {"0": {"exp_avg": ndarray, "exp_avg_sq": ndarray},     # by parameter index
               "1": {...}}}

The state dicts are empty before the first step; the arrays are copies.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any, Generic, Self, TypeVar

import numpy as np

from trainlab._checks import check_number
from trainlab.backend import Backend, BackendLike
from trainlab.backend import get as get_backend
from trainlab.nn.module import Module, Parameter
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


@dataclasses.dataclass(eq=False)
class State(Mapping[str, np.ndarray]):
    """The state an optimizer keeps for one parameter: arrays of its shape and dtype.

    A subclass is a dataclass whose fields are arrays, or None for an array that the
    hyperparameters do not call for (``max_exp_avg_sq`` without AMSGrad). It reads as a
    mapping of the arrays it holds, by name, in field order: the layout of the entries
    of ``state_dict()["state"]``.
    """

    @classmethod
    @functools.cache
    def names(cls) -> tuple[str, ...]:
        """Every field's name, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def __getitem__(self, name: str) -> np.ndarray:
        value = getattr(self, name) if name in self.names() else None
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in self.names() if getattr(self, name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __eq__(self, other: object) -> bool:  # arrays are not compared
        return self is other

    __hash__ = object.__hash__

    def has_dtype(self, dtype: np.dtype) -> bool:
        """Whether the arrays are of ``dtype`` (they all have one dtype: they are made,
        converted and loaded together)."""
        for name in self.names():
            array = getattr(self, name)
            if array is not None:
                return bool(array.dtype == dtype)
        return True

    def astype(self, dtype: np.dtype) -> Self:
        """A copy with every array converted to ``dtype`` (after ``Module.astype``)."""
        return dataclasses.replace(self, **{name: a.astype(dtype) for name, a in self.items()})


class Scratch:
    """The work space of one parameter, kept from step to step: work arrays by name, of
    the parameter's shape and dtype, each made the first time it is asked for (and made
    anew if the parameter's shape or dtype changed), and ``cache``, where the backend
    keeps what it prepared for the parameter's arrays. Iterating gives the arrays made
    so far. A copy (pickle, deepcopy) starts with an empty cache."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        self._like: np.ndarray | None = None
        self.cache: dict[str, Any] = {}

    def like(self, data: np.ndarray) -> Scratch:
        """Bind to the parameter's current ``data``; return self."""
        if data is not self._like:
            self._like = data
            for array in self._arrays.values():
                if array.shape != data.shape or array.dtype != data.dtype:
                    self._arrays.clear()
                    break
        return self

    def __getitem__(self, name: str) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None:
            if self._like is None:
                raise RuntimeError("Scratch: call like(data) before asking for an array.")
            array = self._arrays[name] = np.empty_like(self._like)
        return array

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(list(self._arrays.values()))

    def __len__(self) -> int:
        return len(self._arrays)

    def __getstate__(self) -> dict[str, Any]:
        # The cache refers to the arrays it was made for: a copy of it would hold views
        # of the original arrays, not of the copied ones.
        return {**self.__dict__, "cache": {}}


S = TypeVar("S", bound=State)
C = TypeVar("C")

ParamsLike = Iterable[Parameter] | Iterable[dict[str, Any]]
"""What an optimizer's ``params`` may be: Parameters, or parameter groups (dicts)."""


def check_param_groups(params: Any, owner: str) -> list[tuple[list[Parameter], dict[str, Any]]]:
    """``params`` as parameter groups: (the group's Parameters, its own options) each.

    A list of Parameters is one group with no options of its own; a list of dicts
    ``{"params": [...], <option>: value, ...}`` is one group per dict, as in PyTorch.
    """
    if isinstance(params, (list, tuple)) and params and all(isinstance(g, dict) for g in params):
        groups: list[tuple[list[Parameter], dict[str, Any]]] = []
        seen: dict[int, int] = {}
        for k, group in enumerate(params):
            if "params" not in group:
                raise ValueError(
                    f"{owner}: param_groups[{k}] must have the key 'params'. "
                    f"Received the keys {sorted(map(str, group))}."
                )
            members = check_params(group["params"], f"{owner}: param_groups[{k}]")
            for p in members:
                if id(p) in seen:
                    raise ValueError(
                        f"{owner}: a Parameter is in param_groups[{seen[id(p)]}] and again in "
                        f"param_groups[{k}]; each parameter may be in one group only."
                    )
                seen[id(p)] = k
            groups.append((members, {key: v for key, v in group.items() if key != "params"}))
        return groups
    if isinstance(params, (list, tuple)) and any(isinstance(g, dict) for g in params):
        raise TypeError(
            f"{owner}: params must be a list of Parameters or a list of dicts (parameter "
            f"groups), not a mix. Received: {[type(g).__name__ for g in params]}."
        )
    return [(check_params(params, owner), {})]


class Optimizer(Generic[S, C]):
    """Base class: parameters, learning rate ``lr``, per-parameter state ``S``, ``step``.

    ``C`` is the type of what :meth:`_scalars` computes once per step. See the module's
    docstring for what a subclass writes.

    params: a list of Parameters, or of parameter groups as in PyTorch (dicts
    ``{"params": [...], "lr": ..., ...}``, whose options override the constructor's
    keywords for that group); see :attr:`param_groups`.
    backend: the compute backend (``trainlab.backend.get``: None picks the fastest
    available), whose fused kernels the update rules offer their arrays to.
    defaults: the hyperparameters, as the subclass's constructor received them.
    """

    _subgroups: list[Optimizer[S, C]]  # the optimizers of the further parameter groups

    def __init__(
        self, params: ParamsLike, *, backend: BackendLike = None, **defaults: Any
    ) -> None:
        owner = type(self).__name__
        groups = check_param_groups(params, owner)
        for k, (_, options) in enumerate(groups):
            unknown = sorted(set(options) - set(defaults))
            if unknown:
                raise ValueError(
                    f"{owner}: param_groups[{k}] has options {unknown} that {owner} does not "
                    f"take. Expected some of {sorted(defaults)}."
                )
        self._params: list[Parameter] = groups[0][0]
        self._states: list[S | None] = [None for _ in self._params]
        self._scratch: list[Scratch] = [Scratch() for _ in self._params]
        self._step_count = 0
        self._subgroups = []
        self.backend = get_backend(backend)
        self._configure(**{**defaults, **groups[0][1]})
        # Every further group is an optimizer of this type over its own parameters.
        self._subgroups = [self._sibling(members, {**defaults, **options})
                           for members, options in groups[1:]]

    # -- parameters and groups -----------------------------------------------------------
    @property
    def params(self) -> list[Parameter]:
        """Every parameter, group after group."""
        return [p for group in self._groups() for p in group._params]

    @property
    def state(self) -> list[S | None]:
        """Every parameter's state, in :attr:`params` order (None before its first step)."""
        return [s for group in self._groups() for s in group._states]

    @property
    def param_groups(self) -> list[ParamGroup]:
        """The parameter groups as PyTorch shows them: mappings of ``"params"`` and the
        group's hyperparameters; setting one (``group["lr"] = 0.1``) changes that group."""
        return [ParamGroup(group) for group in self._groups()]

    def _groups(self) -> list[Optimizer[S, C]]:
        return [self, *self._subgroups]

    def _sibling(
        self, params: list[Parameter], hyperparameters: dict[str, Any]
    ) -> Optimizer[S, C]:
        """An optimizer of this type, on this backend, for another group of parameters."""
        return type(self)(params, **hyperparameters, backend=self.backend)

    # -- hyperparameters -------------------------------------------------------------
    @property
    def lr(self) -> float:
        """The current learning rate (of the first parameter group; schedules change every
        group's between steps)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_number(value, f"{type(self).__name__}: lr", low=0.0)

    @property
    def step_count(self) -> int:
        """How many times ``step()`` has run."""
        return self._step_count

    def _configure(self, *args: Any, **hyperparameters: Any) -> None:
        """Check each hyperparameter and set it as an attribute (the keywords are the
        constructor's, without ``params`` and ``backend``)."""
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters (of the first parameter group) by the constructor's names,
        as JSON-able scalars and lists."""
        raise NotImplementedError

    def _reconfigure(self, **changes: Any) -> None:
        """Change some hyperparameters of this group, checked first as the constructor
        checks them (nothing changes when one is invalid)."""
        hp = {**self.hyperparameters(), **changes}
        self._checked(hp, f"{type(self).__name__}.param_groups")
        self._configure(**hp)

    def effective_lr(self) -> float:
        """The size of a step per unit of gradient: ``lr`` here; the adaptive optimizers
        give the median over coordinates of their per-coordinate step (NaN before the
        first step). Of the first parameter group."""
        return self.lr

    # -- the compute backend -----------------------------------------------------------
    @property
    def backend(self) -> Backend:
        """The compute backend whose fused kernels the update offers its arrays to."""
        return self._backend

    @backend.setter
    def backend(self, spec: BackendLike) -> None:
        self._backend = get_backend(spec)
        for group in self._subgroups:
            group.backend = self._backend

    def use_backend(self, spec: BackendLike) -> Self:
        """Run the updates on the backend ``spec`` (see ``trainlab.backend.get``); return self."""
        self.backend = spec
        return self

    # -- the update ------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (marked, written when next read: see
        ``nn.Parameter``)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Apply one update to every parameter from its gradient ``p.grad``."""
        for group in self._groups():
            group._step_group()

    def _step_group(self) -> None:
        self._step_count += 1
        scalars = self._scalars()
        for i, p in enumerate(self._params):
            state = self._states[i]
            if state is None:
                state = self._states[i] = self._new_state(p.data)
            elif not state.has_dtype(p.data.dtype):  # the model was converted with astype
                state = self._states[i] = state.astype(p.data.dtype)
            self._update(p, state, scalars, self._scratch[i].like(p.data))

    def _new_state(self, like: np.ndarray) -> S:
        """The state of a parameter whose data is ``like``, before its first step."""
        raise NotImplementedError

    def _scalars(self) -> C:
        """What this step computes once for every parameter (called after the step count
        has advanced)."""
        raise NotImplementedError

    def _update(self, p: Parameter, state: S, scalars: C, work: Scratch) -> None:
        """One in-place update of ``p.data`` and ``state`` from ``p.grad``; ``work`` holds
        scratch arrays of the parameter's shape and dtype."""
        raise NotImplementedError

    # -- checkpoints -----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Type, hyperparameters (with the current ``lr``), step count and copies of the state.

        With several parameter groups, ``"param_groups"`` replaces ``"hyperparameters"``:
        a list of each group's hyperparameters with its ``"params"``, the indices of its
        parameters in the ``"state"`` numbering (as PyTorch's).
        """
        out: dict[str, Any] = {"type": type(self).__name__}
        if self._subgroups:
            out["param_groups"] = [
                {"params": indices, **group.hyperparameters()}
                for group, indices in zip(self._groups(), self._group_indices(), strict=False)
            ]
        else:
            out["hyperparameters"] = self.hyperparameters()
        out["step"] = self._step_count
        out["state"] = {
            str(i): {} if state is None else {name: a.copy() for name, a in state.items()}
            for i, state in enumerate(self.state)
        }
        return out

    def _group_indices(self) -> list[list[int]]:
        """Each group's parameters as indices into :attr:`params`."""
        out, start = [], 0
        for group in self._groups():
            out.append(list(range(start, start + len(group._params))))
            start += len(group._params)
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` exactly, copying arrays into this optimizer's buffers.

        Checks the optimizer type, the hyperparameters, the parameter groups, the number
        of parameters and every array's shape before changing anything.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{owner}: expected a dict. Received: {type(state_dict).__name__}.")
        if state_dict.get("type") != type(self).__name__:
            raise ValueError(
                f"{owner}: the state was saved by {state_dict.get('type')!r}, "
                f"expected {type(self).__name__!r}."
            )
        expected_keys = {"type", "param_groups" if self._subgroups else "hyperparameters",
                         "step", "state"}
        if set(state_dict) != expected_keys:
            raise ValueError(
                f"{owner}: expected the keys {sorted(expected_keys)}. "
                f"Received: {sorted(map(str, state_dict))}."
            )
        groups = self._groups()
        hps = (self._load_groups(state_dict["param_groups"], owner) if self._subgroups
               else [state_dict["hyperparameters"]])
        checked = [group._checked(hp, owner) for group, hp in zip(groups, hps, strict=False)]
        step = state_dict["step"]
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"{owner}: 'step' must be an integer >= 0. Received: {step!r}.")
        entries = self._load_entries(state_dict["state"], owner)
        arrays = []
        for group, twin, indices in zip(groups, checked, self._group_indices(), strict=False):
            names = tuple(twin._new_state(np.empty(0)))  # the arrays its hyperparameters keep
            arrays.append(group._load_arrays(entries, indices, names, int(step), owner))

        for group, hp, loaded in zip(groups, hps, arrays, strict=False):
            group._configure(**hp)
            group._restore(int(step), loaded)

    def _restore(self, step: int, arrays: list[dict[str, np.ndarray]]) -> None:
        """Set the step count and copy checked arrays into this group's state."""
        self._step_count = step
        for i, (p, loaded) in enumerate(zip(self._params, arrays, strict=False)):
            if not loaded:
                self._states[i] = None
                continue
            state = self._states[i]
            if state is None or tuple(state) != tuple(loaded) or any(
                a.shape != p.data.shape or a.dtype != p.data.dtype for a in state.values()
            ):
                state = self._states[i] = self._new_state(p.data)
            for name, value in loaded.items():
                np.copyto(state[name], value, casting="same_kind")

    def _checked(self, hp: Any, owner: str) -> Self:
        """An optimizer like this group built with the hyperparameters ``hp``: they are
        checked as the constructor checks them, and this one is left unchanged."""
        if not isinstance(hp, dict):
            raise TypeError(
                f"{owner}: 'hyperparameters' must be a dict. Received: {type(hp).__name__}."
            )
        names = set(self.hyperparameters())
        if set(hp) != names:
            raise ValueError(
                f"{owner}: expected the hyperparameters {sorted(names)}. "
                f"Received: {sorted(map(str, hp))}."
            )
        return type(self)(self._params, **hp)

    def _load_groups(self, groups: Any, owner: str) -> list[dict[str, Any]]:
        """The saved groups' hyperparameters, after checking their number and members."""
        indices = self._group_indices()
        if not isinstance(groups, list) or len(groups) != len(indices):
            raise ValueError(
                f"{owner}: 'param_groups' must be a list of {len(indices)} groups. "
                f"Received: {groups!r}."
            )
        out = []
        for k, (group, expected) in enumerate(zip(groups, indices, strict=False)):
            if not isinstance(group, dict) or list(group.get("params", ())) != expected:
                received = group.get("params") if isinstance(group, dict) else group
                raise ValueError(
                    f"{owner}: param_groups[{k}] must hold the parameters {expected}. "
                    f"Received: {received!r}."
                )
            out.append({key: v for key, v in group.items() if key != "params"})
        return out

    def _load_entries(self, state: Any, owner: str) -> list[Any]:
        """The saved per-parameter entries in :attr:`params` order."""
        if not isinstance(state, dict):
            raise TypeError(f"{owner}: 'state' must be a dict. Received: {type(state).__name__}.")
        count = len(self.params)
        indices = [str(i) for i in range(count)]
        if sorted(map(str, state)) != sorted(indices):
            raise ValueError(
                f"{owner}: expected state for {count} parameters (keys "
                f"'0'..'{count - 1}'). Received {len(state)} entries: "
                f"{sorted(map(str, state))}."
            )
        by_index = {str(k): v for k, v in state.items()}
        return [by_index[i] for i in indices]

    def _load_arrays(
        self, entries: list[Any], indices: list[int], names: tuple[str, ...], step: int,
        owner: str,
    ) -> list[dict[str, np.ndarray]]:
        """This group's saved arrays (its parameters are ``entries[i]`` for ``i`` in
        ``indices``), checked."""
        out = []
        for i, p in zip(indices, self._params, strict=False):
            entry = entries[i]
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
        groups = f", and {len(self._subgroups)} more groups" if self._subgroups else ""
        return f"{type(self).__name__}({len(self._params)} parameters, {options}{groups})"


class ParamGroup(MutableMapping[str, Any]):
    """One parameter group of an optimizer, as PyTorch's ``param_groups`` entries: the key
    ``"params"`` and one key per hyperparameter. Setting a hyperparameter changes the
    group (checked as the constructor checks it); the members cannot be changed."""

    def __init__(self, group: Optimizer[Any, Any]) -> None:
        self._group = group

    def __getitem__(self, key: str) -> Any:
        if key == "params":
            return list(self._group._params)
        if key not in self._group.hyperparameters():
            raise KeyError(key)
        return getattr(self._group, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "lr":
            self._group.lr = value
        elif key in self._group.hyperparameters():
            self._group._reconfigure(**{key: value})
        else:
            raise KeyError(
                f"{type(self._group).__name__}.param_groups: expected one of "
                f"{sorted(self._group.hyperparameters())}. Received: {key!r}."
            )

    def __delitem__(self, key: str) -> None:
        raise TypeError(f"{type(self._group).__name__}.param_groups: keys cannot be deleted.")

    def __iter__(self) -> Iterator[str]:
        return iter(["params", *self._group.hyperparameters()])

    def __len__(self) -> int:
        return 1 + len(self._group.hyperparameters())

    def __repr__(self) -> str:
        return repr({"params": self["params"], **self._group.hyperparameters()})


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


def coordinate_sample(arrays: Iterable[np.ndarray]) -> np.ndarray:
    """A fixed-stride sample of the coordinates of ``arrays`` (at most about 4096 of them,
    flat), enough for the median of :meth:`Optimizer.effective_lr`."""
    arrays = list(arrays)
    stride = max(1, sum(a.size for a in arrays) // 4096)
    return np.concatenate([a.reshape(-1)[::stride] for a in arrays]) if arrays else np.empty(0)
