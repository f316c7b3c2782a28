"""TableEncoder: one-hot encoding and imputation against scikit-learn fitted directly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from trainlab.data.csvfile import frame_targets, read_csv_frame
from trainlab.data.encoding import TableEncoder
from trainlab.data.tables import RawTable, load_csv_table

PENGUINS = Path(__file__).with_name("penguins.csv")


def penguin_features() -> pd.DataFrame:
    frame = read_csv_frame(PENGUINS)
    return frame[list(frame_targets(frame, "species").features)]


@pytest.mark.parametrize("impute", ["mean", "median"])
def test_matches_a_column_transformer_fitted_directly(impute):
    features = penguin_features()
    rng = np.random.default_rng(0)
    train = features.iloc[rng.permutation(len(features))[:200]]
    encoder = TableEncoder("onehot", impute).fit(train)
    text = ["island", "sex"]
    numbers = [c for c in features.columns if c not in text]
    reference = ColumnTransformer([
        ("num", SimpleImputer(strategy=impute), numbers),
        ("text", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
         text)], sparse_threshold=0.0)
    as_object = features.astype({c: object for c in text})
    expected = reference.fit(as_object.loc[train.index]).transform(as_object)
    got = encoder.transform(features)
    order = [encoder.feature_names.index(n) for n in
             [*numbers, "island=Biscoe", "island=Dream", "island=Torgersen", "sex=female",
              "sex=male"]]
    np.testing.assert_allclose(got[:, order], expected, rtol=0, atol=1e-12)
    assert not np.isnan(got).any()


def test_state_is_json_and_rebuilds_the_same_numbers():
    features = penguin_features()
    encoder = TableEncoder().fit(features.iloc[:150])
    state = json.loads(json.dumps(encoder.state_dict()))
    again = TableEncoder.from_state(state)
    assert again.feature_names == encoder.feature_names
    np.testing.assert_array_equal(again.transform(features), encoder.transform(features))
    sex = next(c for c in state["columns"] if c["name"] == "sex")
    assert sex["categories"] == ["female", "male"] and sex["fill"] in ("female", "male")
    length = next(c for c in state["columns"] if c["name"] == "bill_length_mm")
    assert length["fill"] == pytest.approx(features["bill_length_mm"].iloc[:150].mean())


def test_columns_by_name_unknown_category_and_refusals():
    train = pd.DataFrame({"colour": pd.Categorical(["red", "blue", "red"]),
                          "size": [1.0, np.nan, 3.0]})
    encoder = TableEncoder().fit(train)
    new = pd.DataFrame({"size": [np.nan, 5.0], "colour": ["green", "blue"], "other": [0, 0]})
    np.testing.assert_array_equal(encoder.transform(new), [[0, 0, 2.0], [1, 0, 5.0]])
    with pytest.raises(ValueError, match=r"no column\(s\) \['colour'\]"):
        encoder.transform(pd.DataFrame({"size": [1.0]}))
    with pytest.raises(ValueError, match="column 'colour' holds text .*--categorical onehot"):
        TableEncoder(categorical="none").fit(train)
    strict = TableEncoder(impute="none").fit(train)
    with pytest.raises(ValueError, match="row 2, column 'size' is missing"):
        strict.transform(train)
    with pytest.raises(ValueError, match="impute must be one of"):
        TableEncoder(impute="zero")
    with pytest.raises(ValueError, match="version 1"):
        TableEncoder.from_state({"columns": []})
    assert "one-hot colour (2); imputed 1 missing cell in 1 column" in encoder.summary()


def test_a_cell_missing_only_outside_the_training_rows_is_filled():
    train = pd.DataFrame({"size": [1.0, 2.0, 6.0], "colour": pd.Categorical(["a", "b", "b"])})
    encoder = TableEncoder(impute="median").fit(train)
    new = pd.DataFrame({"size": [np.nan], "colour": pd.Categorical([None], categories=["a"])})
    np.testing.assert_array_equal(encoder.transform(new), [[2.0, 0.0, 1.0]])


def test_load_csv_table_returns_a_dataset_when_nothing_needs_encoding(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n")
    assert not isinstance(load_csv_table(path), RawTable)
    table = load_csv_table(PENGUINS, target="species")
    assert isinstance(table, RawTable) and table.task == "classification"
    assert table.class_names == ("Adelie", "Chinstrap", "Gentoo")
    assert "first row was read as column names" in table.notes[0]
    with pytest.raises(ValueError, match=r"line 2, column 'island': could not read 'Torgersen'"):
        load_csv_table(PENGUINS, target="species", categorical="none")
    with pytest.raises(ValueError, match=r"line 5, column 'bill_length_mm': missing value"):
        load_csv_table(PENGUINS, target="species", impute="none")


def test_a_headerless_file_is_never_read_with_its_first_row_as_names(tmp_path):
    path = tmp_path / "iris_like.csv"
    path.write_text("5.1,3.5,setosa\n4.9,NA,setosa\n6.3,3.3,virginica\n")
    dataset = load_csv_table(path)
    assert isinstance(dataset, RawTable) and dataset.n_samples == 3
    assert "no header found" in dataset.notes[0] and "--header yes" in dataset.notes[0]
    rows = tmp_path / "rows.csv"
    rows.write_text("Adelie,Torgersen,39.1\nGentoo,Biscoe,47.5\nAdelie,Dream,37.2\n")
    table = load_csv_table(rows, header="no", target="x0")
    assert table.n_samples == 3 and list(table.features.columns) == ["x1", "x2"]
    named = load_csv_table(rows, header="yes", target="Adelie")
    assert named.n_samples == 2
