"""Property tests: the edge-of-chaos and fixed-point root finders miss no root and report no false one.

The oracle is independent of the code under test: Gaussian moments by Gauss-Hermite
quadrature of the power-basis polynomial (exact for these degrees), a dense scan of the
defining equation on a log grid, and scipy's brentq on every sign change.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from numpy.polynomial import hermite_e
from numpy.polynomial import polynomial as P
from scipy.optimize import brentq

from sklearn_slaf import basis
from sklearn_slaf.activation import SLAF
from sklearn_slaf.eoc import edge_of_chaos, eoc_curve, fixed_points

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_Z, _W = hermite_e.hermegauss(48)  # exact for polynomials of degree <= 95
_W = _W / math.sqrt(2 * math.pi)
_SCAN = np.geomspace(1e-6, 1e4, 20001)
# a fixed seed and a bounded count in CI; SLAF_PROPERTY_EXAMPLES=5000 for a longer hunt
_CI = settings(
    max_examples=int(os.environ.get("SLAF_PROPERTY_EXAMPLES", "120")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _oracle_moments(coefs: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(E[phi^2], E[phi'^2])`` at each ``q``, averaged over the units (rows of ``coefs``)."""
    x = np.sqrt(np.asarray(q, float))[:, None] * _Z  # (nq, nodes)
    d = np.array([P.polyder(c) for c in coefs])
    phi = np.stack([P.polyval(x, c) for c in coefs])  # (units, nq, nodes)
    dphi = np.stack([P.polyval(x, c) for c in d])
    return (phi**2 @ _W).mean(0), (dphi**2 @ _W).mean(0)


def _crossings(fn, grid: np.ndarray, values: np.ndarray, noise: np.ndarray) -> list[tuple[float, float, float]]:
    """``(lo, hi, root)`` for every sign change of ``values`` on ``grid`` that stands above ``noise``.

    Points where ``|values|`` is within the oracle's own round-off are skipped: a bracket
    joins the nearest points on either side whose signs are certain.
    """
    sure = np.flatnonzero(np.isfinite(values) & (np.abs(values) > noise))
    out = []
    for i, j in zip(sure[:-1], sure[1:]):
        a, b = grid[i], grid[j]
        if np.sign(values[i]) * np.sign(values[j]) < 0 and fn(a) * fn(b) < 0:
            # across points within the noise the root's place is not determined: nan asks only for the bracket
            out.append((a, b, brentq(fn, a, b, xtol=1e-300, rtol=1e-15) if j == i + 1 else math.nan))
    return out


def _found(q_bf: float, lo: float, hi: float, returned: list[float], slope: float, scale: float) -> bool:
    """A returned root in the bracket, and within 1e-9 of the brute-force root where it is well conditioned."""
    in_bracket = [q for q in returned if lo * (1 - 1e-9) <= q <= hi * (1 + 1e-9)]
    if math.isnan(q_bf):
        return bool(in_bracket)
    tol = max(1e-9 * q_bf, 1e-12 * scale / max(abs(slope), 1e-300))
    return any(abs(q - q_bf) <= tol for q in in_bracket)


# ---------------------------------------------------------------------------- random activations
_coef = st.one_of(
    st.floats(-2.0, 2.0, allow_nan=False),
    st.floats(-1e-15, 1e-15, allow_nan=False),  # round-off, as a least-squares fit leaves
    st.just(0.0),
)


@st.composite
def polynomial_activations(draw) -> np.ndarray:
    """Power coefficients ``(units, degree + 1)`` of random per-unit activations in any polynomial basis."""
    family = draw(st.sampled_from(basis.POLYNOMIAL_BASES))
    degree = draw(st.integers(1, 8))
    units = draw(st.integers(1, 3))
    r = draw(st.floats(0.5, 3.0)) if basis.needs_input_map(family) else 1.0  # u = x / r
    m = basis.to_power_matrix(family, degree) / r ** np.arange(degree + 1)
    rows = [np.array(draw(st.lists(_coef, min_size=degree + 1, max_size=degree + 1))) @ m for _ in range(units)]
    return np.array(rows)


def _tanh_fit() -> np.ndarray:
    """The least-squares tanh fit of a degree-4 SLAF: the activation that broke the old root finder."""
    layer = SLAF(3, 4, "power", activation_init="tanh", init_std=0.0)
    return layer.power_coefficients()


# ---------------------------------------------------------------------------- edge of chaos
def _eoc_equation(coefs: np.ndarray, sb: float):
    def g(q: float) -> float:
        n, d = _oracle_moments(coefs, np.array([q]))
        return float(q - n[0] / d[0] - sb**2)

    return g


@_CI
@given(coefs=polynomial_activations(), where=st.floats(0.0, 1.0))
@example(coefs=_tanh_fit(), where=0.5)
@example(coefs=np.array([[1.56916555e-23, 2.44367798e-16, -3.13833109e-23, 0.0, 5.23055182e-24]]), where=0.0)
# a companion matrix that overflows (numpy 1.24's eigvals raise on it): the scan must carry on
@example(coefs=np.array([[0.0, 1.06174317e-185, 0.0, 6.40212259e-131, 0.0, 1.0]]), where=0.0)
def test_edge_of_chaos_finds_every_crossing_of_the_curve(coefs, where):
    n, d = _oracle_moments(coefs, _SCAN)
    good = d > 1e-200
    hypothesis.assume(good.sum() > 2)
    sb2 = np.where(good, _SCAN - n / np.where(good, d, 1.0), np.nan)
    hypothesis.assume(not np.all(np.abs(sb2[good]) <= 1e-9 * _SCAN[good]))  # a one-point curve (linear phi)
    on_curve = np.flatnonzero(sb2 >= 0)
    hypothesis.assume(on_curve.size > 0)
    # a sigma_b from the curve's own range: the curve's value at a point of the scan
    q0 = _SCAN[on_curve[int(where * (on_curve.size - 1))]]
    n0, d0 = _oracle_moments(coefs, np.array([q0]))
    sb = math.sqrt(max(float(q0 - n0[0] / d0[0]), 0.0))
    hypothesis.assume(sb <= 1e50)
    try:
        points = edge_of_chaos(coefs, sigma_b=sb)
    except ValueError as exc:
        if "single point sigma_b = 0" in str(exc):  # q = E[phi^2]/E[phi'^2] for every q
            return
        points = []
    returned = [p.q_star for p in points]
    # every returned point satisfies the EOC equations (oracle moments, 1e-9 relative)
    for p in points:
        pn, pd = _oracle_moments(coefs, np.array([p.q_star]))
        assert p.sigma_w**2 * pd[0] == pytest.approx(1.0, rel=1e-9)
        big_f = sb**2 + p.sigma_w**2 * pn[0]
        assert big_f == pytest.approx(p.q_star, rel=1e-9)
    # every crossing of the dense scan is found
    g = _eoc_equation(coefs, sb)
    values = sb2 - sb**2
    for lo, hi, q_bf in _crossings(g, _SCAN, values, 1e-11 * (_SCAN + sb**2 + np.abs(_SCAN - sb2))):
        h = 1e-6 * q_bf
        slope = (g(q_bf + h) - g(q_bf - h)) / (2 * h) if math.isfinite(q_bf) else math.nan
        scale = q_bf + sb**2
        assert _found(q_bf, lo, hi, returned, slope, scale), (
            f"missed the crossing near q={q_bf:.10g} (sigma_b={sb:.6g}); returned {returned}"
        )


def test_least_squares_tanh_fit_has_its_edge_of_chaos_point():
    coefs = _tanh_fit()
    (p,) = edge_of_chaos(coefs, sigma_b=0.3)
    assert p.q_star == pytest.approx(0.9624, abs=1e-4)
    assert p.sigma_w == pytest.approx(1.5137, abs=1e-4)
    n, d = _oracle_moments(coefs, np.array([p.q_star]))
    assert 0.09 + n[0] / d[0] == pytest.approx(p.q_star, rel=1e-12)
    curve = eoc_curve(coefs, q=np.array([p.q_star]))
    assert float(curve.sigma_b[0]) == pytest.approx(0.3, rel=1e-9)


# ---------------------------------------------------------------------------- fixed points
@_CI
@given(coefs=polynomial_activations(), sw=st.floats(0.05, 3.0), sb=st.floats(0.0, 2.0))
@example(coefs=np.array([[-0.2336, -0.1694, 9.4e-19]]), sw=0.5, sb=0.1)
def test_fixed_points_finds_every_crossing(coefs, sw, sb):
    n, _ = _oracle_moments(coefs, _SCAN)
    values = sb**2 + sw**2 * n - _SCAN
    hypothesis.assume(not np.all(np.abs(values) <= 1e-12 * _SCAN))  # F = identity: a marginal curve
    try:
        points = fixed_points(coefs, sigma_w=sw, sigma_b=sb)
    except ValueError as exc:
        assert "overflow" in str(exc)
        return
    returned = [p.q for p in points if not math.isnan(p.q)]
    for q in returned:
        fq = sb**2 + sw**2 * float(_oracle_moments(coefs, np.array([max(q, 1e-300)]))[0][0])
        assert fq == pytest.approx(q, rel=1e-9, abs=1e-300)

    def h(q: float) -> float:
        return float(sb**2 + sw**2 * _oracle_moments(coefs, np.array([q]))[0][0] - q)

    for lo, hi, q_bf in _crossings(h, _SCAN, values, 1e-11 * (_SCAN + sb**2 + sw**2 * np.abs(n))):
        step = 1e-6 * q_bf
        slope = (h(q_bf + step) - h(q_bf - step)) / (2 * step) if math.isfinite(q_bf) else math.nan
        assert _found(q_bf, lo, hi, returned, slope, q_bf + sb**2), (
            f"missed the fixed point near q={q_bf:.10g}; returned {returned}"
        )


def test_fixed_point_next_to_round_off_coefficient():
    (p,) = fixed_points([-0.2336, -0.1694, 9.4e-19], sigma_w=0.5, sigma_b=0.1)
    # F(q) = 0.01 + 0.25 (0.2336^2 + 0.1694^2 q) + O(1e-37 q^2): linear, solved by hand
    a, b = 0.01 + 0.25 * 0.2336**2, 0.25 * 0.1694**2
    assert p.q == pytest.approx(a / (1 - b), rel=1e-12) and p.stable
