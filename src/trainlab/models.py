"""Multilayer perceptrons from a small, JSON-serialisable configuration (notes §1).

    ŷ = ψ(θ⁽ᴸ⁾ … φ(θ⁽¹⁾ φ(θ⁽⁰⁾x)))

Each hidden layer is ``Linear -> [Norm] -> activation -> [Dropout]``, the notes'
φ(BN(Wh + b)) (with ``residual``, ``h + φ(BN(Wh + b))`` where the width allows); with
``dropconnect > 0`` the hidden Linear layers are DropConnect
layers. The output layer is a plain Linear: ψ is the identity for regression, and for
classification the outputs are logits, because the loss fuses the softmax
(CrossEntropyLoss) or the sigmoid (BCEWithLogitsLoss) for numerical stability.

One seed reaches every layer: :func:`build_mlp` draws one child seed per random
layer from the generator it is given, in layer order.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab import init as _init
from trainlab import nn
from trainlab._checks import check_dtype, check_probability
from trainlab._rng import RngLike, as_generator

ACTIVATIONS = nn.ACTIVATIONS  # the registry, re-exported where it used to live
NORMS = ("none", "batch", "layer")


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"MLPConfig: {name} must be an integer >= 1. Received: {value!r}.")
    return int(value)


@dataclass(frozen=True)
class MLPConfig:
    """The architecture of an MLP.

    in_features: input width. hidden_sizes: width of each hidden layer (may be empty).
    out_features: number of outputs (classes for CrossEntropyLoss, 1 for a binary
        classifier with BCEWithLogitsLoss, targets for regression).
    activation: one of ``ACTIVATIONS`` (relu, leaky_relu, elu, selu, gelu, tanh,
        sigmoid, identity).
    init: a name from :mod:`trainlab.init` for every Linear/DropConnect weight.
    norm: ``"none"``, ``"batch"`` (BatchNorm) or ``"layer"`` (LayerNorm), after each
        hidden Linear and before its activation.
    dropout: drop probability after each hidden activation (0 = no Dropout layer).
    dropconnect: drop probability of the hidden weights (0 = plain Linear layers).
    dtype: ``"float32"`` or ``"float64"``.
    output_init: the output layer's initializer (None: ``init``). A linear output for
        regression suits LeCun's Var(w) = 1/fan_in (notes §2: the identity's gain is 1).
    residual: wrap each hidden layer whose width equals the previous one in an
        ``nn.Residual`` (``h + φ(BN(Wh + b))``); at least one must qualify.
    """

    in_features: int
    hidden_sizes: tuple[int, ...] = (64, 64)
    out_features: int = 1
    activation: str = "relu"
    init: str = "torch_default"
    norm: str = "none"
    dropout: float = 0.0
    dropconnect: float = 0.0
    dtype: str = "float32"
    output_init: str | None = None
    residual: bool = False

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("in_features", _positive_int(self.in_features, "in_features"))
        put("out_features", _positive_int(self.out_features, "out_features"))
        sizes = self.hidden_sizes
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise ValueError(
                f"MLPConfig: hidden_sizes must be a list of integers >= 1. Received: {sizes!r}."
            )
        put(
            "hidden_sizes",
            tuple(_positive_int(h, f"hidden_sizes[{i}]") for i, h in enumerate(sizes)),
        )
        nn.ACTIVATIONS.get_named(self.activation, "MLPConfig: activation")
        _init.INITIALIZERS.get_named(self.init, "MLPConfig: init")
        if self.output_init is not None:
            _init.INITIALIZERS.get_named(self.output_init, "MLPConfig: output_init")
        if not isinstance(self.norm, str) or self.norm not in NORMS:
            raise ValueError(
                f"MLPConfig: norm must be one of {list(NORMS)}. Received: {self.norm!r}."
            )
        put("dropout", check_probability(self.dropout, "MLPConfig: dropout"))
        put("dropconnect", check_probability(self.dropconnect, "MLPConfig: dropconnect"))
        try:
            dtype = check_dtype(self.dtype, "MLPConfig: dtype")
        except TypeError as exc:
            raise ValueError(
                f"MLPConfig: dtype must be 'float32' or 'float64'. Received: {self.dtype!r}."
            ) from exc
        put("dtype", dtype.name)
        if not isinstance(self.residual, bool):
            raise ValueError(f"MLPConfig: residual must be True or False. "
                             f"Received: {self.residual!r}.")
        widths = (self.in_features, *self.hidden_sizes)
        if self.residual and not any(a == b for a, b in zip(widths, widths[1:], strict=False)):
            raise ValueError(
                "MLPConfig: residual blocks need a hidden layer as wide as the layer before "
                f"it (x + f(x)); received in_features={self.in_features} and hidden_sizes="
                f"{list(self.hidden_sizes)}. Repeat a width, e.g. [64, 64, 64]."
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``hidden_sizes`` as a list; ``output_init`` only when set, so
        that files written before it existed read back the same)."""
        out = dataclasses.asdict(self)
        out["hidden_sizes"] = list(self.hidden_sizes)
        if out["output_init"] is None:
            del out["output_init"]
        if not out["residual"]:
            del out["residual"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MLPConfig:
        """Build from :meth:`to_dict`'s output; unknown keys are an error."""
        if not isinstance(data, dict):
            raise TypeError(
                f"MLPConfig.from_dict: expected a dict. Received: {type(data).__name__}."
            )
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ValueError(
                f"MLPConfig.from_dict: unknown settings {unknown}; accepted: {fields}."
            )
        if "in_features" not in data:
            raise ValueError("MLPConfig.from_dict: 'in_features' is required.")
        return cls(**data)


def _child(rng: np.random.Generator) -> np.random.Generator:
    """A generator seeded from ``rng`` (a function of rng's state only)."""
    return np.random.default_rng(int(rng.integers(0, 2**63 - 1)))


def build_mlp(config: MLPConfig, rng: RngLike = None) -> nn.Sequential:
    """The ``nn.Sequential`` described by ``config``.

    rng: a Generator or an int seed; every random layer (the Linear/DropConnect
    initialisations, the Dropout and DropConnect masks) gets its own generator seeded
    from it, in layer order, so one seed fixes the whole model.
    """
    if not isinstance(config, MLPConfig):
        raise TypeError(
            f"build_mlp: config must be an MLPConfig. Received: {type(config).__name__}."
        )
    rng = as_generator(rng, "build_mlp: rng")
    dtype = np.dtype(config.dtype)
    layers: list[nn.Module] = []
    width = config.in_features
    for size in config.hidden_sizes:
        block: list[nn.Module] = []
        if config.dropconnect > 0:
            block.append(
                nn.DropConnect(
                    width,
                    size,
                    p=config.dropconnect,
                    init=config.init,
                    rng=_child(rng),
                    dtype=dtype,
                )
            )
        else:
            block.append(nn.Linear(width, size, init=config.init, rng=_child(rng), dtype=dtype))
        if config.norm == "batch":
            block.append(nn.BatchNorm(size, dtype=dtype))
        elif config.norm == "layer":
            block.append(nn.LayerNorm(size, dtype=dtype))
        block.append(nn.ACTIVATIONS[config.activation]())
        if config.dropout > 0:
            block.append(nn.Dropout(config.dropout, rng=_child(rng)))
        if config.residual and size == width:
            layers.append(nn.Residual(*block))
        else:
            layers.extend(block)
        width = size
    output_init = config.init if config.output_init is None else config.output_init
    layers.append(
        nn.Linear(width, config.out_features, init=output_init, rng=_child(rng), dtype=dtype)
    )
    return nn.Sequential(*layers)
