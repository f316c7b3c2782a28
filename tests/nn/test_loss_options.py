"""Loss options (weight, ignore_index, label_smoothing, pos_weight, reduction, L1, Huber)
and sample weights: values and gradients against torch in float64 and central differences."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import numerical_gradient
from trainlab import nn


def close(a, b, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                               rtol=rtol, atol=atol)


def torch_pair(torch, fn, pred, target, grad=None):
    pt = torch.tensor(pred, requires_grad=True)
    out = fn(pt, target)
    out.backward(None if grad is None else torch.tensor(grad))
    return out.detach().numpy(), pt.grad.numpy()


def ours_pair(loss, pred, target, grad=None):
    value = loss(pred, target)
    return value, loss.backward(grad) if grad is not None else loss.backward()


CE_CASES = [
    {},
    {"weight": [0.2, 1.0, 3.0, 0.5]},
    {"label_smoothing": 0.1},
    {"weight": [0.2, 1.0, 3.0, 0.5], "label_smoothing": 0.25},
    {"ignore_index": 2},
    {"ignore_index": 1, "weight": [0.2, 1.0, 3.0, 0.5], "label_smoothing": 0.05},
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", CE_CASES, ids=str)
def test_cross_entropy_matches_torch(torch, rng, options, reduction):
    pred = rng.normal(0, 2, size=(9, 4))
    target = rng.integers(0, 4, size=9)
    target[[1, 5]] = 2
    target[3] = 1
    t_options = {k: (torch.tensor(v, dtype=torch.float64) if k == "weight" else v)
                 for k, v in options.items()}
    grad = rng.normal(size=9) if reduction == "none" else None
    value, dpred = torch_pair(
        torch, lambda p, t: torch.nn.functional.cross_entropy(p, t, reduction=reduction,
                                                              **t_options),
        pred, torch.tensor(target), grad)
    loss = nn.CrossEntropyLoss(reduction=reduction, **options)
    ours, ours_grad = ours_pair(loss, pred, target, grad)
    close(ours, value)
    close(ours_grad, dpred)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [{}, {"pos_weight": 3.0}, {"weight": "rows"},
                                     {"weight": "rows", "pos_weight": 0.4}], ids=str)
@pytest.mark.parametrize("column", [False, True])
def test_bce_with_logits_matches_torch(torch, rng, options, reduction, column):
    n = 8
    pred = rng.normal(0, 3, size=(n, 1) if column else n)
    target = rng.integers(0, 2, size=pred.shape).astype(np.float64)
    options = dict(options)
    if options.get("weight") == "rows":
        options["weight"] = rng.uniform(0.1, 2.0, size=pred.shape)
    t_options = {("pos_weight" if k == "pos_weight" else k): torch.tensor(np.atleast_1d(v))
                 for k, v in options.items()}
    grad_shape = (n,)
    grad = rng.normal(size=grad_shape) if reduction == "none" else None
    value, dpred = torch_pair(
        torch, lambda p, t: torch.nn.functional.binary_cross_entropy_with_logits(
            p, t, reduction=reduction, **t_options),
        pred, torch.tensor(target), None if grad is None else grad.reshape(pred.shape))
    ours_options = dict(options)
    if "weight" in ours_options:
        ours_options["weight"] = ours_options["weight"].reshape(n)
    loss = nn.BCEWithLogitsLoss(reduction=reduction, **ours_options)
    ours, ours_grad = ours_pair(loss, pred, target, grad)
    close(np.reshape(ours, np.shape(value)), value)
    close(ours_grad, dpred)
    assert ours_grad.shape == pred.shape


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("ours_cls", "name", "kwargs"), [
    (nn.MSELoss, "mse_loss", {}), (nn.L1Loss, "l1_loss", {}),
    (nn.HuberLoss, "huber_loss", {}), (nn.HuberLoss, "huber_loss", {"delta": 0.3}),
])
def test_regression_losses_match_torch(torch, rng, ours_cls, name, kwargs, reduction):
    pred, target = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    target[0, 0] = pred[0, 0]  # an exact zero difference (L1: sign 0)
    value, dpred = torch_pair(
        torch, lambda p, t: getattr(torch.nn.functional, name)(p, t, reduction=reduction,
                                                               **kwargs),
        pred, torch.tensor(target))
    ours, ours_grad = ours_pair(ours_cls(reduction=reduction, **kwargs), pred, target)
    close(ours, value)
    close(ours_grad, dpred)


@pytest.mark.parametrize(("ours_cls", "name", "kwargs"), [
    (nn.MSELoss, "mse_loss", {}), (nn.L1Loss, "l1_loss", {}),
    (nn.HuberLoss, "huber_loss", {"delta": 0.5}),
])
def test_regression_none_is_the_mean_over_outputs(torch, rng, ours_cls, name, kwargs):
    pred, target = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    grad = rng.normal(size=6)
    value, dpred = torch_pair(
        torch, lambda p, t: getattr(torch.nn.functional, name)(p, t, reduction="none",
                                                               **kwargs).mean(dim=1),
        pred, torch.tensor(target), grad)
    ours, ours_grad = ours_pair(ours_cls(reduction="none", **kwargs), pred, target, grad)
    assert ours.shape == (6,)
    close(ours, value)
    close(ours_grad, dpred)


def test_default_options_keep_the_fused_numbers(rng):
    """The default options give bit for bit the numbers of the kernels."""
    pred = rng.normal(size=(6, 3)).astype(np.float32)
    labels = rng.integers(0, 3, size=6)
    value, exp_z, sum_exp = nn.losses.cross_entropy_forward(pred, labels)
    loss = nn.CrossEntropyLoss()
    assert loss(pred, labels) == value
    np.testing.assert_array_equal(loss.backward(),
                                  nn.losses.cross_entropy_backward(exp_z, sum_exp, labels))


@pytest.mark.parametrize("make", [
    lambda: nn.CrossEntropyLoss(weight=[1.0, 2.0, 0.5], label_smoothing=0.2),
    lambda: nn.CrossEntropyLoss(),
    lambda: nn.MSELoss(), lambda: nn.HuberLoss(delta=0.7), lambda: nn.BCEWithLogitsLoss(
        pos_weight=2.0),
])
def test_sample_weight_gradient_by_central_differences(rng, make):
    loss = make()
    if isinstance(loss, nn.CrossEntropyLoss):
        pred, target = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
    elif isinstance(loss, nn.BCEWithLogitsLoss):
        pred, target = rng.normal(size=5), rng.integers(0, 2, size=5).astype(float)
    else:
        pred, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    s = rng.uniform(0.1, 3.0, size=5)
    loss(pred, target, sample_weight=s)
    grad = loss.backward()
    num = numerical_gradient(lambda: loss(pred, target, sample_weight=s), pred)
    close(grad, num, rtol=1e-6, atol=1e-9)
    # equal weights are the plain mean
    plain = make()
    assert loss(pred, target, sample_weight=np.full(5, 2.5)) == pytest.approx(
        plain(pred, target), rel=1e-12)


def test_sample_weight_is_a_weighted_average(rng):
    pred, target = rng.normal(size=(4, 1)), rng.normal(size=4)
    s = np.array([1.0, 0.0, 2.0, 1.0])
    per = nn.MSELoss(reduction="none")(pred, target)
    assert nn.MSELoss()(pred, target, sample_weight=s) == pytest.approx((per * s).sum() / 4)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: nn.MSELoss(reduction="avg"), "reduction must be one of"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), "label_smoothing"),
    (lambda: nn.CrossEntropyLoss(weight=[1.0, -1.0]), "weight must hold finite numbers"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=[1.0, 2.0]), "pos_weight must be one number"),
    (lambda: nn.HuberLoss(delta=0), "delta"),
    (lambda: nn.CrossEntropyLoss(weight=[1.0, 2.0])(np.zeros((2, 3)), [0, 1]), "2 entries for 3"),
    (lambda: nn.MSELoss()(np.zeros((2, 1)), [0, 1], sample_weight=[1.0]), "sample_weight of shape"),
    (lambda: nn.MSELoss(reduction="none")(np.zeros((2, 1)), [0, 1], sample_weight=[1, 1]),
     "sample_weight needs reduction"),
])
def test_bad_options_are_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_backward_grad_only_with_none(rng):
    loss = nn.MSELoss()
    loss(np.zeros((2, 1)), [0.0, 1.0])
    with pytest.raises(TypeError, match="only with 'none'"):
        loss.backward(np.ones(2))
    loss = nn.L1Loss(reduction="none")
    loss(np.zeros((2, 1)), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"grad of shape \(2,\)"):
        loss.backward(np.ones(3))
