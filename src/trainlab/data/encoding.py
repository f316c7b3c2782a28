"""Text (categorical) and missing cells of a table made into numbers, with scikit-learn.

    encoder = TableEncoder(categorical="onehot", impute="mean").fit(train_features)
    X = encoder.transform(features)          # (n, d') float64
    state = encoder.state_dict()             # JSON: the columns, fill values, categories
    TableEncoder.from_state(state).transform(features)   # the same numbers, no pickle

``features`` is a pandas DataFrame as :func:`~trainlab.data.csvfile.read_csv_frame` gives
it: numeric columns are float64 (NaN where missing), text columns categorical.

Per column, in the table's order, a :class:`sklearn.compose.ColumnTransformer` applies:

- a numeric column: ``SimpleImputer`` (its missing cells get the training split's mean or
  median), then the value as it is;
- a text column: ``SimpleImputer`` (its most frequent value in the training split), then
  ``OneHotEncoder``: one 0/1 column per category seen in training, named ``column=value``;
  a value not seen in training gives all zeros.

What is learned (the fill values and the categories) is stored, not the fitted objects:
the transformer is rebuilt from it with explicit ``fill_value`` and ``categories``, so a
fitted encoder and one restored from its state give identical outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CATEGORICAL = ("onehot", "none")
IMPUTE = ("mean", "median", "none")
STATE_VERSION = 1


def _pandas():
    import pandas  # imported when a table is encoded, so that `import trainlab` stays fast

    return pandas


def is_text(series: Any) -> bool:
    """Whether a DataFrame column holds text (categorical or object), not numbers."""
    pd = _pandas()
    return isinstance(series.dtype, pd.CategoricalDtype) or getattr(series.dtype, "kind",
                                                                    "O") not in "biuf"


def needs_encoding(features: Any) -> bool:
    """Whether a features DataFrame has a text column or a missing cell."""
    return any(is_text(s) or bool(s.isna().any()) for _, s in features.items())


@dataclass(frozen=True)
class EncodedColumn:
    """What the encoder learned about one input column.

    kind: ``"number"`` or ``"category"``.
    fill: the value that replaces a missing cell, learned whether or not the training split
        has one (None: missing cells are refused).
    categories: the text values seen in training, sorted (a category column only).
    missing: how many cells of the training split were missing.
    """

    name: str
    kind: str
    fill: float | str | None
    categories: tuple[str, ...] = ()
    missing: int = 0

    @property
    def outputs(self) -> list[str]:
        """The names of the columns it becomes."""
        if self.kind == "number":
            return [self.name]
        return [f"{self.name}={c}" for c in self.categories]


@dataclass
class TableEncoder:
    """One-hot encoding of text columns and imputation of missing cells, fitted on a
    training split.

    categorical: ``"onehot"`` (each text column becomes one 0/1 column per category) or
        ``"none"`` (a text column is an error).
    impute: ``"mean"`` or ``"median"`` for a numeric column's missing cells (a text
        column's get its most frequent value), or ``"none"`` (a missing cell is an error).
    """

    categorical: str = "onehot"
    impute: str = "mean"
    columns: tuple[EncodedColumn, ...] = field(default=(), init=False)
    _transformer: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.categorical not in CATEGORICAL:
            raise ValueError(f"TableEncoder: categorical must be one of {CATEGORICAL}. "
                             f"Received: {self.categorical!r}.")
        if self.impute not in IMPUTE:
            raise ValueError(f"TableEncoder: impute must be one of {IMPUTE}. "
                             f"Received: {self.impute!r}.")

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, features: Any) -> TableEncoder:
        """Learn fill values and categories from ``features`` (the training rows)."""
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import OneHotEncoder

        if len(features) == 0:
            raise ValueError("TableEncoder.fit: the table has no rows.")
        columns = []
        for name, series in features.items():
            name = str(name)
            missing = int(series.isna().sum())
            if is_text(series):
                if self.categorical == "none":
                    first = next(str(v) for v in series if isinstance(v, str))
                    raise ValueError(
                        f"column {name!r} holds text (such as {first!r}); one-hot encode it "
                        "(categorical='onehot', --categorical onehot) or make it numeric.")
                values = _text_values(series)
                fill: float | str | None = None
                if self.impute != "none":  # also when training has no missing cell here
                    imputer = SimpleImputer(strategy="most_frequent", missing_values=None)
                    fill = str(imputer.fit(values).statistics_[0])
                known = values[values[:, 0] != None]  # noqa: E711 (elementwise)
                if known.size == 0:
                    raise ValueError(f"column {name!r} has no values in the training rows.")
                encoder = OneHotEncoder(handle_unknown="ignore").fit(known)
                categories = tuple(str(c) for c in encoder.categories_[0])
                columns.append(EncodedColumn(name, "category", fill, categories, missing))
            else:
                fill = None
                if self.impute != "none":  # also when training has no missing cell here
                    imputer = SimpleImputer(strategy=self.impute, keep_empty_features=True)
                    fill = float(imputer.fit(_number_values(series)).statistics_[0])
                columns.append(EncodedColumn(name, "number", fill, (), missing))
        self.columns = tuple(columns)
        self._transformer = self._build()
        return self

    def _build(self) -> Any:
        """The ColumnTransformer of the learned state, fitted on one row of fill values."""
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder

        pd = _pandas()
        parts: list[tuple[str, Any, list[str]]] = []
        row: dict[str, list[Any]] = {}
        for j, column in enumerate(self.columns):
            if column.kind == "number":
                step: Any = ("passthrough" if column.fill is None else SimpleImputer(
                    strategy="constant", fill_value=column.fill, keep_empty_features=True))
                row[column.name] = [0.0 if column.fill is None else column.fill]
            else:
                onehot = OneHotEncoder(categories=[list(column.categories)],
                                       handle_unknown="ignore", sparse_output=False,
                                       dtype=np.float64)
                step = onehot if column.fill is None else make_pipeline(
                    SimpleImputer(strategy="constant", fill_value=column.fill,
                                  missing_values=None), onehot)
                row[column.name] = [column.categories[0]]
            parts.append((f"c{j}", step, [column.name]))
        frame = pd.DataFrame({k: pd.Series(v, dtype=object if isinstance(v[0], str)
                                           else np.float64) for k, v in row.items()})
        return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0).fit(frame)

    # -- applying -----------------------------------------------------------------------------

    @property
    def fitted(self) -> bool:
        return self._transformer is not None

    @property
    def feature_names(self) -> list[str]:
        """The names of the output columns: a numeric column's name, ``column=value`` for
        each category of a text column."""
        return [name for column in self.columns for name in column.outputs]

    @property
    def input_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def transform(self, features: Any, where: str = "TableEncoder.transform") -> np.ndarray:
        """``features`` (a DataFrame with the fitted columns, by name, in any order; other
        columns are ignored) as a float64 array (n, len(feature_names))."""
        if not self.fitted:
            raise RuntimeError("TableEncoder: call fit() or from_state() before transform().")
        pd = _pandas()
        have = [str(c) for c in features.columns]
        missing = [c.name for c in self.columns if c.name not in have]
        if missing:
            raise ValueError(f"{where}: the table has no column(s) {missing[:8]}; the model "
                             f"needs {self.input_names}. Received columns {have[:12]}.")
        frame = {}
        for column in self.columns:
            series = features[column.name]
            if column.kind == "number":
                if is_text(series):
                    values = pd.to_numeric(series.astype(object), errors="coerce")
                    bad = values.isna() & series.notna()
                    if bool(bad.any()):
                        at = int(np.argmax(bad.to_numpy()))
                        raise ValueError(f"{where}: row {at + 1}, column {column.name!r}: "
                                         f"could not read {series.iloc[at]!r} as a number.")
                    series = values
                values = _number_values(series)[:, 0]
                if not np.isfinite(values[~np.isnan(values)]).all():
                    raise ValueError(f"{where}: column {column.name!r} holds an infinite value.")
                frame[column.name] = pd.Series(values, dtype=np.float64)
            else:
                frame[column.name] = pd.Series(_text_values(series)[:, 0], dtype=object)
            if column.fill is None and bool(frame[column.name].isna().any()):
                at = int(np.argmax(frame[column.name].isna().to_numpy()))
                raise ValueError(f"{where}: row {at + 1}, column {column.name!r} is missing; "
                                 "impute it (impute='mean', --impute mean) or fill it in.")
        return np.asarray(self._transformer.transform(pd.DataFrame(frame)), dtype=np.float64)

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The learned state as JSON-ready values."""
        return {"version": STATE_VERSION, "categorical": self.categorical,
                "impute": self.impute,
                "columns": [{"name": c.name, "kind": c.kind, "fill": c.fill,
                             "categories": list(c.categories), "missing": c.missing}
                            for c in self.columns]}

    @classmethod
    def from_state(cls, state: Any) -> TableEncoder:
        """The encoder that :meth:`state_dict` describes, checked field by field."""
        owner = "TableEncoder.from_state"
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ValueError(f"{owner}: expected a dict with version {STATE_VERSION}. "
                             f"Received: {str(state)[:80]!r}.")
        encoder = cls(str(state.get("categorical")), str(state.get("impute")))
        columns = []
        raw = state.get("columns")
        if not isinstance(raw, list) or not raw:
            raise ValueError(f"{owner}: 'columns' must be a non-empty list.")
        for item in raw:
            if not isinstance(item, dict) or item.get("kind") not in ("number", "category"):
                raise ValueError(f"{owner}: each column needs a kind 'number' or 'category'. "
                                 f"Received: {str(item)[:80]!r}.")
            fill, categories = item.get("fill"), item.get("categories", [])
            if not isinstance(categories, list) or not all(isinstance(c, str)
                                                           for c in categories):
                raise ValueError(f"{owner}: column {item.get('name')!r}: categories must be "
                                 "a list of strings.")
            if item["kind"] == "number":
                ok = fill is None or (isinstance(fill, (int, float))
                                      and not isinstance(fill, bool) and math.isfinite(fill))
            else:
                ok = (fill is None or isinstance(fill, str)) and bool(categories)
            if not ok or not isinstance(item.get("name"), str):
                raise ValueError(f"{owner}: column {str(item)[:80]!r} is not valid.")
            columns.append(EncodedColumn(item["name"], item["kind"],
                                         None if fill is None else (
                                             float(fill) if item["kind"] == "number" else fill),
                                         tuple(categories), int(item.get("missing", 0))))
        encoder.columns = tuple(columns)
        encoder._transformer = encoder._build()
        return encoder

    def summary(self) -> str:
        """One line: what is encoded and imputed, and the number of features."""
        text = [c for c in self.columns if c.kind == "category"]
        parts = []
        if text:
            parts.append("one-hot " + ", ".join(f"{c.name} ({len(c.categories)})" for c in text))
        filled = [c for c in self.columns if c.missing and c.fill is not None]
        if filled:
            cells = sum(c.missing for c in filled)
            how = {"mean": "mean", "median": "median"}[self.impute]
            parts.append(f"imputed {cells} missing cell{'s' if cells != 1 else ''} in "
                         f"{len(filled)} column{'s' if len(filled) != 1 else ''} "
                         f"({how}; most frequent for text)")
        if not parts:
            parts.append("nothing to encode or impute")
        return (f"table: {'; '.join(parts)}; {len(self.columns)} columns -> "
                f"{len(self.feature_names)} features (fitted on the training split)")


def _text_values(series: Any) -> np.ndarray:
    """A text column as an (n, 1) object array of stripped strings, None where missing."""
    values = series.astype(object).to_numpy()
    out = np.empty((len(values), 1), dtype=object)
    for i, v in enumerate(values):
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        out[i, 0] = None if missing else str(v).strip()
    return out


def _number_values(series: Any) -> np.ndarray:
    """A numeric column as an (n, 1) float64 array, NaN where missing."""
    return series.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1)
