"""``per_example_grad_sq_norms`` of the layers that own parameters: each example's squared
gradient norm from one batched pass, against one backward pass per example and against
PyTorch's per-sample gradients (torch.func)."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn

N = 7
F64 = np.float64


def _one_at_a_time(layer, x, dy, before=None):
    """Σ_p ‖∂(dyᵢ·yᵢ)/∂p‖² for each row i, by a backward pass on row i alone."""
    out = []
    for i in range(len(x)):
        if before is not None:
            before()
        layer.zero_grad()
        layer.forward(x[i:i + 1])
        layer.backward(dy[i:i + 1])
        out.append(sum(float(np.sum(p.grad ** 2)) for p in layer.parameters()))
    return np.array(out)


def _batched(layer, x, dy, before=None):
    if before is not None:
        before()
    layer.forward(x)
    return layer.per_example_grad_sq_norms(dy)


def _bn_eval(rng, affine=True):
    layer = nn.BatchNorm(5, affine=affine, dtype=F64)
    layer.forward(rng.standard_normal((20, 5)) * 2 + 1)  # running statistics
    if affine:
        layer.weight.data[:] = rng.uniform(0.5, 2, 5)
        layer.bias.data[:] = rng.standard_normal(5)
    return layer.eval()


def _ln(rng, affine=True):
    layer = nn.LayerNorm(5, elementwise_affine=affine, dtype=F64)
    if affine:
        layer.weight.data[:] = rng.uniform(0.5, 2, 5)
    return layer


LAYERS = {
    "linear": lambda rng: nn.Linear(5, 3, rng=1, dtype=F64),
    "linear-no-bias": lambda rng: nn.Linear(5, 3, bias=False, rng=1, dtype=F64),
    "dropconnect-eval": lambda rng: nn.DropConnect(5, 3, p=0.4, rng=2, dtype=F64).eval(),
    "batchnorm-eval": _bn_eval,
    "batchnorm-eval-no-affine": lambda rng: _bn_eval(rng, affine=False),
    "layernorm": _ln,
    "layernorm-no-affine": lambda rng: _ln(rng, affine=False),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_batched_norms_equal_one_backward_per_example(name, rng):
    layer = LAYERS[name](rng)
    x = rng.standard_normal((N, 5))
    dy = rng.standard_normal((N, 3 if "linear" in name or "dropconnect" in name else 5))
    expected = _one_at_a_time(layer, x, dy)
    got = _batched(layer, x, dy)
    assert got.shape == (N,) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)
    if not layer.parameters():
        assert not got.any()


def test_dropconnect_with_its_mask_in_training(rng):
    """In training a fixed mask (a freshly seeded generator before each forward) drops
    weights: Σ_jk x_ij²·m_jk·dy_ik²/(1−p)² + ‖dyᵢ‖²."""
    layer = nn.DropConnect(5, 3, p=0.4, rng=2, dtype=F64)
    x, dy = rng.standard_normal((N, 5)), rng.standard_normal((N, 3))

    def reseed():
        layer.rng = np.random.default_rng(11)

    expected = _one_at_a_time(layer, x, dy, reseed)
    got = _batched(layer, x, dy, reseed)
    assert layer.mask is not None and not layer.mask.all()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_batchnorm_with_batch_statistics_has_no_per_example_norm(rng):
    layer = nn.BatchNorm(5, dtype=F64)  # training mode: every x̂ depends on every row
    layer.forward(rng.standard_normal((N, 5)))
    assert layer.per_example_grad_sq_norms(rng.standard_normal((N, 5))) is None
    stats_free = nn.BatchNorm(5, track_running_stats=False, dtype=F64).eval()
    stats_free.forward(rng.standard_normal((N, 5)))
    assert stats_free.per_example_grad_sq_norms(rng.standard_normal((N, 5))) is None


def test_float32_layer_gives_float64_norms(rng):
    layer = nn.Linear(5, 3, rng=1)
    x = rng.standard_normal((N, 5)).astype(np.float32)
    dy = rng.standard_normal((N, 3)).astype(np.float32)
    got = _batched(layer, x, dy)
    expected = _batched(layer.astype(F64), x.astype(F64), dy.astype(F64))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["linear", "layernorm"])
def test_norms_match_torch_per_sample_gradients(name, rng, torch):
    layer = LAYERS[name](rng)
    x = rng.standard_normal((N, 5))
    width = 3 if name == "linear" else 5
    dy = rng.standard_normal((N, width))
    if name == "linear":
        module = torch.nn.Linear(5, 3)
        module.weight.data = torch.tensor(layer.weight.data.T.copy())
        module.bias.data = torch.tensor(layer.bias.data.copy())
    else:
        module = torch.nn.LayerNorm(5, eps=layer.eps)
        module.weight.data = torch.tensor(layer.weight.data.copy())
        module.bias.data = torch.tensor(layer.bias.data.copy())
    params = {k: v.detach() for k, v in module.named_parameters()}

    def row_loss(p, xi, gi):  # ℓᵢ = dyᵢ·yᵢ, so ∂ℓᵢ/∂yᵢ = dyᵢ
        return (torch.func.functional_call(module, p, (xi[None],))[0] * gi).sum()

    grads = torch.func.vmap(torch.func.grad(row_loss), in_dims=(None, 0, 0))(
        params, torch.tensor(x), torch.tensor(dy))
    expected = sum((g.reshape(N, -1) ** 2).sum(dim=1) for g in grads.values()).numpy()
    np.testing.assert_allclose(_batched(layer, x, dy), expected, rtol=1e-12)


def test_before_forward_and_bad_shapes_are_clear_errors(rng):
    layer = nn.Linear(5, 3, dtype=F64)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.per_example_grad_sq_norms(np.ones((N, 3)))
    layer.forward(rng.standard_normal((N, 5)))
    with pytest.raises(ValueError, match=r"expected a gradient of shape \(7, 3\)"):
        layer.per_example_grad_sq_norms(np.ones((N, 4)))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.LayerNorm(5).per_example_grad_sq_norms(np.ones((N, 5)))
