"""A notebook executed in a real Jupyter kernel (nbclient): the progress bar is tqdm's
notebook widget, the learning curves are an image redrawn in place, History and Monitor
show as HTML tables, a report is written from the Trainer.

Needs the ``notebook`` extra (nbclient, nbformat, ipykernel, ipywidgets) and a kernel
named ``python3`` (``python -m ipykernel install --user`` where none is installed).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")

SRC = Path(__file__).resolve().parents[2] / "src"

CELLS = [
    """\
from trainlab import data, nn, optim
from trainlab.diagnostics import Monitor
from trainlab.train import LivePlot, Trainer

ds = data.load_dataset("iris")
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
monitor = Monitor(every=5, warn=False)
trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
                  callbacks=[monitor, LivePlot()], rng=0)
history = trainer.fit(ds.X[:120], ds.y[:120], epochs=3, batch_size=32,
                      validation_data=(ds.X[120:], ds.y[120:]))""",
    "history",
    "history.plot()",
    "monitor",
    """\
from trainlab.report.library import write_report
probabilities = trainer.predict_proba(ds.X[:5])
print(probabilities.shape, round(float(probabilities.sum()), 6))
print(write_report(trainer, REPORT).name)""",
]


@pytest.mark.slow
def test_notebook_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    report = tmp_path / "report.html"
    cells = [nbformat.v4.new_code_cell(f"REPORT = {str(report)!r}")]
    cells += [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook = nbformat.v4.new_notebook(cells=cells)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [cell.outputs for cell in notebook.cells]
    errors = [o for out in outputs for o in out if o.output_type == "error"]
    assert not errors, errors
    fit, history, plot, monitor, final = outputs[1:]
    # the progress display: tqdm's notebook widget, one per epoch
    widgets = [o for o in fit if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) == 3
    # the live plot: one image for three epochs, so it was redrawn in place
    live = [o for o in fit if "image/png" in o.get("data", {})]
    assert len(live) == 1
    # History and Monitor as tables, the curves as an image
    html = history[0]["data"]["text/html"]
    assert "<table" in html and "val_accuracy" in html and html.count("<tr>") == 4
    assert "image/png" in plot[0]["data"]
    assert "<table" in monitor[0]["data"]["text/html"]
    assert "‖∂L/∂W‖" in monitor[0]["data"]["text/html"]
    text = "".join(o.get("text", "") for o in final)
    assert "(5, 3) 5.0" in text and "report.html" in text
    page = report.read_text()
    assert "Learning curves" in page and "data:image/png;base64," in page
