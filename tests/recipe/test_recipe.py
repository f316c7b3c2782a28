"""RunConfig: one typed recipe, defaults from the components' signatures, TOML round trips,
and settings that do not apply refused instead of dropped."""

from __future__ import annotations

import inspect

import pytest

from trainlab import optim
from trainlab.recipe import (
    SETTINGS,
    RunConfig,
    SettingError,
    applies,
    differences,
    fingerprint,
    from_flat,
    optimizer_kwargs,
    parse_toml,
    resolved,
    schedule_kwargs,
    to_toml,
)


def test_defaults_are_the_recipe_tables():
    config = RunConfig()
    assert config.data.data == "digits" and config.model.hidden == (256, 128)
    assert config.optimizer.optimizer == "adam" and config.optimizer.lr is None
    assert config.schedule.schedule == "cosine" and config.training.epochs == 30
    assert config.seed == 0
    assert set(config.to_flat()) == set(SETTINGS)


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adam", "adamw"])
def test_optimizer_defaults_come_from_the_class_signature(name):
    cls = optim.OPTIMIZERS[name]
    signature = inspect.signature(cls).parameters
    full = resolved(from_flat({"optimizer": name}))
    assert full.optimizer.lr == signature["lr"].default
    for setting in ("momentum", "weight_decay", "eps", "alpha", "nesterov", "amsgrad",
                    "centered"):
        if setting in signature:
            assert full.get(setting) == signature[setting].default, setting
        else:
            assert full.get(setting) is None, setting
    if "betas" in signature:
        assert (full.optimizer.beta1, full.optimizer.beta2) == signature["betas"].default


def test_adamw_weight_decay_is_its_own_default():
    assert resolved(from_flat({"optimizer": "adamw"})).optimizer.weight_decay == 1e-2
    assert resolved(from_flat({"optimizer": "adam"})).optimizer.weight_decay == 0.0


def test_given_hyperparameters_reach_the_constructor():
    config = from_flat({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True})
    assert optimizer_kwargs(config) == {"lr": 0.1, "momentum": 0.9, "nesterov": True}
    config = from_flat({"optimizer": "adam", "beta2": 0.99})
    assert optimizer_kwargs(config) == {"betas": (0.9, 0.99)}


def test_schedule_length_follows_the_epochs_unless_given():
    assert schedule_kwargs(from_flat({"epochs": 12})) == {"T_max": 12}
    assert schedule_kwargs(from_flat({"epochs": 12, "t_max": 5})) == {"T_max": 5}
    assert schedule_kwargs(from_flat({"schedule": "step"})) == {"step_size": 10}
    assert schedule_kwargs(from_flat({"schedule": "exponential"})) == {"gamma": 0.95}
    assert schedule_kwargs(from_flat({"schedule": "none"})) == {}


@pytest.mark.parametrize("values, fragments", [
    ({"momentum": 0.9}, ["'momentum'", "does not apply to optimizer 'adam'", "0.9"]),
    ({"nesterov": True}, ["'nesterov'", "optimizer 'adam'"]),
    ({"optimizer": "sgd", "amsgrad": True}, ["'amsgrad'", "optimizer 'sgd'"]),
    ({"optimizer": "adam", "centered": True}, ["'centered'"]),
    ({"schedule": "step", "t_max": 4}, ["'t_max'", "schedule 'step'"]),
    ({"schedule": "none", "gamma": 0.5}, ["'gamma'", "schedule 'none'"]),
    ({"augment": "none", "noise_std": 0.5}, ["'noise_std'", "--augment noise"]),
    ({"augment": "noise", "max_shift": 3}, ["'max_shift'", "--augment shift"]),
    ({"early_stopping": False, "patience": 3}, ["'patience'", "--early-stopping"]),
    ({"monitor": False, "monitor_every": 7}, ["'monitor_every'", "--no-monitor"]),
    ({"target": "price"}, ["'target'", "csv:"]),
    ({"optimizer_options": {"momentum": 0.5}, "optimizer": "sgd"}, ["--momentum"]),
    ({"optimizer_options": {"bogus": 1}}, ["takes no 'bogus'"]),
])
def test_a_setting_that_does_not_apply_is_an_error(values, fragments):
    with pytest.raises(SettingError) as info:
        from_flat(values)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_a_setting_at_its_neutral_value_is_harmless():
    # older config.toml files list every setting; the neutral ones change nothing
    config = from_flat({"momentum": 0.0, "nesterov": False, "beta1": 0.9, "alpha": 0.99})
    assert optimizer_kwargs(config) == {"betas": (0.9, 0.999)}


@pytest.mark.parametrize("values, fragment", [
    ({"lr": -1.0}, "'lr'"),
    ({"epochs": 0}, "'epochs'"),
    ({"hidden": [0]}, "'hidden'"),
    ({"optimizer": "adma"}, "did you mean 'adam'"),
    ({"optimzer": "adam"}, "did you mean 'optimizer'"),
    ({"clip_norm": 1.0, "clip_value": 1.0}, "one of the two"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "less than 1"),
    ({"optimizer": "sgd", "nesterov": True}, "Nesterov"),  # SGD's own check
])
def test_bad_values_name_the_setting(values, fragment):
    with pytest.raises(SettingError, match=fragment.replace("(", r"\(")):
        from_flat(values)


def test_toml_round_trip_holds_every_applicable_setting():
    config = resolved(from_flat({"optimizer": "sgd", "momentum": 0.9, "lr": 0.05,
                                 "schedule": "step", "hidden": [32, 16], "seed": 3}),
                      task="classification")
    text = to_toml(config, task="classification")
    back = from_flat(parse_toml(text))
    assert back == config
    assert "beta1" not in text and "t_max" not in text  # they do not apply
    assert fingerprint(back) == fingerprint(config)


def test_toml_accepts_section_tables_and_the_train_table():
    flat = parse_toml('[optimizer]\noptimizer = "sgd"\nlr = 0.1\n[model]\nhidden = [8]\n')
    assert from_flat(flat).optimizer.lr == 0.1 and from_flat(flat).model.hidden == (8,)
    assert parse_toml('[train]\nlr = 0.2\n') == {"lr": 0.2}
    with pytest.raises(SettingError, match="given twice"):
        parse_toml('lr = 0.1\n[optimizer]\nlr = 0.2\n')


def test_deep_toml_nesting_is_a_setting_error():
    with pytest.raises(SettingError, match="not valid TOML"):
        parse_toml("a = " + "[" * 5000 + "]" * 5000)


def test_differences_and_fingerprints():
    a = from_flat({"lr": 0.01})
    b = from_flat({"lr": 0.02, "epochs": 5})
    assert differences(a, b, ignore=("epochs",)) == ["lr: 0.01 -> 0.02"]
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint(from_flat({"epochs": 5})) == fingerprint(from_flat({"epochs": 9}))


def test_regression_resolves_target_scaling_and_output_init():
    full = resolved(from_flat({}), task="regression")
    assert full.data.target_scaler == "standard" and full.model.output_init == "zeros"
    assert full.training.early_stopping is True
    full = resolved(from_flat({}), task="classification")
    assert full.model.output_init == full.model.init  # the classification numbers unchanged
    assert not applies(full, "target_scaler", "classification")
