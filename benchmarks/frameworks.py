"""One runner per framework: build the configuration's model once, then run one epoch per call.

An epoch walks the same fixed batches (row slices of the shared arrays, no shuffling,
the last batch may be partial) in every framework, so the clocks measure the
training step itself: forward, loss, backward, parameter update, gradient reset.

- trainlab: the training step written out (``loss_fn(model(x), y)``,
  ``model.backward(loss_fn.backward(), input_grad=False)``, ``opt.step()``,
  ``opt.zero_grad()``; ``input_grad=False``: the data needs no gradient), not
  ``trainlab.train.fit``, whose callbacks, metrics and progress bar are not compute.
- PyTorch: the canonical eager loop (``zero_grad``, ``loss.backward()``, ``step``) with
  each optimizer's default implementation; inference under ``torch.inference_mode()``.
- JAX (where ``import jax`` works): the same model as pure functions, one ``jax.jit``-
  compiled training step (forward, loss, ``jax.grad``, the optimizer's update written as
  PyTorch's default Adam and SGD write it) or forward pass, on the CPU.
- scikit-learn: ``MLPClassifier.partial_fit`` (one epoch per call, ``shuffle=False``,
  ``alpha=0``) and ``predict_proba``; it has no BatchNorm or Dropout, so it cannot run
  configuration 2.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from configs import Config

FRAMEWORKS = ("trainlab", "torch", "jax", "sklearn")

ADAM_LR = 1e-3
SGD_LR, SGD_MOMENTUM, SGD_WEIGHT_DECAY = 0.01, 0.9, 5e-4


class Unsupported(Exception):
    """The framework cannot run this configuration (or is not installed); the message says why."""


def _batches(config: Config, x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x[i : i + config.batch], y[i : i + config.batch]) for i in range(0, len(x), config.batch)]


def make_runner(framework: str, config: Config, x: np.ndarray, y: np.ndarray, seed: int = 0) -> Callable[[], None]:
    """A function that runs one epoch of ``config`` in ``framework`` (raises :class:`Unsupported`)."""
    builders = {"trainlab": _trainlab, "torch": _torch, "jax": _jax, "sklearn": _sklearn}
    return builders[framework](config, x, y, seed)


# -- trainlab -------------------------------------------------------------------------------


def _trainlab(config: Config, x: np.ndarray, y: np.ndarray, seed: int) -> Callable[[], None]:
    from trainlab import nn, optim

    dtype = config.np_dtype
    layers: list = []
    widths = config.layers
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out, rng=seed + i, dtype=dtype))
        if i < len(widths) - 2:
            if config.batchnorm:
                layers.append(nn.BatchNorm(fan_out, dtype=dtype))
            layers.append(nn.ReLU())
            if config.dropout:
                layers.append(nn.Dropout(config.dropout, rng=seed + 100 + i))
    model = nn.Sequential(*layers)
    batches = _batches(config, x, y)

    if config.mode == "infer":
        model.eval()

        def infer_epoch() -> None:
            for xb, _ in batches:
                model(xb)

        return infer_epoch

    loss_fn = nn.CrossEntropyLoss()
    if config.optimizer == "adam":
        opt = optim.Adam(model.parameters(), lr=ADAM_LR)
    else:
        opt = optim.SGD(
            model.parameters(), lr=SGD_LR, momentum=SGD_MOMENTUM, weight_decay=SGD_WEIGHT_DECAY
        )
    model.train()
    backward = _backward_without_input_grad(model)

    def train_epoch() -> None:
        for xb, yb in batches:
            loss_fn(model(xb), yb)
            backward(loss_fn.backward())
            opt.step()
            opt.zero_grad()

    return train_epoch


def _accepts_input_grad(module) -> bool:
    return "input_grad" in inspect.signature(module.backward).parameters


def _backward_without_input_grad(model) -> Callable[[np.ndarray], object]:
    """``model.backward(dy, input_grad=False)``: the inputs are data and need no gradient.

    Like a torch tensor without ``requires_grad``, the input batch gets no gradient, so
    the first ``Linear`` skips its dx product (as PyTorch's autograd does). Where
    ``Sequential.backward`` does not take ``input_grad`` itself, the same chain is
    written out: every layer's ``backward`` in reverse order, the first with
    ``input_grad=False``.
    """
    if _accepts_input_grad(model):
        return lambda dy: model.backward(dy, input_grad=False)
    layers = list(model)
    if not _accepts_input_grad(layers[0]):
        return model.backward
    rest = layers[:0:-1]
    first = layers[0]

    def backward(dy: np.ndarray) -> None:
        for layer in rest:
            dy = layer.backward(dy)
        first.backward(dy, input_grad=False)

    return backward


# -- PyTorch --------------------------------------------------------------------------------


def _torch(config: Config, x: np.ndarray, y: np.ndarray, seed: int) -> Callable[[], None]:
    try:
        import torch
    except ImportError as exc:
        raise Unsupported("torch is not installed") from exc

    torch.manual_seed(seed)
    dtype = torch.float64 if config.dtype == "float64" else torch.float32
    layers: list = []
    widths = config.layers
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            if config.batchnorm:
                layers.append(torch.nn.BatchNorm1d(fan_out))
            layers.append(torch.nn.ReLU())
            if config.dropout:
                layers.append(torch.nn.Dropout(config.dropout))
    model = torch.nn.Sequential(*layers).to(dtype)
    batches = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in _batches(config, x, y)]

    if config.mode == "infer":
        model.eval()

        def infer_epoch() -> None:
            with torch.inference_mode():
                for xb, _ in batches:
                    model(xb)

        return infer_epoch

    loss_fn = torch.nn.CrossEntropyLoss()
    if config.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=ADAM_LR)
    else:
        opt = torch.optim.SGD(
            model.parameters(), lr=SGD_LR, momentum=SGD_MOMENTUM, weight_decay=SGD_WEIGHT_DECAY
        )
    model.train()

    def train_epoch() -> None:
        for xb, yb in batches:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    return train_epoch


# -- JAX ------------------------------------------------------------------------------------


def _jax(config: Config, x: np.ndarray, y: np.ndarray, seed: int) -> Callable[[], None]:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        raise Unsupported("jax is not installed") from exc

    jax.config.update("jax_enable_x64", True)  # float64 arrays stay float64 (config 5)
    dtype = jnp.float64 if config.dtype == "float64" else jnp.float32
    widths = config.layers
    key = jax.random.PRNGKey(seed)
    params = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        key, kw, kb = jax.random.split(key, 3)
        bound = 1.0 / np.sqrt(fan_in)
        layer = {
            "W": jax.random.uniform(kw, (fan_in, fan_out), dtype, -bound, bound),
            "b": jax.random.uniform(kb, (fan_out,), dtype, -bound, bound),
        }
        if config.batchnorm and len(params) < len(widths) - 2:
            layer["gamma"] = jnp.ones(fan_out, dtype)
            layer["beta"] = jnp.zeros(fan_out, dtype)
        params.append(layer)
    last = len(params) - 1

    def forward(params, xb, key, train):
        h = xb
        for i, layer in enumerate(params):
            h = h @ layer["W"] + layer["b"]
            if i == last:
                break
            if "gamma" in layer:
                if train:
                    mean = h.mean(axis=0)
                    var = h.var(axis=0)
                    h = (h - mean) / jnp.sqrt(var + 1e-5) * layer["gamma"] + layer["beta"]
                else:
                    h = h * layer["gamma"] + layer["beta"]  # running stats of a fresh model
            h = jax.nn.relu(h)
            if config.dropout and train:
                key, sub = jax.random.split(key)
                keep = jax.random.bernoulli(sub, 1.0 - config.dropout, h.shape)
                h = jnp.where(keep, h / (1.0 - config.dropout), 0.0)
        return h

    batches = [(jnp.asarray(xb), jnp.asarray(yb)) for xb, yb in _batches(config, x, y)]

    if config.mode == "infer":
        infer = jax.jit(lambda p, xb: forward(p, xb, None, False))

        def infer_epoch() -> None:
            for xb, _ in batches:
                out = infer(params, xb)
            out.block_until_ready()

        return infer_epoch

    def loss_fn(params, xb, yb, key):
        logits = forward(params, xb, key, True)
        logp = jax.nn.log_softmax(logits)
        return -jnp.take_along_axis(logp, yb[:, None], axis=1).mean()

    if config.optimizer == "adam":
        b1, b2, eps = 0.9, 0.999, 1e-8
        state = (jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params), 0)

        def update(params, grads, state):
            m, v, t = state
            t = t + 1
            m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
            v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
            step = ADAM_LR / (1 - b1**t)
            bc2 = jnp.sqrt(1 - b2**t)
            params = jax.tree.map(lambda p, m, v: p - step * m / (jnp.sqrt(v) / bc2 + eps), params, m, v)
            return params, (m, v, t)
    else:
        state = (jax.tree.map(jnp.zeros_like, params), 0)

        def update(params, grads, state):
            buf, t = state
            grads = jax.tree.map(lambda g, p: g + SGD_WEIGHT_DECAY * p, grads, params)
            buf = jax.tree.map(lambda b, g: jnp.where(t == 0, g, SGD_MOMENTUM * b + g), buf, grads)
            params = jax.tree.map(lambda p, b: p - SGD_LR * b, params, buf)
            return params, (buf, t + 1)

    @jax.jit
    def step(params, state, xb, yb, key):
        key, sub = jax.random.split(key)
        grads = jax.grad(loss_fn)(params, xb, yb, sub)
        params, state = update(params, grads, state)
        return params, state, key

    carry = {"params": params, "state": state, "key": key}

    def train_epoch() -> None:
        p, st, k = carry["params"], carry["state"], carry["key"]
        for xb, yb in batches:
            p, st, k = step(p, st, xb, yb, k)
        jax.block_until_ready(p)
        carry.update(params=p, state=st, key=k)

    return train_epoch


# -- scikit-learn ---------------------------------------------------------------------------


def _sklearn(config: Config, x: np.ndarray, y: np.ndarray, seed: int) -> Callable[[], None]:
    if config.batchnorm or config.dropout:
        raise Unsupported("MLPClassifier has no BatchNorm or Dropout")
    if config.mode == "train" and config.optimizer != "adam":
        raise Unsupported("the configuration's optimizer is not Adam")
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=config.layers[1:-1],
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=config.batch,
        learning_rate_init=ADAM_LR,
        shuffle=False,
        random_state=seed,
    )
    classes = np.arange(config.layers[-1])

    if config.mode == "infer":
        clf.partial_fit(x[: config.batch], y[: config.batch], classes=classes)
        batches = _batches(config, x, y)

        def infer_epoch() -> None:
            for xb, _ in batches:
                clf.predict_proba(xb)

        return infer_epoch

    clf.partial_fit(x[: config.batch], y[: config.batch], classes=classes)

    def train_epoch() -> None:
        clf.partial_fit(x, y)

    return train_epoch
