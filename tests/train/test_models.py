"""MLPConfig validation and serialisation; build_mlp's layers and seeding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trainlab import nn
from trainlab.models import MLPConfig, build_mlp
from trainlab.train import module_generators


def test_config_round_trips_through_json():
    config = MLPConfig(
        8,
        [16, 4],
        3,
        activation="tanh",
        init="xavier_uniform",
        norm="layer",
        dropout=0.25,
        dropconnect=0.1,
        dtype=np.float64,
    )
    data = json.loads(json.dumps(config.to_dict()))
    assert data["hidden_sizes"] == [16, 4] and data["dtype"] == "float64"
    assert MLPConfig.from_dict(data) == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"activation": "relu6"},
            r"activation must be one of \['relu', .*'identity'\]. Received: 'relu6'",
        ),
        ({"norm": "group"}, r"norm must be one of \['none', 'batch', 'layer'\]. Received: 'group'"),
        ({"init": "he"}, r"init must be one of .*'he_normal'.*Received: 'he'"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\). Received: 1.0"),
        ({"dropconnect": -0.1}, r"dropconnect must be in \[0, 1\)"),
        ({"hidden_sizes": [8, 0]}, r"hidden_sizes\[1\] must be an integer >= 1. Received: 0"),
        ({"hidden_sizes": "64"}, r"hidden_sizes must be a list of integers"),
        ({"out_features": 2.5}, r"out_features must be an integer >= 1. Received: 2.5"),
        ({"dtype": "float16"}, r"dtype must be 'float32' or 'float64'. Received: 'float16'"),
    ],
)
def test_config_errors_name_the_setting_and_the_accepted_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLPConfig(4, **kwargs)


def test_from_dict_rejects_unknown_and_missing_settings():
    with pytest.raises(ValueError, match=r"unknown settings \['width'\]"):
        MLPConfig.from_dict({"in_features": 4, "width": 3})
    with pytest.raises(ValueError, match="'in_features' is required"):
        MLPConfig.from_dict({"hidden_sizes": [3]})


def test_layers_follow_linear_norm_activation_dropout():
    model = build_mlp(MLPConfig(6, (5, 4), 3, activation="tanh", norm="batch", dropout=0.5), rng=0)
    kinds = [type(layer) for layer in model]
    assert kinds == [
        nn.Linear,
        nn.BatchNorm,
        nn.Tanh,
        nn.Dropout,
        nn.Linear,
        nn.BatchNorm,
        nn.Tanh,
        nn.Dropout,
        nn.Linear,
    ]
    assert [model[0].in_features, model[0].out_features, model[8].out_features] == [6, 5, 3]
    layer_norm = build_mlp(MLPConfig(6, (5,), 2, norm="layer"), rng=0)
    assert [type(layer) for layer in layer_norm] == [nn.Linear, nn.LayerNorm, nn.ReLU, nn.Linear]
    assert [type(layer) for layer in build_mlp(MLPConfig(6, (), 2), rng=0)] == [nn.Linear]


def test_dropconnect_replaces_only_the_hidden_linear_layers():
    model = build_mlp(MLPConfig(6, (5, 4), 2, dropconnect=0.3), rng=0)
    assert [type(layer) for layer in model] == [
        nn.DropConnect,
        nn.ReLU,
        nn.DropConnect,
        nn.ReLU,
        nn.Linear,
    ]
    assert model[0].p == 0.3


def test_output_is_linear_logits_in_the_configured_dtype():
    model = build_mlp(MLPConfig(6, (5,), 3, dtype="float64"), rng=0)
    out = model(np.ones((2, 6)))
    assert out.shape == (2, 3) and out.dtype == np.float64
    assert all(p.dtype == np.float64 for p in model.parameters())


def test_one_seed_fixes_every_layer():
    config = MLPConfig(6, (5, 4), 2, dropout=0.5, dropconnect=0.2, init="he_normal")
    a, b, c = build_mlp(config, rng=3), build_mlp(config, rng=3), build_mlp(config, rng=4)
    for (name, pa), (_, pb), (_, pc) in zip(
        a.named_parameters(), b.named_parameters(), c.named_parameters(), strict=True
    ):
        np.testing.assert_array_equal(pa.data, pb.data, err_msg=name)
        if name.endswith("weight"):
            assert not np.array_equal(pa.data, pc.data), name
    x = np.ones((8, 6), dtype=np.float32)
    np.testing.assert_array_equal(a(x), b(x))  # same dropout and DropConnect masks too
    # Every random layer has a generator of its own.
    generators = module_generators(a)
    assert sorted(generators) == ["0.rng", "2.rng", "3.rng", "5.rng"]
    assert len({id(g) for g in generators.values()}) == 4
    first_draws = {g.random() for g in generators.values()}
    assert len(first_draws) == 4


def test_a_generator_argument_is_advanced_deterministically():
    rng1, rng2 = np.random.default_rng(9), np.random.default_rng(9)
    config = MLPConfig(3, (2,), 1)
    build_mlp(config, rng=rng1)
    build_mlp(config, rng=rng2)
    assert rng1.random() == rng2.random()


def test_build_mlp_rejects_a_dict():
    with pytest.raises(TypeError, match="config must be an MLPConfig. Received: dict"):
        build_mlp({"in_features": 3}, rng=0)
