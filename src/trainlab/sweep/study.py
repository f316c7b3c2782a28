"""The study of a sweep: its plan of trials, claiming a trial, and recovering lost ones.

A sweep's trials live in one Optuna study named after the spec. Each trial has a *slot*
(its place in the plan: ``point × len(seeds) + seed index``) and carries, as user
attributes, ``slot``, ``seed``, ``point`` and, once claimed, ``lease``: the ``owner``
(host, process id and start time of the sweep that runs it) and a ``heartbeat``
(refreshed while it runs); once ended, ``result`` (value, reason, run directory, epochs,
seconds).

- Planning (once per study, by the sweep that creates it): a grid's points and random
  search's points are enqueued as WAITING trials (``study.enqueue_trial``). TPE enqueues
  a point's other seeds when its first seed is asked for.
- Claiming: ``study.ask()`` takes a WAITING trial and marks it RUNNING in one transaction
  of the database, so two sweeps sharing a study never run the same trial.
- Recovering: a RUNNING trial whose owner is dead (the same host and its process gone, or
  no heartbeat for :data:`GRACE` seconds) is marked FAIL by whoever sees it first (the
  database lets exactly one succeed), and a copy is enqueued with ``retry_of``: its run
  directory is continued from its last checkpoint, so no complete trial is redone and no
  trial is lost. Results list the copy, not the trial it replaces.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from trainlab.recipe import SettingError
from trainlab.sweep import space
from trainlab.sweep.spec import SweepSpec

GRACE = 120.0  # seconds without a heartbeat after which a running trial is taken as lost
HEARTBEAT = 20.0  # seconds between heartbeats of the running trials
PLAN_WAIT = 60.0  # seconds a joining sweep waits for the creator to finish the plan


def _process_start(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot ('' when unknown)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_id() -> str:
    """``host:pid:start`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def owner_alive(owner: str) -> bool | None:
    """Whether the process named by ``owner`` still runs; None when it is on another host."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return _process_start(pid) == start


def open_study(spec: SweepSpec, storage: Any, join: bool) -> optuna.Study:
    """Create the sweep's study and enqueue its plan, or (``join``) open the existing one
    and check that it was made from the same spec."""
    try:
        study = optuna.create_study(study_name=spec.name, storage=storage,
                                    direction=StudyDirection.MAXIMIZE if spec.goal == "maximize"
                                    else StudyDirection.MINIMIZE, sampler=space.sampler(spec),
                                    pruner=space.pruner(spec.prune))
    except optuna.exceptions.DuplicatedStudyError:
        if not join:
            raise SettingError(f"setting 'storage' (--storage) already holds a study named "
                               f"{spec.name!r}; continue it with --resume DIR, or rename the "
                               "spec file.") from None
        study = optuna.load_study(study_name=spec.name, storage=storage,
                                  sampler=space.sampler(spec), pruner=space.pruner(spec.prune))
        _check_same(study, spec)
        return study
    study.set_user_attr("spec", spec.key())
    study.set_user_attr("spec_text", spec.text)
    _plan(study, spec)
    study.set_user_attr("planned", spec.planned())
    return study


def _check_same(study: optuna.Study, spec: SweepSpec) -> None:
    deadline = time.monotonic() + PLAN_WAIT
    while "planned" not in study.user_attrs:  # its creator is still enqueuing the plan
        if time.monotonic() > deadline:
            raise SettingError(f"study {spec.name!r}: its plan was never completed (the sweep "
                               "that created it stopped first); remove it or use another name.")
        time.sleep(0.5)
    if study.user_attrs.get("spec") != spec.key():
        raise SettingError(f"study {spec.name!r} was made from another spec; a sweep continues "
                           "with the spec it started with.")


def _plan(study: optuna.Study, spec: SweepSpec) -> None:
    if spec.method == "tpe":
        return
    points = space.grid_points(spec) if spec.method == "grid" else space.random_points(spec)
    for p, params in enumerate(points):
        for s, seed in enumerate(spec.seeds):
            study.enqueue_trial(params, user_attrs={"slot": p * len(spec.seeds) + s,
                                                    "seed": seed, "point": p})


def waiting(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


class Claimer:
    """Claims the study's WAITING trials for this sweep, one at a time.

    Optuna's ``study.ask()`` reads every waiting trial at each call (quadratic over a
    plan of thousands); this keeps the ids of a snapshot of the queue and takes the next
    one with the same one-row transaction Optuna uses (``set_trial_state_values(id,
    RUNNING)`` succeeds for exactly one sweep), reading the queue again only when the
    snapshot is used up."""

    def __init__(self, study: optuna.Study, spec: SweepSpec) -> None:
        self.study, self.spec = study, spec
        self.storage = study._storage  # noqa: SLF001 - the study's own storage object
        self.study_id = self.storage.get_study_id_from_name(study.study_name)
        self.dists = space.distributions(spec)
        self.queue: list[int] = []

    def _take(self) -> optuna.Trial | None:
        for refreshed in (False, True):
            if refreshed or not self.queue:
                self.queue = [t._trial_id for t in self.storage.get_all_trials(  # noqa: SLF001
                    self.study_id, deepcopy=False, states=(TrialState.WAITING,))]
            while self.queue:
                trial_id = self.queue.pop(0)
                try:
                    if not self.storage.set_trial_state_values(trial_id, TrialState.RUNNING):
                        continue
                except optuna.exceptions.UpdateFinishedTrialError:
                    continue
                trial = optuna.Trial(self.study, trial_id)
                for name, dist in self.dists.items():  # the enqueued values
                    _suggest(trial, name, dist)
                return trial
        return None

    def claim(self) -> optuna.Trial | None:
        """The next trial for this sweep to run (RUNNING, owned by this process), or None
        when the plan has no trial left to start."""
        trial = self._take()
        if trial is None and _needs_point(self.study, self.spec):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                trial = self.study.ask(self.dists)
            if "slot" not in trial.user_attrs and not _new_point(self.study, self.spec, trial):
                trial.set_user_attr("stray", True)  # another sweep asked the last point
                self.study.tell(trial, state=TrialState.FAIL)
                return None
        if trial is None:
            return None
        trial.set_user_attr("lease", {"owner": owner_id(), "heartbeat": time.time()})
        return trial


def _suggest(trial: optuna.Trial, name: str, dist: Any) -> None:
    if isinstance(dist, CategoricalDistribution):
        trial.suggest_categorical(name, dist.choices)
    elif isinstance(dist, IntDistribution):
        trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    else:
        trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def _points(study: optuna.Study) -> int:
    """The number of points the study holds (TPE: asked so far)."""
    return len({t.user_attrs["point"] for t in study.get_trials(deepcopy=False)
                if "point" in t.user_attrs})


def _needs_point(study: optuna.Study, spec: SweepSpec) -> bool:
    return spec.method == "tpe" and _points(study) < int(spec.trials or 0)


def _new_point(study: optuna.Study, spec: SweepSpec, trial: optuna.Trial) -> bool:
    """A TPE trial just sampled: the first seed of a new point; enqueue its other seeds."""
    point = _points(study)
    if point >= int(spec.trials or 0):
        return False
    n = len(spec.seeds)
    trial.set_user_attr("point", point)
    trial.set_user_attr("seed_index", 0)
    trial.set_user_attr("seed", spec.seeds[0])
    trial.set_user_attr("slot", point * n)
    for s, seed in enumerate(spec.seeds[1:], start=1):
        study.enqueue_trial(trial.params, user_attrs={"slot": point * n + s, "seed": seed,
                                                      "point": point, "seed_index": s})
    return True


def recover(study: optuna.Study) -> list[int]:
    """Mark lost RUNNING trials FAIL and enqueue a copy of each; return their numbers."""
    recovered = []
    now = time.time()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        lease = t.user_attrs.get("lease") or {}
        owner = lease.get("owner")
        alive = owner_alive(owner) if isinstance(owner, str) else None
        beat = lease.get("heartbeat")
        if beat is None and t.datetime_start is not None:
            beat = t.datetime_start.timestamp()
        stale = alive is False or (alive is None and (beat is None or now - beat > GRACE))
        if not stale:
            continue
        try:  # exactly one sweep succeeds: the others find it finished
            study.tell(t.number, state=TrialState.FAIL)
        except (ValueError, RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
            continue
        attrs = {k: v for k, v in t.user_attrs.items()
                 if k in ("slot", "seed", "point", "seed_index")}
        study.enqueue_trial(_params(t), user_attrs={**attrs, "retry_of": t.number})
        recovered.append(t.number)
    return recovered


def _params(t: FrozenTrial) -> dict[str, Any]:
    return dict(t.params) or dict(t.system_attrs.get("fixed_params", {}))


def current(study: optuna.Study) -> list[FrozenTrial]:
    """The trials that count, one per slot: not replaced by a retry, not outside the plan."""
    trials = study.get_trials(deepcopy=False)
    replaced = {t.user_attrs["retry_of"] for t in trials if "retry_of" in t.user_attrs}
    return [t for t in trials if t.number not in replaced and "slot" in t.user_attrs
            and not t.user_attrs.get("stray")]
