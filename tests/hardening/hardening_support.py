"""Helpers shared by the hardening tests: error-message checks and small training setups."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from trainlab import nn, optim
from trainlab.models import MLPConfig, build_mlp
from trainlab.train import Trainer

# Modest and reproducible: the same examples on every run, no per-example deadline.
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_SMALL = settings(FUZZ, max_examples=10)


def assert_clear_error(fn, *names: str, kinds=(ValueError, TypeError)) -> Exception:
    """``fn()`` raises one of ``kinds`` whose message contains every one of ``names``."""
    with pytest.raises(kinds) as info:
        fn()
    message = str(info.value)
    for name in names:
        assert name in message, f"{name!r} not named in: {message}"
    assert "Traceback" not in message
    return info.value


# Every optimizer of the library, each a function (params, lr) -> optimizer.
OPTIMIZERS = {
    "SGD": lambda p, lr: optim.SGD(p, lr=lr),
    "SGD-momentum": lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9),
    "Nesterov": lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda p, lr: optim.Adagrad(p, lr=lr),
    "RMSprop": lambda p, lr: optim.RMSprop(p, lr=lr),
    "RMSprop-centered": lambda p, lr: optim.RMSprop(p, lr=lr, centered=True),
    "Adam": lambda p, lr: optim.Adam(p, lr=lr),
    "AMSGrad": lambda p, lr: optim.Adam(p, lr=lr, amsgrad=True),
    "AdamW": lambda p, lr: optim.AdamW(p, lr=lr),
}


def small_config(dtype: str = "float32", **kw) -> MLPConfig:
    base = {"in_features": 4, "hidden_sizes": (6,), "out_features": 3, "dtype": dtype}
    base.update(kw)
    return MLPConfig(**base)


def small_trainer(config: MLPConfig | None = None, *, seed: int = 0, callbacks=(), **kw) -> Trainer:
    config = config or small_config()
    model = build_mlp(config, rng=seed)
    kw.setdefault("rng", seed)
    kw.setdefault("verbose", 0)
    return Trainer(
        model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2),
        callbacks=callbacks, **kw,
    )


def blobs(n: int = 48, features: int = 4, classes: int = 3, seed: int = 0):
    """Separable Gaussian blobs: X (n, features) float32, y (n,) int64."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centres = 3.0 * rng.standard_normal((classes, features))
    X = centres[y] + rng.standard_normal((n, features))
    return X.astype(np.float32), y.astype(np.int64)
