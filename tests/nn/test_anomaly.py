"""detect_anomaly: off, NaN passes silently; on, the first non-finite layer is named."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import trainlab as tl
from trainlab import nn
from trainlab.nn import anomaly


def model(seed: int = 0) -> nn.Sequential:
    """Linear, ReLU, a nested (Linear, Tanh), Linear: positions 0, 1, 2.0, 2.1, 3."""
    rng = np.random.default_rng(seed)
    inner = nn.Sequential(nn.Linear(6, 6, rng=rng, dtype=np.float64), nn.Tanh())
    return nn.Sequential(nn.Linear(4, 6, rng=rng, dtype=np.float64), nn.ReLU(), inner,
                         nn.Linear(6, 3, rng=rng, dtype=np.float64))


X = np.random.default_rng(1).standard_normal((5, 4))


def test_exported_at_the_top_level():
    assert tl.detect_anomaly is anomaly.detect_anomaly
    assert issubclass(tl.NonFiniteError, ValueError)
    assert not anomaly.enabled()
    with tl.detect_anomaly():
        assert anomaly.enabled()
    assert not anomaly.enabled()


def test_outside_the_block_non_finite_values_pass_silently():
    net = model()
    net[0].weight.data[0, 0] = np.nan
    with np.errstate(all="ignore"):
        y = net(X)
        dx = net.backward(np.ones_like(y))
    assert np.isnan(y).all() and np.isnan(dx).any()


def test_a_forward_anomaly_names_the_first_layer_that_produced_it():
    net = model()
    net[2][0].weight.data[1, 2] = np.inf  # inf in the nested Linear's output
    with tl.detect_anomaly(), pytest.raises(tl.NonFiniteError) as info:
        net(X)
    message = str(info.value)
    assert message.startswith("detect_anomaly: expected finite values in the output of layer 2.0 "
                              "(Linear) of Sequential in the forward pass. Received 0 NaN and ")
    assert "infinite values among 30" in message
    assert not anomaly.enabled()  # restored after the error


def test_the_layer_position_at_the_top_and_the_data_note():
    net = model()
    net[3].bias.data[0] = np.nan
    with tl.detect_anomaly(), pytest.raises(
            tl.NonFiniteError, match=r"layer 3 \(Linear\) of Sequential"):
        net(X)
    x = X.copy()
    x[0, 0] = np.nan
    with tl.detect_anomaly(), pytest.raises(
            tl.NonFiniteError,
            match=r"layer 0 \(Linear\) of Sequential .* the data, was not finite"):
        model()(x)


def test_a_backward_anomaly_names_the_layer_and_what_was_not_finite():
    net = model()
    with tl.detect_anomaly():
        y = net(X)
        dy = np.ones_like(y)
        net[1]._mask[0, 0] = True  # the ReLU passes the gradient of a unit ...
        net[0].weight.data[0, 0] = np.inf  # ... into a Linear whose dx = dy·Wᵀ is now infinite
        with np.errstate(all="ignore"), pytest.raises(
                tl.NonFiniteError,
                match=r"input gradient of layer 0 \(Linear\) of Sequential in the backward"):
            net.backward(dy)
        net.zero_grad()
        # the first layer skips dx (the input is data): its own parameter gradients are checked
        net[0].weight.data[0, 0] = 0.0
        net(X)
        net[3].weight.grad[0, 0] = np.nan
        with pytest.raises(tl.NonFiniteError,
                           match=r"gradient of its parameter 'weight' of layer 3 \(Linear\)"):
            net.backward(dy, input_grad=False)


def test_a_loss_names_itself():
    with tl.detect_anomaly():
        loss = nn.MSELoss()
        with pytest.raises(tl.NonFiniteError, match=r"finite loss from MSELoss. Received nan "
                                                    r"\(its target holds 1 NaN and 0 infinite"):
            loss(np.zeros((2, 1)), np.array([[np.nan], [0.0]]))
        with np.errstate(all="ignore"), pytest.raises(tl.NonFiniteError, match="its pred holds"):
            nn.CrossEntropyLoss()(np.array([[np.inf, 0.0]]), np.array([0]))


def test_finite_runs_are_unchanged_by_the_checks():
    """Inside the block the checks only read: the same outputs, gradients and parameters."""
    results = []
    for on in (False, True):
        net = model()
        with tl.detect_anomaly() if on else np.errstate():
            y = net(X)
            dx = net.backward(np.cos(y))
            dx_none = net.backward(np.cos(y), input_grad=False)
        results.append([y, dx] + [p.grad.copy() for p in net.parameters()])
        assert dx_none is None
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_switch_belongs_to_the_thread_that_set_it():
    seen = []

    def other() -> None:
        seen.append(anomaly.enabled())
        net = model()
        net[0].weight.data[0, 0] = np.nan
        with np.errstate(all="ignore"):
            seen.append(bool(np.isnan(net(X)).all()))  # no error in this thread

    with tl.detect_anomaly():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert anomaly.enabled()
    assert seen == [False, True]


def test_nested_blocks_restore_the_outer_state():
    with tl.detect_anomaly():
        with tl.detect_anomaly():
            pass
        assert anomaly.enabled()
    assert not anomaly.enabled()
