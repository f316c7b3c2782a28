"""Sweeps: many runs from one spec, on local worker processes or a Ray cluster.

    trainlab sweep lr.toml --workers 2        # sweeps/lr: sweep.db, trials/, results.csv,
    trainlab sweep show sweeps/lr             #   report.html
    trainlab sweep lr.toml --resume sweeps/lr # after a kill: finish what is left

- ``spec``: ``SPEC.toml`` read and checked (:class:`SweepSpec`).
- ``space``: the settings as Optuna distributions; samplers (grid, random, TPE), pruners.
- ``study``: the plan in an Optuna study; claiming trials; recovering lost ones.
- ``trial``: one trial in a worker (:func:`run_trial`): a RunConfig and a seed, trained
  by :class:`~trainlab.runs.run.Run` into ``trials/trial-NNNN``.
- ``executors``: local worker processes, Ray tasks.
- ``driver``: the loop (:func:`run_sweep`); ``results``: ``results.csv``; ``report``:
  ``report.html``.

Optuna is an optional dependency: ``pip install 'trainlab[sweep]'`` (and ``[ray]``).
"""

from trainlab.sweep.driver import SweepOutcome, prepare_dir, run_sweep
from trainlab.sweep.executors import LocalExecutor, RayExecutor, make_executor
from trainlab.sweep.results import read_results, read_summary
from trainlab.sweep.spec import Range, SweepSpec, parse_spec, read_spec
from trainlab.sweep.trial import TrialResult, TrialTask, run_trial

__all__ = [
    "SweepSpec", "Range", "read_spec", "parse_spec", "run_sweep", "prepare_dir",
    "SweepOutcome", "LocalExecutor", "RayExecutor", "make_executor", "read_results",
    "read_summary", "TrialTask", "TrialResult", "run_trial",
]
