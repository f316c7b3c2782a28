"""trainlab.gradcheck: passes the library's layers, names the worst entry of a wrong backward."""

from __future__ import annotations

import numpy as np
import pytest

import trainlab as tl
from trainlab import nn


class Scale(nn.Module):
    """y = x ⊙ w, with a backward that can be wrong in chosen ways."""

    def __init__(self, width: int, mistake: str = "") -> None:
        super().__init__()
        self.weight = nn.Parameter(np.linspace(0.5, 1.5, width))
        self.mistake = mistake

    def forward(self, x):
        self._x = x
        return x * self.weight.data

    def backward(self, dy):
        grad = (dy * self._x).sum(axis=0)
        if self.mistake == "overwrite":
            self.weight.grad[...] = grad
        else:
            self.weight.grad += 2 * grad if self.mistake == "param" else grad
        dx = dy * self.weight.data
        if self.mistake == "input":
            dx[1, 2] += 0.5
        return dx


@pytest.mark.parametrize("make", [
    lambda: nn.Linear(4, 3, rng=0),
    lambda: nn.Sequential(nn.Linear(4, 5, rng=0), nn.BatchNorm(5), nn.Tanh(),
                          nn.Linear(5, 2, rng=1)),
    lambda: nn.Sequential(nn.Linear(4, 4, rng=0), nn.LayerNorm(4), nn.GELU()),
    lambda: Scale(4),
])
def test_correct_layers_pass(make, rng):
    layer = make()
    before = {k: v.copy() for k, v in layer.state_dict().items()}
    assert tl.gradcheck(layer, rng.normal(size=(6, 4))) is True
    after = layer.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # a copy was checked


@pytest.mark.parametrize(("mistake", "match"), [
    ("input", r"input\[1, 2\]: analytic"),
    ("param", r"weight\[\d\]: analytic"),
    ("overwrite", "a second backward must add"),
])
def test_a_wrong_backward_names_the_worst_entry(mistake, match, rng):
    with pytest.raises(tl.GradcheckError, match=match):
        tl.gradcheck(Scale(4, mistake), rng.normal(size=(3, 4)))


def test_parameters_can_be_left_out(rng):
    assert tl.gradcheck(Scale(4, "param"), rng.normal(size=(3, 4)), check_params=False)


def test_dropout_in_training_mode_is_refused(rng):
    model = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Dropout(0.5, rng=0))
    with pytest.raises(ValueError, match="Dropout 1 is in training mode"):
        tl.gradcheck(model, rng.normal(size=(2, 3)))
    assert tl.gradcheck(model.eval(), rng.normal(size=(2, 3)))
