"""``trainlab doctor CONFIG``: sanity checks of a configuration before training, and
``trainlab lr-find``: the learning-rate range test on a configuration."""

from __future__ import annotations

import argparse
from typing import Any

from trainlab.cli.errors import EXIT_FAILED, EXIT_OK, UsageError
from trainlab.cli.settings import add_setting_flags, flag_values, resolve
from trainlab.diagnostics.doctor import run_checks
from trainlab.diagnostics.lr_range import lr_find, plot_lr_range
from trainlab.diagnostics.plots import new_figure, save_figure
from trainlab.diagnostics.sections import text_table
from trainlab.nn.losses import Loss
from trainlab.runs.run import Run


def add_parsers(sub: Any) -> None:
    doctor = sub.add_parser(
        "doctor", help="sanity checks of a configuration before training",
        description="Build the run's data, model and optimizer from CONFIG (and the flags) "
        "and check them before training: the loss at initialisation against ln C, "
        "overfitting a batch of 16 examples, a gradient check in float64, dead and saturated "
        "units at initialisation, and the update/weight ratio after one step (about 1e-3). "
        "Each check prints its verdict and, when it fails, a remedy.",
        epilog="Exit status: 0 every check passed, 1 a check failed, 2 bad settings.")
    doctor.add_argument("config", metavar="CONFIG", nargs="?",
                        help="a TOML file of training settings, as for 'trainlab train --config'")
    add_setting_flags(doctor)
    doctor.set_defaults(handler=run_doctor)

    finder = sub.add_parser(
        "lr-find", help="the learning-rate range test (Smith 2017) on a configuration",
        description="Train copies of the run's model and optimizer for --steps minibatches "
        "while the learning rate grows exponentially from --start-lr to --end-lr; print the "
        "suggested rate (a tenth of the rate at the smoothed loss's minimum) and, with "
        "--plot, draw the loss against the rate.",
        epilog="Exit status: 0 done, 2 bad settings.")
    finder.add_argument("--config", metavar="FILE.toml", help="read settings from a TOML file")
    finder.add_argument("--start-lr", type=float, default=1e-6, metavar="LR",
                        help="the first learning rate (default 1e-6)")
    finder.add_argument("--end-lr", type=float, default=10.0, metavar="LR",
                        help="the last learning rate (default 10)")
    finder.add_argument("--steps", type=int, default=100, metavar="N",
                        help="minibatch steps of the test (default 100)")
    finder.add_argument("--plot", metavar="FILE.png", help="save the loss-against-rate plot")
    add_setting_flags(finder)
    finder.set_defaults(handler=run_lr_find)


def _session(config_file: str | None, args: argparse.Namespace) -> Run:
    config, _ = resolve(config_file, flag_values(args))
    return Run.in_memory(config)


def _training_data(session: Run) -> tuple[Any, Any, Loss]:
    """The training inputs, the targets in the model's units, and the run's loss."""
    X, y = session.data.split("train")
    loss = session.trainer.loss
    if not isinstance(loss, Loss):  # a run's loss is always one of trainlab.nn's
        raise TypeError(f"expected a trainlab.nn loss. Received: {type(loss).__name__}.")
    return X, session.data.scaled_targets(y), loss


def run_doctor(args: argparse.Namespace) -> int:
    session = _session(args.config, args)
    X, y, loss = _training_data(session)
    checks = run_checks(session.model, loss, session.optimizer, X, y,
                        n_classes=session.data.dataset.n_classes,
                        batch_size=session.config.training.batch_size, rng=session.config.seed)
    rows = [[c.name, "pass" if c.passed else "FAIL", c.expected, c.measured] for c in checks]
    print(text_table(["check", "verdict", "expected", "measured"], rows, width=110))
    for c in checks:
        if not c.passed:
            print(f"{c.name}: remedy: {c.remedy}.")
    failed = sum(not c.passed for c in checks)
    print(f"{len(checks) - failed}/{len(checks)} checks pass")
    return EXIT_OK if not failed else EXIT_FAILED


def run_lr_find(args: argparse.Namespace) -> int:
    if args.steps < 2:
        raise UsageError(f"option --steps: expected an integer ≥ 2; received {args.steps}.")
    if not 0 < args.start_lr < args.end_lr:
        raise UsageError("options --start-lr and --end-lr: expected 0 < start < end; received "
                         f"{args.start_lr:g} and {args.end_lr:g}.")
    session = _session(args.config, args)
    X, y, loss = _training_data(session)
    result = lr_find(session.model, loss, X, y, session.optimizer,
                     start_lr=args.start_lr, end_lr=args.end_lr, steps=args.steps,
                     batch_size=session.config.training.batch_size, rng=session.config.seed)
    print(f"range test: {len(result.lrs)} steps from {result.lrs[0]:.2g} to "
          f"{result.lrs[-1]:.2g}{' (stopped: the loss diverged)' if result.diverged else ''}")
    print(f"smoothed loss lowest at lr {result.minimum:.3g}; steepest fall at lr "
          f"{result.steepest:.3g}")
    print(f"suggested learning rate: {result.suggestion:.3g}")
    if args.plot:
        fig, ax = new_figure(1, 1)
        plot_lr_range(result, ax)
        print(f"plot: {save_figure(fig, args.plot)}")
    return EXIT_OK
