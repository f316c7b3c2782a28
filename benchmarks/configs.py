"""The five benchmark configurations and the data each one runs on.

Every framework gets the very same arrays: a fixed seed draws the synthetic
inputs and labels once, and each runner wraps them without copying.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Config:
    """One benchmark configuration.

    layers: widths from input to output, e.g. (784, 1024, 1024, 10).
    mode: "train" (one epoch of forward, loss, backward, update) or "infer" (eval-mode forward).
    optimizer: "adam" (lr 1e-3) or "sgd" (lr 0.01, momentum 0.9, weight decay 5e-4).
    batchnorm / dropout: hidden blocks are Linear -> [BatchNorm] -> ReLU -> [Dropout(p)].
    data: "synthetic" (standard-normal inputs, learnable labels) or "digits" (scikit-learn).
    epochs_per_rep: epochs timed together as one repetition (for configurations whose
        epoch is too short to time alone); the reported time is per epoch.
    """

    key: str
    title: str
    layers: tuple[int, ...]
    batch: int
    samples: int
    dtype: str = "float32"
    mode: str = "train"
    optimizer: str = "adam"
    batchnorm: bool = False
    dropout: float = 0.0
    data: str = "synthetic"
    epochs_per_rep: int = 1
    targets: dict[str, float] = field(default_factory=dict)

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def num_parameters(self) -> int:
        """Trained scalars: each Linear's weight and bias, each BatchNorm's γ and β."""
        total = 0
        for fan_in, fan_out in zip(self.layers[:-1], self.layers[1:]):
            total += fan_in * fan_out + fan_out
        if self.batchnorm:
            total += 2 * sum(self.layers[1:-1])
        return total

    def flops_per_epoch(self, samples: int) -> float:
        """6·P·N for training (forward 2PN, backward 4PN), 2·P·N for inference."""
        per_sample = 6 if self.mode == "train" else 2
        return float(per_sample * self.num_parameters() * samples)

    def products(self, samples: int) -> list[tuple[int, int, int]]:
        """The (M, K, N) shapes of one epoch's matrix products: per batch and Linear, the
        forward x·W; when training also dW = xᵀ·dy and dx = dy·Wᵀ (not for the first layer,
        whose input needs no gradient)."""
        shapes = []
        for start in range(0, samples, self.batch):
            n = min(self.batch, samples - start)
            for i, (fan_in, fan_out) in enumerate(zip(self.layers[:-1], self.layers[1:])):
                shapes.append((n, fan_in, fan_out))
                if self.mode == "train":
                    shapes.append((fan_in, n, fan_out))
                    if i > 0:
                        shapes.append((n, fan_out, fan_in))
        return shapes

    def describe(self) -> str:
        arch = "-".join(str(w) for w in self.layers)
        extra = []
        if self.batchnorm:
            extra.append("BatchNorm")
        if self.dropout:
            extra.append(f"Dropout({self.dropout})")
        extra.append(self.optimizer if self.mode == "train" else "eval")
        return f"{arch} {' '.join(extra)} batch {self.batch} {self.dtype}"


WIDE = (784, 1024, 1024, 10)

CONFIGS: dict[str, Config] = {
    "1": Config(
        key="1",
        title="wide",
        layers=WIDE,
        batch=128,
        samples=8192,
        targets={"torch": 0.9, "sklearn": 0.5, "floor_fraction": 0.9},
    ),
    "2": Config(
        key="2",
        title="deep+BN",
        layers=(784, 512, 512, 512, 512, 10),
        batch=256,
        samples=8192,
        optimizer="sgd",
        batchnorm=True,
        dropout=0.2,
        targets={"torch": 0.8},
    ),
    "3": Config(
        key="3",
        title="small/digits",
        layers=(64, 128, 128, 10),
        batch=32,
        samples=1797,
        data="digits",
        epochs_per_rep=5,
        targets={"torch": 0.4},
    ),
    "4": Config(
        key="4",
        title="inference",
        layers=WIDE,
        batch=1024,
        samples=8192,
        mode="infer",
        epochs_per_rep=2,
        targets={"torch": 1.0},
    ),
    "5": Config(
        key="5",
        title="wide float64",
        layers=WIDE,
        batch=128,
        samples=8192,
        dtype="float64",
        targets={"torch": 1.0, "sklearn": 0.5},
    ),
}


def make_data(config: Config, quick: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(N, layers[0])`` in the configuration's dtype and int64 labels ``(N,)``.

    Synthetic data: standard-normal inputs, labels from a random linear teacher
    (so the loss is meaningful and stays finite). ``digits``: scikit-learn's
    8×8 digits scaled to [0, 1]. Quick mode keeps a quarter of the synthetic samples.
    """
    rng = np.random.default_rng(seed)
    n_in, n_out = config.layers[0], config.layers[-1]
    if config.data == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = (digits.data / 16.0).astype(config.np_dtype)
        y = digits.target.astype(np.int64)
        return np.ascontiguousarray(x), y
    samples = config.samples // 4 if quick else config.samples
    x = rng.standard_normal((samples, n_in)).astype(config.np_dtype)
    teacher = rng.standard_normal((n_in, n_out)).astype(config.np_dtype)
    y = np.argmax(x @ teacher, axis=1).astype(np.int64)
    return x, y
