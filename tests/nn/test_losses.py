"""MSELoss, BCEWithLogitsLoss, CrossEntropyLoss: values and gradients against torch and
central differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gradcheck import numerical_gradient
from trainlab import nn

RTOL = 1e-7
ATOL = 1e-12


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def torch_value_and_grad(torch, fn, pred, target):
    """Loss value and d(loss)/d(pred) from a torch.nn.functional loss."""
    pt = torch.tensor(pred, requires_grad=True)
    loss = fn(pt, target)
    loss.backward()
    return loss.item(), pt.grad.numpy()


def check_numerical(loss_fn, pred, target):
    value = loss_fn(pred, target)
    grad = loss_fn.backward()
    assert grad.shape == pred.shape and grad.dtype == pred.dtype
    assert isinstance(value, float)
    num = numerical_gradient(lambda: loss_fn(pred, target), pred)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


# -- central differences -----------------------------------------------------------------------


def test_mse_numerical_gradient(rng):
    check_numerical(nn.MSELoss(), rng.normal(size=(5, 3)), rng.normal(size=(5, 3)))
    check_numerical(nn.MSELoss(), rng.normal(size=(4, 1)), rng.normal(size=4))
    check_numerical(nn.MSELoss(), rng.normal(size=4), rng.normal(size=4))


def test_bce_numerical_gradient(rng):
    target = rng.integers(0, 2, size=6).astype(np.float64)
    check_numerical(nn.BCEWithLogitsLoss(), rng.normal(0, 3, size=6), target)
    check_numerical(nn.BCEWithLogitsLoss(), rng.normal(0, 3, size=(6, 1)), target)
    check_numerical(nn.BCEWithLogitsLoss(), rng.normal(size=6), rng.uniform(size=6))  # soft labels


def test_cross_entropy_numerical_gradient(rng):
    check_numerical(
        nn.CrossEntropyLoss(), rng.normal(0, 2, size=(5, 4)), rng.integers(0, 4, size=5)
    )


# -- the PyTorch oracle --------------------------------------------------------------------------


def test_mse_matches_torch(torch, rng):
    F = torch.nn.functional
    pred, target = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    loss_fn = nn.MSELoss()
    value, grad = torch_value_and_grad(torch, F.mse_loss, pred, torch.tensor(target))
    close(loss_fn(pred, target), value)
    close(loss_fn.backward(), grad)


def test_mse_with_a_flat_target_for_one_output_matches_torch(torch, rng):
    F = torch.nn.functional
    pred, target = rng.normal(size=(6, 1)), rng.normal(size=6)
    loss_fn = nn.MSELoss()
    # torch would broadcast (6, 1) against (6,) to (6, 6); the meaning is the (6, 1) target
    value, grad = torch_value_and_grad(torch, F.mse_loss, pred, torch.tensor(target[:, None]))
    close(loss_fn(pred, target), value)
    close(loss_fn.backward(), grad)
    value, grad = torch_value_and_grad(torch, F.mse_loss, pred[:, 0], torch.tensor(target))
    close(loss_fn(pred[:, 0], target), value)
    close(loss_fn.backward(), grad)


@pytest.mark.parametrize("shape", [(8,), (8, 1)])
def test_bce_with_logits_matches_torch(torch, rng, shape):
    F = torch.nn.functional
    pred = rng.normal(0, 4, size=shape)
    target = rng.integers(0, 2, size=shape).astype(np.float64)
    loss_fn = nn.BCEWithLogitsLoss()
    value, grad = torch_value_and_grad(
        torch, F.binary_cross_entropy_with_logits, pred, torch.tensor(target)
    )
    close(loss_fn(pred, target.ravel()), value)
    close(loss_fn.backward(), grad)
    assert loss_fn.backward().shape == shape


def test_cross_entropy_matches_torch(torch, rng):
    F = torch.nn.functional
    pred, labels = rng.normal(0, 3, size=(9, 5)), rng.integers(0, 5, size=9)
    loss_fn = nn.CrossEntropyLoss()
    value, grad = torch_value_and_grad(torch, F.cross_entropy, pred, torch.tensor(labels))
    close(loss_fn(pred, labels), value)
    close(loss_fn.backward(), grad)
    close(loss_fn.forward(pred, labels.astype(np.float64)), value)  # whole-number floats
    assert loss_fn.last_value == loss_fn(pred, labels)


def test_extreme_logits_match_torch_without_warnings(torch):
    F = torch.nn.functional
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [0.0, 0.0, -1000.0]])
    labels = np.array([1, 2, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bce, ce = nn.BCEWithLogitsLoss(), nn.CrossEntropyLoss()
        bce_value, bce_grad = bce(z, t), bce.backward()
        ce_value, ce_grad = ce(logits, labels), ce.backward()
    for value, grad in ((bce_value, bce_grad), (ce_value, ce_grad)):
        assert np.isfinite(value) and np.isfinite(grad).all()
    bce = F.binary_cross_entropy_with_logits
    close(bce_value, torch_value_and_grad(torch, bce, z, torch.tensor(t))[0])
    close(bce_grad, torch_value_and_grad(torch, bce, z, torch.tensor(t))[1])
    close(bce_value, (2000 + np.log(2)) / 5)
    ref_value, ref_grad = torch_value_and_grad(torch, F.cross_entropy, logits, torch.tensor(labels))
    close(ce_value, ref_value)
    close(ce_grad, ref_grad)


def test_extreme_logits_in_float32(torch):
    z = np.array([1000.0, -1000.0, 3.0], dtype=np.float32)
    logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bce, ce = nn.BCEWithLogitsLoss(), nn.CrossEntropyLoss()
        assert np.isfinite(bce(z, np.array([0.0, 1.0, 1.0]))) and np.isfinite(ce(logits, [0, 0]))
        assert np.isfinite(bce.backward()).all() and np.isfinite(ce.backward()).all()
    assert ce.backward().dtype == np.float32 and bce.backward().dtype == np.float32


def test_losses_match_torch_in_float32(torch, rng):
    F = torch.nn.functional
    cases = [
        (nn.MSELoss(), F.mse_loss, rng.normal(size=(16, 3)), rng.normal(size=(16, 3))),
        (
            nn.BCEWithLogitsLoss(),
            F.binary_cross_entropy_with_logits,
            rng.normal(0, 3, size=16),
            rng.integers(0, 2, size=16).astype(np.float64),
        ),
        (
            nn.CrossEntropyLoss(),
            F.cross_entropy,
            rng.normal(size=(16, 4)),
            rng.integers(0, 4, size=16),
        ),
    ]
    for loss_fn, fn, pred, target in cases:
        pred = pred.astype(np.float32)
        t = torch.tensor(target.astype(np.float32) if target.dtype.kind == "f" else target)
        value, grad = torch_value_and_grad(torch, fn, pred, t)
        close(loss_fn(pred, target), value, rtol=1e-5, atol=1e-7)
        dpred = loss_fn.backward()
        assert dpred.dtype == np.float32, type(loss_fn).__name__
        close(dpred, grad, rtol=1e-5, atol=1e-7)


def test_backward_may_be_called_twice(rng):
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(rng.normal(size=(3, 4)), [0, 1, 3])
    np.testing.assert_array_equal(loss_fn.backward(), loss_fn.backward())


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", [nn.MSELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss])
def test_backward_before_call(loss_cls):
    with pytest.raises(RuntimeError, match=f"{loss_cls.__name__}.backward was called before"):
        loss_cls().backward()


def test_failed_call_leaves_nothing_for_backward(rng):
    loss_fn = nn.MSELoss()
    loss_fn(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))
    with pytest.raises(ValueError):
        loss_fn(rng.normal(size=(3, 2)), rng.normal(size=(4, 2)))
    with pytest.raises(RuntimeError):
        loss_fn.backward()


def test_mse_errors():
    mse = nn.MSELoss()
    with pytest.raises(
        ValueError, match=r"MSELoss: expected target of shape \(4, 2\).*Received shape \(4,\)"
    ):
        mse(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="Received shape"):
        mse(np.zeros(4), np.zeros((4, 1)))  # would broadcast to (4, 4) in torch
    with pytest.raises(ValueError, match="Received shape"):
        mse(np.zeros((4, 1)), np.zeros(5))
    with pytest.raises(ValueError, match=r"pred of shape \(batch, k\)"):
        mse(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="floating-point.*int64"):
        mse(np.zeros((2, 2), dtype=np.int64), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-empty"):
        mse(np.zeros((0, 1)), np.zeros((0, 1)))
    with pytest.raises(TypeError, match="numeric target"):
        mse(np.zeros(2), np.array(["a", "b"]))


def test_bce_errors():
    bce = nn.BCEWithLogitsLoss()
    with pytest.raises(
        ValueError,
        match=r"BCEWithLogitsLoss: expected logits of shape \(batch,\) or \(batch, 1\)",
    ):
        bce(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(
        ValueError, match=r"target of shape \(4,\) or \(4, 1\).*Received shape \(3,\)"
    ):
        bce(np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        bce(np.zeros(2), np.array([-1.0, 1.0]))
    with pytest.raises(ValueError, match="Received shape"):
        bce(np.zeros((2, 1, 1)), np.zeros(2))
    with pytest.raises(TypeError, match="floating-point"):
        bce(np.array([1, 0]), np.array([1.0, 0.0]))


def test_cross_entropy_errors():
    ce = nn.CrossEntropyLoss()
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\].*Received label 4"):
        ce(z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="Received label -1"):
        ce(z, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match="non-integer label: 1.5"):
        ce(z, np.array([0.0, 1.5, 1.0]))
    with pytest.raises(ValueError, match=r"target of shape \(3,\).*Received shape \(2,\)"):
        ce(z, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"Received shape \(3, 1\)"):
        ce(z, np.array([[0], [1], [2]]))
    with pytest.raises(ValueError, match=r"pred of shape \(batch, classes\)"):
        ce(np.zeros(3), np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="floating-point"):
        ce(np.zeros((3, 4), dtype=np.int32), np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="integer class labels"):
        ce(z, np.array([True, False, True]))
    with pytest.raises(ValueError, match="target contains NaN"):
        ce(z, np.array([0.0, np.nan, 1.0]))


def test_non_finite_values_give_a_non_finite_loss_as_in_torch(torch):
    """No check and no error: NaN or ±inf in pred or target gives torch's nan (or inf) loss,
    and backward returns the gradient with the NaN in it."""
    F = torch.nn.functional
    t = torch.from_numpy
    cases = [
        (nn.MSELoss(), np.array([[np.nan], [0.0]]), np.zeros((2, 1)), F.mse_loss),
        (nn.MSELoss(), np.zeros((2, 1)), np.array([[np.inf], [0.0]]), F.mse_loss),
        (nn.BCEWithLogitsLoss(), np.array([np.nan, 0.0]), np.zeros(2),
         F.binary_cross_entropy_with_logits),
        (nn.BCEWithLogitsLoss(), np.zeros(2), np.array([np.nan, 0.0]),
         F.binary_cross_entropy_with_logits),
        (nn.CrossEntropyLoss(), np.array([[np.inf, 0.0], [0.0, 1.0]]), np.array([0, 1]),
         F.cross_entropy),
        (nn.CrossEntropyLoss(), np.array([[np.nan, 0.0], [0.0, 1.0]]), np.array([1, 1]),
         F.cross_entropy),
    ]
    for loss, pred, target, ref in cases:
        with np.errstate(all="ignore"):
            value = loss(pred, target)
            grad = loss.backward()
        expected = float(ref(t(pred), t(target)))
        assert not np.isfinite(value)
        np.testing.assert_equal(value, expected)  # nan against nan, inf against inf
        assert grad.shape == pred.shape and not np.isfinite(grad).all()
