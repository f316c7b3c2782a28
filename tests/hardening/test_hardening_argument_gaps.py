"""Arguments that once slipped through unchecked: each now gets a clear error naming it."""

from __future__ import annotations

import numpy as np
import pytest
from hardening_support import assert_clear_error

from trainlab import data, nn, optim
from trainlab.models import MLPConfig, build_mlp
from trainlab.train import Trainer


@pytest.mark.parametrize("n, batch_size, name", [(4, -1, "batch_size"), (4, 0, "batch_size"),
                                                 (4, "2", "batch_size"), (4, 2.5, "batch_size"),
                                                 (-3, 2, "n"), (np.nan, 2, "n")])
def test_num_batches_validates_its_arguments(n, batch_size, name):
    assert_clear_error(lambda: data.num_batches(n, batch_size), name)


def test_trainer_verbose_array_is_named():
    model = build_mlp(MLPConfig(in_features=2), rng=0)

    def make():
        return Trainer(model, nn.MSELoss(), optim.SGD(model.parameters()),
                       verbose=np.array([1, 2]))

    assert_clear_error(make, "verbose")


@pytest.mark.parametrize("layer", [nn.Linear, nn.DropConnect])
@pytest.mark.parametrize("bias", ["no", 0.5, None])
def test_linear_bias_must_be_a_bool(layer, bias):
    assert_clear_error(lambda: layer(2, 3, bias=bias), "bias")


def test_load_state_dict_refuses_non_finite_weights():
    layer = nn.Linear(2, 3, rng=0)
    state = layer.state_dict()
    state["weight"] = np.full((2, 3), np.nan)
    assert_clear_error(lambda: layer.load_state_dict(state), "weight", "NaN")


def test_load_state_dict_missing_key_is_a_value_error():
    layer = nn.Linear(2, 3, rng=0)
    assert_clear_error(lambda: layer.load_state_dict({"weight": np.ones((2, 3))}), "bias")


@pytest.mark.parametrize("value", [np.full((2, 3), "x"), np.ones((2, 3), complex)])
def test_load_state_dict_refuses_non_real_arrays(value):
    layer = nn.Linear(2, 3, rng=0)
    state = layer.state_dict()
    state["weight"] = value
    assert_clear_error(lambda: layer.load_state_dict(state), "weight")
