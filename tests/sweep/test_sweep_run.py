"""A sweep end to end: trials as run directories, results.csv, the study, the report,
``sweep show``, ``compare``, pruning, and a failing trial that does not stop the sweep."""

from __future__ import annotations

import json
import math

import pytest

optuna = pytest.importorskip("optuna")

from sweep_support import header, one_error_line, results, run_cli, write_spec  # noqa: E402

from trainlab.recipe import from_flat, read_toml  # noqa: E402
from trainlab.report.run_report import read_metrics  # noqa: E402
from trainlab.runs import read_run_info  # noqa: E402
from trainlab.runs.run import Run  # noqa: E402

# lr = 1e6 makes SGD diverge on the first epoch: those trials fail, the others go on.
GRID = """[sweep]
method = "grid"
metric = "val_accuracy"
goal = "maximize"
seeds = [0, 1]

[sweep.grid]
lr = [0.05, 1e6]
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    spec = write_spec(folder, "grid", GRID)
    spec.write_text(spec.read_text().replace("[base]\n", '[base]\noptimizer = "sgd"\n'))
    from trainlab.cli import main

    code = main(["sweep", str(spec), "--out", str(folder / "out"), "--workers", "2", "-q"])
    return folder, spec, folder / "out", code


def test_results_csv_has_one_row_per_trial(grid):
    _, _, out, code = grid
    assert code == 0
    assert header(out) == ["trial", "seed", "status", "val_accuracy", "lr", "run_dir"]
    rows = results(out)
    assert [(r["trial"], r["seed"], r["lr"]) for r in rows] == [
        ("0", "0", "0.05"), ("1", "1", "0.05"), ("2", "0", "1000000.0"), ("3", "1", "1000000.0")]
    assert [r["status"] for r in rows] == ["complete", "complete", "failed", "failed"]
    for r in rows:
        run_dir = out / r["run_dir"]
        assert r["run_dir"] == f"trials/trial-000{r['trial']}"
        assert (run_dir / "report.html").is_file()
        settings = read_toml(run_dir / "config.toml")
        assert settings["seed"] == int(r["seed"]) and settings["lr"] == float(r["lr"])
    for r in rows[:2]:  # the metric is the value at the run's last epoch
        last = read_metrics(out / r["run_dir"] / "metrics.csv")["val_accuracy"][-1]
        assert float(r["val_accuracy"]) == last
    assert rows[2]["val_accuracy"] == ""  # the diverged run has no finite metric


def test_a_failed_trial_records_its_reason(grid):
    _, _, out, _ = grid
    summary = json.loads((out / "sweep.json").read_text())
    assert set(summary["reasons"]) == {"2", "3"}
    assert all("diverged" in reason for reason in summary["reasons"].values())
    assert summary["best"]["trial"] in (0, 1) and summary["planned"] == 4


def test_a_trial_is_a_run_config_and_a_seed(grid):
    """The trial's value is what Run gives for the spec's settings and that seed."""
    _, _, out, _ = grid
    row = results(out)[1]
    config = from_flat({"data": "iris", "epochs": 2, "hidden": [8], "monitor": False,
                        "batch_size": 16, "optimizer": "sgd", "lr": 0.05, "seed": 1})
    run = Run.in_memory(config)
    run.train()
    assert run.trainer.history.rows[-1]["val_accuracy"] == float(row["val_accuracy"])


def test_the_study_opens_with_optuna(grid):
    _, _, out, _ = grid
    study = optuna.load_study(study_name="grid", storage=f"sqlite:///{out / 'sweep.db'}")
    trials = sorted(study.trials, key=lambda t: t.user_attrs["slot"])
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "FAIL", "FAIL"]
    assert [t.params["lr"] for t in trials] == [0.05, 0.05, 1e6, 1e6]
    assert [t.user_attrs["seed"] for t in trials] == [0, 1, 0, 1]
    assert study.best_trial.value == max(t.value for t in trials[:2])


def test_the_report_links_the_best_trials(grid):
    _, _, out, _ = grid
    page = (out / "report.html").read_text()
    for title in ("Best trials", "The metric against each setting", "Parallel coordinates",
                  "Pruned and failed trials"):
        assert title in page
    assert 'href="trials/trial-0000/report.html"' in page
    assert page.count("data:image/png;base64,") >= 2


def test_sweep_show_prints_the_table(grid, capsys):
    _, _, out, _ = grid
    code, text, err = run_cli(capsys, "sweep", "show", out)
    assert code == 0, err
    lines = text.splitlines()
    assert "4/4 trials ended (2 complete, 0 pruned, 2 failed)" in lines[0]
    assert lines[1].split() == ["trial", "seed", "status", "val_accuracy", "lr", "reason"]
    body = [line.split()[:3] for line in lines[3:7]]
    assert [b[2] for b in body] == ["complete", "complete", "failed", "failed"]
    assert "diverged" in lines[5]


def test_a_second_sweep_into_the_same_dir_is_refused(grid, capsys):
    _, spec, out, _ = grid
    code, _, err = run_cli(capsys, "sweep", spec, "--out", out)
    one_error_line(code, err, "already holds a sweep", "--resume")


def test_resume_of_a_finished_sweep_trains_nothing(grid, capsys):
    _, spec, out, _ = grid
    before = {p: p.stat().st_mtime_ns for p in out.glob("trials/*/run.json")}
    code, text, err = run_cli(capsys, "sweep", spec, "--resume", out, "-q")
    assert code == 0, err
    assert {p: p.stat().st_mtime_ns for p in out.glob("trials/*/run.json")} == before
    assert len(results(out)) == 4


def test_resume_with_another_spec_is_refused(grid, capsys, tmp_path):
    _, spec, out, _ = grid
    other = tmp_path / "grid.toml"
    other.write_text(spec.read_text().replace("seeds = [0, 1]", "seeds = [0, 1, 2]"))
    code, _, err = run_cli(capsys, "sweep", other, "--resume", out)
    one_error_line(code, err, "differs from the spec")


def test_compare_two_trials(grid, capsys, tmp_path):
    _, _, out, _ = grid
    page = tmp_path / "cmp.html"
    code, text, err = run_cli(capsys, "compare", out / "trials/trial-0000",
                              out / "trials/trial-0002", "--output", page)
    assert code == 0, err
    assert "settings that differ:" in text
    diff = text.split("settings that differ:")[1].splitlines()
    assert any(line.split()[:3] == ["lr", "0.05", "1e+06"] for line in diff), text
    html = page.read_text()
    assert "Learning curves" in html and "Training health" in html and "trial-0002" in html
    code, _, err = run_cli(capsys, "compare", out / "trials/trial-0000")
    one_error_line(code, err, "at least two")


def test_asha_prunes_the_trial_behind(tmp_path, capsys):
    """One worker, the good point first: at the first rung (epoch 1) ASHA keeps the top
    third, so the trial with a hopeless learning rate stops after one epoch."""
    spec = write_spec(tmp_path, "asha", '[sweep]\nmetric = "val_loss"\ngoal = "minimize"\n'
                      'prune = "asha"\n[sweep.grid]\nlr = [0.05, 1e-7]\n', epochs=4)
    spec.write_text(spec.read_text().replace("[base]\n", '[base]\noptimizer = "sgd"\n'))
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "sweep", spec, "--out", out, "--workers", "1", "-q")
    assert code == 0, err
    rows = results(out)
    assert [r["status"] for r in rows] == ["complete", "pruned"]
    good, bad = (read_metrics(out / r["run_dir"] / "metrics.csv") for r in rows)
    assert len(good["epoch"]) == 4 and len(bad["epoch"]) == 1
    assert bad["val_loss"][0] > good["val_loss"][0]
    assert float(rows[1]["val_loss"]) == bad["val_loss"][0]
    info = read_run_info(out / rows[1]["run_dir"])
    assert info["status"] == "completed" and info["stop_reason"].startswith("pruned at epoch 1")
    assert math.isfinite(float(rows[0]["val_loss"]))
