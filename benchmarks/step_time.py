"""Time one training step (forward, loss, backward, update) of a small MLP, Adam and SGD.

    OPENBLAS_NUM_THREADS=1 python benchmarks/step_time.py

Prints the median and the minimum over 7 runs of 2000 steps (64-128-128-10, batch 32,
float32). A figure to compare two versions of trainlab on the same machine, not a target.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from trainlab import nn, optim


def small_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(64, 128, rng=0), nn.ReLU(), nn.Linear(128, 128, rng=1),
                         nn.ReLU(), nn.Linear(128, 10, rng=2))


def step_time(make: Callable[[list[nn.Parameter]], optim.Optimizer], steps: int = 2000,
              runs: int = 7) -> list[float]:
    """Microseconds per step of each run, sorted."""
    rng = np.random.default_rng(0)
    model = small_mlp()
    optimizer = make(model.parameters())
    loss = nn.CrossEntropyLoss()
    x = rng.standard_normal((32, 64)).astype(np.float32)
    y = np.arange(32) % 10

    def step() -> None:
        for p in model.parameters():
            p.grad.fill(0)
        loss(model(x), y)
        model.backward(loss.backward())
        optimizer.step()

    for _ in range(200):  # warm-up (and the compiled kernels' first call)
        step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps * 1e6)
    return sorted(times)


def main() -> None:
    for name, make in (("adam", lambda p: optim.Adam(p, lr=1e-3)),
                       ("sgd", lambda p: optim.SGD(p, lr=1e-2, momentum=0.9))):
        times = step_time(make)
        print(f"{name}: median {times[len(times) // 2]:.1f} µs/step, min {times[0]:.1f}")


if __name__ == "__main__":
    main()
