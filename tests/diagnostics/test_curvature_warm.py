"""The instrument's cheap estimates: forward-difference products against PyTorch's exact
Hessian-vector products, the Ritz pairs and the deflated trace of a short Lanczos run
against a dense matrix, and the Objective's reload against a fresh copy."""

from __future__ import annotations

import numpy as np
import pytest
from torch_mirror import flat, loss_of_flat

from trainlab import nn
from trainlab.diagnostics.curvature import warm
from trainlab.diagnostics.curvature.hessian import lanczos_basis, rademacher, step_size
from trainlab.diagnostics.curvature.objective import Objective

F64 = np.float64


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(4, 16, rng=seed, dtype=F64), nn.Tanh(),
                          nn.LayerNorm(16, dtype=F64), nn.Linear(16, 3, rng=seed + 1, dtype=F64))
    X = rng.standard_normal((24, 4))
    y = rng.integers(0, 3, 24)
    return model, nn.CrossEntropyLoss(), X, y


def test_forward_difference_products_match_torch(torch):
    model, loss_fn, X, y = _setup()
    objective = Objective(model, loss_fn, X, y, "test")
    f = loss_of_flat(torch, model, loss_fn, X, y)
    theta = torch.tensor(flat(model))
    base = objective.gradient()
    h = step_size(objective.theta0)
    rng = np.random.default_rng(1)
    for scale in (1.0, 1e-3, 50.0):
        v = scale * rng.standard_normal(objective.n_params)
        exact = torch.autograd.functional.hvp(f, theta, torch.tensor(v))[1].numpy()
        got = warm.forward_hvp(objective, v, base, h)
        assert np.linalg.norm(got - exact) <= 1e-6 * np.linalg.norm(exact)
        unit = v / np.linalg.norm(v)
        np.testing.assert_allclose(warm.forward_hvp(objective, unit, base, h, norm=1.0),
                                   got / np.linalg.norm(v), rtol=1e-12, atol=1e-15)
    assert not warm.forward_hvp(objective, np.zeros(objective.n_params), base, h).any()


def product(A):
    """The (q, out) product of the instrument's Lanczos runs for a dense matrix A."""
    return lambda q, out: np.matmul(A, q, out=out)


def _symmetric(n, rng):
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    values = np.concatenate([[-3.0], np.linspace(-0.5, 1.0, n - 2), [9.0]])
    return (Q * values) @ Q.T, values


def test_ritz_pairs_bound_and_reach_both_ends():
    rng = np.random.default_rng(2)
    A, values = _symmetric(40, rng)
    short = warm.lanczos_run(product(A), rng.standard_normal(40), 6)
    low, low_vec, top, top_vec = short.extremes()
    assert values[0] <= low and top <= values[-1]  # Ritz values lie inside the spectrum
    assert np.linalg.norm(low_vec) == pytest.approx(1)
    assert np.linalg.norm(top_vec) == pytest.approx(1)
    full = warm.lanczos_run(product(A), rng.standard_normal(40), 40)
    low, low_vec, top, top_vec = full.extremes()
    assert low == pytest.approx(values[0], rel=1e-10) and top == pytest.approx(9.0, rel=1e-10)
    np.testing.assert_allclose(A @ top_vec, 9.0 * top_vec, atol=1e-8)
    # warm: from the sum of the two eigenvectors both ends are exact after two steps
    start = warm.joint_start(top_vec, low_vec)
    low2, _, top2, _ = warm.lanczos_run(product(A), start, 2).extremes()
    assert low2 == pytest.approx(values[0], rel=1e-8) and top2 == pytest.approx(9.0, rel=1e-8)


def test_three_term_recurrence_matches_full_reorthogonalisation_over_few_steps():
    rng = np.random.default_rng(3)
    A, _ = _symmetric(30, rng)
    v0 = rng.standard_normal(30)
    basis, alpha, beta = lanczos_basis(product(A), v0, 8, passes=0)
    basis2, alpha2, beta2 = lanczos_basis(product(A), v0, 8)
    np.testing.assert_allclose(alpha, alpha2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(beta, beta2, rtol=1e-10)
    np.testing.assert_allclose(basis @ basis.T, np.eye(8), atol=1e-8)  # lost only slowly
    assert basis.shape == (8, 30)


def test_deflated_trace_is_exact_on_the_whole_space_and_unbiased():
    rng = np.random.default_rng(4)
    A, values = _symmetric(30, rng)

    matvec = product(A)
    whole = warm.Krylov(*lanczos_basis(matvec, rng.standard_normal(30), 30))  # orthonormal
    assert whole.deflated_trace(matvec, rademacher(rng, 30)) == pytest.approx(values.sum(),
                                                                             abs=1e-9)
    short = warm.lanczos_run(matvec, rng.standard_normal(30), 5)
    samples = np.array([short.deflated_trace(matvec, rademacher(rng, 30))
                        for _ in range(4000)])
    plain = np.array([z @ A @ z for z in (rademacher(rng, 30) for _ in range(4000))])
    error = 4 * samples.std() / np.sqrt(samples.size)
    assert abs(samples.mean() - values.sum()) < error
    assert samples.std() < plain.std()  # the run took the outlying eigenvalues away


def test_reload_equals_a_fresh_copy():
    rng = np.random.default_rng(5)
    model = nn.Sequential(nn.Linear(4, 8, rng=1), nn.BatchNorm(8), nn.ReLU(),
                          nn.Dropout(0.5, rng=2), nn.Linear(8, 3, rng=3))
    X, y = rng.standard_normal((16, 4)).astype(np.float32), rng.integers(0, 3, 16)
    objective = Objective(model, nn.CrossEntropyLoss(), X, y, "test", dropout_eval=True)
    model.forward(X * 3 + 1)  # new running statistics
    for p in model.parameters():
        p.data += 0.1 * rng.standard_normal(p.shape).astype(np.float32)
    model.eval()
    assert objective.reload(model)
    fresh = Objective(model, nn.CrossEntropyLoss(), X, y, "test", dropout_eval=True)
    np.testing.assert_array_equal(objective.theta0, fresh.theta0)
    np.testing.assert_array_equal(objective.gradient(), fresh.gradient())
    assert objective.loss() == fresh.loss()
    model.train()
    assert objective.reload(model)
    assert objective.model[1].training and not objective.model[3].training  # dropout_eval
    np.testing.assert_array_equal(objective.gradient(), Objective(
        model, nn.CrossEntropyLoss(), X, y, "test", dropout_eval=True).gradient())
    other = nn.Sequential(nn.Linear(4, 8, rng=1), nn.ReLU(), nn.Linear(8, 3, rng=3))
    theta = objective.theta0.copy()
    assert not objective.reload(other)
    np.testing.assert_array_equal(objective.theta0, theta)
    strict = Objective(model.eval(), nn.CrossEntropyLoss(), X, y, "test")
    with pytest.raises(ValueError, match="Dropout"):
        strict.reload(model.train())


def test_in_place_forms_give_the_same_numbers_and_a_short_workspace_is_refused():
    """The instrument's allocation-free forms (products into ``out``, the basis in ``work``,
    the Ritz vectors into ``out``) give bit for bit what the allocating forms give."""
    model, loss_fn, X, y = _setup(6)
    objective = Objective(model, loss_fn, X, y, "test")
    base = objective.gradient()
    h = step_size(objective.theta0)
    v = np.random.default_rng(7).standard_normal(objective.n_params)
    out = np.empty(objective.n_params)
    assert warm.forward_hvp(objective, v, base, h, out=out) is out
    np.testing.assert_array_equal(out, warm.forward_hvp(objective, v, base, h))

    def matvec(q, out):
        return warm.forward_hvp(objective, q, base, h, norm=1.0, out=out)

    work = np.empty((6, objective.n_params))
    fresh, kept = warm.lanczos_run(matvec, v, 4), warm.lanczos_run(matvec, v, 4, work)
    np.testing.assert_array_equal(fresh.alpha, kept.alpha)
    np.testing.assert_array_equal(fresh.beta, kept.beta)
    pair = np.empty((2, objective.n_params))
    low, low_vec, top, top_vec = kept.extremes(out=pair)
    low2, low_vec2, top2, top_vec2 = fresh.extremes()
    assert (low, top) == (low2, top2)
    np.testing.assert_array_equal(pair, np.stack([top_vec2, low_vec2]))
    start = np.empty(objective.n_params)
    np.testing.assert_array_equal(warm.joint_start(top_vec, low_vec, out=start),
                                  warm.joint_start(top_vec, low_vec))
    with pytest.raises(ValueError, match=r"lanczos_basis: expected work .* at least \(5, "):
        warm.lanczos_run(matvec, v, 4, np.empty((4, objective.n_params)))
