"""A table as users have it: the Palmer penguins CSV, exactly as the palmerpenguins
package ships it (text columns, NA cells), trained, evaluated and predicted from the
command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from trainlab.train import load_checkpoint

PENGUINS = Path(__file__).parents[1] / "data" / "penguins.csv"


@pytest.fixture(scope="module")
def penguin_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    from trainlab.cli import main

    status = main(["train", "--data", f"csv:{PENGUINS}", "--target", "species",
                   "--epochs", "20", "--hidden", "64,32", "--no-monitor", "--out", str(out),
                   "--name", "penguins", "-q"])
    assert status == 0
    return out / "penguins"


def test_the_shipped_file_is_the_package_one():
    try:
        from palmerpenguins import load_penguins  # noqa: F401
    except ImportError:
        pytest.skip("palmerpenguins is not installed")
    import palmerpenguins

    shipped = Path(palmerpenguins.__file__).parent / "data" / "penguins.csv"
    assert shipped.read_bytes() == PENGUINS.read_bytes()


def test_trains_to_97_percent_in_one_command(penguin_run):
    metrics = json.loads((penguin_run / "run.json").read_text())["final"]
    assert metrics["test"]["accuracy"] >= 0.97
    state = load_checkpoint(penguin_run / "model.safetensors").extra["table_encoder"]
    columns = {c["name"]: c for c in state["columns"]}
    assert columns["island"]["categories"] == ["Biscoe", "Dream", "Torgersen"]
    assert columns["sex"]["fill"] in ("female", "male")
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib") for p in penguin_run.iterdir())


def test_start_says_how_the_header_was_read_and_what_was_encoded(tmp_path, capsys):
    status, out, _ = run_cli(capsys, "train", "--data", f"csv:{PENGUINS}", "--target",
                             "species", "--epochs", "1", "--hidden", "8", "--no-monitor",
                             "--out", tmp_path, "-q")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("penguins.csv: the first row was read as column names")
    assert lines[1].startswith("table: one-hot island (3), sex (2); imputed ")
    assert lines[1].endswith("7 columns -> 10 features (fitted on the training split)")


def test_predict_on_the_raw_rows(penguin_run, tmp_path, capsys):
    output = tmp_path / "p.csv"
    status, out, _ = run_cli(capsys, "predict", penguin_run, "--input", PENGUINS,
                             "--output", output)
    assert status == 0 and "344 examples" in out
    with PENGUINS.open() as handle:
        truth = [row["species"] for row in csv.DictReader(handle)]
    with output.open() as handle:
        predicted = [row["class"] for row in csv.DictReader(handle)]
    assert len(predicted) == len(truth) == 344
    assert np.mean([p == t for p, t in zip(predicted, truth, strict=True)]) >= 0.97
    # the same rows without a header and without the target column: read in order
    lines = PENGUINS.read_text().splitlines()[1:6]
    headerless = tmp_path / "rows.csv"
    headerless.write_text("\n".join(",".join(line.split(",")[1:]) for line in lines) + "\n")
    status, out, _ = run_cli(capsys, "predict", penguin_run, "--input", headerless,
                             "--output", tmp_path / "q.csv")
    assert status == 0 and "no header found" in out and "5 examples" in out
    with (tmp_path / "q.csv").open() as handle:
        assert [row["class"] for row in csv.DictReader(handle)] == predicted[:5]


def test_predict_refuses_what_it_cannot_match(penguin_run, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    rows.write_text("Adelie,Torgersen,39.1,18.7,181,3750,male,2007\n"
                    "Gentoo,Biscoe,47.5,15,218,4950,female,2008\n")
    status, _, err = run_cli(capsys, "predict", penguin_run, "--input", rows, "--output",
                             tmp_path / "o.csv")
    assert status == 2
    assert "no header and 8 columns" in err and "island, bill_length_mm" in err
    assert len(err.strip().splitlines()) == 1


def test_evaluate_on_the_raw_file_and_on_the_run_split(penguin_run, capsys):
    status, out, _ = run_cli(capsys, "evaluate", penguin_run, "--data", f"csv:{PENGUINS}",
                             "--json")
    assert status == 0
    assert json.loads(out)["metrics"]["n"] == 344
    status, out, _ = run_cli(capsys, "evaluate", penguin_run, "--json")
    split = json.loads(out)["metrics"]
    recorded = json.loads((penguin_run / "run.json").read_text())["final"]["test"]
    assert split["accuracy"] == pytest.approx(recorded["accuracy"])


def test_each_step_can_be_switched_off(tmp_path, capsys):
    status, _, err = run_cli(capsys, "train", "--data", f"csv:{PENGUINS}", "--target",
                             "species", "--categorical", "none", "--out", tmp_path, "-q")
    assert status == 2 and "line 2, column 'island': could not read 'Torgersen'" in err
    status, _, err = run_cli(capsys, "train", "--data", f"csv:{PENGUINS}", "--target",
                             "species", "--impute", "none", "--out", tmp_path, "-q")
    assert status == 2 and "line 5, column 'bill_length_mm': missing value 'NA'" in err
    status, _, err = run_cli(capsys, "train", "--data", "iris", "--impute", "median",
                             "--out", tmp_path, "-q")
    assert status == 2 and "does not apply" in err and "--impute" in err


def test_resume_restores_the_encoder(tmp_path, capsys):
    args = ["--data", f"csv:{PENGUINS}", "--target", "species", "--hidden", "8",
            "--schedule", "none", "--no-monitor", "-q"]
    assert run_cli(capsys, "train", *args, "--epochs", "2", "--out", tmp_path / "a",
                   "--name", "r")[0] == 0
    assert run_cli(capsys, "train", "--resume", tmp_path / "a" / "r", "--epochs", "4")[0] == 0
    assert run_cli(capsys, "train", *args, "--epochs", "4", "--out", tmp_path / "b",
                   "--name", "r")[0] == 0
    resumed = (tmp_path / "a" / "r" / "metrics.csv").read_text()
    straight = (tmp_path / "b" / "r" / "metrics.csv").read_text()
    drop_time = [line.split(",")[:5] for line in resumed.splitlines()]
    assert drop_time == [line.split(",")[:5] for line in straight.splitlines()]


def test_a_column_complete_in_the_training_rows_is_still_imputed(tmp_path, capsys):
    # with seed 1 neither row without measurements is in the training split
    status, out, err = run_cli(capsys, "train", "--data", f"csv:{PENGUINS}", "--target",
                               "species", "--seed", "1", "--epochs", "1", "--hidden", "8",
                               "--no-monitor", "--out", tmp_path, "-q")
    assert status == 0, err
    assert "imputed 6 missing cells in 1 column" in out  # sex only
