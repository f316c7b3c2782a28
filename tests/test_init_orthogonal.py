"""init.orthogonal: PyTorch's orthogonal_ procedure, orthonormality and the gain."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import init, nn


@pytest.mark.parametrize(("rows", "cols"), [(5, 3), (3, 5), (4, 4)])
def test_procedure_matches_torch(torch, rows, cols):
    torch.manual_seed(7)
    a = torch.empty(rows, cols, dtype=torch.float64).normal_(0, 1)
    torch.manual_seed(7)
    w = torch.empty(rows, cols, dtype=torch.float64)
    torch.nn.init.orthogonal_(w, gain=1.0)
    np.testing.assert_allclose(init.orthogonal_from_normal(a.numpy()), w.numpy(),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("fan_in", "fan_out"), [(6, 3), (3, 6), (5, 5)])
def test_orthonormal_times_gain(fan_in, fan_out):
    w = init.orthogonal(fan_in, fan_out, rng=0, dtype=np.float64, gain=2.5)
    assert w.shape == (fan_in, fan_out) and w.dtype == np.float64
    small = min(fan_in, fan_out)
    gram = w.T @ w if fan_in >= fan_out else w @ w.T
    np.testing.assert_allclose(gram, 2.5**2 * np.eye(small), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), 2.5, rtol=1e-12)


def test_registered_and_seeded():
    assert "orthogonal" in init.INITIALIZERS.names()
    a = nn.Linear(4, 3, init="orthogonal", rng=1, dtype=np.float64)
    b = nn.Linear(4, 3, init="orthogonal", rng=1, dtype=np.float64)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not a.bias.data.any()
    np.testing.assert_allclose(init.orthogonal(4, 3, rng=1).astype(np.float64),
                               init.orthogonal(4, 3, rng=1, dtype=np.float64), rtol=1e-6)


def test_bad_gain_is_named():
    with pytest.raises((TypeError, ValueError), match="orthogonal: gain"):
        init.orthogonal(3, 3, gain="big")
