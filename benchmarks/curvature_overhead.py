"""The curvature instrument's cost against the training time (goal: ≤ 20% at every=100).

    OPENBLAS_NUM_THREADS=1 python benchmarks/curvature_overhead.py [--runs 3] [--warmup 1]
        [--epochs 10] [--batch-size 32]

Trains the default digits run (MLP 64-256-128-10 with ReLU, about 50.8k parameters, Adam,
batch 32) for 10 epochs with ``--curvature --curvature-every 100`` (5 measurements, at
steps 0, 100, ..., 400, on 64 training rows in float64) and prints, per run, the
instrument's own time (CurvatureMonitor.seconds) against the whole training time (and
against the rest of it: what the instrument adds to a run without it), the time of each
measurement, and the per-measurement time that 20% would allow; then the
median share over the runs. ``--warmup`` runs train first, untimed, so that what is
done once per process (importing and compiling the training kernels, which the first
run's training time would otherwise carry) stays out of the figure; ``--warmup 0
--runs 1`` times a fresh process. ``--epochs 40`` gives the steady state, where the two
measurements from a cold start (step 0, and the first with Adam's preconditioner) weigh
less; ``--batch-size`` changes the training batch (the measurement's 64 rows stay).

The floor of that share is arithmetic: a warm measurement is 11 gradients of 64 rows in
float64 (see ``CurvatureMonitor``), 100 training steps are 100 gradients and updates of
``batch`` rows in float32, so the measurement does 11·64/(100·batch) of the training's
multiply-adds (22% at batch 32, 11% at 64, 5.5% at 128), at about half float32's speed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from trainlab.recipe import from_flat
from trainlab.runs.run import Run


def one_run(epochs: int, batch_size: int, report: bool = True) -> float:
    """Train once; print the figures (when ``report``); return the instrument's share of
    the training time."""
    session = Run.in_memory(from_flat({"data": "digits", "epochs": epochs,
                                       "batch_size": batch_size, "curvature": True,
                                       "curvature_every": 100, "monitor": False}))
    instrument = session.curvature
    assert instrument is not None
    measure = instrument.measure
    each: list[float] = []

    def timed(*args: Any) -> Any:
        begin = time.perf_counter()
        try:
            return measure(*args)
        finally:
            each.append(time.perf_counter() - begin)

    instrument.measure = timed  # type: ignore[method-assign]
    start = time.perf_counter()
    session.train()
    total = time.perf_counter() - start
    steps = session.trainer.global_step
    count = len(instrument.records)
    share = instrument.seconds / total
    allowed = 0.25 * (total - instrument.seconds) / count  # I/(T + I) = 20%  <=>  I = T/4
    if report:
        print(f"{steps} steps, {count} curvature measurements: instrument "
              f"{instrument.seconds:.3f} s of {total:.3f} s training ({100 * share:.1f}%; "
              f"goal <= 20%; {100 * instrument.seconds / (total - instrument.seconds):.1f}% "
              f"added to the rest); per measurement {1e3 * instrument.seconds / count:.1f} ms "
              f"({', '.join(f'{1e3 * t:.1f}' for t in each)} ms; 20% allows "
              f"{1e3 * allowed:.1f} ms)")
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed training runs (default 3)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed training runs first (default 1)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of each run (default 10)")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="the training batch (default 32, the digits run's)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1 (received {args.runs})")
    runs = args.runs
    for _ in range(args.warmup):
        one_run(args.epochs, args.batch_size, report=False)
    shares = [one_run(args.epochs, args.batch_size) for _ in range(runs)]
    print(f"median over {runs} runs: {100 * statistics.median(shares):.1f}%")


if __name__ == "__main__":
    main()
