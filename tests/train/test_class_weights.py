"""class_weights ("balanced" or a mapping) and the recipe's class_weight setting."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.recipe import SettingError, from_flat
from trainlab.runs.run import Run
from trainlab.train import class_weights


def test_balanced_is_scikit_learns_formula(rng):
    from sklearn.utils.class_weight import compute_class_weight

    y = rng.choice(4, size=50, p=[0.6, 0.25, 0.1, 0.05])
    expected = compute_class_weight("balanced", classes=np.arange(4), y=y)
    np.testing.assert_allclose(class_weights("balanced", y, 4), expected, rtol=1e-15)


def test_a_mapping_and_its_text_form():
    assert class_weights({1: 3.0}, np.array([0, 1]), 3).tolist() == [1.0, 3.0, 1.0]
    assert class_weights("0=0.5, 2=4", np.array([0, 1]), 3).tolist() == [0.5, 1.0, 4.0]
    with pytest.raises(ValueError, match="class 5 is not one of the 3 classes"):
        class_weights({5: 1.0}, np.array([0]), 3)


def test_a_run_weighs_its_cross_entropy():
    run = Run.in_memory(from_flat({"data": "iris", "hidden": [4], "epochs": 1,
                                   "monitor": False, "class_weight": "0=2,1=1,2=0.5",
                                   "label_smoothing": 0.1}))
    assert run.trainer.loss.weight.tolist() == [2.0, 1.0, 0.5]
    assert run.trainer.loss.label_smoothing == 0.1
    run.train()


@pytest.mark.parametrize("text", ["heavy", "0:1", "1=-2"])
def test_bad_class_weight_is_refused(text):
    with pytest.raises(SettingError, match="class_weight"):
        from_flat({"class_weight": text})


def test_label_smoothing_is_refused_for_regression():
    with pytest.raises(SettingError, match="label_smoothing.*does not apply"):
        Run.in_memory(from_flat({"data": "diabetes", "label_smoothing": 0.1, "monitor": False}))
