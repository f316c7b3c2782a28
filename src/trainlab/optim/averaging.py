"""Weight averaging: SWA and EMA of a model's parameters (``AveragedModel``), and
``update_bn`` to recompute BatchNorm statistics for the averaged weights.

Izmailov et al., "Averaging Weights Leads to Wider Optima and Better Generalization"
(UAI 2018), as PyTorch's ``torch.optim.swa_utils``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from trainlab._checks import check_input, check_int, check_number
from trainlab.nn.module import Module
from trainlab.nn.normalization import BatchNorm
from trainlab.optim.base import lerp_


class AveragedModel(Module):
    r"""A copy of ``model`` whose parameters are the average of the model's over the calls
    of :meth:`update_parameters`.

    The first call copies the parameters; call ``n`` (``n_averaged = n − 1`` before it)
    then sets

    - SWA (``decay=None``), the equal average: ``avg ← avg + (p − avg)/(n_averaged + 1)``;
    - EMA (``decay`` in [0, 1]): ``avg ← decay·avg + (1 − decay)·p`` (rounded as
      ``torch.lerp``).

    Buffers (BatchNorm's running statistics) are copied from the model, not averaged;
    recompute them for the averaged weights with :func:`update_bn`. ``averaged.module``
    is the averaged model; calling ``averaged(x)`` runs it. ``n_averaged`` is a buffer,
    so ``state_dict()`` holds it with the weights.
    """

    def __init__(self, model: Module, decay: float | None = None) -> None:
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError("AveragedModel: model must be a trainlab.nn.Module. "
                            f"Received: {type(model).__name__}.")
        self.decay = None if decay is None else check_number(
            decay, "AveragedModel: decay", low=0.0, high=1.0)
        self.module = copy.deepcopy(model)
        self.n_averaged: np.ndarray
        self.register_buffer("n_averaged", np.array(0, dtype=np.int64))

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.module.forward(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return self.module.backward(dy)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the average (see the class docstring)."""
        mine, theirs = self.module.parameters(), model.parameters()
        if len(mine) != len(theirs) or any(a.data.shape != b.data.shape
                                           for a, b in zip(mine, theirs, strict=True)):
            raise ValueError("AveragedModel.update_parameters: model must have the parameters "
                             "of the averaged model (same count and shapes). Received "
                             f"{[p.data.shape for p in theirs]}, expected "
                             f"{[p.data.shape for p in mine]}.")
        n = int(self.n_averaged)
        for avg, p in zip(mine, theirs, strict=True):
            current = p.data.astype(avg.data.dtype, copy=False)
            if n == 0:
                np.copyto(avg.data, current)
            elif self.decay is None:
                avg.data[...] = avg.data + (current - avg.data) / (n + 1)
            else:
                lerp_(avg.data, current, 1 - self.decay, np.empty_like(avg.data))
        for mine_buffer, buffer in zip(self.module.buffers(), model.buffers(), strict=True):
            np.copyto(mine_buffer, buffer, casting="unsafe")
        self.n_averaged = np.array(n + 1, dtype=np.int64)

    def __repr__(self) -> str:
        kind = "SWA" if self.decay is None else f"EMA(decay={self.decay})"
        return f"AveragedModel({kind}, n_averaged={int(self.n_averaged)}, {self.module!r})"


def update_bn(X: Any, model: Module, batch_size: int = 32) -> None:
    """Recompute the running statistics of every BatchNorm of ``model`` from ``X``.

    X: (n, features) inputs, run through the model in training mode in batches of
    ``batch_size`` (in order), with each BatchNorm's statistics reset and its momentum
    set to the cumulative average (``momentum=None``), so that they become the mean and
    the unbiased variance over the batches. The momenta and the training mode are put
    back afterwards. As ``torch.optim.swa_utils.update_bn``; nothing happens without a
    BatchNorm.
    """
    target = model.module if isinstance(model, AveragedModel) else model
    if not isinstance(target, Module):
        raise TypeError(f"update_bn: model must be a trainlab.nn.Module. "
                        f"Received: {type(model).__name__}.")
    batch_size = check_int(batch_size, "update_bn: batch_size", low=1)
    norms = [m for m in target.modules() if isinstance(m, BatchNorm)
             and m.running_mean is not None and m.running_var is not None]
    if not norms:
        return
    params = target.parameters()
    dtype = params[0].data.dtype if params else np.dtype(np.float32)
    X = check_input(X, "update_bn", dtype=dtype, name="X")
    momenta = [m.momentum for m in norms]
    modes = [(module, module.training) for module in target.modules()]
    try:
        for m in norms:
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.fill(0)
            m.running_var.fill(1)
            if m.num_batches_tracked is not None:
                m.num_batches_tracked.fill(0)
            m.momentum = None
        target.train()
        for start in range(0, X.shape[0], batch_size):
            target.forward(X[start:start + batch_size])
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
