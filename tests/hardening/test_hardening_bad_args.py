"""Bad arguments to every public constructor and function raise ValueError or TypeError
whose message names the argument, never a deep NumPy error, a silent NaN or a hang.

The bad values are drawn by hypothesis from the kind of each argument: wrong types,
negative or zero, NaN, ±inf, out of range, booleans where numbers are needed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hardening_support import FUZZ, FUZZ_SMALL, assert_clear_error, blobs, small_trainer
from hypothesis import given
from hypothesis import strategies as st

from trainlab import data, init, nn, optim
from trainlab.models import MLPConfig, build_mlp
from trainlab.train import (
    EarlyStopping,
    LambdaCallback,
    LRScheduler,
    ModelCheckpoint,
    Trainer,
)

# -- strategies of bad values -----------------------------------------------------------

not_numbers = st.one_of(
    st.text(max_size=3), st.none(), st.booleans(), st.lists(st.integers(), max_size=2),
    st.just(np.array([1.0, 2.0])), st.just(1 + 2j), st.just(object()),
)
non_finite = st.sampled_from([math.nan, math.inf, -math.inf, np.float32("nan"), np.float64("inf")])
negative = st.one_of(st.floats(-1e6, -1e-6), st.integers(-10**6, -1))


def bad_positive_int():
    """For sizes and counts: zero, negatives, reals, non-finite, non-numbers."""
    return st.one_of(st.integers(-10**6, 0), st.floats(0.5, 100.0), non_finite, not_numbers)


def bad_nonnegative_int():
    return st.one_of(st.integers(-10**6, -1), st.floats(0.5, 100.0), non_finite, not_numbers)


def bad_nonnegative_real():
    return st.one_of(negative, non_finite, not_numbers)


def bad_positive_real():
    return st.one_of(negative, st.just(0.0), st.just(0), non_finite, not_numbers)


def bad_unit_interval(closed_high: bool):
    above = st.floats(1.0 + 1e-9, 1e6) if closed_high else st.floats(1.0, 1e6)
    return st.one_of(negative, above, non_finite, not_numbers)


def bad_name():
    return st.one_of(st.text(min_size=1, max_size=6).filter(lambda s: s.isalpha() and s.islower()),
                     st.integers(), st.none(), st.lists(st.text(max_size=2), max_size=2))


def params():
    return [nn.Parameter(np.ones((2, 3), np.float32))]


# -- (label, call with the bad value, name that must appear, bad values) ----------------

CASES = {
    "Linear.in_features": (lambda v: nn.Linear(v, 3), "in_features", bad_positive_int),
    "Linear.out_features": (lambda v: nn.Linear(3, v), "out_features", bad_positive_int),
    "Linear.dtype": (lambda v: nn.Linear(3, 3, dtype=v), "dtype",
                     lambda: st.sampled_from([np.int32, np.float16, "int64", complex, None, "x"])),
    "Linear.init": (lambda v: nn.Linear(3, 3, init=v), "init", bad_name),
    "Linear.rng": (lambda v: nn.Linear(3, 3, rng=v), "rng",
                   lambda: st.one_of(st.integers(-100, -1), st.text(min_size=1, max_size=3),
                                     st.floats(), st.just(np.random.RandomState(0)))),
    "Dropout.p": (lambda v: nn.Dropout(v), "p", lambda: bad_unit_interval(False)),
    "DropConnect.p": (lambda v: nn.DropConnect(2, 3, p=v), "p", lambda: bad_unit_interval(False)),
    "BatchNorm.num_features": (lambda v: nn.BatchNorm(v), "num_features", bad_positive_int),
    "BatchNorm.eps": (lambda v: nn.BatchNorm(3, eps=v), "eps", bad_nonnegative_real),
    "BatchNorm.momentum": (lambda v: nn.BatchNorm(3, momentum=v), "momentum",
                           lambda: st.one_of(negative, st.floats(1.0 + 1e-6, 1e3), non_finite)),
    "LayerNorm.num_features": (lambda v: nn.LayerNorm(v), "num_features", bad_positive_int),
    "LayerNorm.eps": (lambda v: nn.LayerNorm(3, eps=v), "eps", bad_nonnegative_real),
    "LeakyReLU.negative_slope": (lambda v: nn.LeakyReLU(v), "negative_slope",
                                 lambda: st.one_of(non_finite, not_numbers)),
    "ELU.alpha": (lambda v: nn.ELU(v), "alpha", lambda: st.one_of(non_finite, not_numbers)),
    # optimizers
    "SGD.lr": (lambda v: optim.SGD(params(), lr=v), "lr", bad_nonnegative_real),
    "SGD.momentum": (lambda v: optim.SGD(params(), momentum=v), "momentum", bad_nonnegative_real),
    "SGD.dampening": (lambda v: optim.SGD(params(), dampening=v), "dampening",
                      lambda: st.one_of(non_finite, not_numbers)),
    "SGD.weight_decay": (lambda v: optim.SGD(params(), weight_decay=v), "weight_decay",
                         bad_nonnegative_real),
    "SGD.nesterov": (lambda v: optim.SGD(params(), momentum=0.9, nesterov=v), "nesterov",
                     lambda: st.one_of(st.text(max_size=3), st.integers(), st.none())),
    "Adagrad.lr": (lambda v: optim.Adagrad(params(), lr=v), "lr", bad_nonnegative_real),
    "Adagrad.lr_decay": (lambda v: optim.Adagrad(params(), lr_decay=v), "lr_decay",
                         bad_nonnegative_real),
    "Adagrad.eps": (lambda v: optim.Adagrad(params(), eps=v), "eps", bad_nonnegative_real),
    "Adagrad.initial_accumulator_value": (
        lambda v: optim.Adagrad(params(), initial_accumulator_value=v),
        "initial_accumulator_value", bad_nonnegative_real),
    "RMSprop.alpha": (lambda v: optim.RMSprop(params(), alpha=v), "alpha",
                      lambda: bad_unit_interval(True)),
    "RMSprop.eps": (lambda v: optim.RMSprop(params(), eps=v), "eps", bad_nonnegative_real),
    "RMSprop.momentum": (lambda v: optim.RMSprop(params(), momentum=v), "momentum",
                         bad_nonnegative_real),
    "RMSprop.centered": (lambda v: optim.RMSprop(params(), centered=v), "centered",
                         lambda: st.one_of(st.text(max_size=3), st.integers(), st.none())),
    "Adam.lr": (lambda v: optim.Adam(params(), lr=v), "lr", bad_nonnegative_real),
    "Adam.betas[0]": (lambda v: optim.Adam(params(), betas=(v, 0.999)), "betas",
                      lambda: bad_unit_interval(False)),
    "Adam.betas[1]": (lambda v: optim.Adam(params(), betas=(0.9, v)), "betas",
                      lambda: bad_unit_interval(False)),
    "Adam.betas": (lambda v: optim.Adam(params(), betas=v), "betas",
                   lambda: st.one_of(st.floats(0, 1), st.none(),
                                     st.lists(st.floats(0, 0.9), min_size=3, max_size=4))),
    "Adam.eps": (lambda v: optim.Adam(params(), eps=v), "eps", bad_nonnegative_real),
    "Adam.amsgrad": (lambda v: optim.Adam(params(), amsgrad=v), "amsgrad",
                     lambda: st.one_of(st.text(max_size=3), st.integers(), st.none())),
    "AdamW.weight_decay": (lambda v: optim.AdamW(params(), weight_decay=v), "weight_decay",
                           bad_nonnegative_real),
    "Optimizer.params": (lambda v: optim.Adam(v), "params",
                         lambda: st.one_of(st.just([]), st.just([1.0]), st.just(np.ones(3)),
                                           st.none(), st.just(nn.Linear(2, 2)),
                                           st.just([np.ones(3)]))),
    "Optimizer.lr (set)": (lambda v: setattr(optim.SGD(params()), "lr", v), "lr",
                           bad_nonnegative_real),
    # schedules
    "ExponentialLR.gamma": (lambda v: optim.ExponentialLR(optim.SGD(params()), v), "gamma",
                            bad_positive_real),
    "StepLR.step_size": (lambda v: optim.StepLR(optim.SGD(params()), v), "step_size",
                         bad_positive_int),
    "StepLR.gamma": (lambda v: optim.StepLR(optim.SGD(params()), 2, gamma=v), "gamma",
                     bad_positive_real),
    "CosineAnnealingLR.T_max": (lambda v: optim.CosineAnnealingLR(optim.SGD(params()), v),
                                "T_max", bad_positive_int),
    "CosineAnnealingLR.eta_min": (
        lambda v: optim.CosineAnnealingLR(optim.SGD(params()), 5, eta_min=v), "eta_min",
        bad_nonnegative_real),
    "ReduceLROnPlateau.factor": (lambda v: optim.ReduceLROnPlateau(optim.SGD(params()), factor=v),
                                 "factor", lambda: st.one_of(bad_unit_interval(False),
                                                             st.just(1.0))),
    "ReduceLROnPlateau.patience": (
        lambda v: optim.ReduceLROnPlateau(optim.SGD(params()), patience=v), "patience",
        bad_nonnegative_int),
    "ReduceLROnPlateau.mode": (lambda v: optim.ReduceLROnPlateau(optim.SGD(params()), mode=v),
                               "mode", bad_name),
    "schedule.optimizer": (lambda v: optim.StepLR(v, 2), "optimizer",
                           lambda: st.one_of(st.none(), st.text(max_size=3), st.just(params()))),
    # clipping
    "clip_grad_norm.max_norm": (lambda v: optim.clip_grad_norm(params(), v), "max_norm",
                                bad_positive_real),
    "clip_grad_norm.norm_type": (lambda v: optim.clip_grad_norm(params(), 1.0, norm_type=v),
                                 "norm_type", lambda: st.one_of(negative, st.just(0.0),
                                                                st.just(math.nan), not_numbers)),
    "clip_grad_value.clip_value": (lambda v: optim.clip_grad_value(params(), v), "clip_value",
                                   bad_positive_real),
    "clip_grad_norm.params": (lambda v: optim.clip_grad_norm(v, 1.0), "params",
                              lambda: st.one_of(st.none(), st.just([1, 2]), st.just(np.ones(3)))),
    # init
    "init.fan_in": (lambda v: init.he_normal(v, 3), "fan_in", bad_positive_int),
    "init.fan_out": (lambda v: init.xavier_uniform(3, v), "fan_out", bad_positive_int),
    "init.zeros.fan_in": (lambda v: init.zeros(v, 3), "fan_in", bad_positive_int),
    "init.zeros.rng": (lambda v: init.zeros(2, 3, rng=v), "rng",
                       lambda: st.one_of(st.integers(-100, -1), st.text(min_size=1, max_size=3))),
    "init.dtype": (lambda v: init.lecun_normal(2, 3, dtype=v), "dtype",
                   lambda: st.sampled_from([np.int8, np.float16, "abc", None, complex, [1]])),
    "init.variance_scaling.scale": (lambda v: init.variance_scaling(2, 3, scale=v), "scale",
                                    bad_nonnegative_real),
    "init.variance_scaling.mode": (lambda v: init.variance_scaling(2, 3, mode=v), "mode", bad_name),
    "init.variance_scaling.distribution": (
        lambda v: init.variance_scaling(2, 3, distribution=v), "distribution", bad_name),
    "init.gain.nonlinearity": (lambda v: init.gain(v), "nonlinearity", bad_name),
    "init.gain.param": (lambda v: init.gain("leaky_relu", v), "param",
                        lambda: st.one_of(non_finite, st.text(min_size=1, max_size=2))),
    "init.resolve": (lambda v: init.resolve(v), "init", bad_name),
    # data
    "Standardizer.eps": (lambda v: data.Standardizer(eps=v), "eps", bad_nonnegative_real),
    "MinMaxScaler.feature_range": (lambda v: data.MinMaxScaler(feature_range=v), "feature_range",
                                   lambda: st.one_of(st.just((1.0, 0.0)), st.just((0.0, 0.0)),
                                                     st.just((0.0, math.nan)), st.just(3.0),
                                                     st.just((0, 1, 2)), st.none())),
    "make_scaler.kind": (lambda v: data.make_scaler(v), "kind", bad_name),
    "train_val_test_split.val_fraction": (
        lambda v: data.train_val_test_split(np.ones((20, 2)), np.arange(20) % 2, val_fraction=v),
        "val_fraction", lambda: bad_unit_interval(False)),
    "train_val_test_split.test_fraction": (
        lambda v: data.train_val_test_split(np.ones((20, 2)), np.arange(20) % 2, test_fraction=v),
        "test_fraction", lambda: bad_unit_interval(False)),
    "train_val_test_split.seed": (
        lambda v: data.train_val_test_split(np.ones((20, 2)), np.arange(20) % 2, seed=v), "seed",
        lambda: st.one_of(st.integers(-100, -1), st.text(min_size=1, max_size=3), st.floats())),
    "train_val_test_split.stratify": (
        lambda v: data.train_val_test_split(np.ones((20, 2)), np.arange(20) % 2, stratify=v),
        "stratify", lambda: st.one_of(st.integers(), st.text(max_size=3), st.none())),
    "GaussianNoise.std": (lambda v: data.GaussianNoise(v), "std", bad_nonnegative_real),
    "RandomShiftRotate.image_shape": (lambda v: data.RandomShiftRotate(v), "image_shape",
                                      lambda: st.one_of(st.just((0, 3)), st.just((3,)),
                                                        st.just((2, 2, 2)), st.just("ab"),
                                                        st.just((2.5, 2)), st.none())),
    "RandomShiftRotate.max_shift": (lambda v: data.RandomShiftRotate((4, 4), max_shift=v),
                                    "max_shift", bad_nonnegative_int),
    "RandomShiftRotate.max_degrees": (lambda v: data.RandomShiftRotate((4, 4), max_degrees=v),
                                      "max_degrees",
                                      lambda: st.one_of(negative, st.floats(180.001, 1e6),
                                                        non_finite, not_numbers)),
    "RandomShiftRotate.mode": (lambda v: data.RandomShiftRotate((4, 4), mode=v), "mode", bad_name),
    "shift_rotate.X": (lambda v: data.shift_rotate(v, (2, 2), np.zeros((2, 2)), np.zeros(2)),
                       "shift_rotate", lambda: st.sampled_from([np.ones((2, 5)), np.ones((3, 4)),
                                                                np.ones(4), np.full((2, 4), np.nan),
                                                                np.ones((2, 4), int)])),
    "shift_rotate.shifts": (lambda v: data.shift_rotate(np.ones((2, 4)), (2, 2), v, np.zeros(2)),
                            "shifts", lambda: st.sampled_from([np.zeros((2, 3)), np.zeros(2),
                                                               np.full((2, 2), np.inf)])),
    "shift_rotate.mode": (lambda v: data.shift_rotate(np.ones((2, 4)), (2, 2), np.zeros((2, 2)),
                                                      np.zeros(2), mode=v), "mode", bad_name),
    "load_csv.delimiter": (lambda v: data.load_csv("unused.csv", delimiter=v), "delimiter",
                           lambda: st.sampled_from([3, "", ";;", None, "\n", b","])),
    "load_csv.target": (lambda v: data.load_csv("unused.csv", target=v), "target",
                        lambda: st.sampled_from([3, 2.5, [1, 2], object()])),
    "load_csv.dtype": (lambda v: data.load_csv("unused.csv", dtype=v), "dtype",
                       lambda: st.sampled_from([np.int8, np.float16, "x", None])),
    "Dataset.task": (lambda v: data.Dataset(X=np.ones((3, 2), np.float32), y=np.zeros(3, int),
                                            task=v), "task", bad_name),
    "Dataset.image_shape": (lambda v: data.Dataset(X=np.ones((3, 4), np.float32),
                                                   y=np.zeros(3, int), task="classification",
                                                   image_shape=v), "image_shape",
                            lambda: st.sampled_from([(3, 3), (4,), (1, 2, 2)])),
    "Dataset.feature_names": (lambda v: data.Dataset(X=np.ones((3, 2), np.float32),
                                                     y=np.zeros(3, int), task="classification",
                                                     feature_names=v), "feature_names",
                              lambda: st.sampled_from([["a"], ["a", "b", "c"]])),
    "Sequential.modules": (lambda v: nn.Sequential(nn.Linear(2, 3), v), "Sequential",
                           lambda: st.sampled_from([3, None, "relu", np.ones(2), nn.Linear])),
    "Module.astype": (lambda v: nn.Linear(2, 3).astype(v), "dtype",
                      lambda: st.sampled_from([np.int32, np.float16, "x", None, complex])),
    "Parameter.data": (lambda v: nn.Parameter(v), "Parameter",
                       lambda: st.sampled_from([np.ones(3, int), np.ones(2, bool),
                                                np.ones(2, complex), np.array(["a"])])),
    "ReduceLROnPlateau.step.metric": (
        lambda v: optim.ReduceLROnPlateau(optim.SGD(params())).step(v), "metric",
        lambda: st.one_of(st.text(max_size=3), st.none(), st.lists(st.floats(), max_size=2))),
    "Compose.transforms": (lambda v: data.Compose(v), "transforms",
                           lambda: st.sampled_from([[1], [None], ["x"], [np.ones(2)]])),
    "iterate_minibatches.n": (lambda v: list(data.iterate_minibatches(v, 2)), "n",
                              bad_nonnegative_int),
    "iterate_minibatches.batch_size": (lambda v: list(data.iterate_minibatches(4, v)),
                                       "batch_size", bad_positive_int),
    "iterate_minibatches.rng": (lambda v: list(data.iterate_minibatches(4, 2, rng=v)), "rng",
                                lambda: st.one_of(st.integers(-100, -1), st.text(min_size=1))),
    "DataLoader.batch_size": (lambda v: data.DataLoader(np.ones((4, 2)), batch_size=v),
                              "batch_size", bad_positive_int),
    "DataLoader.transform": (lambda v: data.DataLoader(np.ones((4, 2)), transform=v), "transform",
                             lambda: st.one_of(st.integers(), st.text(min_size=1, max_size=3))),
    "load_dataset.name": (lambda v: data.load_dataset(v), "load_dataset", bad_name),
    "load_dataset.dtype": (lambda v: data.load_dataset("iris", dtype=v), "dtype",
                           lambda: st.sampled_from([np.int32, np.float16, "x", None])),
    "load_mnist1d.n_samples": (lambda v: data.load_mnist1d(n_samples=v), "n_samples",
                               lambda: st.one_of(st.integers(-100, 9), st.integers(11, 19),
                                                 not_numbers)),
    "load_mnist.split": (lambda v: data.load_mnist("/nonexistent", split=v), "split", bad_name),
    # models
    "MLPConfig.in_features": (lambda v: MLPConfig(in_features=v), "in_features", bad_positive_int),
    "MLPConfig.out_features": (lambda v: MLPConfig(in_features=2, out_features=v), "out_features",
                               bad_positive_int),
    "MLPConfig.hidden_sizes": (lambda v: MLPConfig(in_features=2, hidden_sizes=v), "hidden_sizes",
                               lambda: st.one_of(st.just("64"), st.just(64), st.just((0,)),
                                                 st.just((8, -1)), st.just((8.5,)),
                                                 st.just((True,)), st.none())),
    "MLPConfig.activation": (lambda v: MLPConfig(in_features=2, activation=v), "activation",
                             bad_name),
    "MLPConfig.init": (lambda v: MLPConfig(in_features=2, init=v), "init", bad_name),
    "MLPConfig.norm": (lambda v: MLPConfig(in_features=2, norm=v), "norm", bad_name),
    "MLPConfig.dropout": (lambda v: MLPConfig(in_features=2, dropout=v), "dropout",
                          lambda: bad_unit_interval(False)),
    "MLPConfig.dropconnect": (lambda v: MLPConfig(in_features=2, dropconnect=v), "dropconnect",
                              lambda: bad_unit_interval(False)),
    "MLPConfig.dtype": (lambda v: MLPConfig(in_features=2, dtype=v), "dtype",
                        lambda: st.sampled_from(["float16", "int32", 3, None, "x", ["float32"]])),
    "MLPConfig.from_dict": (lambda v: MLPConfig.from_dict(v), "MLPConfig.from_dict",
                            lambda: st.sampled_from([None, [], "x", {},
                                                     {"in_features": 2, "x": 1}])),
    "build_mlp.config": (lambda v: build_mlp(v), "config",
                         lambda: st.sampled_from([None, {"in_features": 2}, "mlp", 3])),
    "build_mlp.rng": (lambda v: build_mlp(MLPConfig(in_features=2), rng=v), "rng",
                      lambda: st.one_of(st.integers(-100, -1), st.text(min_size=1, max_size=3))),
    # training
    "Trainer.clip_norm": (lambda v: small_trainer(clip_norm=v), "clip_norm", bad_positive_real),
    "Trainer.clip_value": (lambda v: small_trainer(clip_value=v), "clip_value", bad_positive_real),
    "Trainer.eval_batch_size": (lambda v: small_trainer(eval_batch_size=v), "eval_batch_size",
                                bad_positive_int),
    "Trainer.rng": (lambda v: small_trainer(rng=v), "rng",
                    lambda: st.one_of(st.integers(-100, -1), st.text(min_size=1, max_size=3))),
    "Trainer.verbose": (lambda v: small_trainer(verbose=v), "verbose",
                        lambda: st.one_of(st.integers(3, 100), st.integers(-100, -1),
                                          st.text(min_size=1, max_size=3),
                                          st.sampled_from([0.5, 1.5, 2.5]))),
    "Trainer.task": (lambda v: small_trainer(task=v), "task", bad_name),
    "Trainer.transform": (lambda v: small_trainer(transform=v), "transform",
                          lambda: st.one_of(st.integers(), st.text(min_size=1, max_size=3))),
    "Trainer.callbacks": (lambda v: small_trainer(callbacks=v), "callbacks",
                          lambda: st.sampled_from([[1], [None], ["cb"], [lambda t: None]])),
    "Trainer.fit.epochs": (lambda v: small_trainer().fit(*blobs(12), epochs=v), "epochs",
                           bad_nonnegative_int),
    "Trainer.fit.batch_size": (lambda v: small_trainer().fit(*blobs(12), epochs=1, batch_size=v),
                               "batch_size", bad_positive_int),
    "Trainer.fit.validation_data": (
        lambda v: small_trainer().fit(*blobs(12), epochs=1, validation_data=v), "validation_data",
        lambda: st.sampled_from([3, "x", (np.ones((2, 4)),), (1, 2, 3)])),
    "EarlyStopping.patience": (lambda v: EarlyStopping(patience=v), "patience",
                               bad_nonnegative_int),
    "EarlyStopping.min_delta": (lambda v: EarlyStopping(min_delta=v), "min_delta",
                                lambda: st.one_of(non_finite, not_numbers)),
    "EarlyStopping.mode": (lambda v: EarlyStopping(mode=v), "mode", bad_name),
    "EarlyStopping.monitor": (lambda v: EarlyStopping(monitor=v), "monitor",
                              lambda: st.one_of(st.just(""), st.integers(), st.none())),
    "ModelCheckpoint.every": (lambda v: ModelCheckpoint("ck.safetensors", every=v), "every",
                              bad_positive_int),
    "ModelCheckpoint.mode": (lambda v: ModelCheckpoint("ck.safetensors", mode=v), "mode",
                             bad_name),
    "LRScheduler.schedule": (lambda v: LRScheduler(v), "schedule",
                             lambda: st.sampled_from([None, 3, "cosine", optim.SGD])),
    "LambdaCallback.hook": (lambda v: LambdaCallback(**{v: print}), "hook",
                            lambda: st.sampled_from(["on_step", "before_train", "x"])),
}


# Arguments for which None is a valid value (a default, or "off").
OPTIONAL = {"Trainer.clip_norm", "Trainer.clip_value", "Trainer.task", "Trainer.rng",
            "Linear.rng", "init.zeros.rng", "build_mlp.rng", "train_val_test_split.seed",
            "iterate_minibatches.rng", "BatchNorm.momentum", "init.gain.param",
            "DataLoader.transform", "Trainer.transform"}


@pytest.mark.parametrize("label", sorted(CASES))
@FUZZ_SMALL
@given(data_=st.data())
def test_bad_argument_is_named(label, data_):
    call, name, strategy = CASES[label]
    value = data_.draw(strategy(), label="bad value")
    if value is None and label in OPTIONAL:
        return
    if isinstance(value, str) and name in ("mode", "init", "activation", "norm", "kind",
                                           "distribution", "nonlinearity", "task",
                                           "load_dataset"):
        valid = {"mode": {"min", "max", "auto", "fan_in", "fan_out", "fan_avg", "nearest",
                          "constant"},
                 "init": set(init.INITIALIZERS), "norm": {"none", "batch", "layer"},
                 "activation": {"relu", "elu", "selu", "gelu", "tanh", "sigmoid", "identity"},
                 "kind": {"standard", "minmax", "none"},
                 "distribution": {"normal", "uniform"},
                 "task": {"classification", "regression"},
                 "nonlinearity": {"linear", "identity", "sigmoid", "tanh", "relu", "selu"},
                 "load_dataset": set(data.dataset_names())}
        if value in valid[name]:
            return
    assert_clear_error(lambda: call(value), name)


# -- bad arrays: layers, losses, scalers, transforms, splits, training data ------------

LAYERS = {
    "Linear": lambda: nn.Linear(3, 2, rng=0),
    "DropConnect": lambda: nn.DropConnect(3, 2, rng=0),
    "BatchNorm": lambda: nn.BatchNorm(3),
    "LayerNorm": lambda: nn.LayerNorm(3),
    "Dropout": lambda: nn.Dropout(0.5, rng=0),
    "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "ReLU": nn.ReLU, "LeakyReLU": nn.LeakyReLU,
    "ELU": nn.ELU, "SELU": nn.SELU, "GELU": nn.GELU, "Softmax": nn.Softmax,
    "Identity": nn.Identity,
}
FIXED_WIDTH = {"Linear", "DropConnect", "BatchNorm", "LayerNorm"}


def bad_inputs(fixed_width: bool, kinds: tuple[str, ...] | None = None):
    """Arrays that data checks must refuse: integer/bool/complex/text dtypes, ranks other
    than 2, NaN or inf anywhere, ragged lists and (for layers with a width) the wrong
    width. Layers refuse all but NaN and inf, which they let through (as PyTorch does).
    kinds: draw only these kinds."""
    shapes = st.tuples(st.integers(1, 5), st.just(3))
    floats = st.sampled_from([np.float32, np.float64])

    @st.composite
    def draw(d):
        kind = d(st.sampled_from(kinds or (
            ["int", "bool", "complex", "text", "rank1", "rank3", "nan", "inf", "ragged"]
            + (["width"] if fixed_width else []))))
        n, w = d(shapes)
        if kind == "int":
            return kind, np.ones((n, w), dtype=d(st.sampled_from([np.int32, np.int64, np.uint8])))
        if kind == "bool":
            return kind, np.ones((n, w), dtype=bool)
        if kind == "complex":
            return kind, np.ones((n, w), dtype=complex)
        if kind == "text":
            return kind, np.full((n, w), "a")
        if kind == "rank1":
            return kind, np.ones(w, dtype=d(floats))
        if kind == "rank3":
            return kind, np.ones((n, 1, w), dtype=d(floats))
        if kind in ("nan", "inf"):
            x = np.ones((n, w), dtype=d(floats))
            x[d(st.integers(0, n - 1)), d(st.integers(0, w - 1))] = (
                np.nan if kind == "nan" else d(st.sampled_from([np.inf, -np.inf])))
            return kind, x
        if kind == "ragged":
            return kind, [[1.0, 2.0, 3.0], [1.0]]
        return kind, np.ones((n, d(st.sampled_from([1, 2, 4, 7]))), dtype=d(floats))

    return draw()


@pytest.mark.parametrize("name", sorted(LAYERS))
@FUZZ_SMALL
@given(data_=st.data())
def test_layer_refuses_bad_input_naming_itself(name, data_):
    kinds = ["int", "bool", "complex", "text", "rank1", "rank3", "ragged"]
    _, x = data_.draw(bad_inputs(name in FIXED_WIDTH, tuple(
        kinds + (["width"] if name in FIXED_WIDTH else []))), label="input")
    layer = LAYERS[name]()
    assert_clear_error(lambda: layer.forward(x), name)


@pytest.mark.parametrize("name", sorted(LAYERS))
@FUZZ_SMALL
@given(data_=st.data())
def test_layer_lets_nan_and_inf_through(name, data_):
    """As in PyTorch, no layer reads its input's values: NaN or ±inf anywhere is no error,
    a NaN reaches the output, and backward runs."""
    kind, x = data_.draw(bad_inputs(name in FIXED_WIDTH, ("nan", "inf")), label="input")
    if name == "BatchNorm" and x.shape[0] == 1:  # one example has no batch variance
        x = np.concatenate([x, np.ones_like(x)])
    layer = LAYERS[name]()
    with np.errstate(all="ignore"):
        y = layer.forward(x)
        layer.backward(np.ones_like(y))
    assert y.shape[0] == x.shape[0]
    if kind == "nan":
        assert np.isnan(y).any()


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_backward_with_a_wrong_gradient_shape_names_the_layer(name):
    layer = LAYERS[name]()
    y = layer.forward(np.ones((4, 3), np.float32))
    assert_clear_error(lambda: layer.backward(np.ones((y.shape[0], y.shape[1] + 2))), name)
    assert_clear_error(lambda: layer.backward(np.ones(y.shape, dtype=np.int64)), name)


@FUZZ
@given(n=st.integers(1, 6), classes=st.integers(2, 6), data_=st.data())
def test_cross_entropy_refuses_bad_labels(n, classes, data_):
    pred = np.zeros((n, classes), np.float32)
    labels = np.zeros(n, dtype=np.int64)
    kind = data_.draw(st.sampled_from(["high", "negative", "fraction", "nan", "text", "shape"]))
    i = data_.draw(st.integers(0, n - 1))
    if kind == "high":
        labels[i] = data_.draw(st.integers(classes, classes + 1000))
    elif kind == "negative":
        labels[i] = data_.draw(st.integers(-1000, -1))
    elif kind in ("fraction", "nan"):
        labels = labels.astype(np.float64)
        labels[i] = 0.5 if kind == "fraction" else np.nan
    elif kind == "text":
        labels = np.array(["a"] * n)
    else:
        labels = np.zeros(n + 1, dtype=np.int64)
    assert_clear_error(lambda: nn.CrossEntropyLoss()(pred, labels), "CrossEntropyLoss")


@FUZZ
@given(n=st.integers(1, 6), data_=st.data())
def test_bce_and_mse_refuse_bad_targets(n, data_):
    target = np.zeros(n)
    kind = data_.draw(st.sampled_from(["range", "nan", "inf", "text", "shape"]))
    if kind == "range":
        target[0] = data_.draw(st.one_of(st.floats(1.0001, 1e6), st.floats(-1e6, -0.0001)))
    elif kind in ("nan", "inf"):
        target[0] = np.nan if kind == "nan" else np.inf
    elif kind == "text":
        target = np.array(["0"] * n)
    else:
        target = np.zeros(n + 2)
    if kind in ("nan", "inf"):  # as in PyTorch, values are not checked: the loss is not finite
        with np.errstate(all="ignore"):
            assert not math.isfinite(nn.MSELoss()(np.zeros((n, 1)), target))
            if kind == "nan":
                assert math.isnan(nn.BCEWithLogitsLoss()(np.zeros(n, np.float32), target))
        if kind == "nan":
            return
    assert_clear_error(lambda: nn.BCEWithLogitsLoss()(np.zeros(n, np.float32), target),
                       "BCEWithLogitsLoss")
    if kind not in ("range", "inf"):
        assert_clear_error(lambda: nn.MSELoss()(np.zeros((n, 1)), target), "MSELoss")


@pytest.mark.parametrize("loss", [nn.MSELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss])
@pytest.mark.parametrize("pred", [np.zeros((3, 1), int), np.zeros((1, 1, 3)), np.zeros((0, 1)),
                                  "abc"])
def test_losses_refuse_bad_predictions(loss, pred):
    assert_clear_error(lambda: loss()(pred, np.zeros(3, dtype=np.int64)), loss.__name__)


@pytest.mark.parametrize("loss", [nn.MSELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss])
def test_losses_return_nan_for_nan_predictions(loss):
    fn = loss()
    assert math.isnan(fn(np.full((3, 1), np.nan), np.zeros(3, dtype=np.int64)))
    assert np.isnan(fn.backward()).all()


@pytest.mark.parametrize("kind", ["standard", "minmax", "none"])
@FUZZ_SMALL
@given(data_=st.data())
def test_scalers_refuse_bad_arrays(kind, data_):
    _, x = data_.draw(bad_inputs(False).filter(lambda kx: kx[0] != "rank1"), label="X")
    scaler = data.make_scaler(kind)
    assert_clear_error(lambda: scaler.fit(x), type(scaler).__name__)
    fitted = data.make_scaler(kind).fit(np.random.default_rng(0).standard_normal((5, 3)))
    assert_clear_error(lambda: fitted.transform(x), type(scaler).__name__)
    assert_clear_error(lambda: fitted.transform(np.ones((2, 4))), "features")
    assert_clear_error(lambda: data.make_scaler(kind).fit(np.ones((0, 3))), "no rows")


@pytest.mark.parametrize("kind", ["standard", "minmax", "none"])
@pytest.mark.parametrize("state", [None, 3, "x", {"bogus": np.ones(2)}])
def test_scalers_refuse_bad_state(kind, state):
    scaler = data.make_scaler(kind)
    if kind == "none" and state is not None and isinstance(state, dict):
        assert_clear_error(lambda: scaler.load_state_dict(state), "IdentityScaler")
    else:
        assert_clear_error(lambda: scaler.load_state_dict(state), type(scaler).__name__)


@pytest.mark.parametrize("state", [
    {"mean": np.array([np.nan]), "std": np.array([1.0])},
    {"mean": np.zeros(2), "std": np.ones(3)},
    {"mean": np.zeros(2), "std": np.array([1.0, 0.0])},
    {"mean": np.zeros((2, 2)), "std": np.ones((2, 2))},
])
def test_standardizer_refuses_bad_statistics(state):
    assert_clear_error(lambda: data.Standardizer().load_state_dict(state), "Standardizer")


@pytest.mark.parametrize("transform", [data.GaussianNoise(0.1), data.RandomShiftRotate((1, 3))])
@FUZZ_SMALL
@given(data_=st.data())
def test_transforms_refuse_bad_batches(transform, data_):
    _kind, x = data_.draw(bad_inputs(True).filter(
        lambda kx: kx[0] in ("int", "bool", "text", "nan", "inf", "complex")), label="X")
    assert_clear_error(lambda: transform(x, np.random.default_rng(0)), type(transform).__name__)


@FUZZ_SMALL
@given(n=st.integers(2, 30), extra=st.integers(1, 5))
def test_split_refuses_mismatched_rows(n, extra):
    assert_clear_error(
        lambda: data.train_val_test_split(np.ones((n, 2)), np.zeros(n + extra)),
        "same number of rows")


@pytest.mark.parametrize("X, y, expected", [
    (np.ones((6, 4), int), np.zeros(6, int), "fit"),
    (np.ones((6, 3), np.float32), np.zeros(6, int), "features"),
    (np.ones((6, 4, 1), np.float32), np.zeros(6, int), "rank 2"),
    (np.full((6, 4), np.nan, np.float32), np.zeros(6, int), "NaN"),
    (np.ones((6, 4), np.float32), np.zeros(5, int), "same number of rows"),
    (np.ones((0, 4), np.float32), np.zeros(0, int), "no rows"),
    (np.ones((6, 4), np.float32), np.full(6, np.nan), "NaN"),
    (np.ones((6, 4), np.float32), np.full(6, 0.5), "integer class labels"),
    (np.ones((6, 4), np.float32), np.array(["a"] * 6), "numeric"),
    (np.ones((6, 4), np.float32), np.full(6, 7), "class labels must be in"),
])
def test_fit_refuses_bad_training_data(X, y, expected):
    assert_clear_error(lambda: small_trainer().fit(X, y, epochs=1), expected)


def test_fit_refuses_bad_validation_data():
    X, y = blobs(12)
    assert_clear_error(
        lambda: small_trainer().fit(X, y, epochs=1, validation_data=(X[:, :2], y)),
        "validation_data")


@pytest.mark.parametrize("model, loss, optimizer, name", [
    ("model", nn.MSELoss(), None, "model"),
    (None, "mse", None, "loss"),
    (None, nn.MSELoss(), "adam", "optimizer"),
])
def test_trainer_refuses_wrong_objects(model, loss, optimizer, name):
    real = build_mlp(MLPConfig(in_features=2), rng=0)
    assert_clear_error(lambda: Trainer(real if model is None else model, loss,
                                       optim.SGD(real.parameters()) if optimizer is None
                                       else optimizer, verbose=0), name)


def test_trainer_refuses_both_clip_kinds():
    assert_clear_error(lambda: small_trainer(clip_norm=1.0, clip_value=1.0),
                       "clip_norm", "clip_value")


def test_linear_refuses_a_custom_init_with_non_finite_or_misshaped_weights():
    assert_clear_error(lambda: nn.Linear(2, 3, init=lambda a, b, r, d: np.full((a, b), np.nan)),
                       "init")
    assert_clear_error(lambda: nn.Linear(2, 3, init=lambda a, b, r, d: np.ones((b, a))), "init")
    assert_clear_error(lambda: nn.Linear(2, 3, init=lambda a, b, r, d: np.full((a, b), "x")),
                       "init")
