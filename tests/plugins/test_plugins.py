"""A plugin package installed with pip adds an optimizer, an activation and an initialiser
that every front door then takes by name: the command line, TOML, the estimators, a lab
arm and a checkpoint reload."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trainlab import init, nn, optim
from trainlab.registry import Registry, RegistryError

PACKAGE = Path(__file__).parent / "trainlab_demo_plugin"
REGISTRIES = (optim.OPTIMIZERS, nn.ACTIVATIONS, init.INITIALIZERS)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The demo plugin pip-installed into a folder of its own, put on sys.path."""
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
               "--target", str(target), str(PACKAGE)]
    # Built with the environment's setuptools when it can; else in pip's isolated build.
    done = subprocess.run([*command, "--no-build-isolation"], capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    for registry in REGISTRIES:
        registry.reload_plugins()
    yield target
    sys.path.remove(str(target))
    importlib.invalidate_caches()
    for registry in REGISTRIES:
        registry.reload_plugins()


def trainlab(*argv: str, site: Path | None, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    paths = [str(Path(__file__).parents[2] / "src")]
    if site is not None:
        paths.insert(0, str(site))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run([sys.executable, "-m", "trainlab", *argv], capture_output=True,
                          text=True, timeout=300, env=env, cwd=cwd)


def test_the_plugin_names_are_registered(installed):
    assert "signsgd" in optim.OPTIMIZERS.names() and optim.OPTIMIZERS.is_plugin("signsgd")
    assert "softsign" in nn.ACTIVATIONS and "half_normal" in init.INITIALIZERS
    assert optim.OPTIMIZERS["signsgd"].__name__ == "SignSGD"


def test_the_command_line_trains_and_reloads_with_the_plugin(installed, tmp_path):
    done = trainlab("train", "--optimizer", "signsgd", "--lr", "0.002", "--optimizer-option",
                    "decay=0.99", "--activation", "softsign", "--init", "half_normal",
                    "--hidden", "32", "--epochs", "3", "-q", "--out", str(tmp_path), "--name",
                    "p", site=installed, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = (tmp_path / "p" / "config.toml").read_text()
    assert 'optimizer = "signsgd"' in config and 'activation = "softsign"' in config
    assert "decay = 0.99" in config
    info = json.loads((tmp_path / "p" / "run.json").read_text())
    assert info["final"]["test"]["accuracy"] > 0.5
    # the checkpoint reloads: evaluate and resume take the plugin's classes by name
    done = trainlab("evaluate", str(tmp_path / "p"), "--json", site=installed, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["metrics"]["accuracy"] == pytest.approx(
        info["final"]["test"]["accuracy"])
    # a TOML file names them the same way
    (tmp_path / "exp.toml").write_text('optimizer = "signsgd"\nactivation = "softsign"\n'
                                       'epochs = 1\nhidden = [8]\nmonitor = false\n')
    done = trainlab("train", "--config", "exp.toml", "-q", "--out", str(tmp_path), site=installed,
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_a_setting_the_plugin_does_not_take_is_refused(installed, tmp_path):
    done = trainlab("train", "--optimizer", "signsgd", "--momentum", "0.9", "--out",
                    str(tmp_path), site=installed, cwd=tmp_path)
    assert done.returncode == 2
    assert "'momentum'" in done.stderr and "optimizer 'signsgd'" in done.stderr
    assert "decay" in done.stderr  # what it does take


def test_without_the_plugin_its_checkpoint_is_refused_naming_it(installed, tmp_path):
    done = trainlab("train", "--activation", "softsign", "--hidden", "8", "--epochs", "1", "-q",
                    "--no-monitor", "--out", str(tmp_path), "--name", "q", site=installed,
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = trainlab("evaluate", str(tmp_path / "q"), site=None, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "'softsign'" in done.stderr and "plugin" in done.stderr


def test_the_estimators_take_the_plugin_by_name(installed):
    from trainlab.sklearn import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = MLPClassifier((16,), activation="softsign", optimizer="signsgd", init="half_normal",
                        learning_rate=0.01, epochs=20, random_state=0).fit(X, y)
    assert type(clf.optimizer_).__name__ == "SignSGD"
    assert type(clf.model_[1]).__name__ == "Softsign"
    assert clf.score(X, y) > 0.8


def test_a_lab_arm_builds_the_plugin_by_name(installed):
    from trainlab.lab.common import mlp, optimizer

    model = mlp(4, [8], 2, activation="softsign", init="half_normal", seed=0)
    opt = optimizer(model, "signsgd", lr=0.1, optimizer_options={"decay": 0.5})
    assert type(opt).__name__ == "SignSGD" and opt.decay == 0.5
    x = np.ones((3, 4), dtype=np.float32)
    before = model.parameters()[0].data.copy()
    loss = nn.CrossEntropyLoss()
    loss(model(x), np.array([0, 1, 0]))
    model.backward(loss.backward())
    opt.step()
    assert np.all(np.abs(model.parameters()[0].data - before) <= 0.1 + 1e-7)


# -- the registry itself ----------------------------------------------------------------------


class _Point:
    def __init__(self, name, value, loaded):
        self.name, self.value, self._loaded = name, value, loaded

    def load(self):
        if isinstance(self._loaded, Exception):
            raise self._loaded
        return self._loaded


def _registry(monkeypatch, points):
    registry: Registry = Registry("thing", "trainlab.things")
    registry.add("relu", int)
    monkeypatch.setattr("importlib.metadata.entry_points",
                        lambda group: points if group == "trainlab.things" else [])
    return registry


def test_a_plugin_that_shadows_a_built_in_name_is_an_error_naming_both(monkeypatch):
    registry = _registry(monkeypatch, [_Point("relu", "pkg.mod:Relu", float)])
    with pytest.raises(RegistryError,
                       match=r"both built in .*builtins.int.* and a plugin .*pkg.mod:Relu"):
        registry["relu"]


def test_a_broken_plugin_names_its_entry_point(monkeypatch):
    registry = _registry(monkeypatch, [_Point("bad", "pkg.bad:X", ImportError("no module"))])
    with pytest.raises(RegistryError, match="'bad' = 'pkg.bad:X'.*cannot be loaded"):
        registry.names()


def test_an_unknown_name_lists_the_names_and_suggests_one(monkeypatch):
    registry = _registry(monkeypatch, [_Point("gelu2", "pkg:G", str)])
    assert registry.names() == ["relu", "gelu2"]
    with pytest.raises(RegistryError, match=r"one of \['relu', 'gelu2'\].*Did you mean 'relu'"):
        registry["rleu"]
    with pytest.raises(RegistryError, match="lowercase"):
        registry.add("ReLU", int)
