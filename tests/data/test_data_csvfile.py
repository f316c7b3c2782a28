"""CSV through pandas: header detection, the DataFrame step, line numbers that match the
file, and numbers parsed exactly as Python parses them."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainlab.data import (
    CsvSource,
    frame_to_dataset,
    load_csv,
    load_dataset,
    read_csv_frame,
)


def write(tmp_path: Path, text: str | bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# -- headers ------------------------------------------------------------------------------


def test_five_numeric_rows_have_no_header(tmp_path):
    path = write(tmp_path, "1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,1,0\n")
    ds = load_csv(path)
    assert ds.n_samples == 5 and ds.feature_names == ("x0", "x1")
    np.testing.assert_array_equal(ds.X[0], [1, 2])
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1, 0])  # the last column is the target
    source = read_csv_frame(path).attrs["trainlab.csv"]
    assert isinstance(source, CsvSource) and not source.header
    assert "read as data" in source.header_note


def test_scikit_learns_iris_csv_is_not_read_with_its_first_row_as_names():
    """Its first row is `150,4,setosa,versicolor,virginica`: counts and class names."""
    sklearn = pytest.importorskip("sklearn")
    path = Path(sklearn.__file__).parent / "datasets" / "data" / "iris.csv"
    assert path.read_text().startswith("150,4,setosa")
    frame = read_csv_frame(path)
    assert list(frame.columns) == ["x0", "x1", "x2", "x3", "x4"] and len(frame) == 151
    assert frame.iloc[0, 0] == 150.0 and frame.iloc[1, 0] == 5.1
    with pytest.raises(ValueError, match=r"line 1, column 'x2': could not read 'setosa'") as info:
        load_csv(path)
    assert "header='auto'" in str(info.value) and "header=True" in str(info.value)


def test_a_text_header_above_numbers_is_detected(tmp_path):
    path = write(tmp_path, "height,weight,label\n1.5,60,a\n1.7,72,b\n")
    frame = read_csv_frame(path)
    assert list(frame.columns) == ["height", "weight", "label"]
    assert frame.attrs["trainlab.csv"].header
    assert "read as column names" in frame.attrs["trainlab.csv"].header_note
    assert load_csv(path).class_names == ("a", "b")


def test_numeric_names_in_the_header_need_header_true(tmp_path):
    path = write(tmp_path, "2019,2020,label\n1,2,0\n3,4,1\n")
    with pytest.raises(ValueError, match="line 1, column 'x2': the first row holds the text "
                                         "'label' where the rows below hold numbers") as info:
        load_csv(path)  # not a class 'label' of its own
    assert "header=True" in str(info.value) and "header=False" in str(info.value)
    ds = load_csv(path, header=True)
    assert ds.feature_names == ("2019", "2020") and ds.n_samples == 2
    assert load_csv(path, header=False).class_names == ("0", "1", "label")  # as told


def test_header_false_reads_the_first_row_as_data(tmp_path):
    path = write(tmp_path, "1,2,0\n3,4,1\n")
    assert load_csv(path, header=False).n_samples == 2
    path = write(tmp_path, "a,b,y\n1,2,0\n3,4,1\n", "named.csv")
    with pytest.raises(ValueError, match="line 1, column 'x0': could not read 'a'"):
        load_csv(path, header=False)
    with pytest.raises(ValueError, match=r"target column 'y' is not in the header.*header=False"):
        load_csv(path, header=False, target="y")


def test_a_named_target_in_a_headerless_file_says_why(tmp_path):
    path = write(tmp_path, "1,2,0\n3,4,1\n")
    with pytest.raises(ValueError, match=r"target column 'y' is not in the header\. Columns: "
                                         r"\['x0', 'x1', 'x2'\]\..*read as data") as info:
        load_csv(path, target="y")
    assert "header=True" in str(info.value)


@pytest.mark.parametrize("header", ["yes", 1, 0, None, "Auto"])
def test_header_option_is_checked(tmp_path, header):
    path = write(tmp_path, "a,y\n1,0\n2,1\n")
    with pytest.raises(ValueError, match="header must be 'auto', True or False"):
        load_csv(path, header=header)


def test_header_through_load_dataset(tmp_path):
    write(tmp_path, "1,2,0\n3,4,1\n5,6,0\n", "n.csv")
    assert load_dataset("csv:n.csv", data_dir=tmp_path, header=True).feature_names == ("1", "2")


def test_a_header_with_a_byte_order_mark(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfa,b,y\r\n1,2,0\r\n3,4,1\r\n")
    assert load_csv(path).feature_names == ("a", "b")


# -- the DataFrame step --------------------------------------------------------------------


def test_read_csv_frame_keeps_text_and_missing_cells(tmp_path):
    path = write(tmp_path, "age,city,y\n31,Paris,1\n,Lyon,0\n40,NA,1\n52,Paris,0\n")
    frame = read_csv_frame(path)
    assert frame["age"].dtype == np.float64 and np.isnan(frame["age"][1])
    assert isinstance(frame["city"].dtype, pd.CategoricalDtype)
    assert list(frame["city"].cat.categories) == ["Lyon", "Paris"] and frame["city"].isna()[2]
    with pytest.raises(ValueError, match="line 2, column 'city': could not read 'Paris'"):
        frame_to_dataset(frame)  # the first bad cell in reading order
    with pytest.raises(ValueError, match="line 3, column 'age': missing value ''"):
        frame_to_dataset(frame.drop(columns=["city"]))


def test_frame_to_dataset_equals_load_csv(tmp_path):
    path = write(tmp_path, "a,b,kind\n1,2.5,dog\n3,4,cat\n5, 6e1 ,dog\n")
    direct = load_csv(path, dtype=np.float64)
    via = frame_to_dataset(read_csv_frame(path), dtype=np.float64)
    np.testing.assert_array_equal(direct.X, via.X)
    np.testing.assert_array_equal(direct.y, via.y)
    assert direct.class_names == via.class_names == ("cat", "dog")


def test_frame_to_dataset_on_a_dataframe_built_by_hand():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["4", "x", "6"], "y": [0, 1, 0]})
    with pytest.raises(ValueError, match=r"frame_to_dataset: row 1 of the DataFrame, column 'b': "
                                         r"could not read 'x' as a number"):
        frame_to_dataset(frame)
    frame["b"] = ["4", "5", "6"]
    ds = frame_to_dataset(frame, name="mine")
    np.testing.assert_array_equal(ds.X, [[1, 4], [2, 5], [3, 6]])
    assert ds.name == "mine" and ds.class_names == ("0", "1")


def test_a_target_with_a_late_text_label_is_a_text_target(tmp_path):
    rows = "".join(f"{i},{i % 2}\n" for i in range(250))
    ds = load_csv(write(tmp_path, f"a,y\n{rows}7,other\n"))
    assert ds.class_names == ("0", "1", "other")


def test_quoted_cells_across_lines_keep_line_numbers(tmp_path):
    text = 'a,b,y\n1,"2",0\n"3\n",4,1\n\n5,"six\nsix",1\n'
    # the line on which the record ends, as the csv module counts (and the reader did)
    with pytest.raises(ValueError, match=r"line 7, column 'b': could not read 'six\\nsix'"):
        load_csv(write(tmp_path, text))


def test_long_cells_are_shortened_in_messages(tmp_path):
    path = write(tmp_path, "a,y\n1,0\n" + "9" * 500 + ",1\n")
    with pytest.raises(ValueError) as info:
        load_csv(path)
    message = str(info.value)
    assert "line 3, column 'a': non-finite value '9999" in message
    assert "(500 characters) (it overflows float64)" in message and len(message) < 400


def test_many_columns_are_listed_briefly(tmp_path):
    path = write(tmp_path, ",".join(f"c{j}" for j in range(100)) + "\n" + ",".join(["1"] * 100)
                 + "\n")
    with pytest.raises(ValueError, match=r"Columns: \['c0', .*'c11'\] \.\.\. \(100 columns\)"):
        load_csv(path, target="nope")


def test_numbers_are_parsed_exactly_as_python_parses_them(tmp_path):
    """pandas' parser, with the options used here, gives the correctly rounded double."""
    rng = np.random.default_rng(1)
    cells = [f"{rng.integers(1, 10**17)}e{rng.integers(-340, 291)}" for _ in range(3000)]
    values = rng.standard_normal(1000) * 10.0 ** rng.integers(-30, 30, 1000)
    cells += [repr(float(v)) for v in values]
    cells += ["2.2250738585072011e-308", "4.9406564584124654e-324", "1.7976931348623157e308",
              "0.1", "0." + "0" * 400 + "1", "123456789012345678901234567890", "9007199254740993",
              "+.5", "5.", " 7 "]
    path = write(tmp_path, "v,y\n" + "".join(f"{c},{i % 2}\n" for i, c in enumerate(cells)))
    got = load_csv(path, dtype=np.float64, task="classification").X[:, 0]
    want = np.array([float(c) for c in cells])
    assert np.array_equal(got, want)


# -- pandas and the csv module see the same records --------------------------------------------

_CELL = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
)


@st.composite
def tables(draw):
    """A numeric table rendered with random quoting, padding, blank lines and newlines."""
    width = draw(st.integers(2, 5))
    rows = draw(st.lists(st.lists(_CELL, min_size=width, max_size=width), min_size=2,
                         max_size=12))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines, numbers = [",".join(f"c{j}" for j in range(width))], []
    for row in rows:
        while draw(st.booleans()) and draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
        cells = []
        for cell in row:
            style = draw(st.integers(0, 3))
            cells.append({0: cell, 1: f'"{cell}"', 2: f" {cell} ", 3: f'"{cell}\n"'}[style])
        lines.append(",".join(cells))
        numbers.append([float(c) for c in row])
    return newline.join(lines) + newline, np.array(numbers), width


def _physical_lines(text: str) -> list[int]:
    """The line (1-based) on which each data record ends, as the csv module counts."""
    reader = csv.reader(io.StringIO(text, newline=""))
    ends = [reader.line_num for row in reader if row and not (len(row) == 1 and not row[0].strip())]
    return ends[1:]


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(table=tables(), data=st.data())
def test_records_and_line_numbers_agree_with_the_csv_module(tmp_path, table, data):
    text, numbers, width = table
    path = write(tmp_path, text, "fuzz.csv")
    frame = read_csv_frame(path, header=True)
    assert frame.shape == numbers.shape
    np.testing.assert_array_equal(frame.to_numpy(dtype=np.float64), numbers)
    # one cell replaced by text: the error names the line the csv module puts it on
    row = data.draw(st.integers(0, len(numbers) - 1), label="row")
    column = data.draw(st.integers(0, width - 2), label="column")
    reader = list(csv.reader(io.StringIO(text, newline="")))
    records = [r for r in reader if r and not (len(r) == 1 and not r[0].strip())]
    records[row + 1][column] = "oops"
    bad = "\n".join(",".join(f'"{c}"' if "\n" in c else c for c in r) for r in records) + "\n"
    path = write(tmp_path, bad, "bad.csv")
    line = _physical_lines(bad)[row]
    with pytest.raises(ValueError, match=re.escape(f"line {line}, column 'c{column}': could "
                                                   f"not read 'oops'")):
        load_csv(path, header=True)


def test_a_changed_frame_is_named_by_row_or_by_its_own_columns(tmp_path):
    path = write(tmp_path, "a,b,c,y\n1,2,3,0\n4,5,x,1\n7,8,9,0\n")
    frame = read_csv_frame(path)
    with pytest.raises(ValueError, match="line 3, column 'c': could not read 'x'"):
        frame_to_dataset(frame.drop(columns=["b"]))  # columns found by name in the file
    with pytest.raises(ValueError, match=r"frame_to_dataset: .*t.csv: row 0 of the DataFrame, "
                                         r"column 'c': could not read 'x'"):
        frame_to_dataset(frame.iloc[1:])  # rows dropped: no line numbers to give


def test_hints_for_an_open_quote_and_another_delimiter(tmp_path):
    with pytest.raises(ValueError, match="line 4 has 1 fields.*is a quote left open"):
        load_csv(write(tmp_path, 'a,b,y\n1,2,0\n"\n4,5,1\n'))
    with pytest.raises(ValueError, match="at least one target.*Pass delimiter=';'"):
        load_csv(write(tmp_path, "a;b;y\n1;2;0\n4;5;1\n", "semi.csv"))


@pytest.mark.parametrize("cell, words", [
    (" NaN ", "missing value ' NaN '"), ("+nan", "could not read '+nan'"),
    (" inf ", "could not read ' inf '"), ("1_000", "could not read '1_000'"),
    ("\u0661", "could not read '\u0661'"), ("-Infinity", "non-finite value '-Infinity'"),
])
@pytest.mark.parametrize("late", [False, True], ids=["sampled", "beyond the sample"])
def test_cells_python_and_pandas_read_differently(tmp_path, cell, words, late):
    """Python's float() accepts these; pandas does not (or reads them as infinite). The
    same clear error, whether the cell is among the sampled rows or far below them."""
    rows = [f"{i},{i},{i % 2}" for i in range(150 if late else 3)]
    rows.insert(len(rows), f"1,{cell},0")
    path = write(tmp_path, "a,b,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=re.escape(f"line {len(rows) + 1}, column 'b': {words}")):
        load_csv(path)
