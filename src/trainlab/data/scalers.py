"""Input normalisation fitted on the training split (notes §7).

Data with E[x] >> 0 or Var[x] >> 1 trains badly; standardise each feature with
statistics of the training set only:  x̂ = (x − x̄) / √(s² + ε).

Every scaler has ``fit(X)``, ``transform(X)``, ``inverse_transform(X)``,
``fit_transform(X)``, ``state_dict()`` (a dict of plain arrays, for a checkpoint) and
``load_state_dict(state)``. X is (n, d), or (n,) for a single column such as a
regression target; the output has X's shape and dtype.
"""

from __future__ import annotations

import numpy as np

from trainlab._checks import check_input, check_number
from trainlab.registry import Registry


def _as_matrix(X, owner: str, features: int | None = None) -> tuple[np.ndarray, bool]:
    """Return X as (n, d) and whether it was a single column (n,)."""
    try:
        X = np.asarray(X)
    except (ValueError, TypeError) as exc:  # ragged lists and other non-arrays
        raise TypeError(f"{owner}: expected X as an (n, d) float array. "
                        f"Received: {type(X).__name__} ({exc}).") from exc
    column = X.ndim == 1
    X = check_input(X[:, None] if column else X, owner, features=features, name="X")
    return X, column


def _column_mean_var(X: np.ndarray, block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and biased variance (ddof=0) in float64, two passes over row blocks.

    Row blocks keep the float64 temporary small for large float32 data such as MNIST.
    """
    n = X.shape[0]
    mean = X.mean(axis=0, dtype=np.float64)
    sum_sq = np.zeros(X.shape[1], dtype=np.float64)
    for start in range(0, n, block):
        centred = X[start:start + block] - mean
        sum_sq += np.einsum("ij,ij->j", centred, centred)
    return mean, sum_sq / n


class _Scaler:
    """Shared plumbing: fitted-state checks, shape handling, fit_transform."""

    kind = ""
    _state_keys: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._state: dict[str, np.ndarray] | None = None

    @property
    def fitted(self) -> bool:
        return self._state is not None

    @property
    def n_features(self) -> int | None:
        return None if self._state is None else self._state[self._state_keys[0]].shape[0]

    def _fitted_state(self, method: str) -> dict[str, np.ndarray]:
        if self._state is None:
            raise RuntimeError(f"{type(self).__name__}.{method}: call fit(X_train) first.")
        return self._state

    def _input(self, X, method: str) -> tuple[np.ndarray, bool, dict[str, np.ndarray]]:
        """X as (n, d), whether it was one column, and the fitted state."""
        state = self._fitted_state(method)
        X, column = _as_matrix(X, f"{type(self).__name__}.{method}", self.n_features)
        return X, column, state

    def fit(self, X) -> _Scaler:
        raise NotImplementedError

    def transform(self, X) -> np.ndarray:
        raise NotImplementedError

    def inverse_transform(self, X) -> np.ndarray:
        raise NotImplementedError

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def state_dict(self) -> dict[str, np.ndarray]:
        state = self._fitted_state("state_dict")
        return {key: value.copy() for key, value in state.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        name = type(self).__name__
        if not isinstance(state, dict) or set(state) != set(self._state_keys):
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{name}.load_state_dict: expected keys {list(self._state_keys)}. "
                             f"Received: {got}.")
        arrays = {k: np.array(state[k], dtype=np.float64) for k in self._state_keys}
        shapes = {a.shape for a in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError(f"{name}.load_state_dict: expected 1-D arrays of one length. "
                             f"Received shapes { {k: a.shape for k, a in arrays.items()} }.")
        if not all(np.isfinite(a).all() for a in arrays.values()):
            raise ValueError(f"{name}.load_state_dict: state contains NaN or infinite values.")
        self._validate_state(arrays)
        self._state = arrays

    def _validate_state(self, state: dict[str, np.ndarray]) -> None:
        pass

    @staticmethod
    def _output(Y: np.ndarray, column: bool) -> np.ndarray:
        return Y[:, 0] if column else Y

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'fitted' if self.fitted else 'not fitted'})"


class Standardizer(_Scaler):
    """Per-feature standardisation x̂ = (x − x̄) / √(s² + ε), statistics of the data passed to fit.

    s² is the biased variance (ddof=0), as in scikit-learn's StandardScaler and batch
    norm. A feature that is constant in the training data (s² = 0) is divided by 1
    instead of √ε, as scikit-learn does, so an unseen value never blows up by 1/√ε.
    State: ``{"mean": (d,), "std": (d,)}`` in float64, std being the divisor used.
    """

    kind = "standard"
    _state_keys = ("mean", "std")

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = check_number(eps, "Standardizer: eps", low=0.0)

    @property
    def mean(self) -> np.ndarray | None:
        return None if self._state is None else self._state["mean"]

    @property
    def std(self) -> np.ndarray | None:
        return None if self._state is None else self._state["std"]

    def fit(self, X) -> Standardizer:
        X, _ = _as_matrix(X, "Standardizer.fit")
        if X.shape[0] == 0:
            raise ValueError("Standardizer.fit: X has no rows.")
        mean, var = _column_mean_var(X)
        std = np.sqrt(var + self.eps)
        std[var == 0.0] = 1.0
        self._state = {"mean": mean, "std": std}
        return self

    def transform(self, X) -> np.ndarray:
        X, column, state = self._input(X, "transform")
        Y = X - state["mean"].astype(X.dtype)
        Y /= state["std"].astype(X.dtype)
        return self._output(Y, column)

    def inverse_transform(self, X) -> np.ndarray:
        X, column, state = self._input(X, "inverse_transform")
        Y = X * state["std"].astype(X.dtype)
        Y += state["mean"].astype(X.dtype)
        return self._output(Y, column)

    def _validate_state(self, state: dict[str, np.ndarray]) -> None:
        if (state["std"] <= 0).any():
            raise ValueError("Standardizer.load_state_dict: std must be > 0.")

    def __repr__(self) -> str:
        return f"Standardizer(eps={self.eps:g}, {'fitted' if self.fitted else 'not fitted'})"


class MinMaxScaler(_Scaler):
    """Per-feature rescaling to ``feature_range``: lo + (x − min)·(hi − lo)/(max − min).

    A constant feature (max = min) is divided by 1. State: ``{"data_min", "data_max"}``.
    """

    kind = "minmax"
    _state_keys = ("data_min", "data_max")

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        super().__init__()
        try:
            lo, hi = feature_range
        except (TypeError, ValueError):
            raise TypeError(f"MinMaxScaler: feature_range must be a pair (low, high). "
                            f"Received: {feature_range!r}.") from None
        lo = check_number(lo, "MinMaxScaler: feature_range[0]")
        hi = check_number(hi, "MinMaxScaler: feature_range[1]")
        if not lo < hi:
            raise ValueError(f"MinMaxScaler: feature_range must have low < high. "
                             f"Received: {feature_range!r}.")
        self.feature_range = (lo, hi)

    def _scale(self, state: dict[str, np.ndarray]) -> np.ndarray:
        span = state["data_max"] - state["data_min"]
        span[span == 0.0] = 1.0
        return (self.feature_range[1] - self.feature_range[0]) / span

    def fit(self, X) -> MinMaxScaler:
        X, _ = _as_matrix(X, "MinMaxScaler.fit")
        if X.shape[0] == 0:
            raise ValueError("MinMaxScaler.fit: X has no rows.")
        self._state = {"data_min": X.min(axis=0).astype(np.float64),
                       "data_max": X.max(axis=0).astype(np.float64)}
        return self

    def transform(self, X) -> np.ndarray:
        X, column, state = self._input(X, "transform")
        Y = X - state["data_min"].astype(X.dtype)
        Y *= self._scale(state).astype(X.dtype)
        Y += X.dtype.type(self.feature_range[0])
        return self._output(Y, column)

    def inverse_transform(self, X) -> np.ndarray:
        X, column, state = self._input(X, "inverse_transform")
        Y = X - X.dtype.type(self.feature_range[0])
        Y /= self._scale(state).astype(X.dtype)
        Y += state["data_min"].astype(X.dtype)
        return self._output(Y, column)

    def _validate_state(self, state: dict[str, np.ndarray]) -> None:
        if (state["data_max"] < state["data_min"]).any():
            raise ValueError("MinMaxScaler.load_state_dict: data_max must be >= data_min.")


class IdentityScaler(_Scaler):
    """No normalisation ("none"): transform and inverse_transform return a copy of X. State: {}."""

    kind = "none"

    def __init__(self) -> None:
        super().__init__()
        self._width: int | None = None

    def fit(self, X) -> IdentityScaler:
        X, _ = _as_matrix(X, "IdentityScaler.fit")
        if X.shape[0] == 0:
            raise ValueError("IdentityScaler.fit: X has no rows.")
        self._state = {}
        self._width = X.shape[1]
        return self

    @property
    def n_features(self) -> int | None:
        """The width seen by ``fit`` (None after ``load_state_dict``: any width is accepted)."""
        return self._width

    def transform(self, X) -> np.ndarray:
        X, column, _ = self._input(X, "transform")
        return self._output(X.copy(), column)

    def inverse_transform(self, X) -> np.ndarray:
        X, column, _ = self._input(X, "inverse_transform")
        return self._output(X.copy(), column)

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        if not isinstance(state, dict):
            raise TypeError(f"IdentityScaler.load_state_dict: expected a dict. "
                            f"Received: {type(state).__name__}.")
        self._width = None
        if state:
            raise ValueError(f"IdentityScaler.load_state_dict: expected an empty dict. "
                             f"Received keys {sorted(state)}.")
        self._state = {}


SCALERS: Registry[type[_Scaler]] = Registry("scaler")
"""Input normalisations by name (``--scaler``)."""
SCALERS.add("standard", Standardizer)
SCALERS.add("minmax", MinMaxScaler)
SCALERS.add("none", IdentityScaler)


def make_scaler(kind: str = "standard", **kwargs) -> _Scaler:
    """A new, unfitted scaler by name: "standard" (Standardizer), "minmax" or "none"."""
    return SCALERS.get_named(kind, "make_scaler: kind")(**kwargs)
