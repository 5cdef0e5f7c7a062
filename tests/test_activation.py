import math

import numpy as np
import pytest
import torch
from numpy.polynomial import hermite_e as H
from numpy.polynomial import polynomial as P
from scipy import integrate, special
from test_basis import oracle

from sklearn_slaf import basis
from sklearn_slaf.activation import SLAF

F64 = torch.float64


def trained_layer(family, sharing="layer", gate=False, normalize=True, units=4, degree=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    layer = SLAF(units, degree, family, coef_sharing=sharing, gate=gate, normalize_basis=normalize,
                 activation_init="tanh", init_std=0.3, generator=gen, dtype=F64)
    x = torch.randn(256, units, dtype=F64, generator=gen) * 1.7 + 0.4
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.05 * torch.randn(p.shape, dtype=F64, generator=gen))
    layer.train()
    for _ in range(3):
        layer(x)
    return layer.eval(), x


@pytest.mark.parametrize("family", basis.POLYNOMIAL_BASES)
@pytest.mark.parametrize("sharing", ["layer", "unit", 2])
@pytest.mark.parametrize("gate", [False, True])
def test_power_coefficients_reproduce_forward(family, sharing, gate):
    layer, x = trained_layer(family, sharing, gate)
    p = layer.power_coefficients()
    assert p.shape == (4, 6) and p.dtype == np.float64
    with torch.no_grad():
        y = layer(x).numpy()
    xs = x.numpy()
    for u in range(4):
        expected = P.polyval(xs[:, u], p[u])  # numpy's evaluation, not ours
        np.testing.assert_allclose(y[:, u], expected, rtol=1e-11, atol=1e-11 * np.abs(y).max())


@pytest.mark.parametrize("family", ["power", "chebyshev"])
def test_power_coefficients_without_normalisation(family):
    layer, x = trained_layer(family, normalize=False)
    with torch.no_grad():
        y = layer(x).numpy()
    p = layer.power_coefficients()
    for u in range(4):
        np.testing.assert_allclose(y[:, u], P.polyval(x.numpy()[:, u], p[u]), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("family", basis.BASES)
def test_training_forward_is_batch_normalised_basis(family):
    gen = torch.Generator().manual_seed(1)
    layer = SLAF(3, 4, family, coef_sharing="unit", activation_init="gelu", init_std=0.5, generator=gen, dtype=F64,
                 normalize_eps=1e-6)
    x = torch.randn(50, 3, dtype=F64, generator=gen) * 2
    y = layer.train()(x).detach().numpy()
    xs = x.numpy()
    r = np.abs(xs).max(0) if basis.needs_input_map(family) else np.ones(3)
    c = layer.coef.detach().numpy()
    b = layer.bias.detach().numpy()
    for u in range(3):
        g = np.column_stack([oracle(family, xs[:, u] / r[u], i) for i in range(1, 5)])
        z = (g - g.mean(0)) / np.sqrt(g.var(0) + 1e-6)
        np.testing.assert_allclose(y[:, u], b[u] + z @ c[u], rtol=1e-10, atol=1e-10)


def test_running_statistics_follow_momentum():
    gen = torch.Generator().manual_seed(0)  # seeded: an unseeded draw near zero made the relative check flaky
    layer = SLAF(2, 3, "power", normalize_momentum=0.25, dtype=F64, generator=gen)
    m0, v0 = layer.running_mean.clone(), layer.running_var.clone()
    x = torch.randn(40, 2, dtype=F64, generator=gen)
    layer.train()(x)
    g = np.stack([x.numpy() ** i for i in (1, 2, 3)], -1)
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.75 * m0.numpy() + 0.25 * g.mean(0), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), 0.75 * v0.numpy() + 0.25 * g.var(0), rtol=1e-12)


def test_cumulative_average_when_momentum_is_none():
    layer = SLAF(2, 2, "power", normalize_momentum=None, dtype=F64).train()
    xs = [torch.randn(30, 2, dtype=F64) for _ in range(3)]
    for x in xs:
        layer(x)
    means = np.mean([np.stack([x.numpy(), x.numpy() ** 2], -1).mean(0) for x in xs], axis=0)
    np.testing.assert_allclose(layer.running_mean.numpy(), means, rtol=1e-12)


def test_single_sample_batch_uses_running_statistics():
    layer = SLAF(3, 4, "power", dtype=F64)
    x = torch.randn(1, 3, dtype=F64)
    before = layer.running_mean.clone()
    y_train = layer.train()(x)
    assert torch.isfinite(y_train).all()
    assert torch.equal(before, layer.running_mean)
    assert torch.allclose(y_train, layer.eval()(x))


def test_identity_initialisation_is_identity_in_eval_mode():
    for family in basis.POLYNOMIAL_BASES:
        layer = SLAF(2, 6, family, activation_init="identity", init_std=0.0, dtype=F64).eval()
        x = torch.linspace(-2, 2, 9, dtype=F64)[:, None].repeat(1, 2)
        with torch.no_grad():
            np.testing.assert_allclose(layer(x).numpy(), x.numpy(), rtol=1e-4, atol=1e-4)


def _hermite_projection(f, degree):
    """L2(N(0,1)) projection of f on polynomials: coefficients E[f He_n] / n! (scipy quadrature)."""
    dens = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    coefs = []
    for n in range(degree + 1):
        e = np.zeros(n + 1)
        e[n] = 1.0
        val = sum(integrate.quad(lambda z, e=e: f(z) * H.hermeval(z, e) * dens(z), a, b, limit=200)[0]
                  for a, b in ((-np.inf, 0.0), (0.0, np.inf)))
        coefs.append(val / math.factorial(n))
    return np.array(coefs)


TARGETS = {
    "relu": lambda z: max(z, 0.0),
    "tanh": math.tanh,
    "swish": lambda z: z * special.expit(z),
    "gelu": lambda z: 0.5 * z * (1 + math.erf(z / math.sqrt(2))),
    "sigmoid": special.expit,
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("family", ["power", "hermite", "taylor"])
def test_least_squares_init_is_the_gaussian_projection(target, family):
    degree = 4
    layer = SLAF(1, degree, family, activation_init=target, init_std=0.0, dtype=F64).eval()
    z = np.linspace(-3, 3, 25)
    with torch.no_grad():
        got = layer(torch.tensor(z)[:, None]).numpy()[:, 0]
    expected = H.hermeval(z, _hermite_projection(TARGETS[target], degree))
    assert np.all(np.abs(got - expected) <= 2e-4 * (1 + np.abs(expected))), np.abs(got - expected).max()


@pytest.mark.parametrize("family", ["chebyshev", "legendre"])
def test_init_fit_of_mapped_polynomials_equals_power_fit(family):
    # same span (polynomials of degree <= k), so the least-squares fit is the same function
    ref = SLAF(1, 8, "power", activation_init="tanh", init_std=0.0, dtype=F64).eval()
    layer = SLAF(1, 8, family, activation_init="tanh", init_std=0.0, dtype=F64).eval()
    z = torch.linspace(-2.5, 2.5, 51, dtype=F64)[:, None]
    with torch.no_grad():
        torch.testing.assert_close(layer(z), ref(z), rtol=1e-6, atol=1e-6)


def test_fourier_init_fit_is_close():
    layer = SLAF(1, 8, "fourier", activation_init="tanh", init_std=0.0, dtype=F64).eval()
    z = torch.linspace(-2.5, 2.5, 51, dtype=F64)[:, None]
    with torch.no_grad():
        assert (layer(z) - torch.tanh(z)).abs().max() < 0.01


def test_inputs_beyond_the_range_are_not_clamped():
    layer = SLAF(1, 5, "chebyshev", activation_init="tanh", init_std=0.0, dtype=F64).eval()
    x = torch.tensor([[10.0], [-7.0]], dtype=F64)
    with torch.no_grad():
        y = layer(x).numpy()[:, 0]
    np.testing.assert_allclose(y, P.polyval(x.numpy()[:, 0], layer.power_coefficients()[0]), rtol=1e-12)
    assert abs(y[0]) > 1.5  # a clamp would pin it near tanh(3)


def test_gradients_reach_every_parameter_and_pass_gradcheck():
    layer = SLAF(3, 4, "legendre", coef_sharing="unit", gate=True, dtype=F64).train()
    x = torch.randn(20, 3, dtype=F64, requires_grad=True)
    layer(x).square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in layer.parameters())
    fresh = SLAF(3, 4, "power", coef_sharing="unit", gate=True, dtype=F64, normalize_momentum=None)
    fresh.train()
    assert torch.autograd.gradcheck(lambda t: fresh(t), (torch.randn(12, 3, dtype=F64, requires_grad=True),))


def test_generator_makes_init_reproducible_and_global_rng_untouched():
    state = torch.get_rng_state()
    a = SLAF(5, 4, coef_sharing="unit", init_std=1.0, generator=torch.Generator().manual_seed(3))
    b = SLAF(5, 4, coef_sharing="unit", init_std=1.0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.coef, b.coef)
    assert torch.equal(state, torch.get_rng_state())


def test_gate_keeps_effective_coefficients():
    a = SLAF(2, 3, activation_init="relu", init_std=0.0)
    b = SLAF(2, 3, activation_init="relu", init_std=0.0, gate=True)
    assert torch.allclose(a.effective_coefficients(), b.effective_coefficients())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"degree": 0}, "degree"),
        ({"basis": "bernstein"}, "basis"),
        ({"coef_sharing": 3}, "coef_sharing"),
        ({"coef_sharing": "channel"}, "coef_sharing"),
        ({"activation_init": "softsign"}, "activation_init"),
        ({"normalize_momentum": 0.0}, "normalize_momentum"),
        ({"normalize_eps": 0.0}, "normalize_eps"),
        ({"init_std": -1.0}, "init_std"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SLAF(4, **{"degree": 3, **kwargs})


def test_power_coefficients_refusals():
    with pytest.raises(ValueError, match="not polynomial"):
        SLAF(2, 3, "fourier").power_coefficients()
    layer = SLAF(2, 3)
    layer.running_var[0, 1] = float("nan")
    with pytest.raises(ValueError, match="not finite"):
        layer.power_coefficients()
    with pytest.raises(ValueError, match="units"):
        layer(torch.zeros(3, 5))
