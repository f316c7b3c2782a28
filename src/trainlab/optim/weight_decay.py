r"""Weight decay, the one piece every optimizer applies before its update rule.

With coefficient λ and learning rate γ, in either of its two forms:

- **coupled** (L2 regularisation: the loss gains ½λ‖W‖², so its gradient gains λ·W),
  the ``weight_decay`` of SGD, Adagrad, RMSprop and Adam::

      g ← g + λ·W

- **decoupled** (Loshchilov & Hutter, "Decoupled Weight Decay Regularization",
  ICLR 2019), the ``weight_decay`` of AdamW: the weights shrink before the update,
  and the gradient (so the moment estimates) is left alone::

      W ← W·(1 − γ·λ)

For plain SGD the two are the same step; for the adaptive methods they differ, since
the coupled term is divided by the adaptive denominator along with the gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trainlab._checks import check_number
from trainlab.nn.module import Module, Parameter
from trainlab.optim.base import Scratch


def apply_weight_decay(
    p: Parameter, weight_decay: float, work: Scratch, *, lr: float = 0.0, decoupled: bool = False
) -> np.ndarray:
    """Apply the decay to ``p`` for one step; return the gradient the update rule uses.

    Coupled: ``g + λ·W``, written into ``work["decayed"]`` (``p.grad`` is not changed).
    Decoupled: ``p.data`` is multiplied by ``1 − lr·λ`` in place, and ``p.grad`` returned.
    With λ = 0 nothing happens and ``p.grad`` is returned.
    """
    if weight_decay == 0:
        return p.grad
    if decoupled:
        p.data *= 1 - lr * weight_decay  # W ← W·(1 − γλ)
        return p.grad
    decayed = work["decayed"]
    np.multiply(p.data, weight_decay, out=decayed)
    return np.add(p.grad, decayed, out=decayed)  # g + λ·W


def weight_decay_terms(
    weight_decay: float, *, lr: float = 0.0, decoupled: bool = False
) -> tuple[float, float]:
    """The decay as the two scalars of the fused kernels: (λ added to the gradient as
    ``g + λ·W``, the factor ``1 − γλ`` the weights are multiplied by); 0 and 1 mean none."""
    if weight_decay != 0 and decoupled:
        return 0.0, 1 - lr * weight_decay
    return weight_decay, 1.0


def decay_groups(named_parameters: Any, weight_decay: float | None = None) -> list[dict[str, Any]]:
    """Parameter groups that keep biases and normalisation parameters out of weight decay.

    named_parameters: ``model.named_parameters()`` (or the model). A parameter of one
    dimension (a bias ``(out,)``, BatchNorm's and LayerNorm's γ and β) goes to a group
    with ``weight_decay = 0``; the weight matrices stay in the other group, which takes
    ``weight_decay`` when it is given and the optimizer's own otherwise. Decaying a bias
    or a γ only pulls the layer's offset or scale towards 0, which does not limit the
    function's complexity (the usual practice since Goyal et al., 2017)::

        optim.AdamW(optim.decay_groups(model), lr=1e-3, weight_decay=0.05)

    Empty groups are left out.
    """
    if isinstance(named_parameters, Module):
        named_parameters = named_parameters.named_parameters()
    pairs = list(named_parameters)
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], Parameter)):
            raise TypeError("decay_groups: expected model.named_parameters() (pairs of a name "
                            f"and a Parameter). Received at {i}: {pair!r:.60}.")
    decay = [p for _, p in pairs if p.data.ndim > 1]
    plain = [p for _, p in pairs if p.data.ndim <= 1]
    first: dict[str, Any] = {"params": decay}
    if weight_decay is not None:
        first["weight_decay"] = check_number(weight_decay, "decay_groups: weight_decay", low=0.0)
    groups = [first, {"params": plain, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]
