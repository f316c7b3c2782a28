"""Class weights for imbalanced data: ``"balanced"`` or a mapping, as scikit-learn's
``class_weight``, turned into the ``weight`` of :class:`~trainlab.nn.CrossEntropyLoss`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from trainlab._checks import check_number


def parse_class_weight(text: str, owner: str = "class_weight") -> str | dict[int, float]:
    """``"balanced"``, or ``"CLASS=WEIGHT,CLASS=WEIGHT"`` (``"0=1,1=4.5"``) as a mapping."""
    text = text.strip()
    if text.lower() == "balanced":
        return "balanced"
    out: dict[int, float] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            cls, weight = int(key.strip()), float(value.strip())
        except ValueError:
            raise ValueError(f"{owner}: expected 'balanced' or CLASS=WEIGHT pairs such as "
                             f"'0=1,1=4.5'. Received: {text!r}.") from None
        out[cls] = check_number(weight, f"{owner}: the weight of class {cls}", low=0.0)
    return out


def class_weights(class_weight: Any, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """One weight per class, (n_classes,) float64.

    ``"balanced"``: ``w_c = n / (C·n_c)`` from the labels (scikit-learn's formula; a class
    without examples gets 0); a mapping ``{class: weight}``: those, 1 for the others; a
    string is parsed by :func:`parse_class_weight`.
    """
    if isinstance(class_weight, str):
        class_weight = parse_class_weight(class_weight)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if class_weight == "balanced":
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        with np.errstate(divide="ignore"):
            return np.where(counts > 0, labels.size / (n_classes * counts), 0.0)
    if not isinstance(class_weight, Mapping):
        raise TypeError("class_weight: expected 'balanced' or a mapping {class: weight}. "
                        f"Received: {class_weight!r}.")
    out = np.ones(n_classes)
    for cls, weight in class_weight.items():
        index = int(cls)
        if not 0 <= index < n_classes:
            raise ValueError(f"class_weight: class {cls!r} is not one of the {n_classes} "
                             f"classes 0..{n_classes - 1}.")
        out[index] = check_number(weight, f"class_weight: the weight of class {cls}", low=0.0)
    return out
