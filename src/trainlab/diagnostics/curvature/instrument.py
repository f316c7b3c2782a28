"""``CurvatureMonitor``: the loss surface's curvature where the optimizer is, during training.

Every ``every`` optimizer steps (after the step) it measures, on a fixed batch (X, y) and
in a float64 copy of the model with Dropout and DropConnect in evaluation mode:

- the sharpness λ_max(H) and, for an adaptive optimizer, the preconditioned sharpness
  λ_max(P⁻¹H), against the optimizer's stability threshold
  (:func:`~trainlab.diagnostics.curvature.stability.stability_threshold`: 2/η for
  gradient descent, (2+2β)/η with momentum, (2+2β₁)/((1−β₁)η) for Adam; Cohen et al.
  2021, 2022);
- λ_min(H): a negative value is a direction of negative curvature (a saddle);
- tr(H) by Hutchinson's estimator (``trace_samples`` deflated Rademacher vectors);
- the gradient noise scale B_simple = tr(Σ)/|G|² over the batch's examples (NaN when a
  BatchNorm in training mode couples them);
- the distance ‖θ − θ₀‖ from the parameters at the start of training.

**What a measurement costs,** in gradients of the batch (one forward and backward pass in
float64 each), with the defaults:

- 1: ∇L(θ) and every example's squared gradient norm from the same batched pass, which
  give B_simple (:mod:`~trainlab.diagnostics.curvature.noise`; one pass per example for
  models and losses that the fast path does not cover);
- ``lanczos_steps`` = 6: one Lanczos run on H, started from the sum of the previous top
  and bottom eigenvectors, whose Ritz values at both ends are λ_max and λ_min;
- ``preconditioned_steps`` = 3: one run on P^{-1/2}·H·P^{-1/2} from its previous top
  eigenvector (adaptive optimizers only);
- ``trace_samples`` = 1: a Hutchinson sample deflated by the first run's Krylov basis
  (tr(QᵀHQ) = Σα_j exactly, plus z'ᵀHz' on the rest; Hutch++'s idea), which on the
  digits MLP had 2.4× less spread than a plain sample.

Each product is a forward difference from ∇L(θ), one gradient
(:mod:`~trainlab.diagnostics.curvature.warm`, error about 10⁻⁷ of ‖H·v‖); the public
functions keep the central difference. A run from a random start (the first measurement,
and the first with a preconditioner) takes twice the steps. So a warm measurement costs
11 gradients with Adam (1 + 6 + 3 + 1) and 8 with SGD. The float64 copy is made once and
reloaded in place afterwards (:meth:`Objective.reload`); it runs on the NumPy backend (at
these sizes as fast, and nothing is compiled at the first measurement).

**Accuracy.** The eigenvalues are monitoring estimates that tighten over the run, not
converged values; call :func:`~trainlab.diagnostics.curvature.hessian_eigenvalues` for
those. On the default digits run (MLP 64-256-128-10, Adam, 64 rows, every 100 steps),
against ARPACK on PyTorch's exact products, from the first warm measurement on: λ_max
within 2·10⁻⁵, the preconditioned sharpness within 7·10⁻⁴ (10⁻⁶ by step 400), λ_min within
0.025·λ_max (0.003·λ_max by step 400); with 8 and 4 steps the errors were 10⁻⁷, 2·10⁻⁷
and 0.009·λ_max, at 14 gradients a measurement. The trace is a one-sample estimate
(within a third of a 300-sample one here).

It only reads the model and optimizer: a run with and without it has identical weights,
and the same run gives the same records. Its :meth:`~CurvatureMonitor.state_dict` (the
records, θ₀ and the three warm-start vectors, 16 bytes a parameter for a float32 model)
goes into the trainer's checkpoints, so that a resumed run measures exactly as an
uninterrupted one. ``seconds`` is the time it took, to compare with the training time.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from trainlab._checks import check_int
from trainlab.diagnostics.curvature.hessian import rademacher, step_size
from trainlab.diagnostics.curvature.noise import noise_scale, per_example_sq_norms
from trainlab.diagnostics.curvature.objective import Objective
from trainlab.diagnostics.curvature.stability import stability_threshold
from trainlab.diagnostics.curvature.warm import (
    forward_hvp,
    joint_start,
    lanczos_run,
)
from trainlab.nn.module import Module
from trainlab.train.callbacks import Callback


@dataclass
class CurvatureRecord:
    """One measurement at optimizer step ``step``.

    sharpness: λ_max(H). preconditioned: λ_max(P⁻¹H) for adaptive optimizers (NaN
    otherwise). threshold: the optimizer's stability threshold (compare with
    ``preconditioned`` when it is finite, else with ``sharpness``); ``rule`` its formula.
    lambda_min, trace, noise_scale (B_simple), distance (‖θ − θ₀‖).
    """

    step: int
    sharpness: float
    preconditioned: float
    threshold: float
    rule: str
    lambda_min: float
    trace: float
    noise_scale: float
    distance: float

    @property
    def compared(self) -> float:
        """The sharpness that the threshold bounds (preconditioned when there is one)."""
        return self.preconditioned if math.isfinite(self.preconditioned) else self.sharpness

    @property
    def ratio(self) -> float:
        """compared / threshold: 1 is the edge of stability."""
        return self.compared / self.threshold if self.threshold > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def records_to_json(records: list[CurvatureRecord]) -> list[dict[str, Any]]:
    """JSON-able dicts (NaN becomes None)."""
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in r.to_dict().items()} for r in records]


def records_from_json(rows: Any) -> list[CurvatureRecord]:
    """The records of :func:`records_to_json` (None back to NaN); a ValueError when the
    rows are not such records."""
    if not isinstance(rows, list):
        raise ValueError(f"curvature records: expected a list. Received {type(rows).__name__}.")
    out = []
    for row in rows:
        try:
            values = {k: (math.nan if v is None else v) for k, v in row.items()}
            out.append(CurvatureRecord(
                step=int(values["step"]), rule=str(values["rule"]),
                **{k: float(values[k]) for k in ("sharpness", "preconditioned", "threshold",
                                                  "lambda_min", "trace", "noise_scale",
                                                  "distance")}))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"curvature records: a row is not a record ({exc}).") from None
    return out


def _flat(model: Module) -> np.ndarray:
    """The parameters as one vector, in their own dtype (exact in a checkpoint)."""
    return np.concatenate([p.data.ravel() for p in model.parameters()])


def _check_state(state: Any) -> tuple[list[CurvatureRecord], np.ndarray | None,
                                      list[np.ndarray] | None, list[bool]]:
    """The parts of a :meth:`CurvatureMonitor.state_dict`, checked; a ValueError naming
    what is wrong otherwise."""
    owner = "CurvatureMonitor.load_state_dict"
    if not isinstance(state, dict) or set(state) != {"records", "start", "vectors", "warm"}:
        raise ValueError(f"{owner}: expected a dict with the keys records, start, vectors and "
                         f"warm. Received: {state!r:.120}.")
    records = records_from_json(state["records"])
    start, vectors, warm = state["start"], state["vectors"], state["warm"]
    if start is not None and not (isinstance(start, np.ndarray) and start.ndim == 1
                                  and start.dtype.kind == "f"):
        raise ValueError(f"{owner}: expected start (θ₀) as a float vector. Received: "
                         f"{start!r:.80}.")
    if vectors is not None:
        if not (isinstance(vectors, list) and len(vectors) == 3 and all(
                isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind == "f"
                and v.shape == vectors[0].shape for v in vectors)):
            raise ValueError(f"{owner}: expected vectors as three float vectors of one length. "
                             f"Received: {vectors!r:.80}.")
        vectors = [v.astype(np.float64) for v in vectors]
    if not (isinstance(warm, list) and len(warm) == 2 and all(isinstance(w, bool) for w in warm)):
        raise ValueError(f"{owner}: expected warm as two booleans. Received: {warm!r:.80}.")
    return records, start, vectors, list(warm)


class CurvatureMonitor(Callback):
    """Measure curvature every ``every`` optimizer steps on the fixed batch (X, y).

    trace_samples: deflated Hutchinson samples per measurement (0: no trace).
    lanczos_steps: Hessian-vector products of the run that gives λ_max and λ_min.
    preconditioned_steps: products of the run that gives λ_max(P⁻¹H). noise: whether to
    measure B_simple. seed: the seed of the first Lanczos starts and the Hutchinson
    vectors. After training: ``records`` and ``seconds``. See the module for the costs
    and the accuracy of the defaults.
    """

    order = -4

    def __init__(self, X: Any, y: Any, every: int = 100, trace_samples: int = 1,
                 noise: bool = True, seed: int = 0, lanczos_steps: int = 6,
                 preconditioned_steps: int = 3) -> None:
        self.X = np.asarray(X)
        self.y = np.asarray(y)
        if self.X.ndim != 2 or len(self.y) != len(self.X) or len(self.X) < 2:
            raise ValueError("CurvatureMonitor: expected X (N, D) with N ≥ 2 and one target "
                             f"per row. Received X of shape {self.X.shape} and {len(self.y)} "
                             "targets.")
        self.every = check_int(every, "CurvatureMonitor: every", low=1)
        self.trace_samples = check_int(trace_samples, "CurvatureMonitor: trace_samples", low=0)
        self.noise = bool(noise)
        self.seed = check_int(seed, "CurvatureMonitor: seed", low=0)
        self.lanczos_steps = check_int(lanczos_steps, "CurvatureMonitor: lanczos_steps", low=1)
        self.preconditioned_steps = check_int(preconditioned_steps,
                                              "CurvatureMonitor: preconditioned_steps", low=1)
        self.records: list[CurvatureRecord] = []
        self.seconds = 0.0
        self._start: np.ndarray | None = None
        # the last eigenvectors, the warm starts: rows λ_max(H), λ_min(H), λ_max(P⁻¹H) and
        # a spare row (the preconditioned run's other end)
        self._vectors: np.ndarray | None = None
        self._work: np.ndarray | None = None  # the Lanczos basis and a scaled direction
        self._warm = [False, False]  # whether _vectors[0:2] and [2] come from a measurement
        self._objective: Objective | None = None  # the float64 copy, reloaded each time
        self._loss: Any = None  # the loss it was made with

    def start_from(self, model: Module) -> None:
        """Take θ₀, the origin of ``distance``, from ``model``'s parameters now (a run that
        is resumed: its initial model, rebuilt from the seed); by default it is the
        parameters when training begins."""
        self._start = _flat(model)

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps, so that a resumed run measures as an uninterrupted one:
        the records, θ₀ (in the parameters' dtype), the Lanczos warm starts (float32; they
        are rounded to float32 after each measurement, so that nothing is lost) and
        whether they come from a measurement."""
        return {"records": records_to_json(self.records), "start": self._start,
                "vectors": None if self._vectors is None else [
                    v.astype(np.float32) for v in self._vectors[:3]],
                "warm": list(self._warm)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (checked first; a ValueError changes nothing)."""
        self.records, self._start, vectors, self._warm = _check_state(state)
        self._vectors = None if vectors is None else np.vstack(
            [*vectors, np.zeros_like(vectors[0])])

    def on_train_begin(self, trainer: Any) -> None:
        """Keep θ₀ (the parameters when this training begins) and measure step 0 of a fresh
        run."""
        if self._start is None:
            self._start = _flat(trainer.model)
        if not self.records and int(trainer.global_step) == 0:
            self.on_batch_end(trainer, 0, math.nan)

    def on_batch_end(self, trainer: Any, batch: int, loss: float) -> None:
        step = int(trainer.global_step)
        if step % self.every:
            return
        begin = time.perf_counter()
        try:
            self.records.append(self.measure(trainer.model, trainer.loss, trainer.optimizer,
                                             step))
        finally:
            self.seconds += time.perf_counter() - begin

    def measure(self, model: Module, loss_fn: Any, optimizer: Any, step: int) -> CurvatureRecord:
        """One :class:`CurvatureRecord` of ``model`` at ``step``."""
        objective = self._objective
        if objective is None or self._loss is not loss_fn or not objective.reload(model):
            objective = Objective(model, loss_fn, self.X, self.y, "CurvatureMonitor",
                                  dropout_eval=True, backend="numpy")
            self._objective, self._loss = objective, loss_fn
        rng = np.random.default_rng([self.seed, step])
        n = objective.n_params
        if self._vectors is None or self._vectors.shape[1] != n:
            self._vectors = np.zeros((4, n))
            for row in self._vectors[:3]:
                row[:] = rng.standard_normal(n)
            self._warm = [False, False]
        vectors = self._vectors
        with np.errstate(all="ignore"):
            coupled = objective.batch_statistics()
            fast = per_example_sq_norms(objective) if self.noise and not coupled else None
            base = fast[1] if fast is not None else objective.gradient()  # ∇L(θ)
            h = step_size(objective.theta0)

            def product(v: np.ndarray, out: np.ndarray) -> np.ndarray:
                return forward_hvp(objective, v, base, h, out=out)

            def unit_product(q: np.ndarray, out: np.ndarray) -> np.ndarray:  # ‖q‖ = 1
                return forward_hvp(objective, q, base, h, norm=1.0, out=out)

            stability = stability_threshold(optimizer)
            steps = self._steps(0)
            pre_steps = self._steps(1) if stability.preconditioner is not None else 0
            work = self._workspace(max(steps + 1, pre_steps + 2), n)
            krylov = lanczos_run(unit_product, joint_start(vectors[0], vectors[1], out=work[0]),
                                 steps, work)
            low, _, top, _ = krylov.extremes(out=vectors[0:2])
            trace = math.nan
            if self.trace_samples:
                trace = float(np.mean([krylov.deflated_trace(product, rademacher(rng, n))
                                       for _ in range(self.trace_samples)]))
            pre = math.nan
            if stability.preconditioner is not None:
                scale = np.sqrt(stability.preconditioner)
                np.divide(1.0, scale, out=scale)
                scaled = work[pre_steps + 1]

                def preconditioned(q: np.ndarray, out: np.ndarray) -> np.ndarray:
                    np.multiply(scale, q, out=scaled)  # P^{-1/2}·H·P^{-1/2}·q
                    forward_hvp(objective, scaled, base, h, out=out)
                    out *= scale
                    return out

                _, _, pre, _ = lanczos_run(preconditioned, vectors[2], pre_steps,
                                           work).extremes(out=vectors[2:4])
            noise = math.nan
            if self.noise and not coupled:
                noise = noise_scale(objective, fast)
        vectors[:3] = vectors[:3].astype(np.float32)  # what a checkpoint keeps of them
        start = self._start if self._start is not None else objective.theta0
        distance = float(np.linalg.norm(objective.theta0 - start))
        return CurvatureRecord(step, top, pre, stability.threshold, stability.rule, low, trace,
                               noise, distance)

    def _workspace(self, rows: int, n: int) -> np.ndarray:
        """``rows`` float64 rows of n entries (the Lanczos basis, written in place, and a
        scaled direction), kept from one measurement to the next while it needs as many:
        the longer runs from a random start do not keep their rows afterwards."""
        if self._work is None or self._work.shape != (rows, n):
            self._work = np.empty((rows, n))
        return self._work

    def _steps(self, which: int) -> int:
        """Lanczos steps of run ``which`` (0: H, 1: preconditioned): ``lanczos_steps`` or
        ``preconditioned_steps``, twice as many the first time (from a random start)."""
        warm, self._warm[which] = self._warm[which], True
        steps = self.lanczos_steps if which == 0 else self.preconditioned_steps
        return steps if warm else 2 * steps
