"""See inside training: per-layer signal and gradient statistics, the theory's prediction
at initialisation, health warnings and figures.

    from trainlab.diagnostics import Monitor, report_sections, health_table
    monitor = Monitor(every=50)                       # a training callback; off unless added
    Trainer(model, loss, opt, callbacks=[monitor]).fit(X, y)
    print(health_table(monitor))                      # per-layer health at the end
    sections = report_sections(monitor, model)        # for report.html

    from trainlab.diagnostics import predict_signal, measure_signal
    predict_signal(model, input_var=1.0)              # Var(y) = k·Var(w)·E[x²], layer by layer
"""

from trainlab.diagnostics.health import REMEDIES, HealthWarning, Thresholds
from trainlab.diagnostics.monitor import Monitor, TrainingHealthWarning
from trainlab.diagnostics.probe import Snapshot, layer_chain, tap
from trainlab.diagnostics.records import BatchNormStats, LayerStats, ParamStats, StepRecord
from trainlab.diagnostics.sections import health_rows, health_table, report_sections, text_table
from trainlab.diagnostics.serialize import monitor_from_dict, monitor_to_dict
from trainlab.diagnostics.theory import (
    LayerSignal,
    input_statistics,
    measure_signal,
    predict_for_input,
    predict_signal,
    signal_table,
)

__all__ = [
    "REMEDIES",
    "BatchNormStats",
    "HealthWarning",
    "LayerSignal",
    "LayerStats",
    "Monitor",
    "ParamStats",
    "Snapshot",
    "StepRecord",
    "Thresholds",
    "TrainingHealthWarning",
    "health_rows",
    "health_table",
    "input_statistics",
    "layer_chain",
    "measure_signal",
    "monitor_from_dict",
    "monitor_to_dict",
    "predict_for_input",
    "predict_signal",
    "report_sections",
    "signal_table",
    "tap",
    "text_table",
]
