"""``trainlab train``: the run directory, the defaults, reproducibility, configuration files."""

from __future__ import annotations

import csv
import json
import threading
import tomllib

import numpy as np
import pytest
from cli_helpers import QUICK, run_cli, run_subprocess

from trainlab import runs
from trainlab.recipe import applies, from_flat, read_toml
from trainlab.train import load_checkpoint, load_model


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_run_directory_holds_every_file(finished_run):
    for name in ("config.toml", "run.json", "metrics.csv", "checkpoint.safetensors",
                 "model.safetensors", "monitor.json", "report.html"):
        assert (finished_run / name).is_file(), name
    pngs = sorted(p.name for p in (finished_run / "figures").glob("*.png"))
    assert {"curve_loss.png", "curve_accuracy.png", "learning_rate.png"} <= set(pngs)
    assert any(p.startswith("diag_") for p in pngs)
    for p in (finished_run / "figures").glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = read_rows(finished_run / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    info = json.loads((finished_run / "run.json").read_text())
    assert info["status"] == "completed" and info["epochs_completed"] == 3
    assert set(info["final"]) == {"train", "val", "test"}


def test_config_toml_is_fully_resolved_and_reusable(finished_run):
    with open(finished_run / "config.toml", "rb") as f:
        config = tomllib.load(f)
    assert config["epochs"] == 3 and config["hidden"] == [32] and config["seed"] == 1
    # exactly the settings that apply to the run are written, with the values it used
    recipe = from_flat({k: v for k, v in read_toml(finished_run / "config.toml").items()
                        if k not in ("out", "name")})
    written = set(config) - {"out", "name"}
    applicable = {n for n in recipe.to_flat() if applies(recipe, n, "classification")}
    assert written <= applicable
    assert applicable - written <= {"data_dir", "clip_norm", "clip_value", "optimizer_options",
                                    "schedule_options", "target_scaler", "class_weight",
                                    "metrics", "threads"}  # off: comments
    assert config["weight_decay"] == 0.0 and config["eps"] == 1e-8
    assert "momentum" not in config and "nesterov" not in config  # Adam has neither


def test_checkpoint_holds_the_full_state(finished_run):
    ckpt = load_checkpoint(finished_run / "checkpoint.safetensors")
    assert ckpt.epoch == 3 and ckpt.model_config["hidden_sizes"] == [32]
    assert ckpt.standardizer["type"] == "Standardizer"
    state = ckpt.trainer_state
    assert state["optimizer"]["type"] == "Adam" and state["rng"] is not None
    assert ckpt.history.keys()[:2] == ["epoch", "loss"]
    model = load_model(finished_run / "model.safetensors")
    assert model.parameters()[0].data.shape == (64, 32)


def test_prints_epoch_lines_summary_and_health_table(tmp_path, capsys):
    status, out, err = run_cli(capsys, "train", "--epochs", "2", "--hidden", "16", "--out",
                               tmp_path, "--name", "r")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("epoch 1/2  loss ") and lines[1].startswith("epoch 2/2  loss ")
    assert "test accuracy: " in out
    assert "layer health" in out and "layer 0 · Linear" in out and "layer 1 · ReLU" in out
    assert f"report: {tmp_path / 'r' / 'report.html'}" in out


def test_no_monitor_turns_the_diagnostics_off(tmp_path, capsys):
    quick = [a for a in QUICK if a not in ("--monitor-every", "10")]
    status, out, err = run_cli(capsys, "train", *quick, "--no-monitor", "--out", tmp_path)
    assert status == 0, err
    run = tmp_path / "digits"
    assert not (run / "monitor.json").exists()
    assert "layer health" not in out
    assert "monitor was off" in (run / "report.html").read_text()


def test_same_command_twice_gives_identical_metrics_and_weights(tmp_path, capsys):
    argv = ["train", *QUICK, "--dropout", "0.2", "--augment", "noise", "--seed", "7",
            "--out", tmp_path]
    assert run_cli(capsys, *argv)[0] == 0
    assert run_cli(capsys, *argv)[0] == 0
    a, b = tmp_path / "digits", tmp_path / "digits-2"
    assert (a / "metrics.csv").read_bytes() == (b / "metrics.csv").read_bytes()
    wa = load_checkpoint(a / "checkpoint.safetensors").model_state
    wb = load_checkpoint(b / "checkpoint.safetensors").model_state
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    # ... and another seed gives another run
    assert run_cli(capsys, *argv[:-4], "--seed", "8", "--out", tmp_path)[0] == 0
    assert (a / "metrics.csv").read_bytes() != (tmp_path / "digits-3" / "metrics.csv").read_bytes()


def test_toml_config_and_flags_override_it(tmp_path, capsys):
    config = tmp_path / "exp.toml"
    config.write_text('epochs = 2\nhidden = [24, 12]\noptimizer = "sgd"\nlr = 0.05\n'
                      'momentum = 0.9\nnesterov = true\nschedule = "step"\nstep_size = 1\n'
                      'name = "fromfile"\nmonitor = false\n')
    status, _, err = run_cli(capsys, "train", "--config", config, "--lr", "0.02", "-q",
                             "--out", tmp_path)
    assert status == 0, err
    with open(tmp_path / "fromfile" / "config.toml", "rb") as f:
        resolved = tomllib.load(f)
    assert resolved["lr"] == 0.02  # the flag wins
    assert resolved["hidden"] == [24, 12] and resolved["nesterov"] is True
    assert resolved["gamma"] == 0.1  # the step schedule's default, resolved
    rows = read_rows(tmp_path / "fromfile" / "metrics.csv")
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.02, 0.002])
    ckpt = load_checkpoint(tmp_path / "fromfile" / "checkpoint.safetensors")
    assert ckpt.trainer_state["optimizer"]["type"] == "SGD"
    # the resolved file reproduces the run
    status, _, _ = run_cli(capsys, "train", "--config", tmp_path / "fromfile" / "config.toml",
                           "-q", "--out", tmp_path)
    assert status == 0
    assert ((tmp_path / "fromfile" / "metrics.csv").read_bytes()
            == (tmp_path / "fromfile-2" / "metrics.csv").read_bytes())


def test_a_toml_train_table_is_accepted(tmp_path, capsys):
    config = tmp_path / "exp.toml"
    config.write_text('[train]\nepochs = 1\nhidden = [8]\nmonitor = false\n')
    assert run_cli(capsys, "train", "--config", config, "-q", "--out", tmp_path)[0] == 0
    assert len(read_rows(tmp_path / "digits" / "metrics.csv")) == 1


@pytest.mark.parametrize("options, optimizer, schedule, layers", [
    (["--norm", "batch", "--activation", "tanh", "--init", "xavier_uniform", "--optimizer",
      "rmsprop", "--momentum", "0.5", "--centered", "--schedule", "exponential"],
     "RMSprop", "ExponentialLR", ["Linear", "BatchNorm", "Tanh", "Linear"]),
    (["--norm", "layer", "--dropconnect", "0.2", "--dropout", "0.1", "--optimizer", "adamw",
      "--schedule", "step", "--clip-norm", "1.0", "--augment", "shift"],
     "AdamW", "StepLR", ["DropConnect", "LayerNorm", "ReLU", "Dropout", "Linear"]),
    (["--optimizer", "adagrad", "--schedule", "plateau", "--clip-value", "0.5", "--scaler",
      "minmax", "--dtype", "float64", "--early-stopping", "--augment", "none"],
     "Adagrad", "ReduceLROnPlateau", ["Linear", "ReLU", "Linear"]),
    (["--optimizer", "sgd", "--momentum", "0.9", "--nesterov", "--schedule", "none",
      "--activation", "gelu", "--init", "torch_default"],
     "SGD", None, ["Linear", "GELU", "Linear"]),
])
def test_every_component_can_be_chosen(tmp_path, capsys, options, optimizer, schedule, layers):
    status, _, err = run_cli(capsys, "train", "--epochs", "2", "--hidden", "16", "-q",
                             "--monitor-every", "5", "--out", tmp_path, *options)
    assert status == 0, err
    info = json.loads((tmp_path / "digits" / "run.json").read_text())
    assert info["status"] == "completed"
    state = load_checkpoint(tmp_path / "digits" / "checkpoint.safetensors").trainer_state
    assert state["optimizer"]["type"] == optimizer
    assert (state["schedule"] or {}).get("type") == schedule
    model = load_model(tmp_path / "digits" / "model.safetensors")
    assert [type(m).__name__ for m in model] == layers
    rows = read_rows(tmp_path / "digits" / "metrics.csv")
    assert all(np.isfinite(float(r["loss"])) for r in rows)


def test_regression_run(tmp_path, capsys):
    status, out, err = run_cli(capsys, "train", "--data", "diabetes", "--epochs", "2",
                               "--hidden", "8", "-q", "--out", tmp_path)
    assert status == 0, err
    assert "test R²" in out
    rows = read_rows(tmp_path / "diabetes" / "metrics.csv")
    assert {"mse", "r2", "val_mse", "val_r2"} <= set(rows[0])


def test_concurrent_runs_get_distinct_directories(tmp_path):
    made = []
    barrier = threading.Barrier(8)

    def create():
        barrier.wait()
        made.append(runs.create_run_dir(tmp_path, "same"))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 8
    assert sorted(p.name for p in made) == sorted(["same", *(f"same-{i}" for i in range(2, 9))])


@pytest.mark.slow
def test_two_processes_started_at_once_write_distinct_run_directories(tmp_path):
    import subprocess
    import sys

    from cli_helpers import subprocess_env

    argv = [sys.executable, "-m", "trainlab", "train", "--epochs", "1", "--hidden", "8", "-q",
            "--no-monitor", "--out", str(tmp_path), "--name", "twin"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=subprocess_env()) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["twin", "twin-2"]
    for name in ("twin", "twin-2"):
        assert len(read_rows(tmp_path / name / "metrics.csv")) == 1


@pytest.mark.slow
def test_console_script_as_a_process(tmp_path):
    proc = run_subprocess("train", "--epochs", "2", "--hidden", "16", "--out", tmp_path,
                          "--name", "p")
    assert proc.returncode == 0, proc.stderr
    # not a terminal: one plain line per epoch, no progress bar
    epoch_lines = [line for line in proc.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/2", "2/2"]
    assert "\r" not in proc.stdout
    assert "test accuracy:" in proc.stdout
    proc = run_subprocess("--help")
    assert proc.returncode == 0 and "train" in proc.stdout and "evaluate" in proc.stdout


@pytest.mark.slow
def test_defaults_reach_97_percent_test_accuracy(tmp_path, capsys):
    status, out, err = run_cli(capsys, "train", "--out", tmp_path)
    assert status == 0, err
    info = json.loads((tmp_path / "digits" / "run.json").read_text())
    accuracy = info["final"]["test"]["accuracy"]
    assert accuracy >= 0.97, accuracy
    assert f"test accuracy: {100 * accuracy:.2f}%" in out
