"""Hostile files through the command line: a non-zero exit, one clear line on stderr, no
traceback, no run directory left behind, nothing unpickled."""

from __future__ import annotations

import json
import pickle
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_support import FAST, assert_one_clear_line, cli_process, run_cli
from test_hardening_checkpoint_files import _edit_metadata
from test_hardening_hostile_files import HOSTILE_CSV, HOSTILE_NPZ, Marker

from trainlab.train import load_checkpoint


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    """A finished two-epoch iris run, made once and copied by the tests that change it."""
    from trainlab.cli import main

    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "--data", "iris", *FAST, "--out", str(out), "--name", "base"]) == 0
    return out / "base"


@pytest.fixture
def run_copy(base_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(base_run, copy)
    return copy


def csv_flags(kwargs: dict) -> list[str]:
    flags = []
    for key, value in kwargs.items():
        flags += [f"--{key}", str(value)]
    return flags


# -- train --data csv:/npz: ------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(HOSTILE_CSV))
def test_train_on_a_hostile_csv(capsys, tmp_path, case):
    content, kwargs, _ = HOSTILE_CSV[case]
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    out = tmp_path / "runs"
    code, _, err = run_cli(capsys, "train", "--data", f"csv:{path}", *csv_flags(kwargs),
                           *FAST, "--out", out)
    # (an unknown --task is refused as a setting, before the file is read)
    assert_one_clear_line(code, err, "task" if case == "unknown task" else "hostile.csv")
    assert not out.exists() or not any(out.iterdir()), "a run directory was left behind"


@pytest.mark.parametrize("case", sorted(HOSTILE_NPZ))
def test_train_on_a_hostile_npz(capsys, tmp_path, case):
    arrays, _ = HOSTILE_NPZ[case]
    path = tmp_path / "hostile.npz"
    np.savez(path, **arrays())
    out = tmp_path / "runs"
    code, _, err = run_cli(capsys, "train", "--data", f"npz:{path}", *FAST, "--out", out)
    assert_one_clear_line(code, err, "hostile.npz")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("which", ["X", "y", "pickle"])
def test_train_on_a_pickling_npz_unpickles_nothing(capsys, tmp_path, which):
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.npz"
    if which == "pickle":
        path.write_bytes(pickle.dumps({"X": Marker(marker)}))
    else:
        arrays = {"X": np.ones((4, 2)), "y": np.array([0, 1, 0, 1])}
        arrays[which] = np.array([Marker(marker)] * 4, dtype=object)
        np.savez(path, **arrays)
    code, _, err = run_cli(capsys, "train", "--data", f"npz:{path}", *FAST,
                           "--out", tmp_path / "runs")
    assert_one_clear_line(code, err, "evil.npz")
    assert not marker.exists()


def test_train_on_a_missing_file(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--data", f"csv:{tmp_path / 'nope.csv'}", *FAST,
                           "--out", tmp_path / "runs")
    assert_one_clear_line(code, err, "nope.csv")


# -- predict and evaluate with hostile inputs --------------------------------------------

HOSTILE_PREDICT_CSV = {
    "missing value": b"a,b,c,d\n1,,3,4\n",
    "text": b"a,b,c,d\n1,two,3,4\n",
    "ragged": b"a,b,c,d\n1,2,3,4\n1,2\n",
    "empty": b"",
    "header only": b"a,b,c,d\n",
    "too few columns": b"a,b\n1,2\n",
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\xff\xd8",
    "infinite": b"a,b,c,d\n1,2,inf,4\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_PREDICT_CSV))
def test_predict_on_a_hostile_csv(capsys, base_run, tmp_path, case):
    path = tmp_path / "input.csv"
    path.write_bytes(HOSTILE_PREDICT_CSV[case])
    output = tmp_path / "predictions.csv"
    code, _, err = run_cli(capsys, "predict", base_run, "--input", path, "--output", output)
    assert_one_clear_line(code, err, "input.csv")
    assert not output.exists()


@pytest.mark.parametrize("case", ["object", "pickle", "missing X", "truncated", "nan", "rank 4"])
def test_predict_on_a_hostile_npz(capsys, base_run, tmp_path, case):
    marker = tmp_path / "MARKER"
    path = tmp_path / "input.npz"
    if case == "object":
        np.savez(path, X=np.array([Marker(marker)] * 2, dtype=object))
    elif case == "pickle":
        path.write_bytes(pickle.dumps({"X": Marker(marker)}))
    elif case == "missing X":
        np.savez(path, Z=np.ones((2, 4)))
    elif case == "truncated":
        np.savez(path, X=np.ones((20, 4)))
        path.write_bytes(path.read_bytes()[:100])
    elif case == "nan":
        np.savez(path, X=np.full((2, 4), np.nan))
    else:
        np.savez(path, X=np.ones((2, 2, 2, 2)))
    output = tmp_path / "predictions.npz"
    code, _, err = run_cli(capsys, "predict", base_run, "--input", path, "--output", output)
    assert_one_clear_line(code, err, "input.npz")
    assert not marker.exists() and not output.exists()


@pytest.mark.parametrize("case", ["missing value", "one class", "text in a numeric column"])
def test_evaluate_on_a_hostile_csv(capsys, base_run, tmp_path, case):
    path = tmp_path / "eval.csv"
    path.write_bytes(HOSTILE_CSV[case][0])
    code, _, err = run_cli(capsys, "evaluate", base_run, "--data", f"csv:{path}")
    assert_one_clear_line(code, err, "eval.csv")


# -- tampered checkpoints in a run directory -----------------------------------------------


def _truncate(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


def _flip_weights(raw: bytes) -> bytes:
    corrupted = bytearray(raw)
    start = 8 + int.from_bytes(raw[:8], "little")
    corrupted[random.Random(1).randrange(start, len(raw))] ^= 0x04
    return bytes(corrupted)


def _flip_metadata(raw: bytes) -> bytes:
    corrupted = bytearray(raw)
    text = raw[8: 8 + int.from_bytes(raw[:8], "little")]
    corrupted[8 + text.index(b"global_step") + 16] ^= 0x01  # inside the trainlab JSON
    return bytes(corrupted)


def _tamper_json(raw: bytes) -> bytes:
    return _edit_metadata(raw, lambda c: c["trainer"].__setitem__("epoch", 1), resign=False)


def _pickle(raw: bytes) -> bytes:
    return pickle.dumps({"state_dict": {"0.weight": np.ones(3)}})


TAMPERING = {"truncated": _truncate, "weights bit-flip": _flip_weights,
             "metadata bit-flip": _flip_metadata, "edited JSON": _tamper_json,
             "pickle": _pickle, "empty": lambda raw: b""}
COMMANDS = {
    "evaluate": lambda run, tmp: ["evaluate", run],
    "predict": lambda run, tmp: ["predict", run, "--input", tmp / "x.csv", "--output",
                                 tmp / "p.csv"],
    "resume": lambda run, tmp: ["train", "--resume", run, "--epochs", "3", "-q"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_tampered_checkpoint_in_a_run_directory(capsys, run_copy, tmp_path, command, tampering):
    (tmp_path / "x.csv").write_text("a,b,c,d\n1,2,3,4\n")
    target = run_copy / ("checkpoint.safetensors" if command == "resume" else "model.safetensors")
    before = {p.name: p.read_bytes() for p in run_copy.iterdir() if p.is_file()}
    target.write_bytes(TAMPERING[tampering](target.read_bytes()))
    code, _, err = run_cli(capsys, *COMMANDS[command](run_copy, tmp_path))
    assert_one_clear_line(code, err, str(target))
    assert not (tmp_path / "p.csv").exists()
    # the refused command changed nothing in the run (the record and the other files)
    after = {p.name: p.read_bytes() for p in run_copy.iterdir() if p.is_file()}
    assert set(after) == set(before)
    for name in before:
        if name != target.name:
            assert after[name] == before[name], name


def test_checkpoint_of_another_model_in_a_run_directory(capsys, run_copy, tmp_path):
    """The checkpoint of a wider network dropped into the run: the layer is named."""
    from trainlab.cli import main

    assert main(["train", "--data", "iris", "--hidden", "5", "--epochs", "1", "--no-monitor",
                 "-q", "--out", str(tmp_path), "--name", "other"]) == 0
    capsys.readouterr()
    shutil.copy(tmp_path / "other" / "checkpoint.safetensors", run_copy / "checkpoint.safetensors")
    code, _, err = run_cli(capsys, "train", "--resume", run_copy, "--epochs", "3", "-q")
    assert_one_clear_line(code, err, "checkpoint.safetensors", "'0.weight'", "(4, 5)", "(4, 8)")


@pytest.mark.parametrize("damage", ["no run.json", "corrupt run.json", "a file", "empty dir"])
def test_not_a_run(capsys, run_copy, tmp_path, damage):
    target = run_copy
    if damage == "no run.json":
        (run_copy / "run.json").unlink()
    elif damage == "corrupt run.json":
        (run_copy / "run.json").write_text("{not json")
    elif damage == "a file":
        target = run_copy / "metrics.csv"
    else:
        target = tmp_path / "empty"
        target.mkdir()
    for argv in (["evaluate", target], ["train", "--resume", target, "-q"],
                 ["predict", target, "--input", tmp_path / "x.csv",
                  "--output", tmp_path / "p.csv"]):
        code, _, err = run_cli(capsys, *argv)
        assert_one_clear_line(code, err, str(target))


def test_as_a_real_process_there_is_no_traceback(base_run, tmp_path):
    """The same through ``python -m trainlab``: exit status 2, one line, no traceback."""
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    (run / "checkpoint.safetensors").write_bytes(b"\x00" * 10)
    csv_path = tmp_path / "bad.csv"
    csv_path.write_bytes(b"a,b,y\n1,,0\n")
    procs = [cli_process("train", "--resume", run, "-q", cwd=tmp_path),
             cli_process("train", "--data", f"csv:{csv_path}", *FAST, "--out", tmp_path / "o",
                         cwd=tmp_path)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert_one_clear_line(proc.returncode, err)
    assert load_checkpoint(base_run / "checkpoint.safetensors").epoch == 2
    assert json.loads((base_run / "run.json").read_text())["status"] == "completed"


def test_train_on_mnist_with_an_empty_data_dir_lists_the_files(capsys, tmp_path, monkeypatch):
    """It printed "no such file 'mnist'"; the one line now says which files to put where."""
    import urllib.error

    from trainlab.data import mnist

    def offline(url, timeout):
        raise urllib.error.URLError("Network is unreachable")

    monkeypatch.setattr(mnist.urllib.request, "urlopen", offline)
    empty = tmp_path / "EMPTY"
    empty.mkdir()
    code, _, err = run_cli(capsys, "train", "--data", "mnist", "--data-dir", empty, *FAST,
                           "--out", tmp_path / "runs")
    assert_one_clear_line(code, err, "mnist", str(empty), "train-images-idx3-ubyte.gz",
                          "t10k-labels-idx1-ubyte.gz")
    assert "no such file" not in err
