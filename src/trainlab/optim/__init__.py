"""Optimizers (SGD, Adagrad, RMSprop, Adam, AdamW), learning-rate schedules, gradient clipping."""

from trainlab.optim.adagrad import Adagrad
from trainlab.optim.adam import Adam, AdamW
from trainlab.optim.base import OPTIMIZERS, Optimizer
from trainlab.optim.clip import clip_grad_norm, clip_grad_value
from trainlab.optim.rmsprop import RMSprop
from trainlab.optim.schedules import (
    SCHEDULES,
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    ReduceLROnPlateau,
    StepLR,
)
from trainlab.optim.sgd import SGD

__all__: list[str] = [
    "OPTIMIZERS", "SCHEDULES",
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "LRScheduler",
    "ExponentialLR",
    "StepLR",
    "CosineAnnealingLR",
    "ReduceLROnPlateau",
    "clip_grad_norm",
    "clip_grad_value",
]
