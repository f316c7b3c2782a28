"""Properties that hold for any shapes, dtypes, hyperparameters and seeds: optimizers,
schedules, clipping, splits, scalers, minibatches and transforms."""

from __future__ import annotations

import math

import numpy as np
from hardening_support import FUZZ
from hypothesis import given
from hypothesis import strategies as st

from trainlab import data, nn, optim

seeds = st.integers(0, 2**31 - 1)
dtypes = st.sampled_from([np.float32, np.float64])
shapes = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=3)


def make_params(shape_list, dtype, seed):
    rng = np.random.default_rng(seed)
    params = [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in shape_list]
    return params, rng


OPTIMIZER_SPACE = {
    "SGD": lambda d: optim.SGD, "Adagrad": lambda d: optim.Adagrad,
    "RMSprop": lambda d: optim.RMSprop, "Adam": lambda d: optim.Adam,
    "AdamW": lambda d: optim.AdamW,
}


@st.composite
def optimizer_settings(draw):
    name = draw(st.sampled_from(sorted(OPTIMIZER_SPACE)))
    lr = draw(st.floats(1e-5, 1.0))
    wd = draw(st.sampled_from([0.0, 1e-4, 1e-2]))
    if name == "SGD":
        momentum = draw(st.sampled_from([0.0, 0.5, 0.9]))
        nesterov = momentum > 0 and draw(st.booleans())
        kw = {"momentum": momentum, "nesterov": nesterov, "weight_decay": wd,
              "dampening": 0.0 if nesterov else draw(st.sampled_from([0.0, 0.1]))}
    elif name == "Adagrad":
        kw = {"lr_decay": draw(st.sampled_from([0.0, 1e-3])), "weight_decay": wd,
              "initial_accumulator_value": draw(st.sampled_from([0.0, 0.1]))}
    elif name == "RMSprop":
        kw = {"alpha": draw(st.floats(0.5, 0.999)), "momentum": draw(st.sampled_from([0.0, 0.9])),
              "centered": draw(st.booleans()), "weight_decay": wd}
    else:
        kw = {"betas": (draw(st.floats(0.0, 0.99)), draw(st.floats(0.5, 0.9999))),
              "amsgrad": draw(st.booleans()), "weight_decay": wd}
    return name, lr, kw


@FUZZ
@given(settings=optimizer_settings(), shape_list=shapes, dtype=dtypes, seed=seeds,
       steps=st.integers(1, 4))
def test_optimizer_steps_keep_dtype_and_finiteness_and_resume_exactly(
        settings, shape_list, dtype, seed, steps):
    """Any valid hyperparameters: every step keeps shapes and dtypes and stays finite, and a
    fresh optimizer loaded from state_dict() continues bit for bit like the original."""
    name, lr, kw = settings
    cls = OPTIMIZER_SPACE[name](dtype)
    params, rng = make_params(shape_list, dtype, seed)
    twin = [nn.Parameter(p.data.copy()) for p in params]
    opt = cls(params, lr=lr, **kw)
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in params]
             for _ in range(2 * steps)]

    def step(optimizer, ps, g):
        for p, gi in zip(ps, g, strict=True):
            p.grad[...] = gi
        optimizer.step()

    for g in grads[:steps]:
        step(opt, params, g)
    for p, s in zip(params, shape_list, strict=True):
        assert p.data.shape == s and p.data.dtype == dtype and p.grad.dtype == dtype
        assert np.isfinite(p.data).all()
    for t, p in zip(twin, params, strict=True):
        t.data[...] = p.data
    resumed = cls(twin, lr=lr, **kw)
    resumed.load_state_dict(opt.state_dict())
    for g in grads[steps:]:
        step(opt, params, g)
        step(resumed, twin, g)
    for p, t in zip(params, twin, strict=True):
        np.testing.assert_array_equal(p.data, t.data)


SCHEDULES = {  # name: (class, drawn keyword arguments)
    "exponential": lambda d: (optim.ExponentialLR, {"gamma": d(st.floats(0.5, 1.0))}),
    "step": lambda d: (optim.StepLR, {"step_size": d(st.integers(1, 5)),
                                      "gamma": d(st.floats(0.1, 1.0))}),
    "cosine": lambda d: (optim.CosineAnnealingLR, {"T_max": d(st.integers(1, 20)),
                                                   "eta_min": d(st.floats(0.0, 1e-3))}),
    "plateau": lambda d: (optim.ReduceLROnPlateau, {"factor": d(st.floats(0.1, 0.9)),
                                                    "patience": d(st.integers(0, 3))}),
}


@FUZZ
@given(name=st.sampled_from(sorted(SCHEDULES)), lr=st.floats(1e-4, 1.0),
       epochs=st.integers(1, 40), data_=st.data())
def test_schedules_keep_lr_finite_nonnegative_and_resume_exactly(name, lr, epochs, data_):
    cls, kwargs = SCHEDULES[name](data_.draw)
    opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=lr)
    schedule = cls(opt, **kwargs)
    metrics = data_.draw(st.lists(st.floats(0.0, 10.0), min_size=2 * epochs, max_size=2 * epochs))

    def advance(s, m):
        s.step(m) if name == "plateau" else s.step()

    for m in metrics[:epochs]:
        advance(schedule, m)
        assert math.isfinite(opt.lr) and 0.0 <= opt.lr <= lr * (1 + 1e-12)
        assert schedule.get_last_lr() == [opt.lr]
    twin_opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=lr)
    twin = cls(twin_opt, **kwargs)
    twin_opt.load_state_dict(opt.state_dict())
    twin.load_state_dict(schedule.state_dict())
    for m in metrics[epochs:]:
        advance(schedule, m)
        advance(twin, m)
        assert twin_opt.lr == opt.lr


@FUZZ
@given(shape_list=shapes, dtype=dtypes, seed=seeds, max_norm=st.floats(1e-3, 10.0),
       norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]), scale=st.floats(1e-3, 1e3))
def test_clip_grad_norm_bounds_the_norm_and_returns_the_norm_before(
        shape_list, dtype, seed, max_norm, norm_type, scale):
    params, rng = make_params(shape_list, dtype, seed)
    for p in params:
        p.grad[...] = scale * rng.standard_normal(p.shape)
    flat = np.concatenate([p.grad.ravel().astype(np.float64) for p in params])
    before = np.linalg.norm(flat, ord=norm_type)
    returned = optim.clip_grad_norm(params, max_norm, norm_type=norm_type)
    assert math.isclose(returned, before, rel_tol=1e-5)
    after = np.linalg.norm(np.concatenate([p.grad.ravel() for p in params]).astype(np.float64),
                           ord=norm_type)
    assert after <= max_norm * (1 + 1e-5) + 1e-12 or before <= max_norm
    if before <= max_norm:
        np.testing.assert_allclose(after, before, rtol=1e-6)
    assert all(p.grad.dtype == dtype for p in params)


@FUZZ
@given(shape_list=shapes, dtype=dtypes, seed=seeds, clip=st.floats(1e-3, 10.0))
def test_clip_grad_value_bounds_every_element(shape_list, dtype, seed, clip):
    params, rng = make_params(shape_list, dtype, seed)
    originals = []
    for p in params:
        p.grad[...] = 10 * rng.standard_normal(p.shape)
        originals.append(p.grad.copy())
    optim.clip_grad_value(params, clip)
    for p, g in zip(params, originals, strict=True):
        assert p.grad.dtype == dtype
        np.testing.assert_array_equal(p.grad, np.clip(g, -dtype(clip), dtype(clip)))


@FUZZ
@given(n=st.integers(10, 200), classes=st.integers(2, 5), val=st.floats(0.0, 0.3),
       test=st.floats(0.1, 0.4), seed=seeds)
def test_split_is_a_stratified_partition(n, classes, val, test, seed):
    X = np.arange(n, dtype=np.float64)[:, None]
    y = np.arange(n) % classes
    try:
        split = data.train_val_test_split(X, y, val_fraction=val, test_fraction=test, seed=seed)
    except ValueError as exc:  # too few examples per class for this split: said clearly
        assert "train_val_test_split" in str(exc)
        return
    parts = [split.X_train, split.X_val, split.X_test]
    rows = np.concatenate([p[:, 0] for p in parts])
    assert sorted(rows.tolist()) == list(range(n))  # disjoint and complete
    for part, labels in zip(parts, [split.y_train, split.y_val, split.y_test], strict=True):
        np.testing.assert_array_equal(labels, part[:, 0].astype(int) % classes)
    again = data.train_val_test_split(X, y, val_fraction=val, test_fraction=test, seed=seed)
    for a, b in zip(split, again, strict=True):
        np.testing.assert_array_equal(a, b)
    if len(split.y_test) >= 2 * classes:
        counts = np.bincount(split.y_test, minlength=classes)
        assert counts.max() - counts.min() <= 2


@FUZZ
@given(kind=st.sampled_from(["standard", "minmax", "none"]), n=st.integers(1, 30),
       d=st.integers(1, 6), dtype=dtypes, loc=st.floats(-1e4, 1e4), scale=st.floats(1e-3, 1e4),
       seed=seeds)
def test_scalers_invert_and_keep_shape_and_dtype(kind, n, d, dtype, loc, scale, seed):
    X = (loc + scale * np.random.default_rng(seed).standard_normal((n, d))).astype(dtype)
    scaler = data.make_scaler(kind).fit(X)
    Z = scaler.transform(X)
    assert Z.shape == X.shape and Z.dtype == dtype and np.isfinite(Z).all()
    back = scaler.inverse_transform(Z)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(back, X, rtol=tol, atol=tol * (abs(loc) + scale))
    if kind == "standard" and n > 1:
        assert np.all(np.abs(Z.astype(np.float64).mean(axis=0)) < 1e-3 * (1 + abs(loc) / scale))
    restored = data.make_scaler(kind)
    restored.load_state_dict(scaler.state_dict())
    np.testing.assert_array_equal(restored.transform(X), Z)


@FUZZ
@given(n=st.integers(0, 100), batch=st.integers(1, 40), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=seeds)
def test_minibatches_cover_every_index_once(n, batch, shuffle, drop_last, seed):
    batches = list(data.iterate_minibatches(n, batch, seed, shuffle=shuffle, drop_last=drop_last))
    assert len(batches) == data.num_batches(n, batch, drop_last=drop_last)
    seen = np.concatenate(batches) if batches else np.array([], dtype=np.int64)
    assert len(set(seen.tolist())) == len(seen)
    expected = n - n % batch if drop_last else n
    assert len(seen) == expected and all(len(b) == batch for b in batches[:-1])
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(expected))


@FUZZ
@given(side=st.integers(2, 8), batch=st.integers(1, 6), dtype=dtypes,
       max_shift=st.integers(0, 3), max_degrees=st.floats(0.0, 45.0),
       mode=st.sampled_from(["nearest", "constant"]), seed=seeds)
def test_augmentation_keeps_shape_dtype_range_and_is_seeded(
        side, batch, dtype, max_shift, max_degrees, mode, seed):
    X = np.random.default_rng(seed).uniform(0, 1, (batch, side * side)).astype(dtype)
    augment = data.Compose([data.RandomShiftRotate((side, side), max_shift, max_degrees, mode),
                            data.GaussianNoise(0.0)])
    out = augment(X, np.random.default_rng(seed))
    assert out.shape == X.shape and out.dtype == dtype and np.isfinite(out).all()
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6  # bilinear: a convex combination
    np.testing.assert_array_equal(out, augment(X, np.random.default_rng(seed)))
