"""Module, Parameter and Sequential: registration, traversal, state, modes, dtypes, indexing."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import nn
from trainlab.nn import Module, Parameter, Sequential


class Scale(Module):
    """y = x·w + shift, with a buffer: enough to exercise parameters, buffers and children."""

    def __init__(self, d: int, dtype=np.float32) -> None:
        super().__init__()
        self.dtype = np.dtype(dtype)
        self.w = Parameter(np.full(d, 2.0, dtype=dtype))
        self.register_buffer("shift", np.zeros(d, dtype=dtype))
        self.register_buffer("count", np.array(0, dtype=np.int64))
        self.hooked = 0

    def forward(self, x):
        self._x = x
        return x * self.w.data + self.shift

    def backward(self, dy):
        self.w.grad += (dy * self._x).sum(axis=0)
        return dy * self.w.data

    def _on_astype(self) -> None:
        self.hooked += 1


def mlp(seed: int = 0) -> Sequential:
    return Sequential(nn.Linear(3, 4, rng=seed), nn.ReLU(), nn.Linear(4, 2, rng=seed + 1))


# -- Parameter -------------------------------------------------------------------------


def test_parameter_copies_and_has_a_zero_gradient():
    data = np.ones((2, 3), dtype=np.float32)
    p = Parameter(data)
    data[0, 0] = 5
    assert p.data[0, 0] == 1  # a copy
    assert p.grad.shape == p.shape == (2, 3) and p.grad.dtype == p.dtype == np.float32
    assert not p.grad.any() and p.size == 6
    p.grad += 1
    p.zero_grad()
    assert not p.grad.any()
    assert repr(p) == "Parameter(shape=(2, 3), dtype=float32)"
    with pytest.raises(TypeError, match="Parameter: expected float32 or float64"):
        Parameter(np.ones(3, dtype=np.int64))


# -- registration and traversal ------------------------------------------------------------


def test_named_parameters_order_and_names():
    model = mlp()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.parameters()[0] is model[0].weight
    assert [p for _, p in model.named_parameters()] == model.parameters()
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2


def test_nested_names_and_modules():
    model = Sequential(Sequential(nn.Linear(2, 2, rng=0), nn.Tanh()), Scale(2))
    assert [n for n, _ in model.named_parameters()] == ["0.0.weight", "0.0.bias", "1.w"]
    assert [n for n, _ in model.named_modules()] == ["", "0", "0.0", "0.1", "1"]
    assert [n for n, _ in model.named_buffers()] == ["1.shift", "1.count"]
    assert model.children() == [model[0], model[1]]


def test_reassigning_keeps_registration_order():
    layer = nn.Linear(2, 3, rng=0)
    layer.weight = Parameter(np.zeros((2, 3), np.float32))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    model = mlp()
    setattr(model, "0", nn.Linear(3, 4, rng=5))  # replace the first layer in place
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "2"]
    assert model(np.ones((1, 3))).shape == (1, 2)


def test_assigning_a_non_parameter_unregisters():
    layer = nn.Linear(2, 3, rng=0)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert "bias" not in layer.state_dict()


def test_shared_parameters_are_listed_once():
    a, b = nn.Linear(2, 2, rng=0), nn.Linear(2, 2, rng=1)
    b.weight = a.weight  # tied weights
    model = Sequential(a, b)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_assigning_before_super_init_is_an_error():
    class Broken(Module):
        def __init__(self):
            self.w = Parameter(np.zeros(1))

    with pytest.raises(RuntimeError, match="super\\(\\).__init__"):
        Broken()


def test_base_module_has_no_forward():
    with pytest.raises(NotImplementedError, match="Module does not implement forward"):
        Module()(np.zeros((1, 1)))
    with pytest.raises(NotImplementedError, match="backward"):
        Module().backward(np.zeros((1, 1)))


# -- state_dict ----------------------------------------------------------------------------


def test_state_dict_round_trip(rng):
    source, target = mlp(0), mlp(10)
    x = rng.standard_normal((5, 3))
    assert not np.allclose(source(x), target(x))
    state = source.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    target.load_state_dict(state)
    np.testing.assert_array_equal(source(x), target(x))
    state["0.weight"][:] = 0  # copies: the model is untouched
    assert source[0].weight.data.any()


def test_state_dict_order_parameters_then_buffers_then_children():
    model = Scale(2)
    model.child = Scale(2)
    assert list(model.state_dict()) == ["w", "shift", "count", "child.w", "child.shift",
                                        "child.count"]


def test_load_state_dict_copies_in_place_and_keeps_dtype():
    model = Scale(2)
    w = model.w.data
    model.load_state_dict({"w": np.array([3.0, 4.0]), "shift": np.array([1.0, 1.0]),
                           "count": np.array(7)})
    assert model.w.data is w and model.w.data.dtype == np.float32
    np.testing.assert_array_equal(model.w.data, [3, 4])
    np.testing.assert_array_equal(model.shift, [1, 1])
    assert model.count == 7 and model.named_buffers()[1][1] is model.count


def test_load_state_dict_key_errors():
    model = mlp()
    state = model.state_dict()
    missing = dict(state)
    del missing["2.bias"]
    with pytest.raises(ValueError, match=r"Missing: \['2.bias'\]"):
        model.load_state_dict(missing)
    with pytest.raises(ValueError, match=r"Unexpected: \['3.weight'\]"):
        model.load_state_dict({**state, "3.weight": np.zeros(1)})
    before = model[2].bias.data.copy()
    model.load_state_dict(missing, strict=False)  # the rest is loaded
    np.testing.assert_array_equal(model[2].bias.data, before)
    with pytest.raises(TypeError, match="expected a dict"):
        model.load_state_dict([("0.weight", state["0.weight"])])


def test_load_state_dict_shape_error():
    model = mlp()
    state = model.state_dict()
    state["0.weight"] = state["0.weight"].T
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(3, 4\).*received shape \(4, 3\)"):
        model.load_state_dict(state)
    with pytest.raises(ValueError, match="shape"):
        model.load_state_dict(state, strict=False)


# -- modes, gradients, dtypes ----------------------------------------------------------------


def test_train_eval_propagate_to_every_descendant():
    model = Sequential(nn.Dropout(0.5), Sequential(nn.Linear(2, 2, rng=0), nn.Dropout(0.1)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model.train() is model
    assert all(m.training for m in model.modules())
    model[1].train(False)
    assert model.training and not model[1].training and not model[1][1].training
    with pytest.raises(TypeError, match="mode must be a bool"):
        model.train("no")


def test_zero_grad(rng):
    model = mlp()
    x = rng.standard_normal((4, 3))
    model.backward(np.ones_like(model(x)))
    assert all(p.grad.any() for p in model.parameters())
    grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    assert not any(p.grad.any() for p in model.parameters())
    # zeroed in place
    assert all(p.grad is g for p, g in zip(model.parameters(), grads, strict=False))


def test_astype_converts_parameters_gradients_buffers_and_dtype(rng):
    model = Sequential(mlp(), Scale(2))
    params = model.parameters()
    assert model.astype(np.float64) is model
    assert model.parameters() == params  # same Parameter objects (optimizers hold them)
    for p in model.parameters():
        assert p.data.dtype == p.grad.dtype == np.float64
    assert model[1].shift.dtype == np.float64
    assert model[1].count.dtype == np.int64  # integer buffers are left alone
    assert model[0][0].dtype == model[1].dtype == np.float64
    assert model[1].hooked == 1
    assert model(rng.standard_normal((2, 3))).dtype == np.float64
    assert model.state_dict()["1.shift"].dtype == np.float64
    model.astype("float32")
    assert all(p.data.dtype == np.float32 for p in model.parameters())
    with pytest.raises(TypeError, match="float32 or np.float64"):
        model.astype(np.int32)


def test_repr_nests_children():
    text = repr(Sequential(nn.Linear(2, 3, rng=0), Sequential(nn.ReLU())))
    assert text == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "  )\n"
        ")"
    )


# -- Sequential ------------------------------------------------------------------------------


def test_sequential_forward_and_backward_chain(rng):
    model = mlp()
    x = rng.standard_normal((5, 3))
    y = model(x)
    h = model[1](model[0](x))
    np.testing.assert_allclose(y, model[2](h), rtol=1e-6)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    model.zero_grad()
    dx = model.backward(dy)
    # by hand, layer by layer (re-running forward to set each cache)
    a, relu, b = nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1)
    b(relu(a(x)))  # forward sets each layer's cache
    expected = a.backward(relu.backward(b.backward(dy)))
    np.testing.assert_allclose(dx, expected, rtol=1e-6)
    np.testing.assert_allclose(model[0].weight.grad, a.weight.grad, rtol=1e-6)


def test_sequential_len_indexing_iteration_slicing():
    layers = [nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1)]
    model = Sequential(*layers)
    assert len(model) == 3
    assert list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2] and model[np.int64(1)] is layers[1]
    head = model[:2]
    assert isinstance(head, Sequential) and len(head) == 2
    assert head[0] is layers[0] and head[1] is layers[1]  # shares the modules
    assert list(model[::-1]) == layers[::-1]
    assert len(model[5:]) == 0
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        model[3]
    with pytest.raises(IndexError):
        model[-4]
    with pytest.raises(TypeError, match="index must be an int or a slice"):
        model["0"]
    with pytest.raises(TypeError, match="index must be an int or a slice"):
        model[True]


def test_sequential_append_and_bad_members():
    model = Sequential()
    assert len(model) == 0
    assert model.append(nn.ReLU()) is model
    model.append(nn.Tanh())
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]
    with pytest.raises(TypeError, match="argument 1 must be a trainlab.nn.Module"):
        Sequential(nn.ReLU(), lambda x: x)
    with pytest.raises(TypeError, match="Sequential.append"):
        model.append(np.zeros(1))


def test_empty_sequential_is_the_identity():
    x = np.ones((2, 2))
    assert Sequential()(x) is x
    assert Sequential().backward(x) is x


@pytest.mark.parametrize("first", ["linear", "dropconnect", "relu"])
def test_sequential_backward_without_input_grad_gives_the_same_parameter_gradients(first):
    rng = np.random.default_rng(3)

    def build():
        head = {
            "linear": lambda: nn.Linear(5, 5, rng=0, dtype=np.float64),
            "dropconnect": lambda: nn.DropConnect(5, 5, p=0.3, rng=0, dtype=np.float64),
            "relu": lambda: nn.ReLU(),
        }[first]()
        return nn.Sequential(head, nn.Tanh(), nn.Linear(5, 2, rng=1, dtype=np.float64))

    x = rng.standard_normal((4, 5))
    dy = rng.standard_normal((4, 2))
    a, b = build(), build()
    a(x)
    b(x)
    dx = a.backward(dy)
    assert dx.shape == x.shape
    assert b.backward(dy, input_grad=False) is None
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=False):
        np.testing.assert_array_equal(p.grad, q.grad, err_msg=name)
    with pytest.raises(TypeError, match="input_grad"):
        b.backward(dy, input_grad="no")
