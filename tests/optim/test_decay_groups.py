"""decay_groups: biases and normalisation parameters out of weight decay, against torch;
the recipe's decay_bias setting."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn, optim
from trainlab.recipe import from_flat
from trainlab.runs.run import Run


def test_adamw_with_decay_groups_matches_torch(torch, check_against_torch):
    def ours(params):
        named = list(zip(["w", "b", "v"], params, strict=True))
        return optim.AdamW(optim.decay_groups(named), lr=0.05, weight_decay=0.1)

    def theirs(tensors):
        return torch.optim.AdamW([{"params": [tensors[0], tensors[2]]},
                                  {"params": [tensors[1]], "weight_decay": 0.0}],
                                 lr=0.05, weight_decay=0.1)

    check_against_torch(ours, theirs)


def test_groups_of_a_model():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm(4), nn.ReLU(),
                          nn.Linear(4, 2, rng=1))
    groups = optim.decay_groups(model, weight_decay=0.3)
    assert [len(g["params"]) for g in groups] == [2, 4]
    assert groups[0]["weight_decay"] == 0.3 and groups[1]["weight_decay"] == 0.0
    assert all(p.data.ndim == 2 for p in groups[0]["params"])
    opt = optim.SGD(groups, lr=0.1)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.3, 0.0]
    with pytest.raises(TypeError, match="named_parameters"):
        optim.decay_groups(model.parameters())


def test_the_recipe_keeps_biases_out_of_the_decay():
    run = Run.in_memory(from_flat({"data": "iris", "hidden": [8], "epochs": 1, "monitor": False,
                                   "optimizer": "adamw", "decay_bias": False}))
    groups = run.optimizer.param_groups
    assert [g["weight_decay"] for g in groups] == [0.01, 0.0]
    assert all(np.ndim(p.data) == 1 for p in groups[1]["params"])
    run.train()
