"""Tests of sklearn_slaf.eoc against independent oracles (closed forms, scipy, numpy simulation)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from numpy.polynomial import hermite_e
from scipy import integrate
from scipy.special import expit

from sklearn_slaf.activation import SLAF
from sklearn_slaf.eoc import (
    EOCPoint,
    as_activation,
    basin_edge,
    beta_q,
    chi1,
    correlation_map,
    depth_profile,
    depth_scales,
    edge_of_chaos,
    edge_of_chaos_init,
    edge_of_chaos_per_layer,
    eoc_curve,
    eoc_curve_per_layer,
    fixed_points,
    gaussian_moments,
    propagation,
    variance_map,
)
from sklearn_slaf.network import SLNN

SQRT2 = math.sqrt(2.0)


def _quad(f, q):
    """E[f(sqrt(q) Z)] by adaptive scipy quadrature, split at 0 (an independent oracle)."""
    g = lambda z: f(math.sqrt(q) * z) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return integrate.quad(g, -np.inf, 0, epsabs=1e-13)[0] + integrate.quad(g, 0, np.inf, epsabs=1e-13)[0]


def _hermegauss_moment(coefs, q, n=60):
    """E[p(sqrt(q) Z)^2] by Gauss-Hermite quadrature (exact for polynomials)."""
    z, w = hermite_e.hermegauss(n)
    return float(w @ np.polynomial.polynomial.polyval(math.sqrt(q) * z, coefs) ** 2 / math.sqrt(2 * math.pi))


def _assert_on_eoc(phi, dphi, points, sigma_b, rel=1e-9):
    """Each point solves chi_1 = 1 and F(q*) = q* (moments by scipy quadrature, independent of the code)."""
    assert points
    for p in points:
        assert p.sigma_b == sigma_b
        assert p.sigma_w**2 * _quad(lambda x: dphi(x) ** 2, p.q_star) == pytest.approx(1.0, rel=rel)
        assert sigma_b**2 + p.sigma_w**2 * _quad(lambda x: phi(x) ** 2, p.q_star) == pytest.approx(p.q_star, rel=rel)


def _poly_pair(coefs):
    """``phi`` and ``phi'`` of per-unit power coefficients, averaged in the square (for _assert_on_eoc)."""
    coefs = np.atleast_2d(coefs)
    ders = [np.polynomial.polynomial.polyder(c) for c in coefs]
    val = np.polynomial.polynomial.polyval
    rms = lambda cs: lambda x: math.sqrt(np.mean([val(x, c) ** 2 for c in cs]))
    return rms(coefs), rms(ders)


def _arccos_kernel(c):
    return (math.sqrt(max(0.0, 1 - c * c)) + (math.pi - math.acos(c)) * c) / math.pi


# ---------------------------------------------------------------------------- moments
@pytest.mark.parametrize("q", [0.3, 1.0, 4.0])
def test_moments_of_smooth_and_kinked_functions_match_scipy(q):
    sech2 = lambda x: 1 - math.tanh(x) ** 2
    m = gaussian_moments("tanh", q)
    assert m.phi2 == pytest.approx(_quad(lambda x: math.tanh(x) ** 2, q), abs=1e-12)
    assert m.dphi2 == pytest.approx(_quad(lambda x: sech2(x) ** 2, q), abs=1e-12)
    assert m.phi_ddphi == pytest.approx(_quad(lambda x: -2 * math.tanh(x) ** 2 * sech2(x), q), abs=1e-12)
    assert m.ddphi2 == pytest.approx(_quad(lambda x: 4 * math.tanh(x) ** 2 * sech2(x) ** 2, q), abs=1e-12)
    elu = lambda x: x if x > 0 else math.expm1(x)
    e = gaussian_moments("elu", q)
    assert e.phi2 == pytest.approx(_quad(lambda x: elu(x) ** 2, q), abs=1e-12)
    assert e.dphi2 == pytest.approx(_quad(lambda x: 1.0 if x > 0 else math.exp(2 * x), q), abs=1e-12)
    assert e.phi_ddphi == pytest.approx(_quad(lambda x: 0.0 if x > 0 else math.expm1(x) * math.exp(x), q), abs=1e-12)
    r = gaussian_moments("relu", q)
    assert (r.phi2, r.dphi2, r.phi_ddphi) == (pytest.approx(q / 2, abs=1e-13), pytest.approx(0.5), pytest.approx(0.0))
    lr = gaussian_moments("leaky_relu", q)
    assert lr.phi2 == pytest.approx(q * (1 + 0.01**2) / 2, rel=1e-12)
    sw = gaussian_moments("swish", q)
    assert sw.phi2 == pytest.approx(_quad(lambda x: (x * expit(x)) ** 2, q), abs=1e-12)


def test_numpy_only_callable_uses_finite_differences():
    m = gaussian_moments(lambda x: np.tanh(np.asarray(x)), 1.0)
    ref = gaussian_moments("tanh", 1.0)
    assert m.phi2 == pytest.approx(ref.phi2, abs=1e-12)
    assert m.dphi2 == pytest.approx(ref.dphi2, abs=1e-8)
    assert m.ddphi2 == pytest.approx(ref.ddphi2, abs=1e-6)


def test_polynomial_moments_are_exact():
    p = np.array([0.3, -1.0, 0.5, 0.2, -0.05])
    for q in (0.2, 1.0, 3.0):
        m = gaussian_moments(p, q)
        assert m.phi2 == pytest.approx(_hermegauss_moment(p, q), rel=1e-12)
        d = np.polynomial.polynomial.polyder(p)
        assert m.dphi2 == pytest.approx(_hermegauss_moment(d, q), rel=1e-12)


def test_slaf_layer_moments_average_over_units():
    layer = SLAF(6, 4, "chebyshev", coef_sharing="unit", activation_init="tanh", init_std=0.3,
                 generator=torch.Generator().manual_seed(0)).eval()
    p = layer.power_coefficients()
    m = gaussian_moments(layer, 0.7)
    assert m.phi2 == pytest.approx(np.mean([_hermegauss_moment(row, 0.7) for row in p]), rel=1e-10)
    # a fresh layer in eval mode is its init function's least-squares fit: close to tanh
    fresh = SLAF(4, 5, "power", activation_init="tanh", init_std=0.0)
    assert gaussian_moments(fresh, 1.0).phi2 == pytest.approx(gaussian_moments("tanh", 1.0).phi2, abs=5e-3)


def test_fourier_slaf_is_evaluated_as_a_function():
    layer = SLAF(3, 4, "fourier", activation_init="tanh", init_std=0.0)
    act = as_activation(layer)
    assert not act.is_polynomial
    z, w = hermite_e.hermegauss(120)
    with torch.no_grad():
        y = layer.eval()(torch.tensor(np.repeat(z[:, None], 3, 1), dtype=torch.float32)).double().numpy()
    assert float(act.moments(1.0).phi2) == pytest.approx(float(w @ (y**2).mean(1) / math.sqrt(2 * math.pi)), rel=1e-4)


# ---------------------------------------------------------------------------- oracles
def test_relu_edge_of_chaos_is_a_single_point():
    (p,) = edge_of_chaos("relu", sigma_b=0.0)
    assert p.sigma_w == pytest.approx(SQRT2, rel=1e-12) and p.stable
    _assert_on_eoc(lambda x: max(x, 0.0), lambda x: float(x > 0), [p], 0.0)
    with pytest.raises(ValueError, match="single point sigma_b = 0"):
        edge_of_chaos("relu", sigma_b=0.1)
    f0 = float(correlation_map("relu", 0.0, sigma_w=SQRT2, sigma_b=0.0, q=1.0))
    assert f0 == pytest.approx(1 / math.pi, abs=1e-13)
    c = np.linspace(-1, 1, 9)
    f = correlation_map("relu", c, sigma_w=SQRT2, sigma_b=0.0, q=2.5)
    np.testing.assert_allclose(f, [_arccos_kernel(v) for v in c], atol=1e-13)


def test_relu_correlation_near_one_is_careful_and_gives_the_depth_law():
    # 1 - f(1 - d) = d - k d^{3/2} + ..., k = 2 sqrt 2 / (3 pi): the source of 1 - c^l ~ 9 pi^2 / (2 l^2)
    mpmath.mp.dps = 50
    for d in (1e-4, 1e-6, 1e-8):
        c = 1 - mpmath.mpf(d)
        exact = 1 - (mpmath.sqrt(1 - c * c) + (mpmath.pi - mpmath.acos(c)) * c) / mpmath.pi
        gap = 1 - float(correlation_map("relu", 1 - d, sigma_w=SQRT2, sigma_b=0.0, q=1.0))
        gap_careful = float(depth_profile("relu", 2, sigma_w=SQRT2, sigma_b=0.0, q0=1.0, c0=1 - d).one_minus_c[1])
        assert gap_careful == pytest.approx(float(exact), rel=1e-6)
        assert gap == pytest.approx(float(exact), rel=1e-6 if d >= 1e-6 else 1e-4)
    d = 1e-8
    g = depth_profile("relu", 2, sigma_w=SQRT2, sigma_b=0.0, q0=1.0, c0=1 - d).one_minus_c[1]
    assert (d - g) / d**1.5 == pytest.approx(2 * SQRT2 / (3 * math.pi), rel=1e-3)
    prof = depth_profile("relu", 200, sigma_w=SQRT2, sigma_b=0.0, q0=1.0, c0=0.0)
    c, ref = 0.0, []
    for _ in range(200):
        ref.append(c)
        c = _arccos_kernel(c)
    np.testing.assert_allclose(prof.c, ref, atol=1e-12)
    depth = prof.layer[-1]
    assert depth**2 * prof.one_minus_c[-1] == pytest.approx(9 * math.pi**2 / 2, rel=0.15)


def test_tanh_reference_point():
    (p,) = edge_of_chaos("tanh", sigma_b=0.2)
    assert p.sigma_w == pytest.approx(1.3042, abs=1e-4)
    assert p.q_star == pytest.approx(0.5121, abs=1e-4)
    assert p.stable and p.slope < 1
    assert p.beta_q == pytest.approx(0.1412, abs=1e-4)
    # independent check of the two defining equations by scipy quadrature
    sech2 = lambda x: 1 - math.tanh(x) ** 2
    assert p.sigma_w**2 * _quad(lambda x: sech2(x) ** 2, p.q_star) == pytest.approx(1.0, abs=1e-9)
    assert 0.04 + p.sigma_w**2 * _quad(lambda x: math.tanh(x) ** 2, p.q_star) == pytest.approx(p.q_star, abs=1e-9)
    fp = fixed_points("tanh", sigma_w=p.sigma_w, sigma_b=0.2)
    assert [f.q for f in fp] == [pytest.approx(p.q_star, rel=1e-9)]
    assert float(chi1("tanh", p.q_star, sigma_w=p.sigma_w)) == pytest.approx(1.0, abs=1e-10)
    assert float(beta_q("tanh", p.q_star)) == pytest.approx(p.beta_q)
    xi_q, xi_c = depth_scales("tanh", sigma_w=p.sigma_w, sigma_b=0.2)
    assert xi_q == pytest.approx(-1 / math.log(p.slope), rel=1e-9) and xi_c > 1e6
    # 1 - c^l ~ 1 / (beta_q l) on the edge of chaos
    prof = depth_profile("tanh", 150, sigma_w=p.sigma_w, sigma_b=0.2, c0=0.0)
    assert prof.one_minus_c[-1] * p.beta_q * 150 == pytest.approx(1.0, abs=0.1)


def test_tanh_phases_have_finite_depth_scales():
    _, xi_ordered = depth_scales("tanh", sigma_w=1.0, sigma_b=0.2)
    _, xi_chaotic = depth_scales("tanh", sigma_w=2.5, sigma_b=0.2)
    assert 1 < xi_ordered < 20 and 1 < xi_chaotic < 20


def test_swish_small_sigma_b_is_unstable():
    swish = lambda x: x * expit(x)
    dswish = lambda x: expit(x) * (1 + x * (1 - expit(x)))
    for sb in (0.1, 0.3, 0.5):
        pts = edge_of_chaos("swish", sigma_b=sb)
        assert pts and all(not p.stable and p.slope > 1 for p in pts)
        _assert_on_eoc(swish, dswish, pts, sb)
    pts = edge_of_chaos("swish", sigma_b=1.0)
    assert all(p.stable for p in pts)
    _assert_on_eoc(swish, dswish, pts, 1.0)


def test_square_activation_curve_and_correlation_map():
    sq = [0.0, 0.0, 1.0]
    curve = eoc_curve(sq, q=np.geomspace(0.01, 10, 7))
    np.testing.assert_allclose(curve.sigma_b * curve.sigma_w, 0.25, rtol=1e-12)
    (p,) = edge_of_chaos(sq, sigma_b=0.3)
    assert p.sigma_w * 0.3 == pytest.approx(0.25, rel=1e-12)
    _assert_on_eoc(lambda x: x * x, lambda x: 2 * x, [p], 0.3)
    c = np.linspace(-1, 1, 11)
    f = correlation_map(sq, c, sigma_w=p.sigma_w, sigma_b=0.3, q=p.q_star)
    np.testing.assert_allclose(f, (1 + c**2) / 2, atol=1e-13)


def test_polynomial_basin_edge():
    # x^2 at sigma_w = sigma_b = 1/2: F(q) = 1/4 + 3 q^2 / 4, fixed points 1/3 (stable) and 1
    fps = fixed_points([0.0, 0.0, 1.0], sigma_w=0.5, sigma_b=0.5)
    assert [f.q for f in fps] == [pytest.approx(1 / 3), pytest.approx(1.0)]
    assert [f.stable for f in fps] == [True, False]
    assert basin_edge([0.0, 0.0, 1.0], sigma_w=0.5, sigma_b=0.5) == pytest.approx(1.0)
    assert basin_edge("tanh", sigma_w=1.3, sigma_b=0.2) == math.inf
    with pytest.raises(ValueError, match="outside the basin"):
        depth_profile([0.0, 0.0, 1.0], 5, sigma_w=0.5, sigma_b=0.5, q0=1.5)
    prof = depth_profile([0.0, 0.0, 1.0], 60, sigma_w=0.5, sigma_b=0.5, q0=0.9)
    assert prof.q[-1] == pytest.approx(1 / 3, rel=1e-6)


def _simulate(phi, sigma_w, sigma_b, q0, c0, depth, width, rng):
    """Finite-width numpy network on two inputs with given layer-1 variance and correlation."""
    cov = q0 * np.array([[1, c0], [c0, 1]])
    y = rng.multivariate_normal([0, 0], cov, size=width).T  # (2, width): layer-1 pre-activations
    qs, cs = [], []
    for _ in range(depth):
        qs.append((y**2).mean(1).mean())
        cs.append((y[0] @ y[1]) / math.sqrt((y[0] @ y[0]) * (y[1] @ y[1])))
        w = rng.normal(0, sigma_w / math.sqrt(width), size=(width, width))
        y = phi(y) @ w.T + rng.normal(0, sigma_b, size=width)
    return np.array(qs), np.array(cs)


@pytest.mark.parametrize("name,phi,sigma_w,sigma_b", [
    ("tanh", np.tanh, 1.3042, 0.2),
    ("tanh", np.tanh, 2.5, 0.3),  # chaotic phase
    ("relu", lambda x: np.maximum(x, 0), SQRT2, 0.0),
])
def test_finite_width_simulation_agrees_with_mean_field(name, phi, sigma_w, sigma_b):
    rng = np.random.default_rng(0)
    depth, width, reps = 8, 1000, 4
    sims = [_simulate(phi, sigma_w, sigma_b, 1.0, 0.3, depth, width, rng) for _ in range(reps)]
    q_sim = np.mean([s[0] for s in sims], 0)
    c_sim = np.mean([s[1] for s in sims], 0)
    prof = depth_profile(name, depth, sigma_w=sigma_w, sigma_b=sigma_b, q0=1.0, c0=0.3)
    # sampling error of the mean of `reps` nets of width n: ~ sqrt(2 l / (n reps)) relative on q at
    # layer l (errors compound through the layers; at a marginal point such as ReLU's they never decay)
    tol = 4 * np.sqrt(2 * prof.layer / (width * reps))
    assert np.all(np.abs(q_sim / prof.q - 1) <= tol)
    assert np.all(np.abs(c_sim - prof.c) <= tol)


# ---------------------------------------------------------------------------- networks
def test_edge_of_chaos_init_draws_the_right_scales():
    net = SLNN(30, (400, 400, 400), hidden_activation="tanh", generator=torch.Generator().manual_seed(0))
    state = torch.random.get_rng_state()
    pts = edge_of_chaos_init(net, torch.Generator().manual_seed(1), sigma_b=0.2)
    assert torch.equal(state, torch.random.get_rng_state())  # the global generator is untouched
    p = pts[0]
    assert p.sigma_w == pytest.approx(1.3042, abs=1e-4)
    _assert_on_eoc(math.tanh, lambda x: 1 - math.tanh(x) ** 2, pts, 0.2)
    w0, w1 = net.hidden[0].weight, net.hidden[1].weight
    assert float(w0.detach().var() * 30) == pytest.approx(p.q_star - 0.04, rel=0.05)
    assert float(w1.detach().var() * 400) == pytest.approx(p.sigma_w**2, rel=0.02)
    assert float(net.hidden[1].bias.detach().std()) == pytest.approx(0.2, rel=0.15)
    assert float(net.output.bias.detach().abs().max()) == 0.0
    again = SLNN(30, (400, 400, 400), hidden_activation="tanh", generator=torch.Generator().manual_seed(0))
    edge_of_chaos_init(again, torch.Generator().manual_seed(1), sigma_b=0.2)
    assert torch.equal(again.hidden[2].weight, net.hidden[2].weight)


def test_edge_of_chaos_init_reaches_the_fixed_point_at_layer_one():
    torch.manual_seed(0)  # only for the data below; the net uses its own generator
    x = torch.randn(400, 20)
    net = SLNN(20, (800,) * 4, hidden_activation="slaf", activation_init="tanh", init_std=0.0,
               weight_init=edge_of_chaos_init, generator=torch.Generator().manual_seed(0))
    pts = edge_of_chaos_init(net, torch.Generator().manual_seed(0))
    assert all(p.q_star == 1.0 and p.stable for p in pts)  # default: the q* = 1 point of the fitted polynomial
    for p, layer in zip(pts, net.slaf_layers):
        _assert_on_eoc(*_poly_pair(layer.power_coefficients()), [p], p.sigma_b)
    prop = propagation(net, x.numpy(), max_pairs=8)
    np.testing.assert_allclose(prop.q_predicted, 1.0, rtol=0.05)
    # one net of width 800 fluctuates by a few per cent per layer (samples share the weights)
    np.testing.assert_allclose(prop.q_measured, prop.q_predicted, rtol=0.15)


def test_edge_of_chaos_init_errors_and_warnings():
    net = SLNN(3, (16, 16), hidden_activation="swish")
    with pytest.raises(ValueError, match="nearest stable point is sigma_b="):
        edge_of_chaos_init(net, sigma_b=0.2)
    with pytest.warns(UserWarning, match="q\\*=1 is unstable"):
        edge_of_chaos_init(net)
    with pytest.raises(ValueError, match="single point sigma_b = 0"):
        edge_of_chaos_init(SLNN(3, (16,), hidden_activation="relu"), sigma_b=0.3)
    with pytest.raises(ValueError, match="sigma_b"):
        edge_of_chaos_init(net, sigma_b=-1.0)
    with pytest.raises(ValueError, match="CPU"):
        edge_of_chaos_init(net, _fake_cuda_generator())


def _fake_cuda_generator():
    class G:
        device = torch.device("cuda")

    return G()


def test_network_inputs_give_one_result_per_slaf_layer():
    net = SLNN(4, (32, 32, 32), hidden_activation=("slaf", "relu", "slaf"), activation_init="tanh", init_std=0.0)
    res = edge_of_chaos_per_layer(net, sigma_b=0.3)
    assert len(res) == 2 and all(isinstance(r[0], EOCPoint) for r in res)
    layers = [m for m in net.slaf_layers if m is not None]
    for pts, layer in zip(res, layers):
        _assert_on_eoc(*_poly_pair(layer.power_coefficients()), pts, 0.3)
        # the least-squares tanh fit crosses sigma_b = 0.3 once, at q* = 0.9624 (what numpy >= 2.3 missed)
        assert [p.q_star for p in pts] == [pytest.approx(0.96238, abs=1e-5)]
    curves = eoc_curve_per_layer(net, n=20)
    assert len(curves) == 2
    for curve, layer in zip(curves, layers):
        phi, dphi = _poly_pair(layer.power_coefficients())
        phi2, dphi2 = (lambda x, f=phi: f(x) ** 2), (lambda x, f=dphi: f(x) ** 2)
        for q, sb, sw in zip(curve.q, curve.sigma_b, curve.sigma_w):
            assert sw**2 * _quad(dphi2, q) == pytest.approx(1.0, rel=1e-9)
            assert sb**2 + sw**2 * _quad(phi2, q) == pytest.approx(q, rel=1e-9)
    with pytest.raises(TypeError, match="module_"):
        edge_of_chaos_init(object())

    class Fitted:  # anything with a fitted SLNN in module_ is accepted
        module_ = net

    assert edge_of_chaos_per_layer(Fitted(), sigma_b=0.3) == res
    with pytest.raises(TypeError, match="edge_of_chaos_per_layer"):
        edge_of_chaos(net, sigma_b=0.3)  # one return type: networks have their own function


def test_propagation_matches_mean_field_for_a_wide_net():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 10))
    net = SLNN(10, (1000,) * 6, hidden_activation="tanh", weight_init="he", generator=torch.Generator().manual_seed(0))
    prop = propagation(net, x, max_pairs=12)
    np.testing.assert_allclose(prop.q_measured, prop.q_predicted, rtol=0.08)
    np.testing.assert_allclose(prop.c_measured, prop.c_predicted, atol=0.05)
    assert "q_measured" in str(prop)
    with pytest.raises(ValueError, match="shape"):
        propagation(net, x[:, :3])


# ---------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="no edge of chaos"):
        edge_of_chaos(lambda x: 0 * x + 1.0, sigma_b=0.1)
    with pytest.raises(ValueError, match="no edge of chaos"):
        edge_of_chaos([2.0], sigma_b=0.1)
    with pytest.raises(ValueError, match="sigma_b"):
        edge_of_chaos("tanh", sigma_b=-0.1)
    with pytest.raises(ValueError, match="not finite|NaN"):
        edge_of_chaos([0.0, np.nan, 1.0], sigma_b=0.1)
    with pytest.raises(ValueError, match="must be one of"):
        edge_of_chaos("nope", sigma_b=0.1)
    with pytest.raises(ValueError, match="q"):
        variance_map("tanh", -1.0, sigma_w=1.0, sigma_b=0.0)
    with pytest.raises(ValueError, match="correlation"):
        correlation_map("tanh", 1.5, sigma_w=1.0, sigma_b=0.1)
    with pytest.raises(ValueError, match="no edge-of-chaos point at sigma_b"):
        edge_of_chaos("tanh", sigma_b=1000.0)  # q* would lie beyond the searched range
    with pytest.raises(ValueError, match="not polynomial|fourier"):
        SLAF(3, 2, "fourier").power_coefficients()
    with pytest.raises(TypeError):
        as_activation(3.0)


@pytest.mark.parametrize("call,match", [
    (lambda: edge_of_chaos("tanh", sigma_b=1e200), "sigma_b"),
    (lambda: edge_of_chaos("tanh", sigma_b=math.inf), "sigma_b"),
    (lambda: variance_map("tanh", 1.0, sigma_w=1e200, sigma_b=0.1), "sigma_w"),
    (lambda: fixed_points("tanh", sigma_w=1.0, sigma_b=1e155), "sigma_b"),
    (lambda: fixed_points([0.0, 1.0], sigma_w=1.0, sigma_b=0.1, q_max=-1.0), "q_max"),
    (lambda: eoc_curve("tanh", n=0), "n "),
    (lambda: eoc_curve("tanh", n=2.5), "n "),
    (lambda: edge_of_chaos([0.0, 1e200, 1e180], sigma_b=0.1), "overflow"),
    (lambda: gaussian_moments([0.0, 1.0, 1.0], 1e200), "overflow"),
    (lambda: gaussian_moments(lambda t: torch.from_numpy(np.tanh(t.detach().numpy())), 1.0), "autograd"),
])
def test_bad_numbers_get_a_value_error_and_no_warning(call, match):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked numpy RuntimeWarning would turn into an error here
        with pytest.raises(ValueError, match=match):
            call()


def test_autograd_zero_derivatives_are_zeros():
    m = gaussian_moments(torch.abs, 1.0)  # |x|'' is a ZeroTensor to autograd
    assert (float(m.phi2), float(m.dphi2), float(m.phi_ddphi), float(m.ddphi2)) == pytest.approx((1.0, 1.0, 0.0, 0.0))


def test_plots_render(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_slaf import plotting

    fig, axes = plt.subplots(2, 2, figsize=(9, 7))
    plotting.plot_variance_map("tanh", sigma_w=1.3042, sigma_b=0.2, ax=axes[0, 0])
    plotting.plot_correlation_map("relu", sigma_w=SQRT2, sigma_b=0.0, q=1.0, ax=axes[0, 1])
    plotting.plot_eoc_curve("swish", n=40, ax=axes[1, 0])
    net = SLNN(5, (64,) * 3, hidden_activation="tanh", weight_init="he", generator=torch.Generator().manual_seed(0))
    prop = propagation(net, np.random.default_rng(0).normal(size=(10, 5)), max_pairs=3)
    plotting.plot_depth_profile(prop, ax=axes[1, 1])
    plotting.plot_depth_profile(depth_profile("tanh", 10, sigma_w=1.3042, sigma_b=0.2))
    out = tmp_path / "eoc.png"
    fig.savefig(out)
    plt.close("all")
    assert out.stat().st_size > 1000


def test_mean_field_plots_are_readable():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_slaf.eoc import depth_profile
    from sklearn_slaf.plotting import plot_correlation_map, plot_depth_profile, plot_variance_map

    ax = plot_depth_profile(depth_profile("tanh", 2, sigma_w=1.3042, sigma_b=0.2))
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)  # no "layer 1.2, 1.4"
    twin = [a for a in ax.figure.axes if a is not ax][0]
    assert twin.get_yscale() == "linear"  # 1 - c spans less than a decade here: no log axis
    assert ax.get_legend().get_bbox_to_anchor().y0 < ax.get_window_extent().y0  # below the data
    deep = plot_depth_profile(depth_profile("tanh", 40, sigma_w=1.0, sigma_b=0.05))
    assert [a for a in deep.figure.axes if a is not deep][0].get_yscale() == "log"
    labels = [t.get_text() for t in plot_variance_map("tanh", sigma_w=2.0, sigma_b=0.2).get_legend().get_texts()]
    assert "stable fixed point" in labels
    assert len(plot_correlation_map("relu", sigma_w=2**0.5, sigma_b=0.0, q=1.0).get_xticks()) == 5
    plt.close("all")
