"""EarlyStopping's baseline and start_from_epoch, and restore_best at the end of every run."""

from __future__ import annotations

import pytest
from test_callbacks import Score, assert_weights_equal, make_trainer

from trainlab.train import EarlyStopping


def test_restore_best_also_when_it_did_not_fire(small_digits):
    X, y, _, _ = small_digits
    score = Score([3.0, 1.0, 2.0, 2.5])
    stopper = EarlyStopping(monitor="score", patience=5)
    trainer = make_trainer(score, stopper)
    trainer.fit(X, y, epochs=4)
    assert stopper.stopped_epoch == 0 and trainer.epoch == 4
    assert_weights_equal(trainer.model, score.snapshots[2])
    assert stopper.restored_epoch == 2


def test_baseline_stops_a_run_that_never_beats_it(small_digits):
    X, y, _, _ = small_digits
    score = Score([5.0, 4.0, 3.0, 2.0, 1.0, 0.5])  # improving, but above the baseline 1.5
    stopper = EarlyStopping(monitor="score", patience=3, baseline=1.5)
    trainer = make_trainer(score, stopper)
    history = trainer.fit(X, y, epochs=6)
    assert trainer.epoch == 3 and stopper.best == 3.0
    assert "baseline 1.5" in history.stop_reason
    # past the baseline, the usual rule holds
    score = Score([5.0, 1.0, 0.9, 0.8, 0.7, 0.6])
    trainer = make_trainer(score, EarlyStopping(monitor="score", patience=3, baseline=1.5))
    trainer.fit(X, y, epochs=6)
    assert trainer.epoch == 6


def test_start_from_epoch_ignores_the_first_epochs(small_digits):
    X, y, _, _ = small_digits
    score = Score([0.1, 5.0, 4.0, 4.5, 4.6, 4.7])
    stopper = EarlyStopping(monitor="score", patience=2, start_from_epoch=1)
    trainer = make_trainer(score, stopper)
    trainer.fit(X, y, epochs=6)
    assert stopper.best == 4.0 and stopper.best_epoch == 3 and trainer.epoch == 5
    assert_weights_equal(trainer.model, score.snapshots[3])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"baseline": "low"}, "baseline"), ({"start_from_epoch": -1}, "start_from_epoch"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        EarlyStopping(**kwargs)
