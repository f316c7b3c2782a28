"""Layers, activations, normalisation, regularisation and losses, each with a closed-form
backward."""

from trainlab.nn.activations import (
    ACTIVATIONS,
    ELU,
    GELU,
    SELU,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from trainlab.nn.dropout import DropConnect, Dropout
from trainlab.nn.linear import Linear
from trainlab.nn.losses import (
    LOSSES,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    Loss,
    MSELoss,
)
from trainlab.nn.module import Module, Parameter, Sequential
from trainlab.nn.normalization import BatchNorm, LayerNorm
from trainlab.nn.residual import Residual

__all__ = [
    "ACTIVATIONS", "LOSSES",
    "Linear", "Dropout", "DropConnect",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "SELU", "GELU", "Softmax", "Identity",
    "Module", "Parameter", "Sequential", "Residual",
    "BatchNorm", "LayerNorm",
    "Loss", "MSELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "L1Loss", "HuberLoss",
]
