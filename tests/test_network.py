import math

import numpy as np
import pytest
import torch
from numpy.polynomial import polynomial as P

from sklearn_slaf.activation import SLAF
from sklearn_slaf.network import SLNN

F64 = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_total_degree():
    assert SLNN(3, (8, 8), degree=(4, 2)).total_degree == 8
    assert SLNN(3, (8, 8, 8), degree=3).total_degree == 27
    assert SLNN(3, ()).total_degree == 1
    assert SLNN(3, (8, 8), hidden_activation=("slaf", "relu")).total_degree is None
    assert SLNN(3, (8,), basis="fourier").total_degree is None


def numpy_forward(net, x):
    """Independent evaluation: numpy linear algebra and numpy.polynomial on power coefficients."""
    h = (x - net.input_offset.numpy()) / net.input_scale.numpy()
    for lin, act in zip(net.hidden, net.slaf_layers):
        h = h @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
        p = act.power_coefficients()
        h = np.column_stack([P.polyval(h[:, u], p[u]) for u in range(h.shape[1])])
    out = h @ net.output.weight.detach().numpy().T + net.output.bias.detach().numpy()
    return out * net.output_scale.numpy() + net.output_offset.numpy()


@pytest.mark.parametrize("basis", ["power", "chebyshev", ("hermite", "legendre")])
def test_eval_forward_is_the_composed_polynomial(basis):
    net = SLNN(5, (7, 6), 2, degree=(3, 2), basis=basis, coef_sharing="unit", dtype=F64, generator=gen())
    x = torch.randn(64, 5, dtype=F64, generator=gen(1))
    net.train()(x)
    net.set_scaling(input_offset=np.arange(5.0), input_scale=np.full(5, 2.0), output_offset=[1.0, -1.0],
                    output_scale=[3.0, 0.5])
    net.eval()
    with torch.no_grad():
        y = net(x).numpy()
    np.testing.assert_allclose(y, numpy_forward(net, x.numpy()), rtol=1e-10, atol=1e-10)


def test_hybrid_network_layers():
    net = SLNN(4, (6, 5, 3), degree=(4, 9, 2), hidden_activation=("slaf", "relu+bn", "tanh"), generator=gen())
    assert isinstance(net.activations[0], SLAF)
    assert isinstance(net.activations[1][0], torch.nn.BatchNorm1d)
    assert net.slaf_layers[1:] == [None, None]
    y = net(torch.randn(10, 4))
    y.sum().backward()
    assert y.shape == (10, 1)


@pytest.mark.parametrize("scheme", ["xavier", "he", "default"])
def test_weight_init_schemes(scheme):
    net = SLNN(400, (300,), 2, weight_init=scheme, generator=gen())
    w = net.hidden[0].weight.detach().numpy()
    fan_in, fan_out = 400, 300
    if scheme == "xavier":
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert np.abs(w).max() <= bound and np.isclose(w.std(), bound / math.sqrt(3), rtol=0.02)
        assert not net.hidden[0].bias.detach().any()
    elif scheme == "he":
        assert np.isclose(w.std(), math.sqrt(2 / fan_in), rtol=0.02)
    else:
        bound = 1 / math.sqrt(fan_in)
        assert np.abs(w).max() <= bound and np.abs(net.hidden[0].bias.detach().numpy()).max() <= bound


def test_generator_reproducible_and_global_rng_untouched():
    state = torch.get_rng_state()
    a, b = SLNN(4, (8, 8), generator=gen(5)), SLNN(4, (8, 8), generator=gen(5))
    assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))
    assert torch.equal(state, torch.get_rng_state())
    c = SLNN(4, (8, 8), generator=gen(6))
    assert not torch.equal(a.hidden[0].weight, c.hidden[0].weight)


def test_state_dict_round_trip():
    a = SLNN(3, (4,), degree=5, basis="chebyshev", generator=gen())
    a.train()(torch.randn(20, 3))
    b = SLNN(3, (4,), degree=5, basis="chebyshev")
    b.load_state_dict(a.state_dict())
    x = torch.randn(6, 3)
    assert torch.equal(a.eval()(x), b.eval()(x))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hidden_activation": "softsign"}, "hidden_activation"),
        ({"degree": (4, 2, 2)}, "degree"),
        ({"degree": 0}, "degree"),
        ({"weight_init": "lecun"}, "weight_init"),
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes"),
        ({"n_outputs": 0}, "n_outputs"),
        ({"coef_sharing": 3}, "coef_sharing"),
        ({"basis": "spline"}, "basis"),
    ],
)
def test_bad_parameters(kwargs, match):
    kw = {"hidden_layer_sizes": (4, 4), **kwargs}
    with pytest.raises(ValueError, match=match):
        SLNN(3, **kw)


def test_batch_statistics_names_the_layers_that_use_them():
    hybrid = SLNN(3, (4, 4), hidden_activation=("slaf", "relu+bn"))
    assert hybrid.batch_statistics == {"slaf": True, "batchnorm": True}
    plain = SLNN(3, (4, 4), hidden_activation=("slaf", "relu"), normalize_basis=False)
    assert plain.batch_statistics == {"slaf": False, "batchnorm": False}
    assert SLNN(3, (4,), hidden_activation="tanh").batch_statistics == {"slaf": False, "batchnorm": False}
