"""Mean-field maps of deep networks: variance and correlation maps, fixed points, depth.

Holds the result types (:class:`FixedPoint`, :class:`DepthProfile`) and the maps
computed from an activation's Gaussian moments. How user-given activations and
parameters are resolved and validated lives in :mod:`sklearn_slaf.eoc._inputs`
(:func:`as_activation` is re-exported here).

Part of :mod:`sklearn_slaf.eoc` (import the names from there); see that module for the
theory and for how SLAF layers are treated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_positive_int
from ._inputs import _check_derivative, _check_q, _check_sigma, as_activation
from ._moments import GaussianMoments, MeanFieldActivation
from ._roots import bracketed_roots, polynomial_roots

__all__ = [
    "DepthProfile", "FixedPoint", "as_activation", "basin_edge", "beta_q", "chi1", "correlation_map",
    "depth_profile", "depth_scales", "fixed_points", "gaussian_moments", "variance_map",
]

_Q_GRID = np.geomspace(1e-6, 1e4, 481)  # root bracketing grid for non-polynomial activations
_POLY_GRID = np.geomspace(1e-8, 1e4, 4001)  # sign-change scan backing the polynomial roots
_VERIFY = 1e-9  # a root is reported only if F(q) = q (and chi_1 = 1 on the EOC) to this relative accuracy
_STABLE_TOL = 1e-8  # F'(q*) <= 1 + tol counts as stable: marginal points (ReLU, F = identity) are reached


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True)
class FixedPoint:
    """A fixed point ``q = F(q)`` of the variance map.

    Attributes
    ----------
    q : float
    slope : float
        ``F'(q)``; the point attracts nearby variances iff ``slope < 1``.
    stable : bool
        ``slope <= 1`` (marginal points, where ``F`` is the identity, count as stable).

    Examples
    --------
    >>> from sklearn_slaf.eoc import fixed_points
    >>> fixed_points("tanh", sigma_w=1.3042, sigma_b=0.2)[0].stable
    True
    """

    q: float
    slope: float
    stable: bool


@dataclass(frozen=True)
class DepthProfile:
    """Mean-field variance and correlation layer by layer.

    Attributes
    ----------
    layer : numpy.ndarray of int
        ``1 .. depth``.
    q, c, one_minus_c : numpy.ndarray
        ``q^l``, ``c^l`` and ``1 - c^l`` (computed without cancellation).

    Examples
    --------
    >>> import math
    >>> from sklearn_slaf.eoc import depth_profile
    >>> prof = depth_profile("relu", 3, sigma_w=math.sqrt(2), sigma_b=0.0, q0=1.0, c0=0.0)
    >>> round(float(prof.c[1]) * math.pi, 10)
    1.0
    """

    layer: np.ndarray
    q: np.ndarray
    c: np.ndarray
    one_minus_c: np.ndarray


# ---------------------------------------------------------------------------- maps
def gaussian_moments(activation, q) -> GaussianMoments:
    """``E[phi^2]``, ``E[phi'^2]``, ``E[phi phi'']`` and ``E[phi''^2]`` under ``N(0, q)``.

    Exact for polynomials, split Gauss-Legendre quadrature (exponentially convergent,
    kinks handled) for functions; derivatives by autograd.

    Parameters
    ----------
    activation : see :func:`as_activation`
    q : float or array-like of float > 0

    Returns
    -------
    GaussianMoments

    Examples
    --------
    >>> from sklearn_slaf.eoc import gaussian_moments
    >>> float(gaussian_moments([0.0, 0.0, 1.0], 2.0).phi2)  # E[(sqrt(2) Z)^4] = 4 * 3
    12.0
    """
    return as_activation(activation).moments(_check_q(q))


def variance_map(activation, q, *, sigma_w: float, sigma_b: float):
    """The variance map ``F(q) = sigma_b^2 + sigma_w^2 E[phi(sqrt(q) Z)^2]``.

    Examples
    --------
    >>> from sklearn_slaf.eoc import variance_map
    >>> round(float(variance_map("relu", 1.7, sigma_w=2 ** 0.5, sigma_b=0.0)), 12)
    1.7
    """
    sw, sb = _check_sigma("sigma_w", sigma_w), _check_sigma("sigma_b", sigma_b)
    return sb**2 + sw**2 * gaussian_moments(activation, q).phi2


def chi1(activation, q, *, sigma_w: float):
    """``chi_1 = sigma_w^2 E[phi'(sqrt(q) Z)^2]``: the correlation map's slope at ``c = 1``.

    Examples
    --------
    >>> from sklearn_slaf.eoc import chi1
    >>> round(float(chi1("relu", 1.0, sigma_w=2 ** 0.5)), 12)
    1.0
    """
    return _check_sigma("sigma_w", sigma_w) ** 2 * gaussian_moments(activation, q).dphi2


def beta_q(activation, q):
    """``beta_q = q E[phi''^2] / (2 E[phi'^2])``: on the EOC ``1 - c^l ~ 1 / (beta_q l)``.

    Examples
    --------
    >>> from sklearn_slaf.eoc import beta_q
    >>> round(float(beta_q("tanh", 0.5121)), 4)
    0.1412
    """
    act = as_activation(activation)
    m = act.moments(_check_q(q))
    _check_derivative(act, m)
    return m.q * m.ddphi2 / (2.0 * m.dphi2)


def _slope(m: GaussianMoments, sw: float):
    # F'(q) = sigma_w^2 dE[phi^2]/dq = sigma_w^2 (E[phi'^2] + E[phi phi'']) by Stein's lemma
    return sw**2 * (m.dphi2 + m.phi_ddphi)


def fixed_points(activation, *, sigma_w: float, sigma_b: float, q_max: float = 1e4) -> list[FixedPoint]:
    """Every fixed point ``q = F(q)`` in ``[0, q_max]``, with its slope and stability.

    For polynomials, the roots of ``F(q) - q`` (eigenvalues backed by a sign-change scan,
    Newton-polished on the untrimmed polynomial; see :mod:`sklearn_slaf.eoc._roots`); sign
    changes on a log grid refined by Brent's method otherwise (a root where ``F - q``
    touches 0 without crossing is then missed). Every point returned satisfies
    ``F(q) = q`` to 1e-9 relative. ``q = 0`` is included when it is a fixed point (``sigma_b = 0``,
    ``phi(0) = 0``). Where ``F(q) = q`` identically (ReLU with ``sigma_w^2 = 2``,
    ``sigma_b = 0``) a single marginal point ``q = nan`` is returned.

    Examples
    --------
    >>> from sklearn_slaf.eoc import fixed_points
    >>> [round(p.q, 3) for p in fixed_points("tanh", sigma_w=1.3, sigma_b=0.2)]
    [0.506]
    """
    act = as_activation(activation)
    sw, sb = _check_sigma("sigma_w", sigma_w), _check_sigma("sigma_b", sigma_b)
    q_max = float(q_max)
    if not q_max > 0:
        raise ValueError(f"q_max must be > 0; got {q_max!r}.")
    if act.is_polynomial:
        c = act.fixed_point_poly(sw, sb)
        if not np.isfinite(c).all():
            raise ValueError(
                f"sigma_w={sw:g}, sigma_b={sb:g} are too large for {act.name!r}: the variance map overflows."
            )
        # F(q) = q identically (ReLU-like polynomials at sigma_w^2 E[phi'^2] = 1, sigma_b = 0)
        if np.all(np.abs(c) <= 1e-14 * (1.0 + sw**2 * np.abs(act.q_phi2).max())):
            return [FixedPoint(math.nan, 1.0, True)]
        grid = _POLY_GRID if math.isfinite(q_max) else np.geomspace(1e-8, 1e12, 4001)
        roots = polynomial_roots(c, 0.0, q_max, grid=grid[grid <= q_max])
    else:
        grid = _Q_GRID[_Q_GRID <= q_max]
        g = sb**2 + sw**2 * act.moments(grid).phi2 - grid
        if np.all(np.abs(g) <= 1e-10 * grid):
            return [FixedPoint(math.nan, 1.0, True)]
        roots = bracketed_roots(lambda v: sb**2 + sw**2 * float(act.moments(v).phi2) - v, grid, g)
        if sb == 0 and float(act.moments(1e-12).phi2) <= 1e-20:
            roots = [0.0] + roots
    out = []
    for r in roots:
        m = act.moments(max(r, 1e-300))
        big_f = sb**2 + sw**2 * float(m.phi2)
        if not abs(big_f - r) <= _VERIFY * max(r, big_f, 1e-300):
            continue  # not a fixed point to the accuracy promised: never report it
        s = float(_slope(m, sw))
        out.append(FixedPoint(float(r), s, s <= 1 + _STABLE_TOL))
    return out


def _stable_q(act: MeanFieldActivation, sw: float, sb: float) -> float:
    pts = [p for p in fixed_points(act, sigma_w=sw, sigma_b=sb) if p.stable and p.q > 0]
    if not pts:
        raise ValueError(
            f"F has no stable positive fixed point for {act.name!r} at sigma_w={sw:g}, sigma_b={sb:g}; "
            "pass q explicitly."
        )
    return pts[0].q


def basin_edge(activation, *, sigma_w: float, sigma_b: float, q_star: float | None = None) -> float:
    """Largest initial variance ``q^1`` from which ``q^l`` converges to ``q_star``.

    For a polynomial of degree >= 2, ``F(q)`` grows like ``q^degree``: beyond the first
    fixed point above ``q_star`` the variance explodes. Bounded activations have no
    edge (``inf``). ``q_star`` defaults to the smallest stable positive fixed point.

    Examples
    --------
    >>> from sklearn_slaf.eoc import basin_edge
    >>> round(basin_edge([0.0, 0.0, 1.0], sigma_w=0.5, sigma_b=0.5), 6)  # 3 q^2 / 4 + 1/4 = q
    1.0
    """
    act = as_activation(activation)
    sw, sb = _check_sigma("sigma_w", sigma_w), _check_sigma("sigma_b", sigma_b)
    q_star = _stable_q(act, sw, sb) if q_star is None else float(q_star)
    above = [p.q for p in fixed_points(act, sigma_w=sw, sigma_b=sb, q_max=math.inf if act.is_polynomial else 1e4)
             if p.q > q_star * (1 + 1e-9) and not math.isnan(p.q)]
    return min(above) if above else math.inf


def correlation_map(activation, c, *, sigma_w: float, sigma_b: float, q: float | None = None):
    """The correlation map ``f(c)`` for two inputs whose pre-activations have variance ``q``.

    Computed in the careful form ``f(c) = 1 - sigma_w^2 E[(phi(u_1) - phi(u_2))^2] / (2 F(q))``,
    with ``u_1 - u_2`` formed directly, so ``1 - f(c)`` keeps its relative accuracy as
    ``c -> 1`` (the naive ratio loses it to cancellation).

    Parameters
    ----------
    activation : see :func:`as_activation`
    c : float or array-like in [-1, 1]
    sigma_w, sigma_b : float
    q : float, optional
        Variance of both pre-activations; defaults to the stable fixed point ``q*``.

    Examples
    --------
    >>> import math
    >>> from sklearn_slaf.eoc import correlation_map
    >>> round(float(correlation_map("relu", 0.0, sigma_w=math.sqrt(2), sigma_b=0.0, q=1.0)) * math.pi, 12)
    1.0
    """
    act = as_activation(activation)
    sw, sb = _check_sigma("sigma_w", sigma_w), _check_sigma("sigma_b", sigma_b)
    q = _stable_q(act, sw, sb) if q is None else float(_check_q(q))
    c = np.asarray(c, dtype=float)
    if not (np.isfinite(c).all() and np.all(np.abs(c) <= 1)):
        raise ValueError("c (a correlation) must lie in [-1, 1].")
    return 1.0 - _gap(act, q, 1.0 - c, sw, sb)


def _gap(act: MeanFieldActivation, q: float, delta, sw: float, sb: float):
    """``1 - f(1 - delta)`` at variance ``q``, elementwise in ``delta``."""
    big_f = sb**2 + sw**2 * float(act.moments(q).phi2)
    delta = np.asarray(delta, dtype=float)
    out = np.vectorize(lambda d: sw**2 * act.half_sq_diff(q, float(d)) / big_f if d > 0 else 0.0, otypes=[float])(delta)
    return out if out.ndim else float(out)


def depth_scales(activation, *, sigma_w: float, sigma_b: float) -> tuple[float, float]:
    """Depth scales ``(xi_q, xi_c)`` of Schoenholz et al. at the stable fixed point.

    ``q^l - q* ~ exp(-l / xi_q)`` with ``xi_q = -1 / log F'(q*)``;
    ``c^l - c* ~ exp(-l / xi_c)`` with ``xi_c = -1 / log(sigma_w^2 E[phi'(u_1) phi'(u_2)])``
    at the fixed point ``c*`` (``c* = 1`` and the argument is ``chi_1`` in the ordered
    phase). Both are infinite on the edge of chaos.

    Examples
    --------
    >>> from sklearn_slaf.eoc import depth_scales, edge_of_chaos
    >>> p = edge_of_chaos("tanh", sigma_b=0.2)[0]
    >>> xi_q, xi_c = depth_scales("tanh", sigma_w=p.sigma_w, sigma_b=0.2)
    >>> round(xi_q, 3), xi_c > 1e6
    (1.635, True)
    >>> depth_scales("tanh", sigma_w=1.0, sigma_b=0.2)[1] < 5  # ordered phase: a few layers
    True
    """
    act = as_activation(activation)
    sw, sb = _check_sigma("sigma_w", sigma_w), _check_sigma("sigma_b", sigma_b)
    q = _stable_q(act, sw, sb)
    m = act.moments(q)
    _check_derivative(act, m)
    xi = lambda s: math.inf if s >= 1 else (0.0 if s <= 0 else -1.0 / math.log(s))
    xi_q = xi(float(_slope(m, sw)))
    x1 = sw**2 * float(m.dphi2)
    if x1 <= 1:
        return xi_q, xi(x1)
    big_f = sb**2 + sw**2 * float(m.phi2)
    c = 0.0
    for _ in range(500):  # chaotic phase: iterate to the stable c* < 1
        c_new = (sb**2 + sw**2 * act.cross(q, q, c)) / big_f
        if abs(c_new - c) < 1e-12:
            break
        c = c_new
    return xi_q, xi(sw**2 * act.cross(q, q, c, derivative=1))


def depth_profile(
    activation, depth: int, *, sigma_w: float, sigma_b: float, q0: float | None = None, c0: float = 0.0
) -> DepthProfile:
    """Iterate the variance and correlation maps for two inputs of equal variance.

    Parameters
    ----------
    activation : see :func:`as_activation`
    depth : int >= 1
        Number of layers; layer 1 holds ``(q0, c0)``.
    sigma_w, sigma_b : float
    q0 : float, optional
        Variance at layer 1; defaults to the stable fixed point ``q*``.
    c0 : float, default=0.0
        Correlation at layer 1.

    Raises
    ------
    ValueError
        ``q0`` beyond the basin edge of a polynomial activation (the variance would
        explode), or a variance overflowing on the way.

    Examples
    --------
    >>> from sklearn_slaf.eoc import depth_profile, edge_of_chaos
    >>> p = edge_of_chaos("tanh", sigma_b=0.2)[0]
    >>> prof = depth_profile("tanh", 200, sigma_w=p.sigma_w, sigma_b=0.2, c0=0.5)
    >>> round(float(prof.one_minus_c[-1] * p.beta_q * 200), 1)  # 1 - c^l ~ 1 / (beta_q l)
    1.0
    """
    act = as_activation(activation)
    sw, sb = _check_sigma("sigma_w", sigma_w), _check_sigma("sigma_b", sigma_b)
    depth = check_positive_int(depth, "depth")
    q = _stable_q(act, sw, sb) if q0 is None else float(_check_q(q0))
    if not -1 <= c0 <= 1:
        raise ValueError(f"c0 (a correlation) must lie in [-1, 1]; got {c0!r}.")
    if act.is_polynomial and act.degree >= 2:
        fps = [
            p.q for p in fixed_points(act, sigma_w=sw, sigma_b=sb, q_max=math.inf) if p.q > 0 and not math.isnan(p.q)
        ]
        # the basin of attraction ends at the largest fixed point: beyond it F(q) > q for good
        if fps and q > max(fps) * (1 + 1e-12) or not fps and sb**2 + sw**2 * float(act.moments(q).phi2) > q:
            lim = f"{max(fps):.6g}" if fps else "any q (F(q) > q everywhere)"
            raise ValueError(
                f"q0={q:g} lies outside the basin of the polynomial activation {act.name!r} (edge {lim} at "
                f"sigma_w={sw:g}, sigma_b={sb:g}): the variance grows without bound. Scale the inputs down."
            )
    qs, gaps = [q], [1.0 - float(c0)]
    for _ in range(depth - 1):
        gaps.append(_gap(act, qs[-1], min(gaps[-1], 2.0), sw, sb) if gaps[-1] > 0 else 0.0)
        qs.append(sb**2 + sw**2 * float(act.moments(qs[-1]).phi2))
        if not math.isfinite(qs[-1]) or qs[-1] > 1e300:
            raise ValueError(
                f"the variance overflows by layer {len(qs)}: q0={q:g} is outside the basin of {act.name!r}."
            )
    g = np.array(gaps)
    return DepthProfile(np.arange(1, depth + 1), np.array(qs), 1.0 - g, g)
