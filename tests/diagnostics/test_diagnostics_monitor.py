"""The training monitor: it records what it should, warns where it should, and changes nothing."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from trainlab import nn, optim
from trainlab.diagnostics import (
    Monitor,
    TrainingHealthWarning,
    health_table,
    plots,
    report_sections,
)
from trainlab.report import Section
from trainlab.train import DivergenceWarning, Trainer


def toy_data(n: int = 256, d: int = 20, classes: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X[:, :classes] + 0.3 * rng.standard_normal((n, classes))).argmax(axis=1)
    return X, y


def mixed_model(seed: int = 0) -> nn.Sequential:
    """One of each kind the monitor treats specially: BatchNorm, sigmoid, ReLU, dropout, tanh."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Linear(20, 32, rng=rng), nn.BatchNorm(32), nn.Sigmoid(),
        nn.DropConnect(32, 32, p=0.2, rng=rng.integers(1 << 30)), nn.ReLU(),
        nn.Dropout(0.3, rng=rng.integers(1 << 30)),
        nn.Linear(32, 16, rng=rng), nn.Tanh(), nn.Linear(16, 4, rng=rng),
    )


def fit(model, callbacks=(), epochs=3, opt="adam", clip_norm=None, seed=1):
    X, y = toy_data()
    params = model.parameters()
    optimizer = (
        optim.Adam(params, lr=1e-2) if opt == "adam"
        else optim.SGD(params, lr=0.1, momentum=0.9)
    )
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, rng=seed, verbose=0,
                      callbacks=list(callbacks), clip_norm=clip_norm)
    history = trainer.fit(X, y, epochs=epochs, batch_size=16, validation_data=toy_data(64, seed=5))
    return trainer, history


@pytest.mark.parametrize("opt, clip_norm", [("adam", None), ("sgd", 0.5)])
def test_watching_does_not_change_training(opt, clip_norm):
    """Same seed, monitor on (sampling every step) or off: bit-identical weights and buffers."""
    plain, watched = mixed_model(), mixed_model()
    _, h1 = fit(plain, opt=opt, clip_norm=clip_norm)
    monitor = Monitor(every=1, warn=False)
    _, h2 = fit(watched, [monitor], opt=opt, clip_norm=clip_norm)
    a, b = plain.state_dict(), watched.state_dict()
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert h1["loss"] == h2["loss"] and h1["val_loss"] == h2["val_loss"]
    assert len(monitor.records) == len(monitor.global_norms) == 3 * 16
    assert all(
        "forward" not in m.__dict__ and "backward" not in m.__dict__ for m in watched.modules()
    )


def test_records_every_quantity():
    monitor = Monitor(every=4, warn=False)
    _trainer, _ = fit(mixed_model(), [monitor], clip_norm=0.05)
    assert [r.step for r in monitor.records] == list(range(0, 48, 4))
    rec = monitor.last_record
    kinds = [s.kind for s in rec.layers]
    assert kinds == ["Linear", "BatchNorm", "Sigmoid", "DropConnect", "ReLU", "Dropout", "Linear",
                     "Tanh", "Linear"]
    sig, relu, tanh = rec.layers[2], rec.layers[4], rec.layers[7]
    assert 0 <= sig.saturated <= 1 and 0 <= tanh.saturated <= 1 and 0 <= relu.dead <= 1
    assert math.isnan(rec.layers[0].saturated) and math.isnan(sig.dead)
    for s in rec.layers:
        assert s.out_std > 0 and s.grad_norm > 0 and s.grad_std > 0
    # per parameter: gradient norm and update ratio ‖Δθ‖/‖θ‖ (Adam steps ≈ lr per coordinate)
    weights = [p for p in rec.params if p.is_weight]
    assert [p.name for p in weights] == ["0.weight", "3.weight", "6.weight", "8.weight"]
    assert all(0 < p.update_ratio < 1 and p.grad_norm > 0 for p in rec.params)
    assert rec.batchnorm and rec.batchnorm[0].name == "1" and rec.batchnorm[0].var_ratio > 0
    assert rec.step_size > 0 and math.isfinite(rec.adam_lr)
    # clipping at 0.05 fires on (almost) every step, and the record keeps both norms
    assert monitor.clip_fraction > 0.9
    assert rec.clipped_norm == pytest.approx(0.05, rel=1e-3) and rec.grad_norm > rec.clipped_norm
    assert monitor.theory is not None and len(monitor.theory) == len(rec.layers)
    assert set(monitor.samples["init"]) == {"2 Sigmoid", "4 ReLU", "7 Tanh"}
    assert monitor.seconds > 0


def test_grad_norm_of_layer_matches_a_direct_computation():
    """The gradient the monitor sees reaching the last layer is the loss gradient itself."""
    model = nn.Sequential(nn.Linear(20, 8, rng=0), nn.Tanh(), nn.Linear(8, 4, rng=1))
    seen = {}

    class Spy(Monitor):
        def on_after_backward(self, trainer):
            seen["dy"] = trainer.loss.backward().copy()
            super().on_after_backward(trainer)

    monitor = Spy(every=1, warn=False)
    fit(model, [monitor], epochs=1)
    last = monitor.records[-1].layers[-1]
    assert last.grad_norm == pytest.approx(float(np.linalg.norm(seen["dy"])), rel=1e-6)


def test_sgd_has_no_adam_learning_rate():
    monitor = Monitor(every=8, warn=False)
    fit(mixed_model(), [monitor], opt="sgd")
    assert math.isnan(monitor.last_record.adam_lr) and monitor.last_record.step_size > 0
    assert monitor.clip_fraction == 0.0


def test_monitor_overhead_at_the_default_rate():
    """Measured and printed (no timing assert: machines differ). Two numbers: the
    monitor's own time as a fraction of the run, and the wall-clock difference."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2048, 64)).astype(np.float32)
    y = (X[:, :10]).argmax(axis=1)

    def run(callbacks):
        model = nn.Sequential(nn.Linear(64, 128, rng=0), nn.ReLU(), nn.Linear(128, 128, rng=1),
                              nn.ReLU(), nn.Linear(128, 10, rng=2))
        trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), rng=0,
                          verbose=0, callbacks=callbacks)
        start = time.perf_counter()
        trainer.fit(X, y, epochs=3, batch_size=32)
        return time.perf_counter() - start

    run([])  # warm-up
    monitor = Monitor(warn=False)
    plain = min(run([]) for _ in range(2))
    watched = run([monitor])
    fraction = monitor.seconds / watched
    print(f"\nmonitor overhead at every={monitor.every}: "
          f"own time {100 * fraction:.1f}% of training; "
          f"wall clock {plain:.3f} s without, {watched:.3f} s with")
    assert 0 < monitor.seconds < watched


def test_vanishing_gradient_warning_on_a_deep_sigmoid_net():
    rng = np.random.default_rng(0)
    layers = []
    for i in range(10):
        layers += [nn.Linear(20 if i == 0 else 32, 32, init="naive_uniform", rng=rng), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(32, 4, rng=rng))
    monitor = Monitor(every=5)
    with pytest.warns(TrainingHealthWarning, match="vanishing"):
        fit(model, [monitor], epochs=1, opt="sgd")
    vanishing = [w for w in monitor.warnings if w.kind == "vanishing"]
    assert len(vanishing) == 1  # reported once, not at every sampled step
    assert vanishing[0].layer == "0.weight" and "ReLU" in vanishing[0].remedy
    assert "step 0" in str(vanishing[0])


def test_dead_relu_warning():
    model = nn.Sequential(nn.Linear(20, 32, rng=0), nn.ReLU(), nn.Linear(32, 4, rng=1))
    model[0].bias.data[:] = -50.0  # every unit is negative for every input: dead from the start
    monitor = Monitor(every=4, warn=False)
    fit(model, [monitor], epochs=1)
    dead = [w for w in monitor.warnings if w.kind == "dead"]
    assert dead and dead[0].layer == "1 ReLU" and "100% dead" in dead[0].message
    assert monitor.first_record.layers[1].dead == 1.0


def test_saturation_and_non_finite_warnings():
    model = nn.Sequential(nn.Linear(20, 32, rng=0), nn.Tanh(), nn.Linear(32, 4, rng=1))
    model[0].weight.data *= 100.0
    monitor = Monitor(every=2, warn=False)
    fit(model, [monitor], epochs=1)
    assert any(w.kind == "saturated" and w.layer == "1 Tanh" for w in monitor.warnings)

    exploding = nn.Sequential(nn.Linear(20, 32, rng=0), nn.ReLU(), nn.Linear(32, 4, rng=1))
    exploding[0].weight.data[0, 0] = np.inf
    monitor = Monitor(every=1, warn=False)
    with pytest.warns(DivergenceWarning):  # the trainer's NaN guard stops the run
        fit(exploding, [monitor], epochs=1)
    assert [(w.kind, w.layer) for w in monitor.warnings][:1] == [("non-finite", "0 Linear")]


def test_report_sections_and_health_table():
    monitor = Monitor(every=4, warn=False)
    model = mixed_model()
    fit(model, [monitor])
    sections = report_sections(monitor, model)
    assert [type(s) for s in sections] == [Section] * 3
    assert "data:image/png;base64," in sections[0].body and "Var(out) theory" in sections[0].body
    assert sections[1].anchor == "health" and "layer 2 · Sigmoid" in sections[1].body
    text = health_table(monitor)
    assert "layer" in text.splitlines()[0] and "layer 7 · Tanh" in text and "steps sampled" in text


def test_figures_have_labels_legends_and_log_scales():
    monitor = Monitor(every=2, warn=False)
    rng = np.random.default_rng(0)
    layers = []
    for i in range(6):
        layers += [nn.Linear(20 if i == 0 else 32, 32, init="naive_uniform", rng=rng), nn.Sigmoid()]
    fit(nn.Sequential(*layers, nn.Linear(32, 4, rng=rng)), [monitor], epochs=1, opt="sgd")
    for make in (plots.depth_profile_figure, plots.grad_norm_figure, plots.histogram_figure,
                 plots.saturation_figure):
        fig = make(monitor)
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
            assert ax.get_legend() is not None
    grad_axes = plots.depth_profile_figure(monitor).axes[1]
    assert grad_axes.get_yscale() == "log"  # the gradient std spans decades through the sigmoids


def test_monitor_checks_its_arguments():
    with pytest.raises(ValueError, match="every"):
        Monitor(every=0)
    with pytest.raises(RuntimeError, match="no step"):
        Monitor().first_record  # noqa: B018


def test_dead_units_on_a_fixed_evaluation_batch_change_nothing():
    X_eval, _ = toy_data(64, seed=9)
    plain, watched = mixed_model(), mixed_model()
    for model in (plain, watched):
        model[3].bias.data[:12] = -30.0  # 12 of the 32 ReLU units start dead
    fit(plain)
    monitor = Monitor(every=47, warn=False, eval_batch=X_eval)  # samples steps 0 and 47 (the last)
    fit(watched, [monitor])
    a, b = plain.state_dict(), watched.state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    relu = [r.layers[4].dead for r in monitor.records]
    assert all(0.0 <= d <= 1.0 for d in relu)
    # recomputed by hand at the end: a unit is dead when it is 0 for all 64 evaluation rows
    watched.eval()
    h = X_eval
    for layer in list(watched)[:5]:
        h = layer.forward(h)
    assert monitor.last_record.step == 47
    assert monitor.last_record.layers[4].dead == pytest.approx(1.0 - np.mean(h.max(axis=0) > 0))
    assert monitor.last_record.layers[4].dead >= 12 / 32


# -- dispatch on the layers' methods, not on their class names -------------------------------


class LeakyGate(nn.ReLU):
    """A subclass of ReLU that changes nothing but its name."""


def relu_model(relu: type, seed: int = 0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(20, 32, rng=rng), relu(), nn.Linear(32, 4, rng=rng))
    model[0].bias.data[:10] = -40.0  # 10 of the 32 units start dead
    return model


def test_a_subclass_of_relu_is_monitored_exactly_like_relu():
    X_eval, _ = toy_data(64, seed=9)
    monitors = {}
    for relu in (nn.ReLU, LeakyGate):
        monitors[relu] = Monitor(every=5, warn=False, eval_batch=X_eval)
        fit(relu_model(relu), [monitors[relu]], epochs=1)
    plain, sub = monitors[nn.ReLU], monitors[LeakyGate]
    assert [s.kind for s in sub.first_record.layers] == ["Linear", "LeakyGate", "Linear"]
    for a, b in zip(plain.records, sub.records, strict=True):
        for la, lb in zip(a.layers, b.layers, strict=True):
            for field in ("out_mean", "out_std", "dead", "saturated", "grad_norm"):
                assert getattr(la, field) == getattr(lb, field) or (
                    math.isnan(getattr(la, field)) and math.isnan(getattr(lb, field))), field
        assert [p.is_weight for p in a.params] == [p.is_weight for p in b.params]
    assert sub.first_record.layers[1].dead >= 10 / 32
    assert [(t.out_var, t.grad_var) for t in plain.theory] == [
        (t.out_var, t.grad_var) for t in sub.theory
    ]
    assert math.isfinite(sub.theory[-1].out_var)
    assert np.array_equal(plain.samples["init"]["1 ReLU"], sub.samples["init"]["1 LeakyGate"])
    assert [(w.kind, w.layer) for w in sub.warnings] == [
        (w.kind, w.layer.replace("ReLU", "LeakyGate")) for w in plain.warnings]


class Swish(nn.Module):
    """A custom activation z·σ(z) with only forward and backward, as a plugin may be."""

    def forward(self, x):
        self._z = np.asarray(x)
        self._s = 1.0 / (1.0 + np.exp(-self._z))
        return self._z * self._s

    def backward(self, dy):
        return dy * (self._s * (1.0 + self._z * (1.0 - self._s)))


class SoftClip(nn.Module):
    """A custom activation tanh(z)/2 that also answers the diagnostics' questions."""

    saturation_kind = "saturated"

    def forward(self, x):
        self._y = self.function(np.asarray(x))
        return self._y

    def backward(self, dy):
        return dy * (0.5 - 2.0 * self._y**2)

    def function(self, z):
        return 0.5 * np.tanh(z)

    def derivative(self, z):
        return 0.5 * (1.0 - np.tanh(z) ** 2)

    def saturation(self, y):
        return float(np.mean(0.5 - 2.0 * y**2 < 0.005))


def test_a_custom_activation_is_monitored_for_what_it_answers():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(20, 32, rng=rng), Swish(), nn.Linear(32, 32, rng=rng),
                          SoftClip(), nn.Linear(32, 4, rng=rng))
    monitor = Monitor(every=4, warn=False)
    fit(model, [monitor], epochs=1)
    rec = monitor.first_record
    swish, clip = rec.layers[1], rec.layers[3]
    # without the methods: output and gradient statistics, no saturation, no theory, no histogram
    assert swish.kind == "Swish" and swish.finite and swish.out_std > 0 and swish.grad_norm > 0
    assert math.isnan(swish.saturated) and math.isnan(swish.dead)
    assert math.isnan(monitor.theory[1].out_var)
    assert "1 Swish" not in monitor.samples["init"]
    # with them: its saturation, and a histogram of its outputs
    assert 0.0 <= clip.saturated <= 1.0 and math.isnan(clip.dead)
    assert "3 SoftClip" in monitor.samples["init"]
    assert [p.name for p in rec.params if p.is_weight] == ["0.weight", "2.weight", "4.weight"]


def test_subclassed_linear_weights_count_as_weights_and_old_records_still_read():
    from trainlab.diagnostics import ParamStats

    class Dense(nn.Linear):
        pass

    rng = np.random.default_rng(0)
    model = nn.Sequential(Dense(20, 16, rng=rng), nn.Tanh(), Dense(16, 4, rng=rng))
    monitor = Monitor(every=8, warn=False)
    fit(model, [monitor], epochs=1)
    assert [p.name for p in monitor.first_record.params if p.is_weight] == ["0.weight", "2.weight"]
    # a record stored before the flag was kept: judged by the class name
    assert ParamStats("0.weight", "Linear", 1.0, 1.0).is_weight
    assert not ParamStats("0.weight", "Dense", 1.0, 1.0).is_weight


def test_histograms_are_kept_for_the_nonlinear_activations():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(20, 16, rng=rng), nn.Identity(), nn.Linear(16, 16, rng=rng),
                          nn.GELU(), nn.Linear(16, 4, rng=rng), nn.Softmax())
    monitor = Monitor(every=8, warn=False)
    Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.01), rng=0, verbose=0,
            callbacks=[monitor]).fit(*regression_toy(), epochs=1, batch_size=16)
    assert set(monitor.samples["init"]) == {"3 GELU", "5 Softmax"}


def regression_toy():
    X, y = toy_data(64)
    return X, np.eye(4, dtype=np.float32)[y]


def test_relu_histograms_leave_out_the_exact_zeros_and_say_how_many():
    monitor = Monitor(every=2, warn=False)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(20, 32, rng=rng), nn.ReLU(), nn.Linear(32, 4, rng=rng))
    fit(model, [monitor], epochs=1, opt="sgd")
    values = monitor.samples["init"]["1 ReLU"]
    share = 100 * float(np.mean(values == 0.0))
    assert share >= 20  # about half of a ReLU's outputs are exactly 0
    ax = plots.histogram_figure(monitor).axes[0]
    (line,) = ax.get_lines()
    assert line.get_label() == f"layer 1 · ReLU ({share:.0f}% exactly 0, not drawn)"
    drawn = float(np.sum(line.get_ydata()))  # fractions of all values, the zeros left out
    assert drawn == pytest.approx(1 - share / 100, abs=1e-9)


def test_display_labels_name_the_layer_by_position_and_type():
    from trainlab.diagnostics.probe import display_label

    assert display_label("3 Tanh") == "layer 3 · Tanh"
    assert display_label("2.1 ReLU") == "layer 2.1 · ReLU"  # inside a container
    assert display_label("Sequential") == "Sequential"  # not a position: unchanged
