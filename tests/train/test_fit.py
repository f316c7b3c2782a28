"""The fit loop: accuracy on digits, determinism, metrics, clipping, callbacks, display."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from trainlab import data, nn, optim
from trainlab.models import MLPConfig, build_mlp
from trainlab.train import (
    Callback,
    EarlyStopping,
    LambdaCallback,
    Trainer,
    fit,
    global_grad_norm,
)
from trainlab.train.progress import ProgressBar, progress_callback


def make_trainer(
    in_features=64,
    out=10,
    *,
    seed=0,
    hidden=(32,),
    loss=None,
    lr=1e-2,
    model_kwargs=None,
    **trainer_kwargs,
):
    model = build_mlp(MLPConfig(in_features, hidden, out, **(model_kwargs or {})), rng=seed)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    trainer_kwargs.setdefault("verbose", 0)
    trainer_kwargs.setdefault("rng", seed + 100)
    return Trainer(model, loss or nn.CrossEntropyLoss(), optimizer, **trainer_kwargs)


def weights(trainer):
    return trainer.model.state_dict()


def assert_same_run(a, b):
    for key, value in weights(a).items():
        np.testing.assert_array_equal(value, weights(b)[key], err_msg=key)
    columns = [k for k in a.history.keys() if k != "epoch_time"]  # noqa: SIM118 (iter: the rows)
    assert columns == [k for k in b.history.keys() if k != "epoch_time"]  # noqa: SIM118
    for key in columns:
        assert a.history[key] == b.history[key], key


def test_two_hidden_layer_mlp_reaches_95_percent_on_digits(digits):
    model = build_mlp(MLPConfig(64, (128, 64), 10), rng=0)
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), rng=0, verbose=0
    )
    history = trainer.fit(
        digits.X_train,
        digits.y_train,
        epochs=12,
        batch_size=32,
        validation_data=(digits.X_val, digits.y_val),
    )
    test = trainer.evaluate(digits.X_test, digits.y_test)
    assert test["accuracy"] >= 0.95, test
    assert history["loss"][-1] < history["loss"][0] / 5


def test_same_seeds_give_identical_history_and_weights(small_digits):
    X, y, Xv, yv = small_digits

    def run(trainer_seed):
        trainer = make_trainer(
            seed=1,
            rng=trainer_seed,
            transform=data.GaussianNoise(0.1),
            model_kwargs={"dropout": 0.2, "norm": "batch"},
        )
        trainer.schedule = None
        trainer.fit(X, y, epochs=3, batch_size=32, validation_data=(Xv, yv))
        return trainer

    a, b, c = run(7), run(7), run(8)
    assert_same_run(a, b)
    assert a.history["loss"] != c.history["loss"]  # the trainer's seed drives shuffling


def test_continuing_fit_equals_one_longer_fit(small_digits):
    X, y, Xv, yv = small_digits
    kwargs = {"seed": 2, "model_kwargs": {"dropout": 0.3}}
    straight = make_trainer(**kwargs)
    straight.fit(X, y, epochs=4, validation_data=(Xv, yv))
    in_two = make_trainer(**kwargs)
    in_two.fit(X, y, epochs=2, validation_data=(Xv, yv))
    assert in_two.epoch == 2 and len(in_two.history) == 2
    in_two.fit(X, y, epochs=4, validation_data=(Xv, yv))
    assert in_two.epoch == 4 and in_two.global_step == 4 * math.ceil(300 / 32)
    assert_same_run(straight, in_two)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Recorder(Callback):
    """Keeps each batch's targets, outputs and loss, and checks the epoch's logs against sklearn."""

    def __init__(self, validation, task):
        self.validation, self.task, self.checked = validation, task, 0

    def on_epoch_begin(self, trainer, epoch):
        self.targets, self.outputs, self.losses, self.sizes = [], [], [], []

    def on_batch_end(self, trainer, batch, loss):
        self.targets.append(trainer.y_batch)
        self.outputs.append(trainer.output.copy())
        self.losses.append(loss)
        self.sizes.append(trainer.x_batch.shape[0])

    def on_epoch_end(self, trainer, epoch, logs):
        Xv, yv = self.validation
        pred = trainer.predict(Xv)
        y_seen, out_seen = np.concatenate(self.targets), np.concatenate(self.outputs)
        assert logs["loss"] == pytest.approx(np.average(self.losses, weights=self.sizes), rel=1e-12)
        if self.task == "classification":
            assert logs["accuracy"] == skm.accuracy_score(y_seen, out_seen.argmax(1))
            assert logs["val_accuracy"] == skm.accuracy_score(yv, pred.argmax(1))
            assert logs["val_loss"] == pytest.approx(
                skm.log_loss(yv, _softmax(pred), labels=range(10)), rel=1e-10
            )
        else:
            assert logs["mse"] == pytest.approx(skm.mean_squared_error(y_seen, out_seen), rel=1e-10)
            assert logs["r2"] == pytest.approx(skm.r2_score(y_seen, out_seen), rel=1e-10)
            assert logs["val_mse"] == pytest.approx(skm.mean_squared_error(yv, pred), rel=1e-10)
            assert logs["val_loss"] == pytest.approx(logs["val_mse"], rel=1e-10)
            assert logs["val_r2"] == pytest.approx(skm.r2_score(yv, pred), rel=1e-10)
        self.checked += 1


def test_classification_history_matches_sklearn(small_digits):
    X, y, Xv, yv = small_digits
    recorder = Recorder((Xv, yv), "classification")
    trainer = make_trainer(model_kwargs={"dtype": "float64", "dropout": 0.2}, callbacks=[recorder])
    history = trainer.fit(X, y, epochs=2, batch_size=50, validation_data=(Xv, yv))
    assert recorder.checked == 2
    assert history.keys() == [
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "lr",
        "epoch_time",
    ]
    assert history["epoch"] == [1, 2]


def test_regression_history_matches_sklearn(regression_data):
    X, y, Xv, yv = regression_data
    recorder = Recorder((Xv, yv), "regression")
    trainer = make_trainer(
        5, 2, loss=nn.MSELoss(), model_kwargs={"dtype": "float64"}, callbacks=[recorder]
    )
    assert trainer.task == "regression"
    history = trainer.fit(X, y, epochs=3, batch_size=16, validation_data=(Xv, yv))
    assert recorder.checked == 3
    assert history.keys() == [
        "epoch",
        "loss",
        "mse",
        "r2",
        "val_loss",
        "val_mse",
        "val_r2",
        "lr",
        "epoch_time",
    ]
    assert history["r2"][-1] > history["r2"][0]


def test_binary_classification_with_bce(small_digits):
    X, y, Xv, yv = small_digits
    trainer = make_trainer(out=1, loss=nn.BCEWithLogitsLoss())
    history = trainer.fit(X, (y >= 5).astype(np.float32), epochs=3, validation_data=(Xv, yv >= 5))
    logits = trainer.predict(Xv)
    assert history["val_accuracy"][-1] == skm.accuracy_score(yv >= 5, logits[:, 0] > 0)
    assert history["val_accuracy"][-1] > 0.8


class ClipRecorder(Callback):
    def __init__(self):
        self.before, self.reported, self.after_max = [], [], []

    def on_after_backward(self, trainer):
        self.before.append(
            math.sqrt(
                sum(
                    float((p.grad.astype(np.float64) ** 2).sum())
                    for p in trainer.model.parameters()
                )
            )
        )
        self.max_before = max(float(np.abs(p.grad).max()) for p in trainer.model.parameters())

    def on_after_clip(self, trainer, norm_before, norm_after):
        self.reported.append(
            (norm_before, norm_after, global_grad_norm(trainer.model.parameters()))
        )
        self.after_max.append(max(float(np.abs(p.grad).max()) for p in trainer.model.parameters()))


def test_clipping_by_norm_is_applied(small_digits):
    X, y, _, _ = small_digits
    recorder = ClipRecorder()
    trainer = make_trainer(clip_norm=0.5, callbacks=[recorder])
    trainer.fit(X, y, epochs=1)
    assert len(recorder.reported) == trainer.global_step == math.ceil(300 / 32)
    assert any(b > 0.5 for b in recorder.before)
    for measured, (before, after, actual) in zip(recorder.before, recorder.reported, strict=True):
        assert before == pytest.approx(measured, rel=1e-5)
        assert after == pytest.approx(actual, rel=1e-12)
        assert after == pytest.approx(min(measured, 0.5), rel=1e-5)


def test_clipping_by_value_is_applied(small_digits):
    X, y, _, _ = small_digits
    recorder = ClipRecorder()
    trainer = make_trainer(clip_value=0.01, callbacks=[recorder])
    trainer.fit(X, y, epochs=1)
    assert recorder.max_before > 0.01
    assert max(recorder.after_max) <= np.float32(0.01)
    assert all(after <= before for before, after, _ in recorder.reported)
    unclipped = make_trainer()
    unclipped.fit(X, y, epochs=1)
    assert not np.array_equal(weights(trainer)["0.weight"], weights(unclipped)["0.weight"])


def test_without_clipping_the_norms_before_and_after_agree(small_digits):
    X, y, _, _ = small_digits
    recorder = ClipRecorder()
    make_trainer(callbacks=[recorder]).fit(X[:64], y[:64], epochs=1)
    for measured, (before, after, _) in zip(recorder.before, recorder.reported, strict=True):
        assert before == after == pytest.approx(measured, rel=1e-5)


class EventLog(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, trainer):
        self.events.append("train_begin")

    def on_epoch_begin(self, trainer, epoch):
        self.events.append(f"epoch_begin {epoch}")

    def on_batch_begin(self, trainer, batch):
        self.events.append(f"batch_begin {batch} step {trainer.global_step}")

    def on_after_backward(self, trainer):
        assert any(np.any(p.grad) for p in trainer.model.parameters())
        self.events.append("after_backward")

    def on_after_clip(self, trainer, norm_before, norm_after):
        self.events.append("after_clip")

    def on_batch_end(self, trainer, batch, loss):
        assert loss == trainer.batch_loss
        self.events.append(f"batch_end {batch} step {trainer.global_step}")

    def on_epoch_end(self, trainer, epoch, logs):
        self.events.append(f"epoch_end {epoch} completed {trainer.epoch}")

    def on_train_end(self, trainer):
        self.events.append("train_end")


def test_callback_events_come_in_order(small_digits):
    X, y, _, _ = small_digits
    log = EventLog()
    make_trainer(callbacks=[log]).fit(X[:20], y[:20], epochs=2, batch_size=10)
    step = ["after_backward", "after_clip"]
    assert log.events == [
        "train_begin",
        "epoch_begin 1",
        "batch_begin 0 step 0",
        *step,
        "batch_end 0 step 1",
        "batch_begin 1 step 1",
        *step,
        "batch_end 1 step 2",
        "epoch_end 1 completed 1",
        "epoch_begin 2",
        "batch_begin 0 step 2",
        *step,
        "batch_end 0 step 3",
        "batch_begin 1 step 3",
        *step,
        "batch_end 1 step 4",
        "epoch_end 2 completed 2",
        "train_end",
    ]


def test_a_watching_callback_changes_no_number(small_digits):
    X, y, Xv, yv = small_digits
    seen = []

    def watch(trainer, batch, loss):  # reads everything and evaluates the model
        seen.append(
            (
                trainer.global_step,
                float(np.abs(trainer.output).sum()),
                [p.grad.copy() for p in trainer.model.parameters()],
            )
        )
        trainer.predict(Xv[:10])

    kwargs = {"seed": 4, "model_kwargs": {"dropout": 0.5, "norm": "batch"},
              "transform": data.GaussianNoise(0.2)}
    plain = make_trainer(**kwargs)
    plain.fit(X, y, epochs=2, validation_data=(Xv, yv))
    watched = make_trainer(**kwargs, callbacks=[LambdaCallback(on_batch_end=watch)])
    watched.fit(X, y, epochs=2, validation_data=(Xv, yv))
    assert len(seen) == watched.global_step
    assert_same_run(plain, watched)


def test_a_callback_can_stop_training(small_digits):
    X, y, Xv, yv = small_digits

    def stop_at_three(trainer, batch, loss):
        if trainer.global_step == 3:
            trainer.stop("enough")

    trainer = make_trainer(callbacks=[LambdaCallback(on_batch_end=stop_at_three)])
    history = trainer.fit(X, y, epochs=5, validation_data=(Xv, yv))
    assert trainer.global_step == 3 and len(history) == 1 and trainer.epoch == 1
    assert history.stop_reason == "enough"
    assert math.isfinite(history["val_loss"][0])
    assert not trainer.model.training  # fit leaves the model in evaluation mode


def test_fit_function_and_schedule(small_digits):
    X, y, _, _ = small_digits
    model = build_mlp(MLPConfig(64, (16,), 10), rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        X,
        y,
        epochs=4,
        schedule=optim.ExponentialLR(opt, gamma=0.5),
        rng=0,
        verbose=0,
    )
    assert history["lr"] == [0.1, 0.05, 0.025, 0.0125]
    assert opt.lr == 0.00625


def test_verbose_2_prints_one_line_per_epoch_and_0_nothing(small_digits, capsys):
    X, y, Xv, yv = small_digits
    make_trainer(verbose=2).fit(X[:64], y[:64], epochs=3, validation_data=(Xv, yv))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3  loss ") and "val_accuracy" in lines[0]
    make_trainer(verbose=0).fit(X[:64], y[:64], epochs=2)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal(small_digits):
    X, y, _, _ = small_digits
    stream = FakeTerminal()
    bar = progress_callback(1, stream)
    assert isinstance(bar, ProgressBar)
    assert not isinstance(progress_callback(1, io.StringIO()), ProgressBar)
    trainer = make_trainer(callbacks=[bar])
    trainer.fit(X, y, epochs=2)
    text = stream.getvalue()
    assert (
        "epoch 2/2" in text and f"{trainer.batches_per_epoch}/{trainer.batches_per_epoch}" in text
    )
    assert "loss" in text


def test_input_errors_are_clear(small_digits):
    X, y, Xv, yv = small_digits
    with pytest.raises(ValueError, match="clip_norm or clip_value, not both"):
        make_trainer(clip_norm=1.0, clip_value=1.0)
    with pytest.raises(ValueError, match="clip_norm must be in"):
        make_trainer(clip_norm=0.0)

    class Hinge:
        def __call__(self, pred, target):
            return 0.0

        def backward(self):
            return None

    with pytest.raises(ValueError, match="cannot tell the task from the loss Hinge"):
        make_trainer(loss=Hinge())
    trainer = make_trainer()
    with pytest.raises(
        ValueError, match=r"same number of rows. Received X \(300, 64\) and y \(299,\)"
    ):
        trainer.fit(X, y[:-1])
    with pytest.raises(ValueError, match="integer class labels"):
        trainer.fit(X, y + 0.5)
    with pytest.raises(
        ValueError,
        match=r"fit: validation_data: expected X with 64 features.*Received shape \(100, 10\)",
    ):
        trainer.fit(X, y, validation_data=(Xv[:, :10], yv))
    with pytest.raises(TypeError, match="validation_data must be a pair"):
        trainer.fit(X, y, validation_data=Xv)
    with pytest.raises(ValueError, match="monitor='val_loss' needs validation data"):
        make_trainer(callbacks=[EarlyStopping()]).fit(X, y, epochs=1)
    with pytest.raises(TypeError, match=r"callbacks\[0\] must be a trainlab.train.Callback"):
        make_trainer(callbacks=[print])
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2"):
        make_trainer(verbose=3)
    assert trainer.global_step == 0  # nothing ran


def test_float64_inputs_follow_the_model_dtype(small_digits):
    X, y, _, _ = small_digits
    seen = []
    trainer = make_trainer(
        callbacks=[LambdaCallback(on_batch_begin=lambda t, b: seen.append(t.x_batch.dtype))]
    )
    trainer.fit(X.astype(np.float64), y, epochs=1, batch_size=100)
    assert seen == [np.float32] * 3
    assert trainer.predict(X[:5].astype(np.float64)).dtype == np.float32


def test_nan_guard_tells_a_diverging_forward_from_other_bad_input():
    """Under detect_anomaly a layer's non-finite output is a NonFiniteError (divergence);
    NaN in the data is a plain ValueError where the data enters (bad input)."""
    import trainlab as tl
    from trainlab.train.guard import is_non_finite_error

    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    model[0].weight.data[0, 0] = np.inf
    with tl.detect_anomaly(), pytest.raises(tl.NonFiniteError,
                                            match=r"layer 0 \(Linear\) of Sequential") as info:
        model(np.array([[1.0, 0.0, 1.0]], dtype=np.float32))
    assert is_non_finite_error(info.value) and isinstance(info.value, ValueError)
    assert is_non_finite_error(tl.NonFiniteError("x"))
    # a ValueError that merely mentions NaN (bad data, a bad target) is not divergence
    trainer = make_trainer(in_features=3, out=2)
    X = np.zeros((4, 3), dtype=np.float32)
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite") as info:
        trainer.fit(X, np.array([0, 1, 0, 1]), epochs=1)
    assert not is_non_finite_error(info.value)
    with pytest.raises(ValueError, match="NaN") as info:
        make_trainer(in_features=3, out=2, loss=nn.MSELoss()).fit(
            np.zeros((4, 3), np.float32), np.array([[0.0, np.nan]] * 4), epochs=1)
    assert not is_non_finite_error(info.value)
