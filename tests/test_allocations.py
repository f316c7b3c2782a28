"""The training and inference hot paths allocate no parameter-sized arrays in steady state.

After a few warm-up steps (which create gradients' scratch space and optimizer state),
one more training step (forward, loss, backward, ``step``, ``zero_grad``) and one
inference call are traced with ``tracemalloc``, which sees NumPy's array buffers. The
models are shaped so that every weight matrix is far larger than any batch-sized array:
a single parameter-sized temporary would push the traced peak over the bound.

Also here, the pieces of the fast path those checks rely on: the fused Adam/SGD
updates of every backend (``trainlab.backend``) against the NumPy code, bit for bit;
``Linear`` writing ``xᵀ·dy`` straight into a zeroed ``weight.grad``; and
``Linear.backward(dy, input_grad=False)``.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from backends import backend_fixture  # noqa: F401  (the fixture `backend`)
from trainlab import nn, optim
from trainlab.backend import NumpyBackend

BATCH = 2
WIDTHS = (128, 256, 256, 128)  # weights have >= 128·256 elements; activations 2·256


def make_model(dtype: np.dtype, normalised: bool) -> nn.Sequential:
    """Linear -> [BatchNorm] -> ReLU -> [Dropout] blocks, then a Linear classifier."""
    layers: list[nn.Module] = []
    pairs = list(zip(WIDTHS[:-1], WIDTHS[1:], strict=True))
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


# -- the fused update kernels (trainlab.backend) --------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_training_step_allocates_nothing_on_every_backend(backend, dtype, opt_name):
    model = make_model(np.dtype(dtype), normalised=True).use_backend(backend)
    loss_fn = nn.CrossEntropyLoss()
    opt = OPTIMIZERS[opt_name](model.parameters()).use_backend(backend)
    x, y = batch(np.dtype(dtype))

    def step() -> None:
        loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        opt.step()
        opt.zero_grad()

    for _ in range(3):
        step()
    assert traced_peak(step) < bound_bytes(model)
    if backend.name == "numba":  # the compiled kernels need no scratch arrays at all
        assert all(not work for work in opt._scratch)


UPDATE_RULES = {
    "adam": lambda ps: optim.Adam(ps, lr=0.01, betas=(0.9, 0.99)),
    "adam_wd_amsgrad": lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1, amsgrad=True),
    "adam_beta1_small": lambda ps: optim.Adam(ps, lr=0.01, betas=(0.3, 0.9)),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    "adamw_amsgrad": lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1, amsgrad=True),
    "sgd": lambda ps: optim.SGD(ps, lr=0.05),
    "sgd_wd": lambda ps: optim.SGD(ps, lr=0.05, weight_decay=0.01),
    "sgd_momentum_dampening": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.3),
    "sgd_nesterov_wd": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True,
                                            weight_decay=0.01),
}


def _trajectory(make, dtype, backend) -> list[np.ndarray]:
    """Weights and optimizer state after each of 30 steps on gradients of varied scale."""
    rng = np.random.default_rng(1)
    params = [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in [(37, 29), (29,), (5,)]]
    opt = make(params).use_backend(backend)
    out = []
    for _ in range(30):
        for p in params:
            p.grad[...] = rng.standard_normal(p.shape) * 10 ** rng.uniform(-4, 2)
        opt.step()
        out += [p.data.copy() for p in params]
        out += [a.copy() for state in opt.state for a in state.values()]
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule", sorted(UPDATE_RULES))
def test_fused_updates_equal_the_numpy_code_bit_for_bit(backend, rule, dtype):
    result = _trajectory(UPDATE_RULES[rule], dtype, backend)
    reference = _trajectory(UPDATE_RULES[rule], dtype, NumpyBackend())
    assert len(result) == len(reference)
    for a, b in zip(result, reference, strict=True):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


def test_non_contiguous_parameters_take_the_numpy_path(backend):
    """A parameter viewing every other column of an array is updated correctly either way."""
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    p = nn.Parameter(base)
    p.data = base[:, ::2]  # a strided view: the compiled kernels do not take it
    p.grad = np.ones_like(p.data)
    opt = optim.SGD([p], lr=0.5, momentum=0.9, backend=backend)
    opt.step()
    opt.step()
    np.testing.assert_array_equal(base[:, ::2], np.arange(24.0).reshape(4, 6)[:, ::2] - 0.5 - 0.95)
    np.testing.assert_array_equal(base[:, 1::2], np.arange(24.0).reshape(4, 6)[:, 1::2])


# -- Linear.backward(input_grad=False) ------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_without_input_grad_gives_the_same_parameter_gradients(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 7)).astype(dtype)
    dy = rng.standard_normal((5, 4)).astype(dtype)
    grads = []
    for input_grad in (True, False):
        layer = nn.Linear(7, 4, rng=0, dtype=dtype)
        layer(x)
        dx = layer.backward(dy, input_grad=input_grad)
        assert (dx is None) == (not input_grad)
        grads.append((layer.weight.grad.copy(), layer.bias.grad.copy()))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])
    np.testing.assert_allclose(grads[1][0], x.T @ dy, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_linear_writes_the_weight_gradient_in_place_after_zero_grad():
    """After zero_grad the product goes straight into weight.grad (no scratch array is made);
    a second backward without zero_grad adds to it through the scratch array."""
    rng = np.random.default_rng(4)
    layer = nn.Linear(6, 3, rng=0, dtype=np.float64)
    x1, x2 = rng.standard_normal((5, 6)), rng.standard_normal((4, 6))
    dy1, dy2 = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    grad = layer.weight.grad  # reading a marked gradient writes its zeros, clearing the mark
    layer.zero_grad()
    layer(x1)
    layer.backward(dy1)
    assert layer.weight.grad is grad and layer._dW_scratch is None
    np.testing.assert_allclose(grad, x1.T @ dy1, rtol=1e-13)
    layer(x2)
    layer.backward(dy2)
    assert layer.weight.grad is grad and layer._dW_scratch is not None
    np.testing.assert_allclose(grad, x1.T @ dy1 + x2.T @ dy2, rtol=1e-13)


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_a_copied_optimizer_updates_its_own_copied_parameters(backend, opt_name):
    """pickle/deepcopy of a model's parameters with their optimizer, after some steps: the
    copy keeps training its own parameters exactly as the original does."""
    import copy
    import pickle

    rng = np.random.default_rng(5)
    params = [nn.Parameter(rng.standard_normal(s).astype(np.float32)) for s in [(6, 4), (4,)]]
    opt = OPTIMIZERS[opt_name](params).use_backend(backend)
    grads = [[rng.standard_normal(p.shape).astype(np.float32) for p in params] for _ in range(6)]

    def run(o, steps):
        for g in steps:
            for p, gi in zip(o.params, g, strict=True):
                p.grad[...] = gi
            o.step()

    run(opt, grads[:3])
    copies = [pickle.loads(pickle.dumps(opt)), copy.deepcopy(opt)]
    run(opt, grads[3:])
    for other in copies:
        run(other, grads[3:])
        for p, q in zip(opt.params, other.params, strict=True):
            assert p is not q
            np.testing.assert_array_equal(p.data, q.data)


def test_linear_input_grad_must_be_a_bool():
    layer = nn.Linear(3, 2, rng=0)
    layer(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="Linear.backward: input_grad must be True or False"):
        layer.backward(np.ones((2, 2), dtype=np.float32), input_grad="no")
