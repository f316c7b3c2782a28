"""Hessian-vector products, eigenvalues, trace and spectral density against PyTorch's
dense Hessian (``torch.autograd.functional.hessian``) in float64, for every layer type."""

from __future__ import annotations

import numpy as np
import pytest
from torch_mirror import dense_hessian

from trainlab import nn
from trainlab.diagnostics import curvature as C

F64 = np.float64


def _data(n=24, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d))


def _model(middle, seed=0, d=5, hidden=7, out=3):
    """Linear(d, hidden) -> middle layers -> Linear(hidden, out), float64."""
    layers = [nn.Linear(d, hidden, rng=seed, dtype=F64), *middle,
              nn.Linear(hidden, out, rng=seed + 1, dtype=F64)]
    return nn.Sequential(*layers)


def _batchnorm(train):
    bn = nn.BatchNorm(7, dtype=F64)
    rng = np.random.default_rng(3)
    bn.weight.data[:] = rng.uniform(0.5, 1.5, 7)
    bn.bias.data[:] = rng.normal(0, 0.3, 7)
    bn.running_mean[:] = rng.normal(0, 0.2, 7)
    bn.running_var[:] = rng.uniform(0.5, 2.0, 7)
    bn.train(train)
    return bn


def _layernorm():
    ln = nn.LayerNorm(7, dtype=F64)
    rng = np.random.default_rng(4)
    ln.weight.data[:] = rng.uniform(0.5, 1.5, 7)
    ln.bias.data[:] = rng.normal(0, 0.3, 7)
    return ln


CASES = {
    "sigmoid": lambda: [nn.Sigmoid()],
    "tanh": lambda: [nn.Tanh()],
    "relu": lambda: [nn.ReLU()],
    "leaky_relu": lambda: [nn.LeakyReLU(0.1)],
    "elu": lambda: [nn.ELU(0.7)],
    "selu": lambda: [nn.SELU()],
    "gelu": lambda: [nn.GELU()],
    "identity": lambda: [nn.Identity()],
    "softmax": lambda: [nn.Softmax()],
    "batchnorm_train": lambda: [_batchnorm(True), nn.Tanh()],
    "batchnorm_eval": lambda: [_batchnorm(False), nn.Tanh()],
    "layernorm": lambda: [_layernorm(), nn.GELU()],
    "dropout_eval": lambda: [nn.Tanh(), nn.Dropout(0.3, rng=0).eval()],
}


def _targets(loss_fn, n=24, out=3):
    rng = np.random.default_rng(1)
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        return rng.integers(0, out, n)
    if isinstance(loss_fn, nn.BCEWithLogitsLoss):
        return rng.integers(0, 2, n).astype(F64)
    return rng.standard_normal((n, out))


def _rel(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("case", sorted(CASES))
def test_hvp_and_eigenvalues_match_torch_dense_hessian(torch, case):
    model = _model(CASES[case]())
    loss_fn, X = nn.CrossEntropyLoss(), _data()
    y = _targets(loss_fn)
    H = dense_hessian(torch, model, loss_fn, X, y)
    n = H.shape[0]
    assert n > 50
    v = np.random.default_rng(2).standard_normal(n)
    hv = C.hessian_vector_product(model, loss_fn, X, y, v)
    assert _rel(hv, H @ v) < 1e-6
    exact = np.linalg.eigvalsh((H + H.T) / 2)
    top = C.hessian_eigenvalues(model, loss_fn, X, y, k=3)
    bottom = C.hessian_eigenvalues(model, loss_fn, X, y, k=2, which="smallest")
    scale = np.max(np.abs(exact))
    np.testing.assert_allclose(top, exact[::-1][:3], rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(bottom, exact[:2], rtol=0, atol=1e-6 * scale)


@pytest.mark.parametrize("loss_cls", [nn.MSELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss])
def test_every_loss_matches_torch(torch, loss_cls):
    loss_fn = loss_cls()
    out = 1 if loss_cls is nn.BCEWithLogitsLoss else 3
    model = _model([nn.Tanh()], seed=5, out=out)
    X = _data(seed=6)
    y = _targets(loss_fn, out=out)
    H = dense_hessian(torch, model, loss_fn, X, y)
    exact = np.linalg.eigvalsh((H + H.T) / 2)
    top = C.hessian_eigenvalues(model, loss_fn, X, y, k=2)
    np.testing.assert_allclose(top, exact[::-1][:2], rtol=1e-6)
    v = np.random.default_rng(7).standard_normal(H.shape[0])
    assert _rel(C.hessian_vector_product(model, loss_fn, X, y, v), H @ v) < 1e-6


def test_float32_model_is_evaluated_in_float64_and_left_untouched(torch):
    model64 = _model([nn.Tanh()], seed=8)
    model32 = _model([nn.Tanh()], seed=8).astype(np.float32)
    loss_fn, X = nn.CrossEntropyLoss(), _data(seed=9)
    y = _targets(loss_fn)
    before = [p.data.copy() for p in model32.parameters()]
    model64.load_state_dict({k: v.astype(F64) for k, v in model32.state_dict().items()})
    H = dense_hessian(torch, model64, loss_fn, X, y)
    top = C.hessian_eigenvalues(model32, loss_fn, X.astype(np.float32), y)
    np.testing.assert_allclose(top, [np.linalg.eigvalsh(H)[-1]], rtol=1e-6)
    assert all(np.array_equal(b, p.data) and p.data.dtype == np.float32
               for b, p in zip(before, model32.parameters(), strict=True))
    assert all(not p.grad.any() for p in model32.parameters())


def test_trace_by_hutchinson_is_unbiased_and_seeded(torch):
    model = _model([nn.GELU()], seed=10)
    loss_fn, X = nn.CrossEntropyLoss(), _data(seed=11)
    y = _targets(loss_fn)
    H = dense_hessian(torch, model, loss_fn, X, y)
    exact = float(np.trace(H))
    offdiag = float(np.sum(H ** 2) - np.sum(np.diag(H) ** 2))
    samples = 400
    estimate = C.hessian_trace(model, loss_fn, X, y, samples=samples, rng=0)
    # Var(zᵀHz) = 2·Σ_{i≠j} H_ij² per Rademacher sample: within 4 standard errors.
    assert abs(estimate - exact) < 4 * np.sqrt(2 * offdiag / samples)
    assert estimate == C.hessian_trace(model, loss_fn, X, y, samples=samples, rng=0)
    assert estimate != C.hessian_trace(model, loss_fn, X, y, samples=samples, rng=1)


def test_spectral_density_matches_the_dense_spectrum(torch):
    model = _model([nn.Tanh()], seed=12)
    loss_fn, X = nn.CrossEntropyLoss(), _data(seed=13)
    y = _targets(loss_fn)
    H = dense_hessian(torch, model, loss_fn, X, y)
    exact = np.linalg.eigvalsh(H)
    n = H.shape[0]
    sld = C.hessian_spectral_density(model, loss_fn, X, y, steps=n, samples=3, rng=0)
    np.testing.assert_allclose(sld.weights.sum(axis=1), 1.0, rtol=1e-10)
    # With as many steps as parameters the Ritz values are the eigenvalues.
    assert np.max(np.abs(sld.nodes.max(axis=1) - exact[-1])) < 1e-6 * np.max(np.abs(exact))
    assert np.max(np.abs(sld.nodes.min(axis=1) - exact[0])) < 1e-6 * np.max(np.abs(exact))
    # E[λ] = tr(H)/n and E[λ²] = tr(H²)/n, up to the Rademacher sampling.
    short = C.hessian_spectral_density(model, loss_fn, X, y, steps=20, samples=40, rng=1)
    assert short.moment(1) == pytest.approx(np.trace(H) / n, rel=0.2)
    assert short.moment(2) == pytest.approx(np.sum(H ** 2) / n, rel=0.2)
    grid = np.linspace(exact[0] - 1, exact[-1] + 1, 4001)
    assert np.trapezoid(short.density(grid, 0.05), grid) == pytest.approx(1.0, rel=1e-3)


def test_training_mode_dropout_and_bad_arguments_are_clear_errors():
    model = _model([nn.Dropout(0.5, rng=0)])
    X, y = _data(), _targets(nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="Dropout.*training mode.*model.eval"):
        C.hessian_eigenvalues(model, nn.CrossEntropyLoss(), X, y)
    dc = nn.Sequential(nn.DropConnect(5, 3, p=0.2, rng=0))
    with pytest.raises(ValueError, match="DropConnect"):
        C.hessian_trace(dc, nn.CrossEntropyLoss(), X, y, samples=1)
    model.eval()
    with pytest.raises(ValueError, match="which.*'largest' or 'smallest'.*'top'"):
        C.hessian_eigenvalues(model, nn.CrossEntropyLoss(), X, y, which="top")
    with pytest.raises(ValueError, match="k < n_params"):
        C.hessian_eigenvalues(model, nn.CrossEntropyLoss(), X, y, k=model.num_parameters())
    with pytest.raises(ValueError, match=r"v to be a real vector of shape \(66,\)"):
        C.hessian_vector_product(model, nn.CrossEntropyLoss(), X, y, np.ones(3))
    with pytest.raises(TypeError, match="loss_fn to be a trainlab.nn.Loss"):
        C.hessian_trace(model, lambda a, b: 0.0, X, y)
    with pytest.raises(ValueError, match="one target per row"):
        C.hessian_trace(model, nn.CrossEntropyLoss(), X, y[:3])


def test_products_at_a_trained_relu_point_match_torch(torch):
    """A ReLU MLP after 100 steps on digits has thousands of pre-activations near a kink;
    a difference step that crosses one is off by orders of magnitude. The products along
    random directions agree with PyTorch's exact ones to 1e-6."""
    from sklearn.datasets import load_digits
    from torch_mirror import flat, loss_of_flat

    from trainlab import optim
    from trainlab.diagnostics.curvature import hessian_vector_product

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float64)
    y = digits.target
    model = nn.Sequential(nn.Linear(64, 256, rng=0, dtype=np.float64), nn.ReLU(),
                          nn.Linear(256, 128, rng=1, dtype=np.float64), nn.ReLU(),
                          nn.Linear(128, 10, rng=2, dtype=np.float64))
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    for step in range(100):
        rows = slice(32 * step % 1760, 32 * step % 1760 + 32)
        loss_fn(model(X[rows]), y[rows])
        model.backward(loss_fn.backward())
        opt.step()
        opt.zero_grad()
    batch = slice(0, 64)
    f = loss_of_flat(torch, model, loss_fn, X[batch], y[batch])
    theta = torch.tensor(flat(model))
    rng = np.random.default_rng(0)
    for _ in range(8):
        v = rng.standard_normal(theta.numel())
        exact = torch.autograd.functional.hvp(f, theta, torch.tensor(v))[1].numpy()
        got = hessian_vector_product(model, loss_fn, X[batch], y[batch], v)
        assert np.linalg.norm(got - exact) <= 1e-6 * np.linalg.norm(exact)
