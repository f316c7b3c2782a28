"""Where an epoch of a benchmark configuration goes: trainlab's time per part, next to the
configuration's GEMM floor.

    python benchmarks/profile_epoch.py --config 1 [--quick] [--epochs 5] [--threads N]

Builds configuration ``--config`` of ``benchmarks/run.py`` exactly as the benchmark does,
runs one warm-up epoch, then ``--epochs`` timed epochs in which every layer's ``forward``
and ``backward``, the loss and the optimizer's ``step`` and ``zero_grad`` are timed
(``time.perf_counter`` around each call, by wrapping the classes' methods). Prints, per
epoch (the median over the timed epochs), each part's seconds and share, what is left
(batching, the Python loop, the wrappers' own cost), and the floor: the time of the
epoch's matrix products alone on the fastest GEMM provider (``measure.gemm_floor``, the
figure of ``run.py``'s ``floor s`` column). Linear's forward and backward hold the
products and the bias; the gap between them and the floor is what the products lose
inside training (packing, transposed operands, caches) plus the bias work.

The wrappers add about a microsecond a call, which matters only for the small
configuration 3; ``benchmarks/step_calls.py`` counts its calls instead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure  # noqa: E402
from configs import CONFIGS, make_data  # noqa: E402
from frameworks import make_runner  # noqa: E402

from trainlab import nn, optim  # noqa: E402
from trainlab.backend import get as get_backend  # noqa: E402

TIMED: dict[str, tuple[type, tuple[str, ...]]] = {
    "Linear": (nn.Linear, ("forward", "backward")),
    "BatchNorm": (nn.BatchNorm, ("forward", "backward")),
    "ReLU": (nn.ReLU, ("forward", "backward")),
    "Dropout": (nn.Dropout, ("forward", "backward")),
    "CrossEntropyLoss": (nn.CrossEntropyLoss, ("forward", "backward")),
    "Adam": (optim.Adam, ("step", "zero_grad")),
    "SGD": (optim.SGD, ("step", "zero_grad")),
}
"""The parts timed: a class and its methods (each is timed on its own)."""


def wrap_methods(totals: dict[str, float]) -> Callable[[], None]:
    """Wrap the methods of :data:`TIMED` to add their seconds to ``totals`` under
    ``"Class.method"``; returns the function that restores them."""
    originals: list[tuple[type, str, Any]] = []
    for name, (cls, methods) in TIMED.items():
        for method in methods:
            original = cls.__dict__.get(method)
            if original is None:  # inherited: time it on this class all the same
                original = getattr(cls, method)
            key = f"{name}.{method}"

            def timed(*args: Any, _original: Any = original, _key: str = key,
                      **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    totals[_key] += time.perf_counter() - start

            originals.append((cls, method, cls.__dict__.get(method)))
            setattr(cls, method, timed)

    def restore() -> None:
        for cls, method, original in originals:
            if original is None:
                delattr(cls, method)
            else:
                setattr(cls, method, original)

    return restore


def profile(key: str, quick: bool, epochs: int) -> dict[str, Any]:
    """Per-epoch seconds of each timed part (medians over ``epochs``), of the whole epoch
    and of the floor, for configuration ``key``."""
    config = CONFIGS[key]
    x, y = make_data(config, quick=quick)
    totals: dict[str, float] = defaultdict(float)
    restore = wrap_methods(totals)
    try:
        epoch = make_runner("trainlab", config, x, y)
        epoch()  # warm-up: compilation, first allocations
        parts: dict[str, list[float]] = defaultdict(list)
        wall: list[float] = []
        for _ in range(epochs):
            totals.clear()
            wall.append(measure.timed(epoch))
            for part, seconds in totals.items():
                parts[part].append(seconds)
    finally:
        restore()
    samples = len(x)
    floor = measure.gemm_floor(config.products(samples), config.dtype)
    return {"config": config, "epoch": statistics.median(wall), "floor": floor,
            "parts": {p: statistics.median(s) for p, s in parts.items()}}


def report(result: dict[str, Any]) -> str:
    config, epoch, floor = result["config"], result["epoch"], result["floor"]
    lines = [f"config {config.key}: {config.title}",
             f"  epoch {epoch:.4f} s (median); GEMM floor {floor:.4f} s "
             f"({100 * floor / epoch:.0f}% of the epoch)"]
    named = sorted(result["parts"].items(), key=lambda kv: -kv[1])
    for part, seconds in named:
        lines.append(f"  {part:<28} {seconds:8.4f} s  {100 * seconds / epoch:5.1f}%")
    rest = epoch - sum(result["parts"].values())
    lines.append(f"  {'rest (loop, batches, calls)':<28} {rest:8.4f} s  {100 * rest / epoch:5.1f}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="1", choices=sorted(CONFIGS))
    parser.add_argument("--quick", action="store_true",
                        help="a quarter of the synthetic samples, as run.py --quick")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs (default 5)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads, as run.py --threads (default: NumPy's BLAS count)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1 (received {args.epochs})")
    backend = get_backend(None)  # loads the GEMM provider first, so that --threads reaches it
    threads = measure.set_threads(args.threads)
    print(f"trainlab backend {backend.name}, GEMM provider {getattr(backend, 'gemm', 'numpy')},"
          f" {threads} threads")
    with measure.framework_threads("trainlab", threads):  # as run.py times trainlab
        result = profile(args.config, args.quick, args.epochs)
    print(report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
