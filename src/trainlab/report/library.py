"""``report.html`` from a run made in Python: a :class:`~trainlab.train.Trainer` after
``fit``, or a :class:`~trainlab.runs.Run` (with or without a run directory).

    trainer.fit(X, y, validation_data=(X_val, y_val))
    write_report(trainer, "report.html")

The page has the sections of a command-line run's report, built from the objects in
memory instead of a run directory's files (every figure embedded in the page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainlab import __version__, runs
from trainlab.report.evaluation import SplitOutputs
from trainlab.report.run_report import RunContext, build_run_report, write_run_report
from trainlab.runs.prepare import to_target_units
from trainlab.runs.run import Run
from trainlab.train import Trainer
from trainlab.train.evaluation import forward_batches


def _trainer_context(trainer: Any, path: Path, name: str) -> RunContext:
    """The report's inputs from a fitted Trainer (settings: its components and theirs)."""
    from trainlab.diagnostics import Monitor  # (matplotlib)

    history = trainer.history
    monitor = next((cb for cb in trainer.callbacks if isinstance(cb, Monitor)), None)
    params = trainer.model.parameters()
    in_features = int(params[0].data.shape[0]) if params and params[0].data.ndim == 2 else 0
    optimizer = trainer.optimizer
    config: dict[str, Any] = {"optimizer": type(optimizer).__name__.lower(),
                              "lr": float(optimizer.lr)}
    for key in ("momentum", "weight_decay", "betas", "eps"):
        value = getattr(optimizer, key, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            config[key] = value
    if trainer.schedule is not None:
        config["schedule"] = type(trainer.schedule).__name__
    config["loss"] = type(trainer.loss).__name__
    config["epochs"] = int(trainer.epoch)
    info = {
        "status": "completed", "trainlab_version": __version__,
        "epochs_completed": int(trainer.epoch), "target_epochs": int(trainer.epoch),
        "global_step": int(trainer.global_step),
        "dataset": {"name": name, "task": trainer.task, "n_features": in_features},
        "stop_reason": history.stop_reason, "library": True,
    }
    metrics = {key: history[key] for key in history.keys()}
    return RunContext(path, config, info, metrics, trainer.model, monitor)


def write_report(source: Any, path: str | Path = "report.html", name: str = "in-memory run",
                 ) -> Path:
    """Write the HTML report of ``source`` (a fitted Trainer, or a Run) to ``path``.

    A Run with a directory writes its ordinary report (and ``figures/``) there, then
    copies the page to ``path``; a Run without one, and a Trainer, are reported from
    memory. Returns the page's path.
    """
    path = Path(path)
    if isinstance(source, Run):
        if source.run_dir is not None:
            return write_run_report(source.run_dir, monitor=source.monitor, model=source.model,
                                    output=path)
        ctx = _trainer_context(source.trainer, path.parent, source.config.data.data)
        ctx.config = {k: v for k, v in source.config.to_flat().items() if v is not None}
        ctx.info = {**source.info("completed" if source.trainer.epoch else "created"),
                    "library": True}
        ctx.monitor = source.monitor
        if source.trainer.epoch:
            ctx.info["final"] = source.final_metrics()
            outputs = to_target_units(source.data.target_scaler,
                                      forward_batches(source.model, source.data.X_test))
            names = source.data.dataset.class_names
            ctx.test = SplitOutputs(source.task, outputs, source.data.y_test,
                                   None if names is None else [str(n) for n in names])
    elif isinstance(source, Trainer):
        if not len(source.history):
            raise ValueError("write_report: the Trainer has not been fitted (no epoch in "
                             "its history); call fit() first.")
        ctx = _trainer_context(source, path.parent, name)
    else:
        raise TypeError("write_report: expected a trainlab Trainer or Run. Received: "
                        f"{type(source).__name__}.")
    runs.atomic_write_text(path, build_run_report(ctx))
    return path
