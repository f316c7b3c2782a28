"""Notebook displays without a kernel: History's table and curves, the progress bar at
80 columns, predict_proba against torch, a report from a Trainer and from a Run."""

from __future__ import annotations

import io

import numpy as np
import pytest

from trainlab import nn, optim
from trainlab.diagnostics import Monitor
from trainlab.recipe import from_flat
from trainlab.report.library import write_report
from trainlab.runs.run import Run
from trainlab.train import History, LivePlot, Trainer
from trainlab.train.display import format_number, metric_groups
from trainlab.train.progress import ProgressBar


def fitted(epochs=4, outputs=3, callbacks=()):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (outputs > 1) * (X[:, 1] > 1)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, outputs))
    loss = nn.CrossEntropyLoss() if outputs > 1 else nn.BCEWithLogitsLoss()
    trainer = Trainer(model, loss, optim.Adam(model.parameters(), lr=0.01),
                      callbacks=list(callbacks), verbose=0, rng=0)
    trainer.fit(X[:48], y[:48], epochs=epochs, validation_data=(X[48:], y[48:]))
    return trainer, X


def test_history_html_keras_dict_and_plot():
    trainer, _ = fitted()
    history = trainer.history
    page = history._repr_html_()
    assert page.count("<tr>") == 1 + 4 and "<th>val_loss</th>" in page
    assert history.history["loss"] == history["loss"] and "epoch" not in history.history
    figure = history.plot()
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]
    best = int(np.nanargmin(history["val_loss"])) + 1
    assert any(f"best epoch ({best})" in t.get_text() for t in figure.axes[0].get_legend().texts)
    with pytest.raises(ValueError, match="no column 'r2'"):
        history.plot(["r2"])


def test_long_history_is_cut_in_the_middle():
    history = History()
    for epoch in range(1, 31):
        history.append({"epoch": epoch, "loss": 1.0 / epoch})
    page = history._repr_html_()
    assert "…" in page and "<td>30</td>" in page and "<td>15</td>" not in page


def test_number_format_and_metric_groups():
    assert [format_number(v) for v in (1.0, 0.975, 0.001939, 2.739e-6, 3750.0, 7, 0.0)] == [
        "1.000", "0.9750", "0.001939", "2.739e-06", "3750", "7", "0"]
    assert metric_groups(["epoch", "loss", "mse", "r2", "val_loss", "val_mse", "lr"]) == [
        "loss", "mse", "r2"]


def test_live_plot_outside_a_notebook_keeps_its_figure():
    live = LivePlot(every=2)
    trainer, _ = fitted(epochs=4, callbacks=[live])
    assert live.figure is not None and len(live.figure.axes[0].lines[0].get_xdata()) == 4
    with pytest.raises(ValueError, match="every must be a positive integer"):
        LivePlot(every=0)


def test_progress_bar_keeps_validation_metrics_at_80_columns():
    class View:
        batches_per_epoch, target_epochs = 8, 30

    stream = io.StringIO()
    bar = ProgressBar(stream, ncols=80)
    bar.on_epoch_begin(View(), 30)
    for i in range(8):
        bar.on_batch_end(View(), i, 0.03)
    bar.on_epoch_end(View(), 30, {"epoch": 30, "loss": 0.02535, "accuracy": 0.9875,
                                  "val_loss": 0.007929, "val_accuracy": 1.0, "lr": 1.1e-05,
                                  "epoch_time": 0.01})
    last = stream.getvalue().split("\r")[-1].strip()
    assert len(last) <= 80
    assert "val_loss 0.007929" in last and "val_accuracy 1" in last


def test_predict_proba_is_torch_softmax():
    torch = pytest.importorskip("torch")
    trainer, X = fitted()
    proba = trainer.predict_proba(X)
    logits = torch.tensor(trainer.predict(X), dtype=torch.float64)
    np.testing.assert_allclose(proba, torch.softmax(logits, dim=1).numpy(), rtol=1e-12)
    binary, X2 = fitted(outputs=1)
    p = binary.predict_proba(X2)
    z = torch.tensor(binary.predict(X2)[:, 0], dtype=torch.float64)
    np.testing.assert_allclose(p[:, 1], torch.sigmoid(z).numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_monitor_html_and_plot():
    monitor = Monitor(every=2, warn=False)
    fitted(callbacks=[monitor])
    assert "<table" in monitor._repr_html_() and "sampled steps" in monitor._repr_html_()
    assert monitor.plot().axes


def test_report_from_a_trainer_and_from_an_in_memory_run(tmp_path):
    trainer, _ = fitted(callbacks=[Monitor(every=2, warn=False)])
    page = write_report(trainer, tmp_path / "t.html").read_text()
    assert "Learning curves" in page and "Training health" in page and "<h2>Files" not in page
    run = Run.in_memory(from_flat({"data": "iris", "epochs": 2, "hidden": (8,)}))
    run.train()
    page = write_report(run, tmp_path / "r.html").read_text()
    assert "Final metrics" in page and "iris" in page
    with pytest.raises(TypeError, match="expected a trainlab Trainer or Run"):
        write_report(object(), tmp_path / "x.html")
