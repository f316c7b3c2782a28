"""The same network as a trainlab Sequential, as a PyTorch function of its flat
parameters: the oracle for the curvature tests (dense Hessians by autograd)."""

from __future__ import annotations

import math

import numpy as np

from trainlab import nn


def _layer(torch, layer, params):
    F = torch.nn.functional
    if isinstance(layer, nn.Linear):
        W = next(params)
        b = next(params) if layer.bias is not None else None
        return lambda x: x @ W + (b if b is not None else 0.0)
    if isinstance(layer, nn.BatchNorm):
        w = next(params) if layer.affine else None
        b = next(params) if layer.affine else None
        if layer.training:
            def bn(x):
                mu = x.mean(0)
                var = ((x - mu) ** 2).mean(0)
                y = (x - mu) / torch.sqrt(var + layer.eps)
                return y * w + b if w is not None else y
            return bn
        mean = torch.tensor(layer.running_mean, dtype=torch.float64)
        var = torch.tensor(layer.running_var, dtype=torch.float64)
        scale = w if w is not None else 1.0
        shift = b if b is not None else 0.0
        return lambda x: ((x - mean) / torch.sqrt(var + layer.eps)) * scale + shift
    if isinstance(layer, nn.LayerNorm):
        w = next(params) if layer.elementwise_affine else None
        b = next(params) if layer.elementwise_affine else None
        return lambda x: F.layer_norm(x, (layer.num_features,), w, b, layer.eps)
    simple = {
        nn.Sigmoid: torch.sigmoid, nn.Tanh: torch.tanh, nn.ReLU: torch.relu,
        nn.SELU: F.selu, nn.GELU: F.gelu, nn.Identity: lambda x: x,
        nn.Softmax: lambda x: torch.softmax(x, dim=1), nn.Dropout: lambda x: x,
    }
    if isinstance(layer, nn.LeakyReLU):
        return lambda x: F.leaky_relu(x, layer.negative_slope)
    if isinstance(layer, nn.ELU):
        return lambda x: F.elu(x, layer.alpha)
    return simple[type(layer)]


def _loss(torch, loss_fn, y):
    F = torch.nn.functional
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        t = torch.tensor(np.asarray(y), dtype=torch.long)
        return lambda z: F.cross_entropy(z, t)
    if isinstance(loss_fn, nn.BCEWithLogitsLoss):
        t = torch.tensor(np.asarray(y, dtype=np.float64))
        return lambda z: F.binary_cross_entropy_with_logits(z.reshape(-1), t.reshape(-1))
    t = torch.tensor(np.asarray(y, dtype=np.float64))
    return lambda z: F.mse_loss(z, t.reshape(z.shape))


def loss_of_flat(torch, model: nn.Sequential, loss_fn, X, y):
    """θ (n_params,) torch tensor -> the mean loss, a PyTorch scalar."""
    shapes = [p.shape for p in model.parameters()]
    Xt = torch.tensor(np.asarray(X, dtype=np.float64))
    loss = _loss(torch, loss_fn, y)

    def f(theta):
        parts, start = [], 0
        for shape in shapes:
            size = math.prod(shape)
            parts.append(theta[start:start + size].reshape(shape))
            start += size
        params = iter(parts)
        layers = [_layer(torch, layer, params) for layer in model]
        h = Xt
        for fn in layers:
            h = fn(h)
        return loss(h)

    return f


def flat(model) -> np.ndarray:
    return np.concatenate([p.data.ravel().astype(np.float64) for p in model.parameters()])


def dense_hessian(torch, model, loss_fn, X, y) -> np.ndarray:
    f = loss_of_flat(torch, model, loss_fn, X, y)
    theta = torch.tensor(flat(model))
    return torch.autograd.functional.hessian(f, theta).numpy()
