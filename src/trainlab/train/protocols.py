"""What the training code needs from its parts, as structural types (``typing.Protocol``).

The loop, the callbacks, the checkpoints and the run builders are annotated with these
rather than with concrete classes, so that a plugin's optimizer or loss fits when it has
the right methods, and so that callbacks, state and checkpoint code need not import the
:class:`~trainlab.train.Trainer` (which imports them):

- :class:`Loss`: ``loss(pred, target) -> float`` then ``loss.backward() -> ∂L/∂pred``;
- :class:`Optimizer`: ``lr``, ``step()``, ``zero_grad()`` and its state;
- :class:`Schedule`: ``step()`` (``step(metric)`` for ReduceLROnPlateau),
  ``get_last_lr()`` and its state;
- :class:`TrainerView`: the trainer as callbacks, checkpoints and the state code see it.

Nothing here is checked at run time; the trainer's constructor checks its arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from trainlab.nn.module import Module
from trainlab.train.history import History


class Loss(Protocol):
    """A loss on a batch: the mean over its rows, then the gradient of that mean.

    pred: (N, outputs) the model's outputs; target: what the loss takes (labels (N,),
    or targets of pred's shape). ``backward()`` returns ∂L/∂pred, (N, outputs), for the
    last call.
    """

    def __call__(self, pred: np.ndarray, target: np.ndarray, /) -> float: ...

    def backward(self) -> np.ndarray: ...


class Optimizer(Protocol):
    """An update rule over a model's parameters: ``step()`` reads ``p.grad`` and changes
    ``p.data`` in place; schedules change ``lr`` between steps."""

    lr: float

    def step(self) -> None: ...

    def zero_grad(self) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], /) -> None: ...


class Schedule(Protocol):
    """A learning-rate schedule, stepped once per epoch (or after every optimizer step when
    its ``interval`` attribute is ``"step"``): ``step()``, or ``step(metric)`` for one that
    watches a metric (ReduceLROnPlateau); ``get_last_lr()`` has one rate per group."""

    def step(self, *args: Any, **kwargs: Any) -> None: ...

    def get_last_lr(self) -> list[float]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], /) -> None: ...


class Stateful(Protocol):
    """Something a checkpoint saves and restores: a callback (whose state may be None),
    a trainer."""

    def state_dict(self) -> dict[str, Any] | None: ...

    def load_state_dict(self, state: dict[str, Any], /) -> None: ...


class SkipsInputGrad(Protocol):
    """A model whose ``backward`` can skip the gradient of its input (a Sequential, a Linear
    or DropConnect layer: ``can_skip_input_grad = True``); it then returns None."""

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None: ...


class TrainerView(Protocol):
    """The trainer as callbacks, the state code and checkpoints see it.

    Counters: ``epoch`` (epochs completed), ``current_epoch`` (the one running, 1-based),
    ``global_step`` (optimizer steps taken), ``batch_index`` (0-based within the epoch).
    The current batch: ``x_batch`` (B, features), ``y_batch``, ``output`` (B, outputs), all
    None before the first batch, and ``batch_loss`` (NaN before the first).
    ``stop(reason)`` ends training after the current batch.
    """

    model: Module
    loss: Loss
    optimizer: Optimizer
    schedule: Schedule | None
    history: History
    rng: np.random.Generator
    task: str
    epoch: int
    current_epoch: int
    global_step: int
    batch_index: int
    x_batch: np.ndarray | None
    y_batch: np.ndarray | None
    output: np.ndarray | None
    batch_loss: float
    has_validation: bool
    target_epochs: int
    batches_per_epoch: int
    stop_training: bool

    @property
    def callbacks(self) -> Sequence[Stateful]: ...

    @property
    def dtype(self) -> np.dtype: ...

    def stop(self, reason: str, /) -> None: ...

    def evaluate(self, X: Any, y: Any, /) -> dict[str, float]: ...

    def predict(self, X: Any, /) -> np.ndarray: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], /) -> None: ...
