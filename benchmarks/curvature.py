"""The cost of the curvature measurements (trainlab.diagnostics.curvature).

    OPENBLAS_NUM_THREADS=1 python benchmarks/curvature.py

1. One Hessian-vector product against one gradient, both in float64 on the same model and
   data (goal: the product costs at most 3 gradients; a central difference costs 2).
2. The top Hessian eigenvalue of a 100k-parameter MLP (64-256-256-64-10 with ReLU,
   about 100k parameters) on 1,000 points, by Lanczos (goal: under 5 s on two cores).
Prints the median of several runs, and the number of products Lanczos needed.
"""

from __future__ import annotations

import time

import numpy as np

from trainlab import nn
from trainlab.diagnostics import curvature as C
from trainlab.diagnostics.curvature import hessian
from trainlab.diagnostics.curvature.hessian import hvp


def mlp() -> nn.Sequential:
    sizes = [64, 256, 256, 64, 10]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers += [nn.Linear(a, b, init="he_normal", rng=i), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(0)
    model = mlp()
    X = rng.standard_normal((1000, 64)).astype(np.float32)
    y = rng.integers(0, 10, 1000)
    loss_fn = nn.CrossEntropyLoss()
    objective = C.Objective(model, loss_fn, X, y, "benchmark")
    v = rng.standard_normal(objective.n_params)
    grad = median_seconds(lambda: objective.gradient(), 15)
    product = median_seconds(lambda: hvp(objective, v), 15)
    print(f"model: {objective.n_params} parameters, 1000 points, float64")
    print(f"gradient {grad * 1e3:.1f} ms, Hessian-vector product {product * 1e3:.1f} ms: "
          f"{product / grad:.2f}x a gradient (goal <= 3x)")
    calls = {"n": 0}

    def counting(*args, **kwargs):
        calls["n"] += 1
        return hvp(*args, **kwargs)

    hessian.hvp = counting  # count the products Lanczos asks for
    start = time.perf_counter()
    top = C.hessian_eigenvalues(model, loss_fn, X, y, k=1)
    seconds = time.perf_counter() - start
    hessian.hvp = hvp
    print(f"top eigenvalue {top[0]:.6g} in {seconds:.2f} s with {calls['n']} products "
          f"(goal < 5 s)")
    times = [median_seconds(lambda: C.hessian_eigenvalues(model, loss_fn, X, y, k=1), 1)
             for _ in range(3)]
    print(f"top eigenvalue, 3 more runs: {', '.join(f'{t:.2f} s' for t in times)}")


if __name__ == "__main__":
    main()
