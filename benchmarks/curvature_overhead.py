"""The curvature instrument's cost against the training time (goal: ≤ 20% at every=100).

    OPENBLAS_NUM_THREADS=1 python benchmarks/curvature_overhead.py

Trains the default digits run (MLP 64-128-64-10, Adam, batch 32) for 10 epochs with
``--curvature --curvature-every 100`` and prints the instrument's own time
(CurvatureMonitor.seconds) against the whole training time.
"""

from __future__ import annotations

import time

from trainlab.recipe import from_flat
from trainlab.runs.run import Run


def main() -> None:
    session = Run.in_memory(from_flat({"data": "digits", "epochs": 10, "curvature": True,
                                       "curvature_every": 100, "monitor": False}))
    start = time.perf_counter()
    session.train()
    total = time.perf_counter() - start
    instrument = session.curvature
    assert instrument is not None
    steps = session.trainer.global_step
    print(f"{steps} steps, {len(instrument.records)} curvature measurements: instrument "
          f"{instrument.seconds:.2f} s of {total:.2f} s training "
          f"({100 * instrument.seconds / total:.1f}%; goal <= 20%)")


if __name__ == "__main__":
    main()
