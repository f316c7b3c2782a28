"""The training and inference hot paths allocate no parameter-sized arrays in steady state.

After a few warm-up steps (which create gradients' scratch space and optimizer state),
one more training step (forward, loss, backward, ``step``, ``zero_grad``) and one
inference call are traced with ``tracemalloc``, which sees NumPy's array buffers. The
models are shaped so that every weight matrix is far larger than any batch-sized array:
a single parameter-sized temporary would push the traced peak over the bound.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from trainlab import nn, optim

BATCH = 2
WIDTHS = (128, 256, 256, 128)  # weights have >= 128·256 elements; activations 2·256


def make_model(dtype: np.dtype, normalised: bool) -> nn.Sequential:
    """Linear -> [BatchNorm] -> ReLU -> [Dropout] blocks, then a Linear classifier."""
    layers: list[nn.Module] = []
    pairs = list(zip(WIDTHS[:-1], WIDTHS[1:]))
    for i, (fan_in, fan_out) in enumerate(pairs):
        layers.append(nn.Linear(fan_in, fan_out, rng=i, dtype=dtype))
        if i < len(pairs) - 1:
            if normalised:
                layers.append(nn.BatchNorm(fan_out, dtype=dtype))
            layers.append(nn.ReLU())
            if normalised:
                layers.append(nn.Dropout(0.2, rng=10 + i))
    return nn.Sequential(*layers)


def bound_bytes(model: nn.Module) -> int:
    """Half the smallest weight matrix: any parameter-sized temporary exceeds it."""
    smallest = min(p.data.nbytes for p in model.parameters() if p.data.ndim == 2)
    return smallest // 2


def traced_peak(fn: Callable[[], object]) -> int:
    """Peak bytes traced by tracemalloc while ``fn`` runs (allocations alive before excluded)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - start


def batch(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, WIDTHS[0])).astype(dtype)
    y = rng.integers(0, WIDTHS[-1], size=BATCH)
    return x, y


OPTIMIZERS = {
    "adam": lambda params: optim.Adam(params, lr=1e-3),
    "sgd_momentum_wd": lambda params: optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("normalised", [False, True], ids=["plain", "batchnorm_dropout"])
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_training_step_allocates_no_parameter_sized_arrays(dtype, normalised, opt_name):
    model = make_model(np.dtype(dtype), normalised)
    loss_fn = nn.CrossEntropyLoss()
    opt = OPTIMIZERS[opt_name](model.parameters())
    x, y = batch(np.dtype(dtype))

    def step() -> None:
        loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        opt.step()
        opt.zero_grad()

    for _ in range(3):  # scratch space and optimizer state are created here
        step()
    peak = traced_peak(step)
    assert peak < bound_bytes(model), (
        f"a steady-state training step allocated {peak} bytes at its peak; a parameter-sized "
        f"array would be {2 * bound_bytes(model)} bytes"
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("normalised", [False, True], ids=["plain", "batchnorm_dropout"])
def test_inference_allocates_no_parameter_sized_arrays(dtype, normalised):
    model = make_model(np.dtype(dtype), normalised).eval()
    x, _ = batch(np.dtype(dtype))
    for _ in range(2):
        model(x)
    peak = traced_peak(lambda: model(x))
    assert peak < bound_bytes(model)


def test_the_bound_catches_a_parameter_sized_temporary():
    """The measurement is sensitive: one weight-sized copy inside the step exceeds the bound."""
    model = make_model(np.dtype(np.float32), normalised=False)
    weight = model.parameters()[0].data
    peak = traced_peak(lambda: weight * 2.0)
    assert peak >= bound_bytes(model)


def test_steady_state_steps_do_not_grow_memory():
    """Twenty more steps leave no more traced memory alive than one."""
    model = make_model(np.dtype(np.float32), normalised=True)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = batch(np.dtype(np.float32))

    def steps(n: int) -> None:
        for _ in range(n):
            loss_fn(model(x), y)
            model.backward(loss_fn.backward())
            opt.step()
            opt.zero_grad()

    steps(3)
    tracemalloc.start()
    try:
        steps(1)
        after_one, _ = tracemalloc.get_traced_memory()
        steps(20)
        after_many, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after_many - after_one < 4096
