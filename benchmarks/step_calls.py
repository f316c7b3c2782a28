"""Count the Python-level calls of one training step of a small MLP (the step of
``benchmarks/run.py``'s configuration 3: 64-128-128-10, batch 32, float32).

    python benchmarks/step_calls.py

With ``sys.setprofile``, after a warm-up, one step (forward, loss, backward with
``input_grad=False``, ``opt.step()``, ``opt.zero_grad()``) is traced; the Python functions
it enters and the calls into C (NumPy's functions and methods, compiled kernels) are
counted, and the most frequent of each are listed. On a small model, where a step takes
tens of microseconds, these calls are most of its time.
"""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np

from trainlab import nn, optim


def one_step_calls(optimizer: str = "adam") -> tuple[Counter, Counter]:
    """(Python calls, C calls) of one step, each by function name."""
    model = nn.Sequential(nn.Linear(64, 128, rng=0), nn.ReLU(), nn.Linear(128, 128, rng=1),
                          nn.ReLU(), nn.Linear(128, 10, rng=2))
    params = model.parameters()
    opt = (optim.Adam(params, lr=1e-3) if optimizer == "adam"
           else optim.SGD(params, lr=1e-2, momentum=0.9))
    loss = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 64)).astype(np.float32)
    y = np.arange(32) % 10

    def step() -> None:
        loss(model(x), y)
        model.backward(loss.backward(), input_grad=False)
        opt.step()
        opt.zero_grad()

    for _ in range(5):  # warm-up: compiled kernels, optimizer state
        step()
    python: Counter = Counter()
    native: Counter = Counter()

    def profile(frame, event, arg) -> None:
        if event == "call":
            code = frame.f_code
            python[f"{code.co_filename.rsplit('/', 1)[-1]}:{code.co_name}"] += 1
        elif event == "c_call":
            native[getattr(arg, "__qualname__", None) or getattr(arg, "__name__", repr(arg))] += 1

    sys.setprofile(profile)
    try:
        step()
    finally:
        sys.setprofile(None)
    python.pop("step_calls.py:step", None)
    return python, native


def main() -> None:
    for name in ("adam", "sgd"):
        python, native = one_step_calls(name)
        total_python, total_c = sum(python.values()), sum(native.values())
        print(f"{name}: {total_python} Python calls, {total_c} C calls per step")
        print("  most frequent Python: " + ", ".join(f"{k} {v}" for k, v in python.most_common(8)))
        print("  most frequent C:      " + ", ".join(f"{k} {v}" for k, v in native.most_common(8)))


if __name__ == "__main__":
    main()
