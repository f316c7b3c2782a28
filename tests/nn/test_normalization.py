"""BatchNorm and LayerNorm: gradient checks, the PyTorch oracle, state and errors."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import numerical_gradient
from trainlab import nn
from trainlab.nn.normalization import (
    batchnorm_backward,
    batchnorm_eval_backward,
    batchnorm_eval_forward,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)

RTOL = 1e-7
ATOL = 1e-12  # for entries that are zero up to round-off


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def batch(rng, n=6, d=4, dtype=np.float64):
    """A batch whose features have different means and scales."""
    loc = rng.normal(0, 3, size=d)
    scale = rng.uniform(0.5, 4, size=d)
    return (loc + scale * rng.normal(size=(n, d))).astype(dtype)


def randomize_affine(layer, rng):
    for p in layer.parameters():
        p.data[...] = rng.normal(1.0, 0.5, size=p.shape)


def check_layer_gradients(layer, x, dy):
    """Central differences of Σ(layer(x)·dy) w.r.t. x and every parameter, float64."""
    layer.zero_grad()
    layer(x)
    dx = layer.backward(dy)

    def f():
        return float(np.sum(layer(x) * dy))

    np.testing.assert_allclose(dx, numerical_gradient(f, x), rtol=1e-6, atol=1e-8)
    for name, p in layer.named_parameters():
        num = numerical_gradient(f, p.data)
        np.testing.assert_allclose(p.grad, num, rtol=1e-6, atol=1e-8, err_msg=name)


# -- kernels --------------------------------------------------------------------------------


def test_batchnorm_forward_kernel_normalises_columns(rng):
    x = batch(rng, n=8, d=3)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    y, x_hat, inv_std, mean, var = batchnorm_forward(x, gamma, beta, 1e-5)
    close(x_hat.mean(axis=0), np.zeros(3), atol=1e-12)
    close(inv_std, 1 / np.sqrt(x.var(axis=0) + 1e-5))
    close(mean, x.mean(axis=0))
    close(var, x.var(axis=0))
    assert inv_std.shape == mean.shape == var.shape == (3,)
    close(y, gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) + beta)


def test_batchnorm_eval_forward_kernel_uses_the_given_statistics(rng):
    x = batch(rng, n=6, d=3)
    mean, var = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    y, x_hat, inv_std = batchnorm_eval_forward(x, mean, var, gamma, beta, 1e-5)
    close(inv_std, 1 / np.sqrt(var + 1e-5))
    close(x_hat, (x - mean) / np.sqrt(var + 1e-5))
    close(y, gamma * x_hat + beta)
    y, _, _ = batchnorm_eval_forward(x, mean, var, None, None, 1e-5)
    close(y, x_hat)


def test_layernorm_forward_kernel_normalises_rows(rng):
    x = batch(rng, n=5, d=7)
    y, x_hat, inv_std = layernorm_forward(x, None, None, 1e-5)
    close(x_hat.mean(axis=1), np.zeros(5), atol=1e-12)
    close(inv_std, 1 / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5))
    close(y, x_hat)
    assert y is not x_hat


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_backward_kernel_matches_numerical(rng, affine):
    x = batch(rng, n=5, d=3)
    gamma = rng.normal(size=3) if affine else None
    beta = rng.normal(size=3) if affine else None
    dy = rng.normal(size=x.shape)
    _, x_hat, inv_std, _, _ = batchnorm_forward(x, gamma, beta, 1e-3)
    dx, dgamma, dbeta = batchnorm_backward(dy, x_hat, inv_std, gamma)

    def f():
        return float(np.sum(batchnorm_forward(x, gamma, beta, 1e-3)[0] * dy))

    np.testing.assert_allclose(dx, numerical_gradient(f, x), rtol=1e-6, atol=1e-8)
    if affine:
        np.testing.assert_allclose(dgamma, numerical_gradient(f, gamma), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(dbeta, numerical_gradient(f, beta), rtol=1e-6, atol=1e-8)


def test_batchnorm_eval_backward_kernel_matches_numerical(rng):
    x = batch(rng, n=4, d=3)
    mean, var = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    dy = rng.normal(size=x.shape)

    def f():
        return float(np.sum(batchnorm_eval_forward(x, mean, var, gamma, beta, 1e-5)[0] * dy))

    _, x_hat, inv_std = batchnorm_eval_forward(x, mean, var, gamma, beta, 1e-5)
    dx, dgamma, dbeta = batchnorm_eval_backward(dy, x_hat, inv_std, gamma)
    np.testing.assert_allclose(dx, numerical_gradient(f, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dgamma, numerical_gradient(f, gamma), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbeta, numerical_gradient(f, beta), rtol=1e-6, atol=1e-8)


def test_layernorm_backward_kernel_matches_numerical(rng):
    x = batch(rng, n=4, d=5)
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    dy = rng.normal(size=x.shape)
    _, x_hat, inv_std = layernorm_forward(x, gamma, beta, 1e-5)
    dx, dgamma, dbeta = layernorm_backward(dy, x_hat, inv_std, gamma)

    def f():
        return float(np.sum(layernorm_forward(x, gamma, beta, 1e-5)[0] * dy))

    np.testing.assert_allclose(dx, numerical_gradient(f, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dgamma, numerical_gradient(f, gamma), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbeta, numerical_gradient(f, beta), rtol=1e-6, atol=1e-8)


# -- BatchNorm: gradient checks of the layer -------------------------------------------------


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_training_gradients(rng, affine):
    layer = nn.BatchNorm(3, affine=affine, dtype=np.float64)
    randomize_affine(layer, rng)
    check_layer_gradients(layer, batch(rng, n=5, d=3), rng.normal(size=(5, 3)))


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_eval_gradients(rng, affine):
    layer = nn.BatchNorm(3, affine=affine, dtype=np.float64)
    randomize_affine(layer, rng)
    for _ in range(3):  # non-trivial running statistics
        layer(batch(rng, n=8, d=3))
    layer.eval()
    before = layer.state_dict()
    check_layer_gradients(layer, batch(rng, n=5, d=3), rng.normal(size=(5, 3)))
    for key, value in layer.state_dict().items():  # eval changes no statistic
        np.testing.assert_array_equal(value, before[key])


def test_batchnorm_without_running_stats_uses_batch_statistics_in_eval(rng):
    layer = nn.BatchNorm(3, track_running_stats=False, dtype=np.float64).eval()
    randomize_affine(layer, rng)
    x = batch(rng, n=5, d=3)
    y = layer(x)
    close(y.mean(axis=0), layer.bias.data)
    check_layer_gradients(layer, x, rng.normal(size=(5, 3)))


def test_batchnorm_gradients_accumulate(rng):
    layer = nn.BatchNorm(3, dtype=np.float64)
    randomize_affine(layer, rng)
    x1, x2 = batch(rng, n=5, d=3), batch(rng, n=7, d=3)
    dy1, dy2 = rng.normal(size=(5, 3)), rng.normal(size=(7, 3))
    grads = []
    for x, dy in ((x1, dy1), (x2, dy2)):
        layer.zero_grad()
        layer(x)
        layer.backward(dy)
        grads.append([p.grad.copy() for p in layer.parameters()])
    layer.zero_grad()
    layer(x1)
    layer.backward(dy1)
    layer(x2)
    layer.backward(dy2)
    for p, g1, g2 in zip(layer.parameters(), *grads, strict=False):
        close(p.grad, g1 + g2)


# -- BatchNorm: the PyTorch oracle -------------------------------------------------------------


def torch_batchnorm(torch, layer):
    ref = torch.nn.BatchNorm1d(
        layer.num_features,
        eps=layer.eps,
        momentum=layer.momentum,
        affine=layer.affine,
        track_running_stats=layer.track_running_stats,
        dtype=torch.float64,
    )
    if layer.affine:
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(layer.weight.data.astype(np.float64)))
            ref.bias.copy_(torch.from_numpy(layer.bias.data.astype(np.float64)))
    return ref


def compare_step(torch, layer, ref, x, dy, rtol=RTOL, atol=ATOL):
    """One forward + backward through both; compare outputs, gradients and statistics."""
    layer.zero_grad()
    ref.zero_grad()
    dtype = torch.float64 if x.dtype == np.float64 else torch.float32
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.from_numpy(dy))
    y = layer(x)
    dx = layer.backward(dy)
    assert y.dtype == dx.dtype == x.dtype
    close(y, yt.detach().numpy(), rtol, atol)
    close(dx, xt.grad.numpy(), rtol, atol)
    if layer.affine:
        close(layer.weight.grad, ref.weight.grad.numpy(), rtol, atol)
        close(layer.bias.grad, ref.bias.grad.numpy(), rtol, atol)
    if layer.track_running_stats:
        close(layer.running_mean, ref.running_mean.numpy(), rtol, atol)
        close(layer.running_var, ref.running_var.numpy(), rtol, atol)
        assert int(layer.num_batches_tracked) == int(ref.num_batches_tracked)


CONFIGS = [
    {},
    {"momentum": None},
    {"momentum": 0.3, "eps": 1e-3},
    {"affine": False},
    {"track_running_stats": False},
    {"affine": False, "track_running_stats": False},
]


@pytest.mark.parametrize(
    "config", CONFIGS,
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default",
)
def test_batchnorm_matches_torch_over_training_steps_then_eval(torch, rng, config):
    layer = nn.BatchNorm(4, dtype=np.float64, **config)
    randomize_affine(layer, rng)
    ref = torch_batchnorm(torch, layer)
    for n in (6, 9, 2, 13):  # several steps with different batches
        x = batch(rng, n=n, d=4)
        compare_step(torch, layer, ref, x, rng.normal(size=x.shape))
    layer.eval()
    ref.eval()
    for n in (5, 3):
        x = batch(rng, n=n, d=4)
        compare_step(torch, layer, ref, x, rng.normal(size=x.shape))


def test_batchnorm_matches_torch_after_switching_back_to_training(torch, rng):
    layer = nn.BatchNorm(3, dtype=np.float64)
    ref = torch_batchnorm(torch, layer)
    for mode in (True, False, True, False):
        layer.train(mode)
        ref.train(mode)
        x = batch(rng, n=4, d=3)
        compare_step(torch, layer, ref, x, rng.normal(size=x.shape))


def test_batchnorm_matches_torch_in_float32(torch, rng):
    layer = nn.BatchNorm(5)
    assert layer.weight.dtype == np.float32 and layer.running_var.dtype == np.float32
    randomize_affine(layer, rng)
    ref = torch_batchnorm(torch, layer).float()
    for n in (16, 8):
        x = batch(rng, n=n, d=5, dtype=np.float32)
        compare_step(torch, layer, ref, x, rng.normal(size=x.shape).astype(np.float32),
                     rtol=2e-5, atol=2e-6)
    assert layer.running_mean.dtype == np.float32
    layer.eval()
    ref.eval()
    x = batch(rng, n=4, d=5, dtype=np.float32)
    compare_step(torch, layer, ref, x, rng.normal(size=x.shape).astype(np.float32),
                 rtol=2e-5, atol=2e-6)


def test_batchnorm_cumulative_average_when_momentum_is_none(rng):
    layer = nn.BatchNorm(3, momentum=None, dtype=np.float64)
    xs = [batch(rng, n=n, d=3) for n in (4, 6, 5)]
    for x in xs:
        layer(x)
    close(layer.running_mean, np.mean([x.mean(0) for x in xs], axis=0))
    close(layer.running_var, np.mean([x.var(0, ddof=1) for x in xs], axis=0))
    assert layer.num_batches_tracked.shape == () and int(layer.num_batches_tracked) == 3


def test_batchnorm_running_average_is_the_notes_ewma(rng):
    """μ* ← β·μ* + (1−β)·μ_B with β = 1 − momentum; σ²* likewise with the unbiased σ²_B."""
    momentum = 0.25
    beta = 1 - momentum
    layer = nn.BatchNorm(2, momentum=momentum, dtype=np.float64)
    mu, var = np.zeros(2), np.ones(2)
    for _ in range(3):
        x = batch(rng, n=5, d=2)
        layer(x)
        mu = beta * mu + (1 - beta) * x.mean(0)
        var = beta * var + (1 - beta) * x.var(0, ddof=1)
    close(layer.running_mean, mu)
    close(layer.running_var, var)


# -- BatchNorm: state ------------------------------------------------------------------------


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("track", [True, False])
def test_batchnorm_state_dict_keys_match_torch(torch, affine, track):
    layer = nn.BatchNorm(3, affine=affine, track_running_stats=track)
    ref = torch.nn.BatchNorm1d(3, affine=affine, track_running_stats=track)
    state = layer.state_dict()
    assert list(state) == list(ref.state_dict())
    for key, value in ref.state_dict().items():
        assert state[key].shape == tuple(value.shape)
    if track:
        assert state["num_batches_tracked"].dtype == np.int64
    else:
        assert layer.running_mean is None and layer.running_var is None
        assert layer.buffers() == []


def test_batchnorm_loads_torch_state_and_astype_converts_buffers(torch, rng):
    ref = torch.nn.BatchNorm1d(3)
    for _ in range(2):
        ref(torch.tensor(batch(rng, n=5, d=3)))
    with torch.no_grad():
        ref.weight.mul_(2.0)
    layer = nn.BatchNorm(3)
    layer.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    assert int(layer.num_batches_tracked) == 2
    close(layer.running_var, ref.running_var.numpy(), rtol=1e-6)
    assert layer.running_var.dtype == np.float32
    layer.astype(np.float64)
    assert layer.dtype == np.float64
    for name, value in layer.named_buffers():
        expected = np.int64 if name == "num_batches_tracked" else np.float64
        assert value.dtype == expected, name
    assert layer.weight.grad.dtype == np.float64
    ref.eval()
    layer.eval()
    x = batch(rng, n=4, d=3)
    close(layer(x), ref(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    layer.train()
    layer(x)  # updates in float64 in place
    assert layer.running_mean.dtype == np.float64 and int(layer.num_batches_tracked) == 3


def test_batchnorm_defaults():
    layer = nn.BatchNorm(3)
    np.testing.assert_array_equal(layer.weight.data, np.ones(3, dtype=np.float32))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3, dtype=np.float32))
    np.testing.assert_array_equal(layer.running_mean, np.zeros(3))
    np.testing.assert_array_equal(layer.running_var, np.ones(3))
    assert layer.num_batches_tracked.dtype == np.int64 and layer.num_batches_tracked.shape == ()
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert "momentum=0.1" in repr(layer)


# -- BatchNorm: errors -----------------------------------------------------------------------


def test_batchnorm_rejects_a_single_example_in_training(rng):
    layer = nn.BatchNorm(3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        layer(np.ones((1, 3), dtype=np.float32))
    assert int(layer.num_batches_tracked) == 0
    layer.eval()
    assert layer(np.ones((1, 3), dtype=np.float32)).shape == (1, 3)
    no_stats = nn.BatchNorm(3, track_running_stats=False).eval()
    with pytest.raises(ValueError, match="more than 1 value"):
        no_stats(np.ones((1, 3), dtype=np.float32))


def test_batchnorm_input_and_backward_errors(rng):
    layer = nn.BatchNorm(3)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="BatchNorm.*3 features"):
        layer(np.ones((4, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="rank 2"):
        layer(np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="floating-point"):
        layer(np.ones((4, 3), dtype=np.int64))
    layer(batch(rng, n=4, d=3, dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        layer.backward(np.ones((5, 3), dtype=np.float32))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"num_features": 0}, ValueError),
        ({"num_features": 2.5}, TypeError),
        ({"num_features": 3, "eps": -1.0}, ValueError),
        ({"num_features": 3, "momentum": 1.5}, ValueError),
        ({"num_features": 3, "momentum": "0.1"}, TypeError),
        ({"num_features": 3, "affine": 1}, TypeError),
        ({"num_features": 3, "track_running_stats": "yes"}, TypeError),
        ({"num_features": 3, "dtype": np.int32}, TypeError),
    ],
)
def test_batchnorm_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error, match="Received"):
        nn.BatchNorm(**kwargs)


# -- LayerNorm -------------------------------------------------------------------------------


@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_gradients(rng, affine):
    layer = nn.LayerNorm(5, elementwise_affine=affine, dtype=np.float64)
    randomize_affine(layer, rng)
    check_layer_gradients(layer, batch(rng, n=4, d=5), rng.normal(size=(4, 5)))
    layer.eval()  # no running statistics: the same function in evaluation
    check_layer_gradients(layer, batch(rng, n=3, d=5), rng.normal(size=(3, 5)))


def test_layernorm_gradients_accumulate(rng):
    layer = nn.LayerNorm(4, dtype=np.float64)
    randomize_affine(layer, rng)
    x, dy = batch(rng, n=3, d=4), rng.normal(size=(3, 4))
    layer(x)
    layer.backward(dy)
    once = [p.grad.copy() for p in layer.parameters()]
    layer(x)
    layer.backward(dy)
    for p, g in zip(layer.parameters(), once, strict=False):
        close(p.grad, 2 * g)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layernorm_matches_torch(torch, rng, affine, dtype):
    layer = nn.LayerNorm(6, eps=1e-4, elementwise_affine=affine, dtype=dtype)
    randomize_affine(layer, rng)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ref = torch.nn.LayerNorm(6, eps=1e-4, elementwise_affine=affine, dtype=tdtype)
    assert list(layer.state_dict()) == list(ref.state_dict())
    if affine:
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(layer.weight.data))
            ref.bias.copy_(torch.from_numpy(layer.bias.data))
    rtol, atol = (RTOL, ATOL) if dtype == np.float64 else (2e-5, 2e-6)
    for n in (5, 1, 3):
        x = batch(rng, n=n, d=6, dtype=dtype)
        dy = rng.normal(size=x.shape).astype(dtype)
        layer.zero_grad()
        ref.zero_grad()
        xt = torch.tensor(x, requires_grad=True)
        yt = ref(xt)
        yt.backward(torch.from_numpy(dy))
        y = layer(x)
        dx = layer.backward(dy)
        assert y.dtype == dx.dtype == dtype
        close(y, yt.detach().numpy(), rtol, atol)
        close(dx, xt.grad.numpy(), rtol, atol)
        if affine:
            close(layer.weight.grad, ref.weight.grad.numpy(), rtol, atol)
            close(layer.bias.grad, ref.bias.grad.numpy(), rtol, atol)


def test_layernorm_errors_and_astype(rng):
    layer = nn.LayerNorm(3)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="LayerNorm.*3 features"):
        layer(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(TypeError, match="elementwise_affine"):
        nn.LayerNorm(3, elementwise_affine=None)
    with pytest.raises(ValueError, match="num_features"):
        nn.LayerNorm(0)
    layer.astype(np.float64)
    assert layer.weight.dtype == np.float64
    assert layer(batch(rng, n=2, d=3, dtype=np.float32)).dtype == np.float64


@pytest.mark.parametrize("make", [lambda: nn.BatchNorm(3, dtype=np.float64),
                                  lambda: nn.LayerNorm(3, dtype=np.float64)])
def test_non_finite_inputs_pass_through_as_in_torch(torch, rng, make):
    """No check and no error: a NaN spreads over its column (BatchNorm: the batch
    statistics) or its row (LayerNorm), as in torch; the running statistics take it too."""
    layer = make()
    x = batch(rng, n=4, d=3)
    x[1, 2] = np.nan
    with np.errstate(all="ignore"):
        y = layer(x)
        layer.backward(np.ones_like(y))
    ref = (torch.nn.BatchNorm1d(3) if isinstance(layer, nn.BatchNorm) else torch.nn.LayerNorm(3))
    y_ref = ref(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(y, y_ref, rtol=1e-7, atol=1e-12)
    if isinstance(layer, nn.BatchNorm):
        assert np.isnan(y[:, 2]).all() and np.isfinite(y[:, :2]).all()
        np.testing.assert_allclose(layer.running_mean, ref.running_mean.numpy(), rtol=1e-7)
    else:
        assert np.isnan(y[1]).all() and np.isfinite(np.delete(y, 1, axis=0)).all()
