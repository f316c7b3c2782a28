"""AveragedModel (SWA, EMA) and update_bn against torch.optim.swa_utils in float64."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn, optim


def models(torch):
    f64 = np.float64
    ours = nn.Sequential(nn.Linear(3, 5, rng=0, dtype=f64), nn.BatchNorm(5, dtype=f64),
                         nn.ReLU(), nn.Linear(5, 2, rng=1, dtype=f64))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5),
                                 torch.nn.ReLU(), torch.nn.Linear(5, 2)).double()
    with torch.no_grad():
        for i in (0, 3):
            theirs[i].weight.copy_(torch.tensor(ours[i].weight.data.T))
            theirs[i].bias.copy_(torch.tensor(ours[i].bias.data))
    return ours, theirs


def torch_params(theirs):
    out = []
    for m in theirs:
        if hasattr(m, "weight"):
            w = m.weight.detach().numpy()
            out += [w.T if w.ndim == 2 else w, m.bias.detach().numpy()]
    return out


def perturb(ours, theirs, torch, rng):
    with torch.no_grad():
        for p, t in zip(ours.parameters(), [q for q in theirs.parameters()], strict=True):
            step = rng.normal(scale=0.1, size=p.data.shape)
            p.data += step
            t.add_(torch.tensor(step.T if step.ndim == 2 else step))


@pytest.mark.parametrize("decay", [None, 0.9, 0.999])
def test_averages_match_torch(torch, rng, decay):
    from torch.optim import swa_utils

    ours, theirs = models(torch)
    averaged = optim.AveragedModel(ours, decay=decay)
    if decay is None:
        t_averaged = swa_utils.AveragedModel(theirs, avg_fn=swa_utils.get_swa_avg_fn())
    else:
        t_averaged = swa_utils.AveragedModel(
            theirs, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(decay))
    for _ in range(30):
        perturb(ours, theirs, torch, rng)
        averaged.update_parameters(ours)
        t_averaged.update_parameters(theirs)
    assert int(averaged.n_averaged) == 30
    for a, b in zip(averaged.module.parameters(), torch_params(t_averaged.module), strict=True):
        np.testing.assert_allclose(a.data, b, rtol=1e-13, atol=1e-15)
    assert "n_averaged" in averaged.state_dict()


def test_update_bn_matches_torch(torch, rng):
    from torch.optim import swa_utils

    ours, theirs = models(torch)
    X = rng.normal(size=(50, 3))
    ours.eval()
    optim.update_bn(X, ours, batch_size=16)
    loader = [torch.tensor(X[i:i + 16]) for i in range(0, 50, 16)]
    swa_utils.update_bn(loader, theirs)
    bn, t_bn = ours[1], theirs[1]
    np.testing.assert_allclose(bn.running_mean, t_bn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, t_bn.running_var.numpy(), rtol=1e-12)
    assert bn.momentum == 0.1 and not ours.training  # put back


def test_swa_is_the_plain_mean(rng):
    layer = nn.Linear(2, 2, rng=0, dtype=np.float64)
    averaged = optim.AveragedModel(layer)
    seen = []
    for _ in range(5):
        layer.weight.data[...] = rng.normal(size=(2, 2))
        seen.append(layer.weight.data.copy())
        averaged.update_parameters(layer)
    np.testing.assert_allclose(averaged.module.weight.data, np.mean(seen, axis=0), rtol=1e-14)
    np.testing.assert_allclose(averaged(np.eye(2)), np.mean(seen, axis=0) + layer.bias.data)


def test_bad_arguments_are_named():
    with pytest.raises((TypeError, ValueError), match="AveragedModel: decay"):
        optim.AveragedModel(nn.Linear(2, 2), decay=1.5)
    averaged = optim.AveragedModel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="same count and shapes"):
        averaged.update_parameters(nn.Linear(2, 3))
