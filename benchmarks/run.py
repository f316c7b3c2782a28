"""Benchmark trainlab against PyTorch (CPU, eager) and scikit-learn on five MLP configurations.

    python benchmarks/run.py                  # everything (a few minutes on 2 cores)
    python benchmarks/run.py --quick          # a quarter of the data, fewer repetitions
    python benchmarks/run.py --configs 1,4 --reps 7 --frameworks trainlab,torch

Timing: in this one process, for each configuration, every framework builds its model on
the same arrays and runs ``--warmup`` untimed epochs; then the frameworks take turns, one
timed repetition each, ``--reps`` rounds, and each one's median is reported. Taking turns
exposes all of them alike to a machine whose speed drifts (a shared or throttled host); a
short pause before each repetition lets the previous library's idle BLAS/OpenMP worker
threads stop spinning, and ``--lead-in`` untimed epochs of the same framework right
before its timed one (default 1) give the steady state of a run that trains epoch after
epoch: the first epoch after an idle pause was up to 25% slower for trainlab (whose
worker threads sleep between products and wake slowly on a virtual machine after a
pause) and about 5% for PyTorch (whose OpenMP workers spin). Every BLAS and torch use the
same thread count (``--threads``, default NumPy's); trainlab's epochs run under the
thread settings of a trainlab run (``measure.framework_threads``). PyTorch is imported
before trainlab loads its GEMM provider (see ``main``).

Memory: a process's resident high-water mark cannot be split between libraries loaded in
it, so each (configuration, framework) pair is also run in its own subprocess, which
builds the data (a quarter of the synthetic samples: a step's memory does not depend on
the number of batches), runs one epoch of a tiny model of the same kind (loading what the library
initialises lazily), records its RSS, resets the kernel's high-water mark, then builds the
model and trains ``--memory-epochs`` epochs. "working" memory is the peak minus the RSS
before the model was built; the whole process's peak (imports included) is reported too;
"growth" is the RSS after the last epoch minus the RSS after epoch 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure  # noqa: E402
from configs import CONFIGS, make_data  # noqa: E402
from frameworks import FRAMEWORKS, Unsupported, make_runner  # noqa: E402
from report import check_targets, summarise, table  # noqa: E402

HERE = Path(__file__).resolve().parent
PAUSE_S = 0.3  # lets a library's spinning worker threads go idle before the next one starts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", default="1,2,3,4,5", help="comma-separated keys of the configurations (default: all)")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS), help="comma-separated subset of trainlab,torch,sklearn")
    p.add_argument("--reps", type=int, default=None, help="timed repetitions per framework (default 5; quick 3)")
    p.add_argument("--warmup", type=int, default=1, help="untimed warm-up epochs per framework (default 1)")
    p.add_argument("--lead-in", type=int, default=1,
                   help="untimed repetitions right before each timed one, after the pause "
                        "(default 1; 0: none)")
    p.add_argument("--threads", type=int, default=None, help="BLAS and torch threads (default: NumPy's BLAS count)")
    p.add_argument("--memory-epochs", type=int, default=None, help="epochs of each memory subprocess (default 20; quick 4)")
    p.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    p.add_argument("--quick", action="store_true", help="a quarter of the synthetic samples, fewer repetitions and memory epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/bench-<time>.json)")
    p.add_argument("--child", nargs=2, metavar=("CONFIG", "FRAMEWORK"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.reps = args.reps or (3 if args.quick else 5)
    args.memory_epochs = args.memory_epochs or (4 if args.quick else 20)
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    args.frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    for c in args.configs:
        if c not in CONFIGS:
            p.error(f"unknown configuration {c!r}; choose from {', '.join(CONFIGS)}")
    for f in args.frameworks:
        if f not in FRAMEWORKS:
            p.error(f"unknown framework {f!r}; choose from {', '.join(FRAMEWORKS)}")
    if args.lead_in < 0:
        p.error(f"--lead-in must be 0 or more (received {args.lead_in})")
    if args.memory_epochs < 2:
        p.error("--memory-epochs must be at least 2 (growth is measured from epoch 2)")
    return args


def set_all_threads(n: int | None, with_torch: bool = True) -> int:
    """Pin NumPy/SciPy BLAS and (unless ``with_torch`` is False) torch to the same thread count."""
    threads = measure.set_threads(n)
    if with_torch:
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:
            pass
    return threads


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- timing (this process) ------------------------------------------------------------------


def time_config(key: str, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Seconds per epoch of each framework: warm-ups, then repetitions taken in turns."""
    config = CONFIGS[key]
    x, y = make_data(config, quick=args.quick, seed=args.seed)
    results: dict[str, dict[str, Any]] = {}
    reps: dict[str, Any] = {}
    for name in args.frameworks:
        try:
            epoch = make_runner(name, config, x, y, seed=args.seed)
        except Unsupported as exc:
            results[name] = {"skipped": str(exc)}
            log(f"  config {key} {name}: skipped ({exc})")
            continue

        def rep(epoch=epoch) -> None:
            for _ in range(config.epochs_per_rep):
                epoch()

        with measure.framework_threads(name, args.threads_used):
            for _ in range(args.warmup):
                rep()
        reps[name] = rep
        time.sleep(PAUSE_S)
    times: dict[str, list[float]] = {name: [] for name in reps}
    for _ in range(args.reps):
        for name, rep in reps.items():
            with measure.framework_threads(name, args.threads_used):
                for _ in range(args.lead_in):
                    rep()
                times[name].append(measure.timed(rep) / config.epochs_per_rep)
            time.sleep(PAUSE_S)
    for name, per_epoch in times.items():
        results[name] = {
            "seconds_per_epoch": statistics.median(per_epoch),
            "seconds_per_epoch_all": per_epoch,
            "samples": len(x),
        }
        log(f"  config {key} {name}: {results[name]['seconds_per_epoch']:.4f} s/epoch")
    reps.clear()
    gc.collect()
    return {name: results[name] for name in args.frameworks if name in results}


# -- memory (one subprocess per configuration and framework) --------------------------------


def memory_child(key: str, name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Runs inside the subprocess: RSS before the model, peak while training, RSS per epoch.

    Before the baseline is taken, one epoch of a tiny model of the same kind (widths 4,
    two batches) runs and is thrown away: it loads what each library initialises lazily
    on first use (compiled kernels, thread pools, autograd's engine), so that "working"
    memory is what the configuration itself needs.
    """
    set_all_threads(args.threads, with_torch=name == "torch")
    config = CONFIGS[key]
    # A quarter of the synthetic samples (as --quick): the memory a step needs does not
    # depend on how many batches an epoch has, and the 20 epochs take a quarter of the time.
    x, y = make_data(config, quick=True, seed=args.seed)
    tiny = dataclasses.replace(config, layers=(config.layers[0], *[4] * (len(config.layers) - 2), config.layers[-1]))
    make_runner(name, tiny, x[: 2 * config.batch], y[: 2 * config.batch], seed=args.seed)()
    gc.collect()
    base = measure.rss_mb()
    before_peak = measure.peak_rss_mb()  # imports, data, warm-up: this process's own pages
    reset = measure.reset_peak_rss()
    epoch = make_runner(name, config, x, y, seed=args.seed)
    per_epoch = []
    for _ in range(args.memory_epochs):
        epoch()
        per_epoch.append(measure.rss_mb())
    peak = measure.peak_rss_mb()
    return {
        "epochs": args.memory_epochs,
        "base_mb": base,
        "working_mb": None if base is None else peak - base,
        "process_peak_mb": max(before_peak, peak),
        "rss_per_epoch_mb": per_epoch,
        "growth_mb": None if per_epoch[0] is None else per_epoch[-1] - per_epoch[1],
        "peak_reset": reset,
    }


def run_memory(key: str, name: str, args: argparse.Namespace, threads: int) -> dict[str, Any] | None:
    cmd = [sys.executable, str(HERE / "run.py"), "--child", key, name, "--threads", str(threads),
           "--memory-epochs", str(args.memory_epochs), "--seed", str(args.seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        log(f"  memory {key} {name} failed:\n{proc.stderr[-2000:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(memory_child(*args.child, args)))
        return 0

    with contextlib.suppress(ImportError):
        # PyTorch before trainlab's MKL provider: Intel's mkl wheel puts MKL's symbols in
        # the process's global namespace, and a torch imported after it binds its own MKL
        # calls to them (MKL's sequential layer, as trainlab sets it): torch's products
        # then run on one thread, about 45% slower on two cores.
        import torch  # noqa: F401
    from trainlab import backend

    chosen = backend.get(None)  # loads the GEMM provider first, so that --threads reaches it
    log(f"trainlab: backend {chosen.name}, GEMM provider {getattr(chosen, 'gemm', 'numpy')}")
    threads = set_all_threads(args.threads)
    args.threads_used = threads
    gemm_reps = 10
    log(f"GEMM peak with {threads} threads ...")
    gemm = {dt: measure.gemm_peak(dt, reps=gemm_reps) for dt in ("float32", "float64")}
    gemm["torch_float32"] = measure.torch_gemm("float32", reps=gemm_reps)
    report: dict[str, Any] = {
        "machine": measure.machine_info(),
        "settings": {
            "threads": threads, "reps": args.reps, "warmup": args.warmup, "quick": args.quick,
            "memory_epochs": None if args.no_memory else args.memory_epochs,
            "gemm_reps": gemm_reps, "seed": args.seed, "lead_in": args.lead_in,
            "frameworks": args.frameworks,
        },
        "gemm": gemm,
        "configs": {},
    }
    for key in args.configs:
        config = CONFIGS[key]
        log(f"config {key}: {config.describe()}")
        results = time_config(key, args)
        samples = next((r["samples"] for r in results.values() if "samples" in r), None)
        floor = None if samples is None else measure.gemm_floor(config.products(samples), config.dtype)
        if not args.no_memory:
            for name, res in results.items():
                if "skipped" not in res:
                    log(f"  memory {key} {name} ({args.memory_epochs} epochs) ...")
                    res["memory"] = run_memory(key, name, args, threads)
        # The best of the GEMM repetitions is the peak: a busy machine only ever slows a
        # run down, and a lower denominator would flatter every fraction of it.
        peak = gemm[config.dtype]["gflops_best"]
        entry = {
            "title": config.title,
            "description": config.describe(),
            "parameters": config.num_parameters(),
            "ratios": summarise(config, results, peak, floor),
            "gemm_floor_seconds": floor,
            "results": results,
        }
        entry["targets"] = check_targets(config, entry)
        report["configs"][key] = entry

    text = table(report)
    print(text)
    out = args.out or HERE / "results" / time.strftime("bench-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"\nJSON written to {os.path.relpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
