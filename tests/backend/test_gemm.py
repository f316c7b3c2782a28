"""GEMM providers (``trainlab.backend.gemm``): the default install's choice, the override,
MKL's products against NumPy's and torch's, and a training step on each provider."""

from __future__ import annotations

import numpy as np
import pytest

from backends import needs_numba
from trainlab import backend as tb
from trainlab import nn, optim
from trainlab.backend import gemm
from trainlab.backend.compiled import NumbaBackend

needs_mkl = pytest.mark.skipif(not gemm.MklGemm.is_available(), reason="MKL is not installed")


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(gemm.GEMM_ENV, raising=False)


def test_default_install_uses_compiled_kernels_and_the_best_provider(no_env):
    """Numba is a dependency: the default backend is the compiled one, and its products
    run on MKL exactly when the CPU is Intel's and the mkl wheel loads."""
    chosen = tb.get(None)
    assert isinstance(chosen, NumbaBackend)
    best = "mkl" if gemm.intel_cpu() and gemm.MklGemm.is_available() else "numpy"
    assert chosen.gemm == best == gemm.best_available()
    assert tb.describe() == f"numba (GEMM: {best})"


def test_reference_backend_always_runs_numpy_products(monkeypatch):
    monkeypatch.setenv(gemm.GEMM_ENV, "mkl" if gemm.MklGemm.is_available() else "numpy")
    assert tb.get("numpy").gemm == "numpy"


@needs_numba
def test_environment_variable_overrides_the_choice(monkeypatch):
    monkeypatch.setenv(gemm.GEMM_ENV, " NumPy ")
    assert tb.get(None).gemm == "numpy" and tb.get("numba").gemm == "numpy"
    monkeypatch.setenv(gemm.GEMM_ENV, "blis")
    with pytest.raises(ValueError, match=r"TRAINLAB_GEMM: expected 'auto' or one of "
                                         r"\['numpy', 'mkl'\]. Received: ' ?blis ?'"):
        tb.get(None)
    assert NumbaBackend(gemm="numpy").gemm == "numpy"  # an explicit choice ignores the variable


@needs_numba
def test_unavailable_mkl_is_a_clear_error_and_auto_falls_back(monkeypatch, no_env):
    monkeypatch.setattr(gemm.MklGemm, "is_available", classmethod(lambda cls: False))
    with pytest.raises(ValueError, match=r"gemm: 'mkl' is not available here .*'numpy'"):
        NumbaBackend(gemm="mkl")
    assert NumbaBackend().gemm == "numpy"


def test_rule_needs_an_intel_cpu(monkeypatch):
    monkeypatch.setattr(gemm, "intel_cpu", lambda: False)
    assert gemm.best_available() == "numpy"
    monkeypatch.setattr(gemm, "intel_cpu", lambda: True)
    assert gemm.best_available() == ("mkl" if gemm.MklGemm.is_available() else "numpy")


def test_numpy_provider_is_np_matmul(rng):
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 3))
    p = gemm.provider("numpy")
    np.testing.assert_array_equal(p.matmul(a, b), a @ b)
    out = np.ones((5, 3))
    p.gemm(a, b, out, accumulate=True)
    np.testing.assert_array_equal(out, 1 + a @ b)


# -- MKL ----------------------------------------------------------------------------------------


def _layouts(rng, m, k, n, dtype):
    """(a, b) pairs of every layout the provider passes without copying: row-major and
    transposed views."""
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    at = np.ascontiguousarray(a.T).T  # column-major (m, k)
    bt = np.ascontiguousarray(b.T).T
    return [(a, b), (at, b), (a, bt), (at, bt)]


@needs_mkl
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-6), (np.float64, 1e-14)])
def test_mkl_products_match_numpy(rng, dtype, rtol):
    mkl = gemm.provider("mkl")
    for a, b in _layouts(rng, 96, 256, 200, dtype):
        assert mkl.takes(a, b)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        got = mkl.matmul(a, b)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref, rtol=0, atol=rtol * np.abs(ref).max() * 10)
        bias = rng.standard_normal(200).astype(dtype)
        out = np.empty_like(got)
        out[...] = bias
        mkl.gemm(a, b, out, accumulate=True)
        np.testing.assert_allclose(out, ref + bias, rtol=0, atol=rtol * np.abs(ref).max() * 10)
        again = np.empty_like(got)
        again[...] = bias
        mkl.gemm(a, b, again, accumulate=True)
        np.testing.assert_array_equal(again, out)  # the same inputs, the same bits


@needs_mkl
def test_mkl_leaves_what_it_does_not_take_to_numpy(rng):
    mkl = gemm.provider("mkl")
    small = rng.standard_normal((32, 64)), rng.standard_normal((64, 128))
    strided = rng.standard_normal((64, 200))[:, ::2], rng.standard_normal((100, 64))
    mixed = rng.standard_normal((64, 64)).astype(np.float32), rng.standard_normal((64, 64))
    for a, b in (small, strided, mixed):
        assert not mkl.takes(a, b)
        np.testing.assert_array_equal(mkl.matmul(a, b, np.empty((a.shape[0], b.shape[1]))), a @ b)


@needs_mkl
def test_mkl_linear_against_torch(torch, rng):
    """Linear's forward (bias inside the product) and backward (the weight gradient
    accumulated in place) on MKL, float64, against torch.nn.functional.linear."""
    layer = nn.Linear(256, 200, rng=0, dtype=np.float64).use_backend(NumbaBackend(gemm="mkl"))
    x = rng.standard_normal((96, 256))
    dy = rng.standard_normal((96, 200))
    assert gemm.provider("mkl").takes(x, layer.weight.data) and gemm.provider("mkl").takes(x.T, dy)
    layer.weight.grad[...] = 0.5  # an accumulated gradient: the new one adds to it
    y = layer(x)
    dx = layer.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.weight.data.T.copy(), requires_grad=True)
    bt = torch.tensor(layer.bias.data, requires_grad=True)
    yt = torch.nn.functional.linear(xt, wt, bt)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, 0.5 + wt.grad.numpy().T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), rtol=1e-12, atol=1e-12)


def _train(backend, steps=4):
    """A few Adam steps of 784-256-256-10 on a batch of 128 (the first two layers' products
    are large enough for MKL to take); the parameters after them."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    model = nn.Sequential(nn.Linear(784, 256, rng=1), nn.ReLU(), nn.Linear(256, 256, rng=2),
                          nn.ReLU(), nn.Linear(256, 10, rng=3))
    model.use_backend(backend)
    opt = optim.Adam(model.parameters(), lr=1e-3, backend=backend)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        loss_fn(model(x), y)
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()
        opt.zero_grad()
    return [p.data.copy() for p in model.parameters()]


@needs_numba
def test_compiled_backend_on_numpy_products_is_the_reference_bit_for_bit():
    for a, b in zip(_train(NumbaBackend(gemm="numpy")), _train("numpy"), strict=True):
        np.testing.assert_array_equal(a, b)


@needs_mkl
@needs_numba
def test_training_on_mkl_is_deterministic_and_close_to_the_reference():
    first, second = _train(NumbaBackend(gemm="mkl")), _train(NumbaBackend(gemm="mkl"))
    reference = _train("numpy")
    for a, b, ref in zip(first, second, reference, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, ref, rtol=0, atol=2e-5)


@needs_mkl
@needs_numba
def test_resume_on_mkl_is_exact(tmp_path):
    """Two epochs, a checkpoint, two more from it: the same parameters, bit for bit, as
    four epochs straight, with the products on MKL (784-256-10, batch 128)."""
    from trainlab.models import MLPConfig, build_mlp
    from trainlab.train import ModelCheckpoint, Trainer, restore_checkpoint

    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 784)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    on_mkl = NumbaBackend(gemm="mkl")

    def trainer(seed, *callbacks):
        model = build_mlp(MLPConfig(784, (256,), 10, dropout=0.1), rng=seed).use_backend(on_mkl)
        opt = optim.Adam(model.parameters(), lr=1e-3, backend=on_mkl)
        return Trainer(model, nn.CrossEntropyLoss(), opt, callbacks=list(callbacks), rng=seed,
                       verbose=0)

    assert gemm.provider("mkl").takes(X[:128], np.zeros((784, 256), np.float32))
    straight = trainer(0)
    straight.fit(X, y, epochs=4, batch_size=128)
    path = tmp_path / "c.safetensors"
    trainer(0, ModelCheckpoint(path)).fit(X, y, epochs=2, batch_size=128)
    resumed = trainer(7)
    restore_checkpoint(path, resumed)
    resumed.fit(X, y, epochs=4, batch_size=128)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


@needs_mkl
@needs_numba
@pytest.mark.parametrize("first", ["numpy", "mkl"])
def test_resumed_run_continues_on_the_provider_it_began_on(tmp_path, monkeypatch, first):
    """A run started on one provider and resumed where the default is the other one
    continues on the first: its metrics.csv is the uninterrupted run's, byte for byte."""
    from trainlab.recipe import from_flat
    from trainlab.runs.run import Run

    other = "mkl" if first == "numpy" else "numpy"
    settings = {"data": "digits", "hidden": [512, 512], "batch_size": 128, "seed": 3,
                "schedule": "none"}

    def run(name: str, epochs: int, gemm_env: str) -> Run:
        monkeypatch.setenv(gemm.GEMM_ENV, gemm_env)
        session = Run.create(from_flat({**settings, "epochs": epochs}), out=tmp_path, name=name)
        session.train()
        return session

    straight = run("straight", 3, first)
    run("stopped", 2, first)
    monkeypatch.setattr(gemm, "best_available", lambda: other)
    monkeypatch.delenv(gemm.GEMM_ENV)
    assert tb.get(None).gemm == other
    resumed = Run.resume(tmp_path / "stopped", epochs=3)
    assert resumed.model.backend.gemm == first and resumed.resume_note is None
    resumed.train()
    assert ((tmp_path / "stopped" / "metrics.csv").read_bytes()
            == (tmp_path / "straight" / "metrics.csv").read_bytes())
    assert straight.model.backend.gemm == first


def test_resume_names_a_provider_it_cannot_continue_on(monkeypatch):
    monkeypatch.delenv(gemm.GEMM_ENV, raising=False)
    monkeypatch.setattr(gemm.MklGemm, "is_available", classmethod(lambda cls: False))
    name, note = gemm.provider_for_resume("numpy", "mkl")
    assert name == "numpy" and "'mkl'" in note and "not available" in note
    monkeypatch.setenv(gemm.GEMM_ENV, "numpy")
    name, note = gemm.provider_for_resume("numpy", "mkl")
    assert name == "numpy" and gemm.GEMM_ENV in note
    assert gemm.provider_for_resume("numpy", "numpy") == ("numpy", None)
    assert gemm.provider_for_resume("numpy", "no-such") == ("numpy", None)
