"""Optimizers (SGD, Adagrad, RMSprop, Adam, AdamW), weight decay, learning-rate schedules,
gradient clipping."""

from trainlab.optim.adagrad import Adagrad, AdagradState
from trainlab.optim.adam import Adam, AdamState, AdamW
from trainlab.optim.averaging import AveragedModel, update_bn
from trainlab.optim.base import OPTIMIZERS, Optimizer, State
from trainlab.optim.clip import clip_grad_norm, clip_grad_value
from trainlab.optim.cyclic import CosineAnnealingWarmRestarts, OneCycleLR
from trainlab.optim.rmsprop import RMSprop, RMSpropState
from trainlab.optim.schedules import (
    SCHEDULES,
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    ReduceLROnPlateau,
    StepLR,
)
from trainlab.optim.sgd import SGD, SGDState
from trainlab.optim.warmup import LambdaLR, LinearLR, MultiStepLR, SequentialLR
from trainlab.optim.weight_decay import apply_weight_decay, decay_groups

__all__: list[str] = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adagrad",
    "AdagradState",
    "Adam",
    "AveragedModel",
    "AdamState",
    "AdamW",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "SequentialLR",
    "ExponentialLR",
    "LRScheduler",
    "Optimizer",
    "RMSprop",
    "RMSpropState",
    "ReduceLROnPlateau",
    "SGDState",
    "State",
    "StepLR",
    "apply_weight_decay",
    "clip_grad_norm",
    "clip_grad_value",
    "decay_groups",
    "update_bn",
]
