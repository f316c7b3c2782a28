"""The state of a run: model weights, buffers and random generators, and the trainer's.

Exact resumption needs every random stream in the state it had: Dropout and
DropConnect layers keep their own ``np.random.Generator`` (attribute ``rng``), and
any other layer may hold one under any name. :func:`module_generators` finds them by
scanning each module's attributes, so a new layer needs no registration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from trainlab._checks import check_int
from trainlab._rng import generator_state, set_generator_state
from trainlab.nn.module import Module
from trainlab.train.callbacks import Callback
from trainlab.train.history import History
from trainlab.train.protocols import Stateful, TrainerView

# What NumPy raises for a generator state of the wrong kind, shape or range.
_BAD_STATE = (TypeError, ValueError, KeyError, OverflowError)


def check_generator_state(state: Any, what: str) -> None:
    """Raise ValueError when ``state`` cannot be put into a Generator (tried on a scratch one)."""
    try:
        set_generator_state(np.random.default_rng(0), state)
    except _BAD_STATE as exc:
        raise ValueError(f"Cannot restore {what}: {exc}") from exc


def module_generators(model: Module) -> dict[str, np.random.Generator]:
    """Every ``np.random.Generator`` held by ``model`` or a submodule, by dotted name.

    The key is ``"<module path>.<attribute>"``, e.g. ``"3.rng"`` for the Dropout layer
    ``3`` of a Sequential (just ``"rng"`` for the model itself).
    """
    found: dict[str, np.random.Generator] = {}
    for prefix, module in model.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                found[f"{prefix}.{attr}" if prefix else attr] = value
    return found


def generator_states(model: Module) -> dict[str, dict]:
    """The JSON-able state of every generator in :func:`module_generators`."""
    return {name: generator_state(rng) for name, rng in module_generators(model).items()}


def _layer(model: Module, key: str) -> str:
    """``"layer '2' (BatchNorm)"`` for the dotted key ``"2.running_mean"``."""
    path = key.rpartition(".")[0]
    modules = dict(model.named_modules())
    module = modules.get(path)
    kind = f" ({type(module).__name__})" if module is not None else ""
    return f"layer '{path}'{kind}" if path else f"the model ({type(model).__name__})"


def check_generator_names(model: Module, states: dict[str, Any]) -> None:
    """Raise ValueError naming the layer when the saved generators do not match the model's."""
    if not isinstance(states, dict):
        raise TypeError(
            "The random generators' states must be a dict by layer name. "
            f"Received: {type(states).__name__}."
        )
    generators = module_generators(model)
    missing = sorted(set(generators) - set(states))
    unexpected = sorted(set(states) - set(generators))
    if missing or unexpected:
        key = (missing or unexpected)[0]
        where = "the model has" if missing else "the checkpoint holds"
        other = "the checkpoint does not" if missing else "the model does not"
        raise ValueError(
            f"The model does not match the checkpoint at {_layer(model, key)}: {where} a "
            f"random generator '{key}' that {other}. Missing in the checkpoint: {missing}. "
            f"Not in the model: {unexpected}."
        )


def check_generator_states(model: Module, states: dict[str, Any]) -> None:
    """The saved generators match the model's by name, and each state is usable."""
    check_generator_names(model, states)
    for name in module_generators(model):
        where = f"the random generator '{name}' of {_layer(model, name)}"
        check_generator_state(states[name], where)


def load_generator_states(model: Module, states: dict[str, Any]) -> None:
    """Put every generator of ``model`` into the saved state; the names must match."""
    check_generator_states(model, states)
    for name, rng in module_generators(model).items():
        try:
            set_generator_state(rng, states[name])
        except _BAD_STATE as exc:
            raise ValueError(
                f"Cannot restore the random generator '{name}' of {_layer(model, name)}: {exc}"
            ) from exc


def check_model_state(model: Module, state: dict[str, np.ndarray]) -> None:
    """Raise ValueError naming the first layer whose keys, shapes or dtypes differ."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing:
        raise ValueError(
            f"The model does not match the checkpoint at {_layer(model, missing[0])}: the "
            f"checkpoint has no '{missing[0]}'. Missing: {missing}. Not in the model: {unexpected}."
        )
    if unexpected:
        raise ValueError(
            f"The model does not match the checkpoint at {_layer(model, unexpected[0])}: the "
            f"checkpoint holds '{unexpected[0]}', which the model does not have. "
            f"Not in the model: {unexpected}."
        )
    for key, mine in own.items():
        theirs = np.asarray(state[key])
        if theirs.shape != mine.shape:
            raise ValueError(
                f"The model does not match the checkpoint at {_layer(model, key)}: '{key}' has "
                f"shape {mine.shape} in the model and {theirs.shape} in the checkpoint."
            )
        if theirs.dtype != mine.dtype:
            raise ValueError(
                f"The model does not match the checkpoint at {_layer(model, key)}: '{key}' is "
                f"{mine.dtype} in the model and {theirs.dtype} in the checkpoint "
                f"(convert the model with model.astype(np.{theirs.dtype.name}) first)."
            )


def load_model_state(
    model: Module, state: dict[str, np.ndarray], generators: dict[str, Any] | None = None
) -> None:
    """Check everything first, then load weights and buffers (and the generators' states)."""
    check_model_state(model, state)
    if generators is not None:
        check_generator_states(model, generators)
    model.load_state_dict(state)
    if generators is not None:
        load_generator_states(model, generators)


# -- a whole run ------------------------------------------------------------------------

TRAINER_KEYS = (
    "epoch", "global_step", "task", "model", "model_rngs", "rng",
    "optimizer", "schedule", "callbacks", "history",
)  # fmt: skip


def callback_keys(callbacks: Sequence[Stateful]) -> list[tuple[str, Stateful]]:
    """Stateful callbacks keyed by class name: ``"EarlyStopping"``, ``"EarlyStopping#1"``, …
    (a callback that keeps Callback's own ``state_dict`` has no state)."""
    seen: dict[str, int] = {}
    keyed = []
    for cb in callbacks:
        if type(cb).state_dict is Callback.state_dict:
            continue
        name = type(cb).__name__
        count = seen.get(name, 0)
        seen[name] = count + 1
        keyed.append((name if count == 0 else f"{name}#{count}", cb))
    return keyed


def trainer_state(trainer: TrainerView) -> dict[str, Any]:
    """Everything needed to continue a run exactly: counters, model (weights, buffers and
    generators), optimizer, schedule, the trainer's generator, callbacks, history."""
    return {
        "epoch": trainer.epoch,
        "global_step": trainer.global_step,
        "task": trainer.task,
        "model": trainer.model.state_dict(),
        "model_rngs": generator_states(trainer.model),
        "rng": generator_state(trainer.rng),
        "optimizer": trainer.optimizer.state_dict(),
        "schedule": None if trainer.schedule is None else trainer.schedule.state_dict(),
        "callbacks": {key: cb.state_dict() for key, cb in callback_keys(trainer.callbacks)},
        "history": trainer.history.to_dict(),
    }


def load_trainer_state(trainer: TrainerView, state: dict[str, Any]) -> None:
    """Restore :func:`trainer_state` into a trainer built like the saved one.

    Everything that can be checked is checked before anything changes: the task, the
    optimizer and schedule types, the model's keys, shapes, dtypes and generators.
    Callbacks are matched by key; those missing on either side are left as they are.
    """
    owner = "Trainer.load_state_dict"
    if not isinstance(state, dict):
        raise TypeError(f"{owner}: expected a dict. Received: {type(state).__name__}.")
    if set(state) != set(TRAINER_KEYS):
        raise ValueError(
            f"{owner}: expected the keys {sorted(TRAINER_KEYS)}. Received: {sorted(state)}."
        )
    if not isinstance(state["callbacks"], dict):
        raise TypeError(
            f"{owner}: the callbacks' state must be a dict. "
            f"Received: {type(state['callbacks']).__name__}."
        )
    if state["task"] != trainer.task:
        raise ValueError(
            f"{owner}: the state is from a {state['task']} run; this trainer does {trainer.task}."
        )
    for name, saved, own in (
        ("optimizer", state["optimizer"], trainer.optimizer),
        ("schedule", state["schedule"], trainer.schedule),
    ):
        if saved is not None and not isinstance(saved, dict):
            raise TypeError(
                f"{owner}: the {name} state must be a dict. Received: {type(saved).__name__}."
            )
        saved_type = None if saved is None else saved.get("type")
        own_type = None if own is None else type(own).__name__
        if saved_type != own_type:
            raise ValueError(
                f"{owner}: the state has the {name} {saved_type}; this trainer has {own_type}."
            )
    check_model_state(trainer.model, state["model"])
    check_generator_states(trainer.model, state["model_rngs"])
    check_generator_state(state["rng"], f"{owner}: the trainer's random generator")
    epoch = check_int(state["epoch"], f"{owner}: epoch", low=0)
    global_step = check_int(state["global_step"], f"{owner}: global_step", low=0)
    history = History.from_dict(state["history"])

    trainer.optimizer.load_state_dict(state["optimizer"])  # checks, then changes
    if trainer.schedule is not None:
        trainer.schedule.load_state_dict(state["schedule"])
    trainer.model.load_state_dict(state["model"])
    load_generator_states(trainer.model, state["model_rngs"])
    try:
        set_generator_state(trainer.rng, state["rng"])
    except _BAD_STATE as exc:
        raise ValueError(f"{owner}: cannot restore the trainer's random generator: {exc}") from exc
    for key, cb in callback_keys(trainer.callbacks):
        if state["callbacks"].get(key) is not None:
            cb.load_state_dict(state["callbacks"][key])
    trainer.history = history
    trainer.epoch = trainer.current_epoch = epoch
    trainer.global_step = global_step
