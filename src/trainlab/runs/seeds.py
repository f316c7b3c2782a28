"""The seeds of a run, derived once from its one seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RunSeeds:
    """Three independent seeds from the run's one seed (``SeedSequence(seed)``): the
    train/validation/test split, the model (initialisation, dropout masks) and the
    trainer (shuffling, augmentation)."""

    split: int
    model: int
    trainer: int

    @classmethod
    def from_seed(cls, seed: int) -> RunSeeds:
        split, model, trainer = np.random.SeedSequence(seed).generate_state(3)
        return cls(split=int(split), model=int(model), trainer=int(trainer))
