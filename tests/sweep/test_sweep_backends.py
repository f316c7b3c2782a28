"""Sweeps against real servers: a shared PostgreSQL study, and trials on a Ray cluster
(each skips when its server programs are not installed)."""

from __future__ import annotations

import shutil

import pytest

optuna = pytest.importorskip("optuna")

from servers import postgres_bin, postgres_server, ray_head  # noqa: E402
from sweep_support import free_port, one_error_line, process, results, run_cli, write_spec  # noqa: E402

SPEC = ('[sweep]\nmetric = "val_accuracy"\nseeds = [0, 1]\n[sweep.grid]\n'
        'lr = [0.01, 0.001]\n')


@pytest.mark.slow
def test_postgresql_study_shared_by_two_sweeps(tmp_path, capsys):
    pytest.importorskip("psycopg")
    if postgres_bin() is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    with postgres_server() as url:
        spec = write_spec(tmp_path, "pgshared", SPEC)
        children = [process("sweep", spec, "--out", tmp_path / name, "--workers", "1",
                            "--storage", url, cwd=tmp_path) for name in ("a", "b")]
        for child in children:
            _, stderr = child.communicate(timeout=600)
            assert child.returncode == 0, stderr
        study = optuna.load_study(study_name="pgshared", storage=url)
        assert sorted(t.user_attrs["slot"] for t in study.trials) == [0, 1, 2, 3]
        assert all(t.state.name == "COMPLETE" for t in study.trials)
        ran = sorted(p.name for n in ("a", "b") for p in (tmp_path / n / "trials").iterdir())
        assert ran == ["trial-0000", "trial-0001", "trial-0002", "trial-0003"]
        # the same spec in the local SQLite file gives the same values
        code, _, err = run_cli(capsys, "sweep", spec, "--out", tmp_path / "local", "-q")
        assert code == 0, err
        local = {r["trial"]: r["val_accuracy"] for r in results(tmp_path / "local")}
        shared = {str(t.user_attrs["slot"]): repr(t.value) for t in study.trials}
        assert shared == local
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    code, _, err = run_cli(capsys, "sweep", spec, "--out", tmp_path / "x", "--storage", dead)
    one_error_line(code, err, "--storage", "cannot open the database")
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_ray_backend_gives_the_local_results(tmp_path, capsys):
    pytest.importorskip("ray")
    if shutil.which("ray") is None:
        pytest.skip("the ray command is not installed")
    spec = write_spec(tmp_path, "rayed", SPEC)
    code, _, err = run_cli(capsys, "sweep", spec, "--out", tmp_path / "local", "--workers", "2",
                           "-q")
    assert code == 0, err
    with ray_head(cpus=2) as address:
        child = process("sweep", spec, "--out", tmp_path / "ray", "--backend", "ray",
                        "--address", address, cwd=tmp_path)
        stdout, stderr = child.communicate(timeout=600)
        assert child.returncode == 0, stderr
    assert "on 2 ray worker(s)" in stdout
    local, remote = results(tmp_path / "local"), results(tmp_path / "ray")
    assert [r["status"] for r in remote] == ["complete"] * 4
    assert [(r["trial"], r["seed"], r["lr"], r["val_accuracy"]) for r in remote] == \
        [(r["trial"], r["seed"], r["lr"], r["val_accuracy"]) for r in local]
    assert all((tmp_path / "ray" / r["run_dir"] / "report.html").is_file() for r in remote)
