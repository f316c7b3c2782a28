"""Signal-propagation theory: the notes' closed forms, and theory against measurement at init."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab import nn
from trainlab.diagnostics.probe import layer_chain, tap
from trainlab.diagnostics.theory import (
    input_statistics,
    log_ratio_error,
    measure_signal,
    predict_for_input,
    predict_signal,
    signal_table,
)


def stack(
    act, init: str, depth: int, width: int, seed: int = 0, bias: bool = False
) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, bias=bias, init=init, rng=rng, dtype=np.float64), act()]
    return nn.Sequential(*layers)


def exact_variance(model: nn.Sequential, k_var: float) -> nn.Sequential:
    """Centre and rescale every weight so that mean(w) = 0 and k·mean(w²) = k_var exactly."""
    for layer in model:
        if isinstance(layer, nn.Linear):
            w = layer.weight.data
            w -= w.mean()
            w *= math.sqrt(k_var / (w.shape[0] * np.mean(w * w)))
    return model


def test_linear_layer_is_k_var_w_times_second_moment():
    layer = nn.Linear(50, 40, init="torch_default", rng=0, dtype=np.float64)
    (out,) = predict_signal(nn.Sequential(layer), input_var=2.0, input_mean=0.5)
    w, b = layer.weight.data, layer.bias.data
    mean = 50 * w.mean() * 0.5 + b.mean()
    second = 50 * np.mean(w * w) * (2.0 + 0.25) + np.mean(b * b)
    assert out.out_mean == pytest.approx(mean, rel=1e-12)
    assert out.out_var == pytest.approx(second - mean**2, rel=1e-12)


def test_naive_init_divides_variance_by_three_per_layer():
    model = exact_variance(stack(nn.Identity, "naive_uniform", 10, 64), 1 / 3)
    theory = [t for t in predict_signal(model) if t.kind == "Identity"]
    assert [t.out_var for t in theory] == pytest.approx(
        [3.0**-k for k in range(1, 11)], rel=1e-9
    )


def test_relu_halves_the_second_moment():
    model = exact_variance(stack(nn.ReLU, "he_normal", 1, 32), 1.0)
    relu = predict_signal(model, input_var=3.0)[-1]
    assert relu.out_var + relu.out_mean**2 == pytest.approx(1.5, rel=1e-9)
    assert relu.out_mean == pytest.approx(math.sqrt(3.0 / (2 * math.pi)), rel=1e-9)


def test_he_init_keeps_the_relu_second_moment_layer_after_layer():
    model = exact_variance(stack(nn.ReLU, "he_normal", 20, 32), 2.0)
    pre = [t for t in predict_signal(model) if t.kind == "Linear"]
    # Var(z) = 2·E[relu²] = 2·(2/2)
    assert [t.out_var for t in pre] == pytest.approx([2.0] * 20, rel=1e-9)


def test_tanh_is_the_identity_near_zero():
    model = exact_variance(stack(nn.Tanh, "xavier_normal", 1, 16), 1.0)
    assert predict_signal(model, input_var=1e-4)[-1].out_var == pytest.approx(1e-4, rel=1e-3)


def test_selu_fixed_point_is_mean_zero_variance_one():
    model = exact_variance(stack(nn.SELU, "lecun_normal", 60, 16), 1.0)
    for mean0, var0 in [(0.0, 1.0), (2.0, 4.0), (0.0, 0.2)]:
        last = predict_signal(model, input_var=var0, input_mean=mean0)[-1]
        assert abs(last.out_mean) < 1e-3 and abs(last.out_var - 1) < 1e-3


def test_sigmoid_backward_factor_is_at_most_one_sixteenth():
    model = exact_variance(stack(nn.Sigmoid, "xavier_normal", 1, 16), 1.0)
    for var in (1e-6, 0.5, 4.0):
        lin, sig = predict_signal(model, input_var=var, grad_var=1.0)
        assert lin.grad_var / sig.grad_var <= 1 / 16 + 1e-12
    tiny = predict_signal(model, input_var=1e-8)
    assert tiny[0].grad_var == pytest.approx(1 / 16, rel=1e-6)


@pytest.mark.parametrize(
    "act, init",
    [(nn.Tanh, "xavier_normal"), (nn.ReLU, "he_normal"), (nn.SELU, "lecun_normal"),
     (nn.Sigmoid, "xavier_normal"), (nn.Identity, "naive_uniform")],
)
def test_theory_matches_measurement_at_init(act, init):
    model = stack(act, init, 8, 256, seed=1, bias=True)
    x = np.random.default_rng(2).normal(0.3, 1.2, size=(512, 256))
    predicted, measured = predict_for_input(model, x), measure_signal(model, x)
    # finite width: the measured variance wanders around the mean-field value (a few % per layer)
    assert log_ratio_error([p.out_var for p in predicted], [m.out_var for m in measured]) < 0.2
    assert log_ratio_error([p.grad_var for p in predicted], [m.grad_var for m in measured]) < 0.2
    header, rows = signal_table(predicted, measured)
    assert len(rows) == 16 and len(header) == 5


def test_theory_matches_measurement_with_norms_and_dropout():
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(100, 200, rng=rng, dtype=np.float64), nn.BatchNorm(200, dtype=np.float64),
        nn.Sigmoid(), nn.Dropout(0.3, rng=1), nn.Linear(200, 200, rng=rng, dtype=np.float64),
        nn.LayerNorm(200, dtype=np.float64), nn.Tanh(),
        nn.Linear(200, 10, rng=rng, dtype=np.float64),
    )
    x = rng.normal(2.0, 3.0, size=(400, 100)) * rng.uniform(0.5, 2.0, size=100)
    predicted, measured = predict_for_input(model, x), measure_signal(model, x)
    # the 10-unit output layer has the largest sampling error (between-unit means of 10 units)
    assert log_ratio_error([p.out_var for p in predicted], [m.out_var for m in measured]) < 0.2
    assert log_ratio_error([p.grad_var for p in predicted], [m.grad_var for m in measured]) < 0.1


def test_unknown_layers_give_nan_from_there_on():
    model = nn.Sequential(nn.Linear(4, 4, rng=0), nn.Softmax(), nn.Linear(4, 2, rng=1))
    out = predict_signal(model)
    assert math.isfinite(out[0].out_var)
    assert math.isnan(out[1].out_var) and math.isnan(out[2].out_var)


def test_measure_signal_leaves_the_model_exactly_as_it_was():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(8, 16, rng=rng), nn.BatchNorm(16), nn.ReLU(),
                          nn.Dropout(0.5, rng=3), nn.Linear(16, 4, rng=rng))
    for p in model.parameters():
        p.grad[...] = rng.standard_normal(p.shape)
    before = model.state_dict()
    grads = [p.grad.copy() for p in model.parameters()]
    dropout_state = model[3].rng.bit_generator.state
    model.eval()
    measure_signal(model.train(), rng.standard_normal((32, 8)).astype(np.float32))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert all(np.array_equal(g, p.grad) for g, p in zip(grads, model.parameters(), strict=False))
    assert model[3].rng.bit_generator.state == dropout_state
    assert all(m.training for m in model.modules())


def test_input_statistics_and_checks():
    x = np.array([[1.0, 3.0], [3.0, 7.0]])
    stats = input_statistics(x)
    assert stats["input_mean"] == pytest.approx(3.5)
    assert stats["input_within_var"] == pytest.approx((1.0 + 4.0) / 2)
    with pytest.raises(ValueError, match="input_var"):
        predict_signal(nn.Sequential(nn.Identity()), input_var=-1.0)


def test_layer_chain_flattens_nested_sequentials_and_tap_restores():
    inner = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Tanh())
    model = nn.Sequential(inner, nn.Linear(3, 2, rng=1))
    assert [name for name, _ in layer_chain(model)] == ["0.0", "0.1", "1"]
    seen = []
    with pytest.raises(RuntimeError), tap(model, lambda i, layer, x, y: seen.append(i)):
        model.forward(np.ones((2, 3), dtype=np.float32))
        raise RuntimeError("boom")
    assert seen == [0, 1, 2]
    assert all("forward" not in layer.__dict__ for _, layer in layer_chain(model))


def test_theory_asks_the_activation_for_phi_and_its_derivative():
    """A subclass of an activation gets its base class's theory; a custom activation with
    ``function`` and ``derivative`` gets its own; one without gives NaN from there on."""

    class Rectifier(nn.ReLU):
        pass

    class Halved(nn.Module):
        def forward(self, x):
            return 0.5 * x

        def backward(self, dy):
            return 0.5 * dy

        def function(self, z):
            return 0.5 * z

        def derivative(self, z):
            return np.full_like(z, 0.5)

    class Opaque(Halved):
        function = None  # forward and backward only

    base = predict_signal(exact_variance(stack(nn.ReLU, "he_normal", 3, 16), 2.0))
    sub = predict_signal(exact_variance(stack(Rectifier, "he_normal", 3, 16), 2.0))
    assert [(t.out_var, t.grad_var) for t in base] == [(t.out_var, t.grad_var) for t in sub]
    halved = predict_signal(nn.Sequential(Halved()), input_var=2.0, grad_var=1.0)[0]
    assert halved.out_var == pytest.approx(0.5, rel=1e-9)
    model = nn.Sequential(Opaque(), nn.Linear(4, 4, rng=0, dtype=np.float64))
    assert all(math.isnan(t.out_var) for t in predict_signal(model))
