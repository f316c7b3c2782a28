"""Standardizer, MinMaxScaler, IdentityScaler: numbers, dtypes, state dicts, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler as SkMinMax
from sklearn.preprocessing import StandardScaler

from trainlab.data import IdentityScaler, MinMaxScaler, Standardizer, make_scaler


@pytest.fixture
def badly_scaled(rng):
    """E[x] >> 0 and Var[x] >> 1, one constant column: the notes' bad input."""
    X = rng.standard_normal((200, 4)) * [1.0, 100.0, 1e-3, 5.0] + [1e3, -50.0, 7.0, 0.0]
    X[:, 3] = 3.25
    return X


def test_standardizer_formula_and_train_statistics(badly_scaled):
    X = badly_scaled
    scaler = Standardizer(eps=1e-8).fit(X)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(Z[:, :3].std(axis=0), 1.0 / np.sqrt(1 + 1e-8 / X[:, :3].var(axis=0)),
                               rtol=1e-12)
    expected = (X - X.mean(axis=0)) / np.sqrt(X.var(axis=0) + 1e-8)
    np.testing.assert_allclose(Z[:, :3], expected[:, :3], rtol=1e-10, atol=1e-12)
    assert np.all(Z[:, 3] == 0.0) and scaler.std[3] == 1.0  # constant: no NaN, no 1/sqrt(eps)


def test_standardizer_matches_sklearn(badly_scaled):
    X = badly_scaled
    sk = StandardScaler().fit(X)
    exact = Standardizer(eps=0.0).fit(X)
    np.testing.assert_allclose(exact.mean, sk.mean_, rtol=1e-13)
    np.testing.assert_allclose(exact.std, sk.scale_, rtol=1e-12)
    np.testing.assert_allclose(exact.transform(X), sk.transform(X), rtol=1e-10, atol=1e-12)
    # with eps the divisor is sqrt(var + eps) instead of sklearn's sqrt(var) (1 if var == 0)
    with_eps = Standardizer().fit(X)
    ratio = np.where(sk.var_ > 0, sk.scale_ / np.sqrt(sk.var_ + 1e-8), 1.0)
    X_new = np.vstack([X, X[:10] * 1.5])
    np.testing.assert_allclose(with_eps.transform(X_new), sk.transform(X_new) * ratio,
                               rtol=1e-10, atol=1e-12)
    assert ratio[2] < 0.996  # the small-variance column shows eps


def test_statistics_come_from_fit_data_only(badly_scaled):
    train, test = badly_scaled[:100], badly_scaled[100:] + 10.0
    scaler = Standardizer().fit(train)
    np.testing.assert_allclose(scaler.mean, train.mean(axis=0), rtol=1e-13)
    assert scaler.transform(test)[:, 0].mean() > 5  # test data is not re-centred


def test_dtype_kept_and_float32_accuracy(badly_scaled):
    X32 = badly_scaled.astype(np.float32)
    scaler = Standardizer().fit(X32)
    Z = scaler.transform(X32)
    assert Z.dtype == np.float32 and scaler.mean.dtype == np.float64
    np.testing.assert_allclose(Z, Standardizer().fit(badly_scaled).transform(badly_scaled)
                               .astype(np.float32), atol=2e-3)
    back = scaler.inverse_transform(Z)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, X32, rtol=1e-5)


def test_large_float32_data_in_blocks(rng):
    X = (rng.standard_normal((10_000, 3)) * 3 + 100).astype(np.float32)
    scaler = Standardizer().fit(X)
    np.testing.assert_allclose(scaler.mean, X.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.std, X.astype(np.float64).std(axis=0), rtol=1e-7)


def test_inverse_round_trip_and_fit_transform(badly_scaled):
    scaler = Standardizer()
    Z = scaler.fit_transform(badly_scaled)
    np.testing.assert_allclose(scaler.inverse_transform(Z), badly_scaled, rtol=1e-12, atol=1e-12)


def test_single_column_target(rng):
    y = rng.standard_normal(30) * 50 + 150
    scaler = Standardizer().fit(y)
    z = scaler.transform(y)
    assert z.shape == (30,)
    np.testing.assert_allclose(scaler.inverse_transform(z), y, rtol=1e-12)


def test_state_dict_round_trip(badly_scaled):
    scaler = Standardizer().fit(badly_scaled)
    state = scaler.state_dict()
    assert set(state) == {"mean", "std"} and all(isinstance(v, np.ndarray) for v in state.values())
    state["mean"][0] = 0.0  # a copy: the scaler is not changed
    assert scaler.mean[0] != 0.0
    fresh = Standardizer()
    fresh.load_state_dict(scaler.state_dict())
    np.testing.assert_array_equal(fresh.transform(badly_scaled), scaler.transform(badly_scaled))


def test_state_dict_errors(badly_scaled):
    scaler = Standardizer()
    with pytest.raises(RuntimeError, match=r"Standardizer.state_dict: call fit\(X_train\) first"):
        scaler.state_dict()
    with pytest.raises(ValueError, match=r"expected keys \['mean', 'std'\]"):
        scaler.load_state_dict({"mean": np.zeros(2)})
    with pytest.raises(ValueError, match="1-D arrays of one length"):
        scaler.load_state_dict({"mean": np.zeros(2), "std": np.ones(3)})
    with pytest.raises(ValueError, match="std must be > 0"):
        scaler.load_state_dict({"mean": np.zeros(2), "std": np.zeros(2)})
    with pytest.raises(ValueError, match="NaN or infinite"):
        scaler.load_state_dict({"mean": np.full(2, np.nan), "std": np.ones(2)})


def test_call_order_and_input_errors(badly_scaled):
    with pytest.raises(RuntimeError, match="Standardizer.transform: call fit"):
        Standardizer().transform(badly_scaled)
    scaler = Standardizer().fit(badly_scaled)
    with pytest.raises(ValueError, match="expected X with 4 features"):
        scaler.transform(badly_scaled[:, :3])
    with pytest.raises(ValueError, match="NaN or infinite"):
        scaler.transform(np.full((2, 4), np.nan))
    with pytest.raises(TypeError, match="floating-point"):
        Standardizer().fit(np.ones((3, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="no rows"):
        Standardizer().fit(np.ones((0, 2)))
    with pytest.raises(ValueError, match=r"eps must be in \[0, inf\]"):
        Standardizer(eps=-1.0)


def test_minmax_matches_sklearn(badly_scaled):
    for feature_range in ((0.0, 1.0), (-1.0, 1.0)):
        ours = MinMaxScaler(feature_range).fit(badly_scaled)
        sk = SkMinMax(feature_range=feature_range).fit(badly_scaled)
        np.testing.assert_allclose(ours.transform(badly_scaled), sk.transform(badly_scaled),
                                   rtol=1e-12, atol=1e-12)
        Z = ours.transform(badly_scaled)
        np.testing.assert_allclose(ours.inverse_transform(Z), badly_scaled, rtol=1e-12)
    state = ours.state_dict()
    assert set(state) == {"data_min", "data_max"}
    other = MinMaxScaler((-1.0, 1.0))
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.transform(badly_scaled), ours.transform(badly_scaled))
    assert ours.transform(badly_scaled.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="low < high"):
        MinMaxScaler((1.0, 0.0))


def test_identity_and_factory(badly_scaled):
    scaler = make_scaler("none").fit(badly_scaled)
    assert isinstance(scaler, IdentityScaler) and scaler.state_dict() == {}
    out = scaler.transform(badly_scaled)
    np.testing.assert_array_equal(out, badly_scaled)
    assert out is not badly_scaled
    assert isinstance(make_scaler("standard", eps=1e-5), Standardizer)
    assert make_scaler("standard", eps=1e-5).eps == 1e-5
    assert isinstance(make_scaler("minmax"), MinMaxScaler)
    kinds = ["standard", "minmax", "none"]
    assert [make_scaler(k).kind for k in kinds] == kinds
    with pytest.raises(ValueError, match=r"kind must be one of \['standard', 'minmax', 'none'\]"):
        make_scaler("robust")
