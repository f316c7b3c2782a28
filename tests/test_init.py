"""Initializer statistics, bounds, seeds and errors; PyTorch's calculate_gain."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab import init

FAN_IN, FAN_OUT = 400, 600

# name -> (expected variance, uniform bound or None)
EXPECTED = {
    "naive_uniform": (1 / (3 * FAN_IN), 1 / math.sqrt(FAN_IN)),
    "torch_default": (1 / (3 * FAN_IN), 1 / math.sqrt(FAN_IN)),
    "xavier_uniform": (2 / (FAN_IN + FAN_OUT), math.sqrt(6) / math.sqrt(FAN_IN + FAN_OUT)),
    "glorot_uniform": (2 / (FAN_IN + FAN_OUT), math.sqrt(6) / math.sqrt(FAN_IN + FAN_OUT)),
    "xavier_normal": (2 / (FAN_IN + FAN_OUT), None),
    "glorot_normal": (2 / (FAN_IN + FAN_OUT), None),
    "he_uniform": (2 / FAN_IN, math.sqrt(6 / FAN_IN)),
    "kaiming_uniform": (2 / FAN_IN, math.sqrt(6 / FAN_IN)),
    "he_normal": (2 / FAN_IN, None),
    "kaiming_normal": (2 / FAN_IN, None),
    "lecun_normal": (1 / FAN_IN, None),
    "lecun_uniform": (1 / FAN_IN, math.sqrt(3 / FAN_IN)),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_variance_within_two_percent(name):
    variance, bound = EXPECTED[name]
    w = getattr(init, name)(FAN_IN, FAN_OUT, rng=1)
    assert w.shape == (FAN_IN, FAN_OUT)
    assert w.dtype == np.float32
    assert abs(w.var() / variance - 1) < 0.02
    assert abs(w.mean()) < 4 * math.sqrt(variance / w.size)
    assert init.weight_variance(name, FAN_IN, FAN_OUT) == pytest.approx(variance)
    if bound is not None:
        assert np.abs(w).max() <= bound
        # the bound is actually approached: the sample spans most of [-a, a]
        assert np.abs(w).max() > 0.99 * bound


@pytest.mark.parametrize("name", sorted(init.INITIALIZERS))
def test_seed_reproduces_and_dtype_follows(name):
    a = init.resolve(name)(30, 20, rng=7, dtype=np.float64)
    b = init.resolve(name)(30, 20, np.random.default_rng(7), np.float64)
    c = init.resolve(name)(30, 20, rng=7, dtype=np.float32)
    assert a.dtype == np.float64 and c.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a.astype(np.float32), c)


def test_different_seeds_differ():
    assert not np.array_equal(init.he_normal(10, 10, rng=0), init.he_normal(10, 10, rng=1))


def test_zeros():
    w = init.zeros(3, 4, dtype=np.float64)
    assert w.shape == (3, 4) and w.dtype == np.float64 and not w.any()


def test_variance_scaling_modes():
    w = init.variance_scaling(100, 900, scale=1.0, mode="fan_out", distribution="normal", rng=0)
    assert abs(w.var() * 900 - 1) < 0.02


def test_linear_parameters_bias_conventions():
    rng = np.random.default_rng(0)
    w, b = init.linear_parameters("torch_default", 16, 2000, True, rng, np.dtype(np.float64))
    assert np.abs(b).max() <= 0.25 and np.abs(b).max() > 0.24
    _, b0 = init.linear_parameters("he_normal", 16, 8, True, rng, np.dtype(np.float32))
    assert b0.dtype == np.float32 and not b0.any()
    _, none = init.linear_parameters("he_normal", 16, 8, False, rng, np.dtype(np.float32))
    assert none is None


def test_custom_callable_init():
    def ones(fan_in, fan_out, rng, dtype):
        return np.ones((fan_in, fan_out), dtype=dtype)

    w, b = init.linear_parameters(ones, 3, 2, True, np.random.default_rng(0), np.dtype(np.float32))
    assert (w == 1).all() and not b.any()

    def wrong_shape(fan_in, fan_out, rng, dtype):
        return np.ones((fan_out, fan_in), dtype=dtype)

    with pytest.raises(ValueError, match=r"expected \(fan_in, fan_out\)"):
        init.linear_parameters(wrong_shape, 3, 2, True, np.random.default_rng(0),
                               np.dtype(np.float32))


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError) as err:
        init.resolve("he_norml")
    message = str(err.value)
    assert "he_norml" in message and "he_normal" in message and "xavier_uniform" in message


@pytest.mark.parametrize(
    "kwargs, exc, fragment",
    [
        ({"fan_in": 0, "fan_out": 3}, ValueError, "fan_in"),
        ({"fan_in": 2.5, "fan_out": 3}, TypeError, "fan_in"),
        ({"fan_in": 2, "fan_out": 3, "dtype": np.int32}, TypeError, "dtype"),
        ({"fan_in": 2, "fan_out": 3, "rng": "seed"}, TypeError, "rng"),
    ],
)
def test_bad_arguments(kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        init.he_normal(**kwargs)


def test_variance_scaling_bad_mode_and_distribution():
    with pytest.raises(ValueError, match="mode"):
        init.variance_scaling(2, 2, mode="fan_sum")
    with pytest.raises(ValueError, match="distribution"):
        init.variance_scaling(2, 2, distribution="cauchy")


@pytest.mark.parametrize(
    "nonlinearity, param",
    [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None),
     ("leaky_relu", None), ("leaky_relu", 0.2), ("conv2d", None)],
)
def test_gain_matches_torch(torch, nonlinearity, param):
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert init.gain(nonlinearity, param) == pytest.approx(expected, rel=1e-12)


def test_gain_unknown():
    with pytest.raises(ValueError, match="nonlinearity"):
        init.gain("swish")


def test_he_uniform_matches_torch_kaiming_bound(torch):
    # torch's kaiming_uniform_ (a=0, relu, fan_in) bound is sqrt(6/fan_in); ours is the same bound.
    t = torch.empty(FAN_OUT, FAN_IN)
    torch.nn.init.kaiming_uniform_(t, nonlinearity="relu")
    ours = init.he_uniform(FAN_IN, FAN_OUT, rng=0)
    assert abs(np.abs(ours).max() / float(t.abs().max()) - 1) < 0.01
