"""The minibatch solvers (every trainlab optimizer), run as scikit-learn runs them.

One epoch, on the training part of (X, y) with weights w (notes §5, §6)::

    for each batch B of a fresh permutation (in order with shuffle=False):
        L_B = objective(B)              # loss + ½α Σ‖W‖² / S_B, see _losses
        clip the gradients; optimizer.step()
    loss_ = Σ_B L_B · |B| / n;  t_ += n

then, as scikit-learn's ``MLPClassifier``/``MLPRegressor`` do: without early stopping
an epoch "does not improve" when ``loss_ > best_loss_ − tol``; with it, when the
validation score (accuracy, or R²) is ``< best_validation_score_ + tol``, and the
weights of the best validation score are restored at the end. After more than
``n_iter_no_change`` such epochs in a row training stops (with solver="sgd" and
learning_rate="adaptive" the rate is divided by 5 instead, until it is ≤ 1e-6).
learning_rate="invscaling" (sgd) sets the rate to ``learning_rate_init / (t_ + 1)^power_t``
after each epoch. Reaching ``max_iter`` epochs without stopping warns with
:class:`~sklearn.exceptions.ConvergenceWarning`. A NaN or infinite loss or gradient
stops training with :class:`~trainlab.train.DivergenceWarning`; the failing step is not
applied, so the weights stay finite.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from trainlab.optim import clip_grad_norm, clip_grad_value
from trainlab.sklearn._losses import linears, objective
from trainlab.sklearn._params import Settings
from trainlab.train.guard import DivergenceWarning, divergence_message


def rows(X: Any, index: Any, dtype: np.dtype) -> np.ndarray:
    """X[index] as a dense array of ``dtype`` (sparse input is densified a batch at a time)."""
    part = X[index]
    if sp.issparse(part):
        part = part.toarray()
    return np.asarray(part, dtype=dtype)


def holdout(est: Any, s: Settings, X: Any, Y: np.ndarray, w: np.ndarray | None,
            stratify: bool):
    """Split off ``validation_fraction`` for early stopping (stratified for single-output
    classification), with a seed drawn from the estimator's generator."""
    seed = int(est._rng.integers(2**31 - 1))
    arrays = [X, Y] if w is None else [X, Y, w]
    parts = train_test_split(*arrays, random_state=seed, test_size=s.validation_fraction,
                             stratify=Y.astype(bool) if stratify else None)
    if parts[1].shape[0] < 2:
        raise ValueError(
            f"{type(est).__name__}: The validation set is too small. Increase "
            f"'validation_fraction' (it is {s.validation_fraction!r}) or the size of your "
            f"dataset ({X.shape[0]} rows)."
        )
    if w is None:
        return parts[0], parts[2], None, (parts[1], parts[3], None)
    return parts[0], parts[2], parts[4], (parts[1], parts[3], parts[5])


def _no_improvement(est: Any, tol: float, early_stopping: bool, score: float | None) -> None:
    if early_stopping:
        assert score is not None
        if score < est.best_validation_score_ + tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_weights = [p.data.copy() for p in est.model_.parameters()]
    else:
        if est.loss_curve_[-1] > est.best_loss_ - tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]


def _step_schedule(est: Any, s: Settings, logs: dict[str, float]) -> None:
    schedule = est.schedule_
    if schedule is not None:
        if s.schedule == "plateau":
            schedule.step(logs.get("val_loss", logs["loss"]))
        else:
            schedule.step()
    elif s.solver == "sgd" and s.lr_schedule == "invscaling":
        est.optimizer_.lr = s.learning_rate / (est.t_ + 1) ** s.power_t


def _stop(est: Any, s: Settings, early_stopping: bool) -> bool:
    """After too many epochs without improvement: stop (True), or with adaptive SGD divide
    the rate by 5 and go on (False)."""
    what = "Validation score" if early_stopping else "Training loss"
    message = (f"{what} did not improve more than tol={s.tol:f} for "
               f"{s.n_iter_no_change:g} consecutive epochs.")
    if s.solver == "sgd" and s.lr_schedule == "adaptive" and est.optimizer_.lr > 1e-6:
        est.optimizer_.lr = est.optimizer_.lr / 5.0
        if s.verbose:
            print(f"{message} Setting learning rate to {est.optimizer_.lr:f}")
        return False
    if s.verbose:
        print(f"{message} Stopping.")
    est.history_.stop_reason = message
    return True


def run(est: Any, s: Settings, X: Any, Y: np.ndarray, w: np.ndarray | None,
        validation: Any, loss: str, incremental: bool) -> None:
    """Train ``est.model_`` with ``est.optimizer_``: one epoch when ``incremental``
    (partial_fit), else up to ``max_iter`` epochs. Updates the fitted attributes."""
    model, optimizer = est.model_, est.optimizer_
    dtype = model.parameters()[0].data.dtype
    params, layers = model.parameters(), linears(model)
    n = X.shape[0]
    if s.batch_size is None:
        batch_size = min(200, n)
    else:
        if s.batch_size > n:
            warnings.warn(f"{type(est).__name__}: batch_size={s.batch_size} is larger than the "
                          f"{n} training rows; using {n}.", UserWarning, stacklevel=4)
        batch_size = min(s.batch_size, n)
    early_stopping = validation is not None
    est.n_iter_ = 0
    for _ in range(1 if incremental else s.max_iter):
        order = est._rng.permutation(n) if s.shuffle else np.arange(n)
        lr = float(optimizer.lr)
        total, failed = 0.0, None
        model.train()
        for b, start in enumerate(range(0, n, batch_size)):
            window = slice(start, start + batch_size)
            index = order[window] if s.shuffle else window
            size = min(batch_size, n - start)
            value = objective(model, layers, rows(X, index, dtype), Y[index],
                              None if w is None else w[index], loss, s.alpha)
            if s.clip_norm is not None:
                norm = clip_grad_norm(params, s.clip_norm)
            else:
                norm = math.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params))
            if not (math.isfinite(value) and math.isfinite(norm)):
                failed = (b, f"the loss is {value}" if not math.isfinite(value)
                          else "a gradient contains NaN or infinite values")
                total += value * size
                break
            if s.clip_value is not None:
                clip_grad_value(params, s.clip_value)
            optimizer.step()
            total += value * size
        model.eval()
        epoch_loss = total / n
        est.loss_ = epoch_loss
        est.loss_curve_.append(epoch_loss)
        epoch = len(est.history_) + 1
        logs: dict[str, float] = {"epoch": epoch, "loss": epoch_loss, "lr": lr}
        score = None
        if early_stopping:
            score, val_loss = (math.nan, math.nan) if failed else est._validation(*validation)
            est.validation_scores_.append(score)
            logs.update({"val_loss": val_loss, f"val_{est._score_name}": score})
        est.history_.append(logs)
        if failed is not None:
            est.history_.diverged = {"epoch": epoch, "step": failed[0] + 1, "cause": failed[1]}
            message = divergence_message(epoch, failed[0] + 1,
                                         -(-n // batch_size), failed[0] + 1, failed[1], True, lr)
            est.history_.stop_reason = message
            warnings.warn(message, DivergenceWarning, stacklevel=4)
            break
        est.n_iter_ += 1
        est.t_ += n
        if s.verbose:
            print(f"Iteration {est.n_iter_}, loss = {epoch_loss:.8f}")
            if early_stopping:
                print(f"Validation score: {score:f}")
        _no_improvement(est, s.tol, early_stopping, score)
        _step_schedule(est, s, logs)
        if est._no_improvement_count > s.n_iter_no_change and _stop(est, s, early_stopping):
            break
        if est._no_improvement_count > s.n_iter_no_change:
            est._no_improvement_count = 0
        if not incremental and est.n_iter_ == s.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({s.max_iter}) reached and the "
                "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4)
    if early_stopping:
        for p, best in zip(params, est._best_weights, strict=True):
            p.data[...] = best
