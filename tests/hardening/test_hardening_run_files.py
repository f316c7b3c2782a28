"""The files of a run directory: written with the umask's mode (an existing file keeps
its own), and never through a symbolic link planted in the directory."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from cli_support import assert_one_clear_line, run_cli
from run_support import IRIS, train_small

from trainlab import runs
from trainlab._atomic import atomic_write_text


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_atomic_writes_respect_the_umask_and_keep_an_existing_mode(tmp_path, umask_027):
    atomic_write_text(tmp_path / "new.txt", "a")
    assert mode(tmp_path / "new.txt") == 0o640
    secret = tmp_path / "secret.txt"
    secret.write_text("a")
    secret.chmod(0o600)
    atomic_write_text(secret, "b")
    assert secret.read_text() == "b" and mode(secret) == 0o600


def test_atomic_write_replaces_a_link_and_never_writes_through_it(tmp_path):
    target = tmp_path / "outside.txt"
    target.write_text("untouched")
    target.chmod(0o644)
    link = tmp_path / "run.json"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert not link.is_symlink() and link.read_text() == "new"
    assert target.read_text() == "untouched"


def test_a_run_is_written_with_the_umask(tmp_path, capsys, umask_027):
    status, _, err = run_cli(capsys, "train", *IRIS, "--epochs", "2", "-q", "--out", tmp_path,
                             "--name", "private", "--monitor-every", "1")
    assert status == 0, err
    run = tmp_path / "private"
    files = [p for p in run.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"run.json", "config.toml", "checkpoint.safetensors",
                                       "model.safetensors", "metrics.csv", "report.html",
                                       "monitor.json", ".lock"}
    assert {p.name: mode(p) for p in files} == {p.name: 0o640 for p in files}


@pytest.fixture
def finished(tmp_path, capsys) -> Path:
    return train_small(run_cli, capsys, tmp_path, "done")


@pytest.mark.parametrize("name", [".lock", "metrics.csv", "run.json", "figures"])
def test_resume_refuses_a_link_planted_in_the_run(tmp_path, capsys, finished, name):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / ("dir" if name == "figures" else "nologin")
    if name == "figures":
        target.mkdir()
        shutil.rmtree(finished / name)
    elif name != ".lock":
        target.write_text("untouched")
    (finished / name).unlink(missing_ok=True)
    (finished / name).symlink_to(target)
    status, _, err = run_cli(capsys, "train", "--resume", finished, "--epochs", "4")
    assert_one_clear_line(status, err, name, "symbolic link")
    if name == ".lock":
        assert not target.exists()  # the link was not followed: nothing was created
    elif name == "figures":
        assert list(target.iterdir()) == []
    else:
        assert target.read_text() == "untouched"


def test_the_lock_never_follows_a_link(tmp_path, finished):
    target = tmp_path / "nologin"
    (finished / ".lock").unlink()
    (finished / ".lock").symlink_to(target)
    with pytest.raises(runs.directory.UnsafeRunFileError, match="symbolic link"):
        runs.lock_run(finished)
    assert not target.exists()


def test_report_refuses_a_figures_link(tmp_path, capsys, finished):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(finished / "figures")
    (finished / "figures").symlink_to(elsewhere)
    status, _, err = run_cli(capsys, "report", finished)
    assert_one_clear_line(status, err, "figures", "symbolic link")
    assert list(elsewhere.iterdir()) == []
