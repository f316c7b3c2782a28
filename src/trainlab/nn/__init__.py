"""Layers, activations, normalisation, regularisation and losses, each with a closed-form backward."""

from trainlab.nn.module import Module, Parameter, Sequential

__all__ = ["Module", "Parameter", "Sequential"]
