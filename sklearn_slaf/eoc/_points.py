"""Edge-of-chaos points and curves of an activation (part of :mod:`sklearn_slaf.eoc`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import polynomial as _poly

from .._validation import check_positive_int
from ..network import module_of
from ._inputs import _check_derivative, _check_q, _check_sigma, as_activation
from ._maps import _POLY_GRID, _Q_GRID, _STABLE_TOL, _VERIFY, _slope, basin_edge
from ._moments import MeanFieldActivation
from ._roots import bracketed_roots, polynomial_roots

__all__ = ["EOCCurve", "EOCPoint", "edge_of_chaos", "edge_of_chaos_per_layer", "eoc_curve", "eoc_curve_per_layer"]


@dataclass(frozen=True)
class EOCPoint:
    """A point of the edge of chaos.

    Attributes
    ----------
    sigma_b, sigma_w : float
        Bias and weight standard deviations (weights ``N(0, sigma_w^2 / fan_in)``).
    q_star : float
        Fixed-point variance of the pre-activations.
    slope : float
        ``F'(q*)``.
    stable : bool
        ``F'(q*) <= 1``: the variance converges to ``q*`` (marginally if ``= 1``).
    beta_q : float
        ``q* E[phi''^2] / (2 E[phi'^2])``; on the EOC ``1 - c^l ~ 1 / (beta_q l)``.
    basin_edge : float
        Largest initial variance from which ``q^l -> q*`` (``inf`` if unbounded, ``nan``
        for an unstable point).
    note : str
        Remarks, e.g. for activations whose every ``q`` is a fixed point.

    Examples
    --------
    >>> from sklearn_slaf.eoc import edge_of_chaos
    >>> p = edge_of_chaos("tanh", sigma_b=0.2)[0]
    >>> round(p.sigma_w, 3), round(p.q_star, 4), p.stable
    (1.304, 0.5121, True)
    """

    sigma_b: float
    sigma_w: float
    q_star: float
    slope: float
    stable: bool
    beta_q: float
    basin_edge: float = math.inf
    note: str = ""


@dataclass(frozen=True)
class EOCCurve:
    """The edge of chaos traced by the fixed-point variance ``q``.

    Attributes
    ----------
    q, sigma_b, sigma_w, slope, beta_q : numpy.ndarray
        One entry per ``q`` with ``sigma_b^2(q) >= 0``.
    stable : numpy.ndarray of bool
    name : str

    Examples
    --------
    >>> from sklearn_slaf.eoc import eoc_curve
    >>> curve = eoc_curve([0.0, 0.0, 1.0], q=[0.25, 1.0])  # phi = x**2
    >>> (curve.sigma_b * curve.sigma_w).round(6).tolist()
    [0.25, 0.25]
    """

    q: np.ndarray
    sigma_b: np.ndarray
    sigma_w: np.ndarray
    slope: np.ndarray
    stable: np.ndarray
    beta_q: np.ndarray
    name: str = ""


# ---------------------------------------------------------------------------- the edge of chaos
def _eoc_roots(act: MeanFieldActivation, sb: float, q_max: float = 1e4):
    """Fixed-point variances of the EOC at ``sigma_b``, each verified; ``None`` if degenerate.

    Degenerate means ``q = E[phi^2] / E[phi'^2]`` for every ``q`` (ReLU, identity): the
    whole curve is the single point ``sigma_b = 0``. Every root returned satisfies
    ``F(q*) = q*`` (with ``chi_1 = 1`` by the choice of ``sigma_w``) to 1e-9 relative.
    """
    if act.is_polynomial:
        n_, d_ = act.q_phi2, act.q_dphi2
        h = _poly.polysub(_poly.polymul([0.0, 1.0], d_), n_)  # q E[phi'^2] - E[phi^2] = sigma_b^2(q) E[phi'^2]
        grid = _POLY_GRID[_POLY_GRID <= q_max]
        # degenerate where h is round-off next to the terms it came from on the whole searched range
        with np.errstate(over="ignore", invalid="ignore"):
            size = _poly.polyval(grid, np.abs(n_)) + grid * _poly.polyval(grid, np.abs(d_))
            if np.all(_poly.polyval(grid, np.abs(h)) <= 1e-12 * size):
                return None
        with np.errstate(over="ignore"):
            eq = _poly.polysub(h, sb**2 * d_)
        if not np.isfinite(eq).all():
            raise ValueError(f"sigma_b={sb:g} is too large for {act.name!r}: sigma_b^2 E[phi'^2] overflows.")
        roots = polynomial_roots(eq, 0.0, q_max, grid=grid) or []
    else:
        grid = _Q_GRID[_Q_GRID <= q_max]
        m = act.moments(grid)
        with np.errstate(divide="ignore", invalid="ignore"):
            sb2 = grid - m.phi2 / m.dphi2
        if np.all(np.abs(sb2) <= 1e-9 * grid):
            return None
        roots = bracketed_roots(lambda v: v - _ratio(act, v) - sb**2, grid, sb2 - sb**2)
    return [q for q in roots if q > 0 and _is_eoc_root(act, q, sb)]


def _ratio(act: MeanFieldActivation, q: float) -> float:
    m = act.moments(q)
    return float(m.phi2) / float(m.dphi2)


def _is_eoc_root(act: MeanFieldActivation, q: float, sb: float) -> bool:
    """``F(q) = q`` at ``sigma_w^2 = 1 / E[phi'^2]`` (so ``chi_1 = 1``), to 1e-9 relative."""
    m = act.moments(q)
    if not float(m.dphi2) > 0:
        return False
    big_f = sb**2 + float(m.phi2) / float(m.dphi2)
    return math.isfinite(big_f) and abs(big_f - q) <= _VERIFY * max(q, big_f)


def _eoc_point(act: MeanFieldActivation, q: float, sb: float, note: str = "") -> EOCPoint:
    m = act.moments(q)
    _check_derivative(act, m)
    sw = 1.0 / math.sqrt(float(m.dphi2))
    slope = float(_slope(m, sw))
    stable = slope <= 1 + _STABLE_TOL
    # an unstable point repels the variance: it has no basin
    edge = basin_edge(act, sigma_w=sw, sigma_b=sb, q_star=q) if stable else math.nan
    return EOCPoint(
        float(sb), sw, float(q), slope, stable, float(q * m.ddphi2 / (2 * m.dphi2)), edge, note
    )


def _per_slaf_layer(model, fn):
    layers = [(i, layer) for i, layer in enumerate(module_of(model).slaf_layers) if layer is not None]
    if not layers:
        raise ValueError("the network has no SLAF layer; pass a layer's activation name instead.")
    out = []
    for i, layer in layers:
        try:
            out.append(fn(as_activation(layer, name=f"layer {i} ({layer.basis}, degree={layer.degree})")))
        except ValueError as exc:
            raise ValueError(f"hidden layer {i}: {exc}") from None
    return out


def edge_of_chaos(activation, *, sigma_b: float) -> list[EOCPoint]:
    """Every edge-of-chaos point of ``activation`` for the bias scale ``sigma_b``.

    Solves ``sigma_b^2 = q - E[phi^2] / E[phi'^2]`` for the fixed-point variance ``q``
    (a polynomial root problem for polynomial activations, bracketing on
    ``q in [1e-6, 1e4]`` otherwise) and returns, for each root, ``sigma_w = E[phi'^2]^{-1/2}``,
    ``F'(q*)``, the stability flag and ``beta_q``. An unstable point (``F'(q*) > 1``,
    e.g. Swish at small ``sigma_b``) exists on paper but the variance runs away from it.

    Parameters
    ----------
    activation : see :func:`as_activation`
        For a network use :func:`edge_of_chaos_per_layer`.
    sigma_b : float >= 0

    Returns
    -------
    list of EOCPoint, sorted by ``q_star``

    Raises
    ------
    ValueError
        ``sigma_b < 0``; no EOC point for this ``sigma_b`` (the message gives the range
        of ``sigma_b`` the curve covers); an activation with ``E[phi'^2] = 0``.

    Notes
    -----
    For activations with ``E[phi^2] = q E[phi'^2]`` at every ``q`` (ReLU, identity)
    the curve degenerates to the point ``sigma_b = 0``, where ``F(q) = q``: every
    variance is a (marginal) fixed point. The point is returned with ``q_star = 1``
    and a note.

    Examples
    --------
    >>> from sklearn_slaf.eoc import edge_of_chaos
    >>> p, = edge_of_chaos("relu", sigma_b=0.0)
    >>> round(p.sigma_w ** 2, 10)
    2.0
    >>> p, = edge_of_chaos([0.0, 0.0, 1.0], sigma_b=0.5)  # phi = x**2
    >>> round(p.sigma_w * 0.5, 10)
    0.25
    """
    sb = _check_sigma("sigma_b", sigma_b)
    act = as_activation(activation)
    _check_derivative(act, act.moments(np.array([1e-2, 1.0, 1e2])))
    roots = _eoc_roots(act, sb)
    if roots is None:
        if sb > 1e-12:
            raise ValueError(
                f"{act.name!r} has E[phi^2] = q E[phi'^2] at every q: its edge of chaos is the single "
                f"point sigma_b = 0 (sigma_w = {1 / math.sqrt(float(act.moments(1.0).dphi2)):.6g}); got sigma_b={sb:g}."
            )
        note = (
            "F(q) = q for every q (the curve is one point): every variance is a marginal fixed point; q_star set to 1"
        )
        return [_eoc_point(act, 1.0, 0.0, note)]
    if not roots:
        curve = eoc_curve(act, q=_Q_GRID)
        span = (
            f"its curve covers sigma_b in [{curve.sigma_b.min():.4g}, {curve.sigma_b.max():.4g}] for q in [1e-6, 1e4]"
            if curve.q.size else "sigma_b^2(q) = q - E[phi^2]/E[phi'^2] is negative for every q in [1e-6, 1e4]"
        )
        raise ValueError(f"{act.name!r} has no edge-of-chaos point at sigma_b={sb:g}: {span}.")
    return [_eoc_point(act, q, sb) for q in roots]


def eoc_curve(activation, q=None, *, n: int = 200, q_range: tuple[float, float] = (1e-3, 1e2)) -> EOCCurve:
    """The edge of chaos as a curve in ``(sigma_b, sigma_w)``, parametrised by ``q*``.

    ``sigma_w^2(q) = 1 / E[phi'^2]``, ``sigma_b^2(q) = q - E[phi^2] / E[phi'^2]``; values
    of ``q`` with ``sigma_b^2 < 0`` are dropped (tiny negative round-off is set to 0).

    Parameters
    ----------
    activation : see :func:`as_activation`
        For a network use :func:`eoc_curve_per_layer`.
    q : array-like of float > 0, optional
        Variances to evaluate; by default ``n`` log-spaced values in ``q_range``.
    n : int, default=200
    q_range : (float, float), default=(1e-3, 1e2)

    Returns
    -------
    EOCCurve

    Examples
    --------
    >>> from sklearn_slaf.eoc import eoc_curve
    >>> curve = eoc_curve("tanh", n=50)
    >>> bool(curve.stable.all())
    True
    """
    act = as_activation(activation)
    if q is None:
        n = check_positive_int(n, "n (the number of points on the curve)")
        lo, hi = (float(v) for v in q_range)
        if not (0 < lo < hi and math.isfinite(hi)):
            raise ValueError(f"q_range must be (low, high) with 0 < low < high; got {q_range!r}.")
        q = np.geomspace(lo, hi, int(n))
    q = _check_q(np.atleast_1d(q))
    m = act.moments(q)
    _check_derivative(act, m)
    sb2 = q - m.phi2 / m.dphi2
    sb2 = np.where((sb2 < 0) & (sb2 > -1e-10 * q), 0.0, sb2)
    keep = sb2 >= 0
    sw = 1.0 / np.sqrt(m.dphi2)
    slope = _slope(m, sw)
    beta = q * m.ddphi2 / (2 * m.dphi2)
    return EOCCurve(
        q[keep], np.sqrt(sb2[keep]), sw[keep], slope[keep], slope[keep] <= 1 + _STABLE_TOL, beta[keep], act.name
    )


def edge_of_chaos_per_layer(model, *, sigma_b: float) -> list[list[EOCPoint]]:
    """:func:`edge_of_chaos` of every SLAF layer of a network, in order.

    Parameters
    ----------
    model : SLNN or fitted SLNNRegressor / SLNNClassifier
    sigma_b : float >= 0

    Returns
    -------
    list of list of EOCPoint
        One list per SLAF layer (other hidden layers are skipped).

    Raises
    ------
    ValueError
        As :func:`edge_of_chaos`, naming the hidden layer; a network without SLAF layers.

    Examples
    --------
    >>> from sklearn_slaf.eoc import edge_of_chaos_per_layer
    >>> from sklearn_slaf.network import SLNN
    >>> net = SLNN(4, (32, 32), activation_init="tanh", init_std=0.0)
    >>> [round(p.q_star, 4) for p, in edge_of_chaos_per_layer(net, sigma_b=0.3)]
    [0.9624, 0.9624]
    """
    sb = _check_sigma("sigma_b", sigma_b)
    return _per_slaf_layer(model, lambda a: edge_of_chaos(a, sigma_b=sb))


def eoc_curve_per_layer(
    model, q=None, *, n: int = 200, q_range: tuple[float, float] = (1e-3, 1e2)
) -> list[EOCCurve]:
    """:func:`eoc_curve` of every SLAF layer of a network, in order.

    Examples
    --------
    >>> from sklearn_slaf.eoc import eoc_curve_per_layer
    >>> from sklearn_slaf.network import SLNN
    >>> net = SLNN(4, (32, 32), activation_init="tanh", init_std=0.0)
    >>> [c.q.size for c in eoc_curve_per_layer(net, n=20)]
    [20, 20]
    """
    return _per_slaf_layer(model, lambda a: eoc_curve(a, q, n=n, q_range=q_range))

