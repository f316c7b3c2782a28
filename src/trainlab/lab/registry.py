"""The lab's experiments, in the order of the notes. Each lives in its own module of
``trainlab.lab`` and defines ``EXPERIMENT``, an :class:`~trainlab.lab.experiment.Experiment`."""

from __future__ import annotations

import importlib

from trainlab.lab.experiment import Experiment

# Module names in trainlab.lab; the command-line name is the same with '-' for '_'.
MODULES = (
    "tasks",
    "sigmoid_gradient",
    "gradient_scale",
    "naive_init",
    "init_activation",
    "selu",
    "exploding",
    "optimizers",
    "lr_decay",
    "batchnorm",
    "layernorm",
    "regularization",
    "input_normalization",
    "checklist",
    "edge_of_stability",
    "saddle_points",
    "linear_interpolation",
    "lr_range_test",
    "critical_batch_size",
)


def experiments() -> list[Experiment]:
    """Every experiment, in order."""
    return [importlib.import_module(f"trainlab.lab.{m}").EXPERIMENT for m in MODULES]


def names() -> list[str]:
    """The command-line names of the experiments, in order."""
    return [m.replace("_", "-") for m in MODULES]


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name`` (``-`` or ``_`` both accepted)."""
    if not isinstance(name, str):
        raise TypeError(f"lab: the experiment name must be a string. Received: {name!r}.")
    module = name.strip().replace("-", "_")
    if module not in MODULES:
        raise ValueError(
            f"lab: there is no experiment {name!r}. Available: {', '.join(names())}, or 'all'."
        )
    return importlib.import_module(f"trainlab.lab.{module}").EXPERIMENT


def list_experiments() -> list[tuple[str, str]]:
    """``(name, one-line claim)`` of every experiment, in order."""
    return [(e.name, e.claim) for e in experiments()]
