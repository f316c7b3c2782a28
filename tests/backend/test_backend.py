"""``trainlab.backend``: choosing a backend (``get``), the default that layers and
optimizers take, and the fall-back to NumPy, with the same numbers, where Numba is absent."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from backends import needs_numba
from trainlab import backend as tb
from trainlab import nn, optim
from trainlab.backend import BACKENDS, Backend, NumbaBackend, NumpyBackend
from trainlab.registry import RegistryError

HERE = Path(__file__).resolve().parent


def small_run(dtype=np.float32, steps=3, **backend) -> list[np.ndarray]:
    """Build a BatchNorm/ReLU/Dropout net and an optimizer of each family with default
    (or the given) backends, train a few steps; everything it produced."""
    layers = [nn.Linear(12, 80, rng=0, dtype=dtype), nn.BatchNorm(80, dtype=dtype), nn.ReLU(),
              nn.Dropout(0.25, rng=1), nn.Linear(80, 3, rng=2, dtype=dtype)]
    model = nn.Sequential(*layers)
    if backend:
        model.use_backend(backend["backend"])
    params = model.parameters()
    opt = optim.Adam(params[:3], lr=0.01, weight_decay=0.01, **backend)
    sgd = optim.SGD(params[3:], lr=0.1, momentum=0.9, nesterov=True, **backend)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    out = []
    for _ in range(steps):
        x = rng.standard_normal((64, 12)).astype(dtype)
        out.append(model(x))
        loss_fn(out[-1], rng.integers(0, 3, 64))
        out.append(model.backward(loss_fn.backward()))
        opt.step()
        sgd.step()
        opt.zero_grad()
        sgd.zero_grad()
    return out + [a.copy() for a in model.state_dict().values()]


def same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=False):
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes()


# -- get ------------------------------------------------------------------------------------


def test_registry_names_the_backends():
    assert BACKENDS.names() == ["numpy", "numba"]
    assert BACKENDS["numpy"] is NumpyBackend and BACKENDS["numba"] is NumbaBackend


def test_get_by_name_and_instance():
    assert tb.get("numpy") == NumpyBackend() and tb.get("NumPy").name == "numpy"
    mine = NumpyBackend()
    assert tb.get(mine) is mine


@needs_numba
def test_with_numba_installed_the_default_is_numba():
    assert tb.get(None) == NumbaBackend() and tb.get("auto").name == "numba"
    assert tb.get("numba") == NumbaBackend()
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm(4), nn.ReLU(), nn.Dropout(0.1))
    assert all(m.backend.name == "numba" for m in model.modules())
    p = model.parameters()
    for opt in (optim.SGD(p), optim.Adagrad(p), optim.RMSprop(p), optim.Adam(p), optim.AdamW(p)):
        assert opt.backend.name == "numba"


def test_bad_specs_are_clear_errors():
    with pytest.raises(RegistryError, match=r"backend must be one of \['numpy', 'numba'\]. "
                                            r"Received: 'numbaa'. Did you mean 'numba'\?"):
        tb.get("numbaa")
    with pytest.raises(TypeError, match=r"backend: expected None, 'auto', one of \['numpy', "
                                        r"'numba'\] or a trainlab.backend.Backend. Received: 3"):
        tb.get(3)
    with pytest.raises(RegistryError, match="Received: 'cuda'"):
        nn.ReLU().use_backend("cuda")
    with pytest.raises(RegistryError, match="Received: 'cuda'"):
        optim.SGD([nn.Parameter(np.zeros(2))], backend="cuda")


@needs_numba
def test_numba_backend_options():
    assert NumbaBackend().min_size == 4096 and NumbaBackend(min_size=0).min_size == 0
    assert NumbaBackend(min_size=0) != NumbaBackend()
    with pytest.raises(ValueError, match="NumbaBackend: min_size must be an integer >= 0. "
                                         "Received: -1"):
        NumbaBackend(min_size=-1)


def test_backend_is_abstract_and_numpy_matmul():
    with pytest.raises(TypeError):
        Backend()  # type: ignore[abstract]
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    out = np.empty((2, 4))
    assert NumpyBackend().matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, a @ b)


# -- modules and optimizers --------------------------------------------------------------------


def test_use_backend_sets_every_child_and_returns_self():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), nn.Dropout(0.2)))
    assert model.use_backend("numpy") is model
    assert all(m.backend == NumpyBackend() for m in model.modules())
    relu = model[1][0]
    relu.backend = NumpyBackend()  # an assignment is resolved as use_backend's spec
    assert isinstance(relu.backend, NumpyBackend)
    opt = optim.Adam(model.parameters(), backend="numpy")
    assert opt.backend.name == "numpy" and opt.use_backend(NumpyBackend()) is opt


def test_copies_keep_their_backend():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU()).use_backend("numpy")
    opt = optim.SGD(model.parameters(), momentum=0.5, backend="numpy")
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert all(m.backend == NumpyBackend() for m in other.modules())
    assert pickle.loads(pickle.dumps(opt)).backend == NumpyBackend()


def test_the_backend_is_not_in_the_checkpoint():
    p = [nn.Parameter(np.ones(3))]
    opt = optim.Adam(p, backend="numpy")
    p[0].grad[...] = 1.0
    opt.step()
    state = opt.state_dict()
    assert "backend" not in state["hyperparameters"]
    other = optim.Adam([nn.Parameter(np.ones(3))])  # the default backend
    other.load_state_dict(state)
    assert other.state_dict()["step"] == 1


# -- Numba absent ----------------------------------------------------------------------------


@pytest.fixture
def without_numba(monkeypatch):
    """As if Numba were not installed."""
    monkeypatch.setattr(NumbaBackend, "is_available", staticmethod(lambda: False))


def test_without_numba_everything_falls_back_to_numpy(without_numba):
    assert tb.get(None) == NumpyBackend() and tb.get("auto") == NumpyBackend()
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm(4), nn.ReLU(), nn.Dropout(0.1))
    assert all(m.backend.name == "numpy" for m in model.modules())
    assert optim.Adam(model.parameters()).backend.name == "numpy"
    with pytest.raises(ImportError, match="NumbaBackend: expected Numba to be installed"):
        tb.get("numba")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_without_numba_the_numbers_are_the_same(dtype, monkeypatch):
    default = small_run(dtype)  # the numba backend where Numba is installed
    monkeypatch.setattr(NumbaBackend, "is_available", staticmethod(lambda: False))
    fallback = small_run(dtype)
    same(fallback, default)
    same(fallback, small_run(dtype, backend="numpy"))


def test_without_numba_importable_a_process_trains_on_numpy(tmp_path):
    """Numba made unimportable for a whole process: trainlab does not import it, picks
    the numpy backend, and trains to the same numbers as the numpy backend here."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["numba"] = None  # `import numba` fails, find_spec finds nothing
        sys.path[:0] = [{str(HERE)!r}, {str(HERE.parent)!r}]
        import numpy as np
        from trainlab import backend
        from test_backend import small_run
        assert backend.get(None).name == "numpy"
        np.savez({str(tmp_path / "out.npz")!r}, *small_run())
        assert sys.modules["numba"] is None
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    with np.load(tmp_path / "out.npz") as saved:
        result = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    same(result, small_run(backend="numpy"))
