"""Bad settings: one line on stderr naming the setting and what it accepts, exit status 2."""

from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import run_cli, run_subprocess

BAD_TRAIN = [
    (["--lrr", "0.1"], ["--lrr", "did you mean --lr"]),
    (["--lr", "abc"], ["'lr'", "--lr", "a number > 0", "'abc'"]),
    (["--lr", "-1"], ["'lr'", "a number > 0", "-1"]),
    (["--lr"], ["--lr", "expected one argument"]),
    (["--epochs", "0"], ["'epochs'", "an integer >= 1", "0"]),
    (["--epochs", "2.5"], ["'epochs'", "an integer"]),
    (["--batch-size", "-3"], ["'batch_size'", "--batch-size", ">= 1"]),
    (["--seed", "-1"], ["'seed'", ">= 0"]),
    (["--dropout", "1"], ["'dropout'", ">= 0 and < 1"]),
    (["--dropconnect", "x"], ["'dropconnect'", "a number"]),
    (["--hidden", "64,zero"], ["'hidden'", "a list of integers"]),
    (["--hidden", "64,0"], ["'hidden'", "a list of integers >= 1"]),
    (["--optimizer", "adma"], ["'optimizer'", "sgd", "adagrad", "rmsprop", "adamw", "'adma'"]),
    (["--activation", "swish"], ["'activation'", "relu", "tanh", "'swish'"]),
    (["--init", "he"], ["'init'", "he_uniform", "'he'"]),
    (["--norm", "group"], ["'norm'", "none, batch, layer"]),
    (["--schedule", "warmup"], ["'schedule'", "none, exponential, step, cosine, plateau"]),
    (["--augment", "flip"], ["'augment'", "none, noise, shift"]),
    (["--scaler", "robust"], ["'scaler'", "standard, minmax, none"]),
    (["--beta1", "1"], ["'beta1'", "< 1"]),
    (["--momentum", "-0.1"], ["'momentum'", ">= 0"]),
    (["--clip-norm", "0"], ["'clip_norm'", "> 0"]),
    (["--clip-norm", "1", "--clip-value", "1"], ["'clip_norm'", "'clip_value'", "not both"]),
    (["--nesterov"], ["'nesterov'", "does not apply to optimizer 'adam'"]),
    (["--optimizer", "sgd", "--nesterov"], ["'optimizer'", "Nesterov", "momentum > 0"]),
    (["--momentum", "0.9"], ["'momentum'", "does not apply to optimizer 'adam'", "0.9"]),
    (["--schedule", "step", "--t-max", "5"], ["'t_max'", "does not apply to schedule 'step'"]),
    (["--augment", "none", "--noise-std", "0.5"], ["'noise_std'", "--augment noise"]),
    (["--name", "a/b"], ["'name'", "plain directory name"]),
    (["--name", "x\x1b[31m"], ["'name'", "printable characters"]),
    (["--val-fraction", "0.5", "--test-fraction", "0.5"], ["'val_fraction'", "'test_fraction'"]),
    (["--data", "cifar"], ["'data'", "'cifar'", "digits", "csv:PATH"]),
    (["--data", "csv:/no/such/file.csv"], ["'data'", "no such file", "/no/such/file.csv"]),
    (["--data", "npz:/no/such/file.npz"], ["'data'", "no such file"]),
    (["--data", "iris", "--augment", "shift"], ["'augment'", "needs images", "noise"]),
    (["--config", "/no/such/config.toml"], ["'config'", "no such file"]),
    (["--name", "../escape"], ["'name'", "plain directory name"]),
    (["--monitor-every", "0"], ["'monitor_every'", ">= 1"]),
]


@pytest.mark.parametrize("argv, fragments", BAD_TRAIN, ids=[" ".join(a) for a, _ in BAD_TRAIN])
def test_bad_train_settings(tmp_path, capsys, argv, fragments):
    status, out, err = run_cli(capsys, "train", "--out", tmp_path, *argv)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("trainlab: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir()), "nothing is written for a refused run"


BAD_TOML = [
    ("lrate = 0.1\n", ["unknown setting 'lrate'", "did you mean 'lr'", "accepted settings"]),
    ('lr = "fast"\n', ["'lr'", "a number > 0", "'fast'"]),
    ("epochs = 3.5\n", ["'epochs'", "an integer"]),
    ("hidden = 64\n", ["'hidden'", "a list of integers"]),
    ('monitor = "yes"\n', ["'monitor'", "true or false"]),
    ('optimizer = "adamax"\n', ["'optimizer'", "sgd", "adagrad"]),
    ("lr = [\n", ["not valid TOML"]),
    ("[modle]\nhidden = [3]\n", ["unknown setting 'modle'", "did you mean 'model'"]),
    ("momentum = 0.5\n", ["'momentum'", "does not apply to optimizer 'adam'"]),
    ("a = " + "[" * 2000 + "]" * 2000 + "\n", ["not valid TOML"]),
]


@pytest.mark.parametrize("text, fragments", BAD_TOML, ids=[t.split("\n")[0] for t, _ in BAD_TOML])
def test_bad_toml_settings(tmp_path, capsys, text, fragments):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    status, _, err = run_cli(capsys, "train", "--config", config, "--out", tmp_path / "runs")
    assert status == 2
    assert err.count("\n") == 1 and str(config) in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_unwritable_output_directory_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status, out, err = run_cli(capsys, "train", "--out", blocker / "runs")
    assert status == 2 and err.count("\n") == 1
    assert "'out'" in err and "cannot create a run directory" in err
    assert "epoch" not in out


def test_bad_csv_data_names_the_file_and_the_problem(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,target\n1,2,0\n3,oops,1\n")
    status, _, err = run_cli(capsys, "train", "--data", f"csv:{bad}", "--out", tmp_path)
    assert status == 2 and err.count("\n") == 1
    assert "'data'" in err and "oops" in err


@pytest.mark.parametrize("argv, fragments", [
    (["evaluate"], ["required", "RUN"]),
    (["evaluate", "/no/such/run"], ["does not exist"]),
    (["evaluate", "."], ["not a trainlab run directory"]),
    (["report", "."], ["not a trainlab run directory"]),
    (["predict", "."], ["--input", "--output", "required"]),
    (["frobnicate"], ["invalid choice", "'frobnicate'", "train"]),
    (["evaluate", "--bogus", "x"], ["unknown option --bogus"]),
])
def test_bad_usage_of_the_other_commands(tmp_path, capsys, monkeypatch, argv, fragments):
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(capsys, *argv)
    assert status == 2 and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_evaluate_on_data_with_another_feature_count(capsys, finished_run):
    status, _, err = run_cli(capsys, "evaluate", finished_run, "--data", "iris")
    assert status == 2 and err.count("\n") == 1
    assert "64 features" in err and "received 4" in err


@pytest.mark.parametrize("make, fragments", [
    (lambda p: np.savez(p.with_suffix(".npz"), X=np.zeros((3, 10))),
     ["64 features", "received 10"]),
    (lambda p: np.savez(p.with_suffix(".npz"), Z=np.zeros((3, 64))), ["no array 'X'"]),
    (lambda p: p.with_suffix(".npz").write_bytes(b"PK\x03\x04garbage"), ["not a readable .npz"]),
    (lambda p: np.savez(p.with_suffix(".npz"), X=np.array([[object()]] * 3, dtype=object)),
     ["'X'"]),
    (lambda p: p.with_suffix(".csv").write_text("a,b\n1,2\n"), ["64 features", "2 columns"]),
    (lambda p: p.with_suffix(".csv").write_text(",".join(f"c{i}" for i in range(64)) + "\n"
                                                + ",".join(["1"] * 63 + ["x"]) + "\n"),
     ["row 2", "'c63'", "'x' is not a number"]),
    (lambda p: p.with_suffix(".csv").write_text(",".join(f"c{i}" for i in range(64)) + "\n"
                                                + ",".join(["1"] * 63 + ["nan"]) + "\n"),
     ["not finite"]),
    (lambda p: p.with_suffix(".csv").write_text(""), ["empty"]),
])
def test_predict_refuses_bad_inputs(tmp_path, capsys, finished_run, make, fragments):
    make(tmp_path / "input")
    source = next(tmp_path.glob("input.*"))
    status, _, err = run_cli(capsys, "predict", finished_run, "--input", source,
                             "--output", tmp_path / "out.csv")
    assert status == 2 and err.count("\n") == 1, err
    assert "'input'" in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not (tmp_path / "out.csv").exists()


def test_predict_output_suffix_is_checked(tmp_path, capsys, finished_run):
    np.savez(tmp_path / "x.npz", X=np.zeros((2, 64)))
    status, _, err = run_cli(capsys, "predict", finished_run, "--input", tmp_path / "x.npz",
                             "--output", tmp_path / "out.json")
    assert status == 2 and "'output'" in err and ".csv or .npz" in err


@pytest.mark.slow
def test_a_bad_flag_in_a_real_process_is_one_line_and_status_2(tmp_path):
    proc = run_subprocess("train", "--optimizer", "adma", "--out", tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "'optimizer'" in proc.stderr
    assert proc.stdout == ""


def test_divergence_is_a_clear_error_and_keeps_the_last_finite_checkpoint(tmp_path, capsys):
    # the learning rate grows a thousandfold per epoch: finite in epoch 1, NaN in epoch 2
    status, _, err = run_cli(capsys, "train", "--optimizer", "sgd", "--lr", "0.01", "--schedule",
                             "exponential", "--gamma", "1000", "--epochs", "6", "--hidden", "16",
                             "-q", "--out", tmp_path)
    assert status == 1
    assert err.count("\n") == 1 and err.startswith("error: training diverged")
    assert "epoch 2" in err and "The last finite checkpoint (epoch 1) is kept" in err
    run = tmp_path / "digits"
    from trainlab.train import load_checkpoint

    checkpoint = load_checkpoint(run / "checkpoint.safetensors")
    assert checkpoint.epoch == 1
    assert all(np.isfinite(v).all() for v in checkpoint.model_state.values())
    assert (run / "metrics.csv").read_text().count("\n") == 2  # the header and epoch 1
    assert not (run / "model.safetensors").exists()
    import json

    assert json.loads((run / "run.json").read_text())["status"] == "diverged"
    assert (run / "report.html").is_file()
