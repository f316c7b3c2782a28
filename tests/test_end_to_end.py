"""End to end from the core pieces alone: a two-hidden-layer MLP, a plain training loop
with Adam, and scikit-learn's digits — at least 95% test accuracy."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from trainlab import nn, optim


def test_plain_loop_with_adam_learns_digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    mean, std = X_train.mean(0), X_train.std(0) + 1e-8  # statistics of the training split
    X_train = ((X_train - mean) / std).astype(np.float32)
    X_test = ((X_test - mean) / std).astype(np.float32)

    model = nn.Sequential(
        nn.Linear(64, 128, init="he_normal", rng=0), nn.ReLU(),
        nn.Linear(128, 64, init="he_normal", rng=1), nn.ReLU(),
        nn.Linear(64, 10, init="xavier_uniform", rng=2),
    )
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(15):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            opt.zero_grad()
            losses.append(loss_fn(model(X_train[batch]), y_train[batch]))
            model.backward(loss_fn.backward())
            opt.step()

    model.eval()
    accuracy = float(np.mean(model(X_test).argmax(axis=1) == y_test))
    assert accuracy >= 0.95, accuracy
    assert np.mean(losses[-20:]) < np.mean(losses[:20]) / 10
