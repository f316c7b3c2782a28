"""The sweep spec: every bad input is one line naming the key, before any trial runs."""

from __future__ import annotations

import pytest

pytest.importorskip("optuna")

from sweep_support import one_error_line, run_cli, write_spec  # noqa: E402

from trainlab.recipe import SettingError  # noqa: E402
from trainlab.sweep import Range, parse_spec  # noqa: E402
from trainlab.sweep.space import distributions, grid_points, point_of, random_points  # noqa: E402

BASE = '[base]\ndata = "iris"\nepochs = 2\nhidden = [8]\n'


def spec(sweep: str):
    return parse_spec(BASE + sweep, name="t")


def test_grid_points_times_seeds():
    s = spec('[sweep]\nmetric = "val_accuracy"\nseeds = [0, 1, 2]\n[sweep.grid]\n'
             'lr = [0.001, 0.01]\nactivation = ["relu", "tanh"]\nhidden = [[8], [8, 8]]\n')
    assert s.method == "grid" and s.goal == "maximize" and s.prune == "none"
    points = s.points()
    assert len(points) == 8 and s.planned() == 24
    assert points[0] == {"lr": 0.001, "activation": "relu", "hidden": (8,)}
    assert points[-1] == {"lr": 0.01, "activation": "tanh", "hidden": (8, 8)}
    # a list-valued setting goes through Optuna as JSON text and comes back as the value
    assert grid_points(s)[1]["hidden"] == "[8, 8]"
    assert point_of(grid_points(s)[1]) == points[1]
    assert s.config(points[1], seed=2).model.hidden == (8, 8)
    assert s.config(points[1], seed=2).seed == 2


def test_space_ranges_and_random_points_are_reproducible():
    s = spec('[sweep]\nmethod = "random"\nmetric = "val_loss"\ngoal = "minimize"\ntrials = 6\n'
             '[sweep.space]\nlr = { low = 1e-4, high = 1e-1, log = true }\n'
             'batch_size = { low = 8, high = 64, step = 8 }\n'
             'init = ["he_normal", "xavier_uniform"]\n')
    assert s.axes["lr"] == Range(1e-4, 1e-1, log=True)
    dists = distributions(s)
    assert dists["lr"].log and dists["batch_size"].step == 8
    first, again = random_points(s), random_points(s)
    assert first == again and len(first) == 6
    assert all(1e-4 <= p["lr"] <= 1e-1 and p["batch_size"] % 8 == 0 for p in first)
    assert len({p["lr"] for p in first}) == 6


@pytest.mark.parametrize("sweep, words", [
    ('[sweep]\nmetric = "val_accuracy"\n[sweep.grid]\nactivaton = ["tanh"]\n',
     ["[sweep.grid]", "unknown setting 'activaton'", "did you mean 'activation'"]),
    ('[sweep]\nmetric = "val_accuracy"\n[sweep.grid]\nlr = []\n',
     ["'sweep.grid.lr' is an empty list"]),
    ('[sweep]\nmetric = "val_accuracy"\n[sweep.grid]\n', ["[sweep.grid] is empty"]),
    ('[sweep]\nmethod = "random"\ntrials = 3\nmetric = "val_accuracy"\n[sweep.space]\n'
     'lr = { low = 0.1, high = 0.01 }\n', ["low > high", "sweep.space.lr"]),
    ('[sweep]\nmetric = "val_r2"\n[sweep.grid]\nlr = [0.1]\n',
     ["'val_r2' is not recorded by a classification run", "val_accuracy"]),
    ('[sweep]\nmetric = "val_accuracy"\n[sweep.grid]\nlr = [-1.0]\n', ["setting 'lr'", "-1.0"]),
    ('[sweep]\nmetric = "val_accuracy"\n[sweep.grid]\nmomentum = [0.9]\n',
     ["'momentum'", "does not apply"]),
    ('[sweep]\nmethod = "tpe"\nmetric = "val_accuracy"\n[sweep.space]\nlr = [0.1]\n',
     ["'sweep.trials'"]),
    ('[sweep]\nmethod = "bayes"\nmetric = "val_accuracy"\n[sweep.grid]\nlr = [0.1]\n',
     ["'sweep.method'", "grid, random, tpe"]),
    ('[sweep]\nmetric = "val_accuracy"\nseeds = [0, 0]\n[sweep.grid]\nlr = [0.1]\n',
     ["'sweep.seeds'"]),
    ('[sweep]\nmetric = "val_accuracy"\n[sweep.grid]\nseed = [1, 2]\n', ["'sweep.seeds'"]),
    ('[sweep]\nmetric = "val_accuracy"\nprune = "hyperband"\n[sweep.grid]\nlr = [0.1]\n',
     ["'sweep.prune'", "none, median, asha"]),
    ('[sweep]\nmethod = "random"\ntrials = 2\nmetric = "val_accuracy"\n[sweep.space]\n'
     'activation = { low = 1, high = 2 }\n', ["give a list of values"]),
])
def test_bad_specs_name_the_problem(sweep, words):
    with pytest.raises(SettingError) as info:
        spec(sweep)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_cli_refuses_bad_specs_before_any_trial(tmp_path, capsys):
    path = write_spec(tmp_path, "bad", '[sweep]\nmetric = "val_accuracy"\n[sweep.grid]\n'
                      'lr = [0.01]\nactivaton = ["relu"]\n')
    code, out, err = run_cli(capsys, "sweep", path, "--out", tmp_path / "out")
    one_error_line(code, err, "unknown setting 'activaton'", "did you mean 'activation'")
    assert not (tmp_path / "out").exists()
    code, _, err = run_cli(capsys, "sweep", tmp_path / "missing.toml")
    one_error_line(code, err, "no such file")


def test_cli_refuses_unreachable_storage_and_ray_address(tmp_path, capsys):
    path = write_spec(tmp_path, "ok", '[sweep]\nmetric = "val_accuracy"\n[sweep.grid]\n'
                      'lr = [0.01]\n')
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "sweep", path, "--out", out, "--storage",
                           "sqlite:////nonexistent-folder/x/sweep.db")
    one_error_line(code, err, "--storage")
    code, _, err = run_cli(capsys, "sweep", path, "--out", out, "--storage", "not-a-url")
    one_error_line(code, err, "--storage", "not-a-url")
    code, _, err = run_cli(capsys, "sweep", path, "--out", out, "--backend", "ray",
                           "--address", "127.0.0.1:1")
    one_error_line(code, err, "ray" if "Ray" not in err else "Ray")
    code, _, err = run_cli(capsys, "sweep", path, "--out", out, "--address", "127.0.0.1:1")
    one_error_line(code, err, "--address", "--backend ray")
    assert not out.exists()
