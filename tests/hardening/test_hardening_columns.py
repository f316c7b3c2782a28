"""Columns are matched by name wherever a header names them: the order of a file's columns
never changes an answer, and a header that names only some features is refused."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from trainlab import data
from trainlab.cli import main


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "--data", "iris", "--epochs", "30", "--lr", "0.01", "--hidden", "16",
                 "-q", "--no-monitor", "--out", str(out), "--name", "iris"]) == 0
    return out / "iris"


def write_iris(path, order, with_target=True, drop=()):
    ds = data.load_dataset("iris")
    names = [n for n in ds.feature_names]
    columns = [names[j] for j in order if names[j] not in drop]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns + (["species"] if with_target else []))
        for x, y in zip(ds.X, ds.y, strict=True):
            row = [repr(float(x[names.index(c)])) for c in columns]
            writer.writerow(row + ([ds.class_names[y]] if with_target else []))


def evaluate(capsys, run, path):
    capsys.readouterr()
    status = main(["evaluate", str(run), "--data", f"csv:{path}", "--json"])
    out, err = capsys.readouterr()
    return status, (json.loads(out)["metrics"] if status == 0 else None), err


def test_evaluate_reads_reordered_columns_by_name(tmp_path, capsys, iris_run):
    write_iris(tmp_path / "in_order.csv", [0, 1, 2, 3])
    write_iris(tmp_path / "reordered.csv", [3, 1, 0, 2])
    status, in_order, err = evaluate(capsys, iris_run, tmp_path / "in_order.csv")
    assert status == 0, err
    status, reordered, err = evaluate(capsys, iris_run, tmp_path / "reordered.csv")
    assert status == 0, err
    assert reordered["accuracy"] == in_order["accuracy"] > 0.8


def test_evaluate_refuses_a_header_that_names_some_features(tmp_path, capsys, iris_run):
    write_iris(tmp_path / "partial.csv", [0, 1, 2, 3], drop=("petal width (cm)",))
    status, _, err = evaluate(capsys, iris_run, tmp_path / "partial.csv")
    assert status == 2 and "missing: petal width (cm)" in err


def test_predict_reads_reordered_columns_by_name(tmp_path, capsys, iris_run):
    write_iris(tmp_path / "a.csv", [0, 1, 2, 3], with_target=False)
    write_iris(tmp_path / "b.csv", [2, 0, 3, 1], with_target=True)
    for name in ("a", "b"):
        assert main(["predict", str(iris_run), "--input", str(tmp_path / f"{name}.csv"),
                     "--output", str(tmp_path / f"p{name}.csv")]) == 0
    assert (tmp_path / "pa.csv").read_bytes() == (tmp_path / "pb.csv").read_bytes()
    write_iris(tmp_path / "c.csv", [0, 1, 2, 3], with_target=False, drop=("sepal width (cm)",))
    capsys.readouterr()
    assert main(["predict", str(iris_run), "--input", str(tmp_path / "c.csv"),
                 "--output", str(tmp_path / "pc.csv")]) == 2
    assert "missing: sepal width (cm)" in capsys.readouterr().err


def test_predict_reads_a_headerless_file_in_order(tmp_path, iris_run):
    ds = data.load_dataset("iris")
    np.savetxt(tmp_path / "plain.csv", ds.X[:5], delimiter=",")
    assert main(["predict", str(iris_run), "--input", str(tmp_path / "plain.csv"),
                 "--output", str(tmp_path / "p.csv")]) == 0
    with open(tmp_path / "p.csv") as f:
        assert len(list(csv.DictReader(f))) == 5  # no row taken as a header


def test_predictions_csv_neutralises_spreadsheet_formulas(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    labels = np.where(X[:, 0] > 0, "=HYPERLINK(1)", "+cmd")
    with open(tmp_path / "t.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "label"])
        for x, label in zip(X, labels, strict=True):
            writer.writerow([x[0], x[1], label])
    out = tmp_path / "runs"
    assert main(["train", "--data", f"csv:{tmp_path / 't.csv'}", "--epochs", "2", "--hidden",
                 "4", "-q", "--no-monitor", "--out", str(out), "--name", "f"]) == 0
    np.savetxt(tmp_path / "x.csv", X[:4], delimiter=",")
    assert main(["predict", str(out / "f"), "--input", str(tmp_path / "x.csv"), "--output",
                 str(tmp_path / "p.csv")]) == 0
    text = (tmp_path / "p.csv").read_text()
    assert "'=HYPERLINK(1)" in text or "'+cmd" in text
    for line in text.splitlines():
        for cell in next(csv.reader([line])):
            assert not cell.startswith(("=", "+", "@")), cell
