"""Figures of ``trainlab sweep``: worker throughput, the storage's write path, Ray's overhead.

    python benchmarks/sweep_bench.py throughput [--trials 8]      # 1 worker against 2
    python benchmarks/sweep_bench.py storage [--trials 1000]      # SQLite, no training
    python benchmarks/sweep_bench.py ray --address HOST:PORT [--trials 8]

- throughput: the same grid of small trials (iris, 3 epochs, a 16-unit MLP, no
  diagnostics: each trial is dominated by its run directory and report) with one local
  worker, then two, each worker warmed by one untimed trial (imports, compiled kernels);
  prints trials per second and the speed-up.
- storage: the driver's write path for N trials without training (plan N trials, then
  for each: claim, its lease, its result, tell), then
  writing results.csv from the study; prints the time per trial.
- ray: the same small grid on the local executor and on the Ray cluster at ADDRESS, with
  the same number of workers; prints the wall time per trial of each and the difference.

Figures to compare on one machine, not targets; the load of the machine is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from trainlab.sweep import LocalExecutor, RayExecutor, parse_spec, run_sweep
from trainlab.sweep import study as studies
from trainlab.sweep.results import rows_of, write_results
from trainlab.sweep.storage import default_url, open_storage
from trainlab.sweep.trial import TrialResult, TrialTask

SMALL = """[base]
data = "iris"
epochs = 3
hidden = [16]
monitor = false

[sweep]
metric = "val_accuracy"
seeds = [{seeds}]

[sweep.grid]
lr = [0.001, 0.003, 0.01, 0.03]
"""


def small_spec(trials: int, name: str):
    seeds = ", ".join(str(s) for s in range(max(1, trials // 4)))
    return parse_spec(SMALL.format(seeds=seeds), name=name)


def timed_sweep(executor, trials: int, name: str) -> float:
    spec = small_spec(trials, name)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "trials").mkdir()
        start = time.perf_counter()
        outcome = run_sweep(spec, folder, executor, stream=None, report=False)
        seconds = time.perf_counter() - start
    assert all(r.status == "complete" for r in outcome.rows), outcome.rows
    return seconds


def warmed(executor):
    """The executor after one untimed trial per worker (imports, the compiled kernels)."""
    spec = small_spec(4, "warm")
    with tempfile.TemporaryDirectory() as folder:
        tasks = [TrialTask(slot=i, trial_id=-1, settings={**spec.base, "lr": 0.01}, seed=i,
                           trials_dir=folder, metric=spec.metric, storage="", study="")
                 for i in range(executor.workers)]
        for future in [executor.submit(t) for t in tasks]:
            assert future.result().status == "complete"
    return executor


def throughput(trials: int) -> None:
    times = {}
    for workers in (1, 2):
        times[workers] = timed_sweep(warmed(LocalExecutor(workers)), trials, f"w{workers}")
        print(f"{workers} worker(s): {trials} trials in {times[workers]:.1f} s = "
              f"{trials / times[workers]:.3f} trials/s", flush=True)
    print(f"speed-up of 2 workers over 1: {times[1] / times[2]:.2f}x")


def storage(trials: int) -> None:
    spec = parse_spec(SMALL.format(seeds=", ".join(map(str, range(trials // 4)))), name="bench")
    with tempfile.TemporaryDirectory() as folder:
        url = default_url(Path(folder))
        start = time.perf_counter()
        study = studies.open_study(spec, open_storage(url), join=False)
        planned = time.perf_counter() - start
        start = time.perf_counter()
        claimer = studies.Claimer(study, spec)
        while (trial := claimer.claim()) is not None:
            slot = int(trial.user_attrs["slot"])
            result = TrialResult(slot, "complete", 0.5, None, f"{folder}/trials/{slot}", 3, 0.1)
            trial.set_user_attr("result", {"value": result.value, "reason": None,
                                           "run_dir": result.run_dir, "epochs": 3,
                                           "seconds": 0.1})
            study.tell(trial, result.value)
        claimed = time.perf_counter() - start
        start = time.perf_counter()
        rows = rows_of(studies.current(study), spec, Path(folder))
        write_results(Path(folder), rows, spec, url, trials)
        written = time.perf_counter() - start
        size = (Path(folder) / "sweep.db").stat().st_size
    assert len(rows) == trials
    print(f"plan of {trials} trials enqueued in {planned:.1f} s "
          f"({1000 * planned / trials:.1f} ms per trial)")
    print(f"claim + lease + result + tell: {claimed:.1f} s for {trials} trials "
          f"({1000 * claimed / trials:.1f} ms per trial)")
    print(f"results.csv from the study: {written:.2f} s; sweep.db {size / 1e6:.1f} MB")


def ray(address: str, trials: int) -> None:
    local = timed_sweep(warmed(LocalExecutor(2)), trials, "local")
    remote = timed_sweep(warmed(RayExecutor(address, 2)), trials, "ray")
    print(f"local, 2 workers: {local / trials:.2f} s per trial; Ray, 2 workers: "
          f"{remote / trials:.2f} s per trial; Ray's overhead {(remote - local) / trials:+.2f} "
          "s per trial")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("throughput", "storage", "ray"))
    parser.add_argument("--trials", type=int)
    parser.add_argument("--address")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    if args.what == "throughput":
        throughput(args.trials or 8)
    elif args.what == "storage":
        storage(args.trials or 1000)
    else:
        ray(args.address, args.trials or 8)


if __name__ == "__main__":
    main()
