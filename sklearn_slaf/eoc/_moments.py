"""Gaussian expectations of activations: the numerical core of :mod:`sklearn_slaf.eoc`.

An activation is wrapped in a :class:`MeanFieldActivation` that knows how to take
expectations under centred Gaussian pre-activations:

* :class:`PolynomialActivation` -- exact. With ``E[Z**n] = (n-1)!!`` every moment
  ``E[p(sqrt(q) Z) r(sqrt(q) Z)]`` is a polynomial in ``q``, and with the Hermite
  expansion ``p(sqrt(q) x) = sum_n h_n He_n(x)`` the bivariate expectation is the
  polynomial ``sum_n h_n h'_n n! c**n`` in the correlation ``c``.
* :class:`FunctionActivation` -- quadrature. Composite Gauss-Legendre panels on
  ``[-12, 12]`` standard deviations, split exactly at the kinks (ReLU, leaky ReLU and
  ELU bend at 0), so the integrand is smooth on every panel and the rule converges
  exponentially; a plain Gauss-Hermite rule converges only algebraically across a kink.
  Bivariate expectations split the inner integral where the second pre-activation
  crosses a kink. Derivatives come from torch autograd (float64).

Per-unit activations (an SLAF layer whose units differ) average every expectation over
the units: the mean-field limit of a layer whose units are drawn uniformly from them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.polynomial import hermite_e as _herme
from numpy.polynomial import polynomial as _poly

from .._gauss import _PANEL
from .._gauss import split_nodes as _split_nodes

__all__ = ["GaussianMoments", "MeanFieldActivation", "PolynomialActivation", "FunctionActivation"]



@dataclass(frozen=True)
class GaussianMoments:
    """Expectations under ``x = sqrt(q) Z``, ``Z ~ N(0, 1)``, one entry per ``q``.

    Attributes
    ----------
    q : numpy.ndarray
        The variances.
    phi2, dphi2, phi_ddphi, ddphi2 : numpy.ndarray
        ``E[phi(x)**2]``, ``E[phi'(x)**2]``, ``E[phi(x) phi''(x)]`` and ``E[phi''(x)**2]``.

    Examples
    --------
    >>> from sklearn_slaf.eoc import gaussian_moments
    >>> m = gaussian_moments("relu", 2.0)
    >>> round(float(m.phi2), 6), round(float(m.dphi2), 6)
    (1.0, 0.5)
    """

    q: np.ndarray
    phi2: np.ndarray
    dphi2: np.ndarray
    phi_ddphi: np.ndarray
    ddphi2: np.ndarray


class MeanFieldActivation:
    """An activation as the mean-field theory sees it (abstract base).

    Subclasses provide :meth:`moments` (expectations at variance ``q``), :meth:`cross`
    (``E[phi^{(d)}(u_a) phi^{(d)}(u_b)]`` for jointly Gaussian ``u_a, u_b``) and
    :meth:`half_sq_diff` (the numerically careful ``E[(phi(u_1) - phi(u_2))**2] / 2``
    at equal variances and correlation ``1 - delta``).

    Examples
    --------
    >>> from sklearn_slaf.eoc import as_activation
    >>> act = as_activation("tanh")
    >>> act.name, act.is_polynomial
    ('tanh', False)
    """

    name: str = "activation"
    is_polynomial: bool = False

    def moments(self, q) -> GaussianMoments:  # pragma: no cover - abstract
        raise NotImplementedError

    def cross(self, qa, qb, c, derivative: int = 0):  # pragma: no cover
        raise NotImplementedError

    def half_sq_diff(self, q: float, delta: float) -> float:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class PolynomialActivation(MeanFieldActivation):
    """A (per-unit) polynomial activation with exact Gaussian expectations.

    Parameters
    ----------
    coefs : array-like of shape (degree + 1,) or (n_units, degree + 1)
        Ascending power coefficients (as from :meth:`SLAF.power_coefficients`).
    name : str, default="polynomial"

    Examples
    --------
    >>> from sklearn_slaf.eoc._moments import PolynomialActivation
    >>> sq = PolynomialActivation([0.0, 0.0, 1.0])  # x**2
    >>> float(sq.moments(1.0).phi2)  # E[Z**4]
    3.0
    """

    is_polynomial = True

    def __init__(self, coefs, name: str = "polynomial") -> None:
        p = np.atleast_2d(np.asarray(coefs, dtype=float))
        if p.ndim != 2 or p.shape[1] < 1 or p.size == 0:
            raise ValueError(
                f"polynomial coefficients must have shape (degree + 1,) or (n_units, degree + 1); got {p.shape}."
            )
        if not np.isfinite(p).all():
            raise ValueError("polynomial coefficients contain NaN or infinity; the activation is not usable.")
        self.coefs, self.name = p, name
        self.degree = p.shape[1] - 1
        d1 = _poly.polyder(p, axis=1)
        d2 = _poly.polyder(d1, axis=1)
        # E[.](q) as ascending polynomials in q, averaged over units
        with np.errstate(over="ignore", invalid="ignore"):
            self.q_phi2 = _moment_poly(p, p)
            self.q_dphi2 = _moment_poly(d1, d1)
            self.q_phi_ddphi = _moment_poly(p, d2)
            self.q_ddphi2 = _moment_poly(d2, d2)
        if not all(np.isfinite(m).all() for m in (self.q_phi2, self.q_dphi2, self.q_phi_ddphi, self.q_ddphi2)):
            raise ValueError(
                f"the coefficients of {name!r} are too large: its Gaussian moments overflow float64; "
                "rescale the activation."
            )
        self._derivs = (p, d1)
        n = self.degree + 1
        self._to_herme = np.stack([_pad(_herme.poly2herme(np.eye(n)[j]), n) for j in range(n)])  # row j: x**j
        self._fact = np.array([math.factorial(i) for i in range(n)], float)

    def moments(self, q) -> GaussianMoments:
        q = np.asarray(q, dtype=float)
        ev = lambda c: _polyval_or_raise(q, c, self.name)
        return GaussianMoments(q, ev(self.q_phi2), ev(self.q_dphi2), ev(self.q_phi_ddphi), ev(self.q_ddphi2))

    def hermite(self, q: float, derivative: int = 0) -> np.ndarray:
        """Hermite coefficients ``h[u, n]`` of ``phi^{(d)}(sqrt(q) x) = sum_n h_n He_n(x)``."""
        p = self._derivs[derivative]
        scaled = p * math.sqrt(q) ** np.arange(p.shape[1])
        return scaled @ self._to_herme[: p.shape[1], : p.shape[1]]

    def cross(self, qa, qb, c, derivative: int = 0):
        qa, qb, c = np.broadcast_arrays(*(np.asarray(v, float) for v in (qa, qb, c)))
        out = np.empty(qa.shape)
        for i in np.ndindex(qa.shape):
            ha, hb = self.hermite(qa[i], derivative), self.hermite(qb[i], derivative)
            n = np.arange(ha.shape[1])
            out[i] = np.mean((ha * hb) @ (self._fact[: ha.shape[1]] * c[i] ** n))
        return float(out) if out.ndim == 0 else out

    def half_sq_diff(self, q: float, delta: float) -> float:
        h = self.hermite(q)
        n = np.arange(h.shape[1])
        # 1 - c**n without cancellation: -expm1(n log1p(-delta))
        one_minus_cn = -np.expm1(n * math.log1p(-delta)) if delta < 1 else 1.0 - (1.0 - delta) ** n
        return float(np.mean((h**2) @ (self._fact * one_minus_cn)))

    def fixed_point_poly(self, sigma_w: float, sigma_b: float) -> np.ndarray:
        """Ascending coefficients in ``q`` of ``F(q) - q``."""
        r = sigma_w**2 * self.q_phi2
        r = _poly.polyadd(r, [sigma_b**2, -1.0])
        return r


def _polyval_or_raise(q: np.ndarray, c: np.ndarray, name: str) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        v = _poly.polyval(q, c)
    if not np.isfinite(v).all():
        raise ValueError(
            f"the Gaussian moments of {name!r} overflow float64 at q={float(np.max(q)):g}: "
            "use smaller variances or rescale the activation."
        )
    return v


def _pad(c: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[: len(c)] = c
    return out


def _moment_poly(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Coefficients in ``q`` of ``mean_u E[a_u(sqrt(q) Z) b_u(sqrt(q) Z)]``."""
    prod = np.mean([np.convolve(x, y) for x, y in zip(a, b)], axis=0)
    even = prod[0::2]
    # E[Z^(2m)] = (2m - 1)!! = 1 * 3 * ... * (2m - 1), with (-1)!! = 1
    return even * np.concatenate([[1.0], np.cumprod(np.arange(1.0, 2 * len(even) - 1, 2))])


class FunctionActivation(MeanFieldActivation):
    """An activation given as a function, with expectations by split quadrature.

    Parameters
    ----------
    fn : callable
        Elementwise function. Called with a float64 :class:`torch.Tensor` (derivatives
        then come from autograd); a function that only accepts numpy arrays is
        differentiated by central finite differences (accurate to ~1e-7).
    kinks : sequence of float, default=()
        Pre-activation values where ``fn`` or a derivative jumps; the quadrature is
        split there.
    n_units : int, optional
        If given, ``fn`` maps ``(n, n_units)`` to ``(n, n_units)`` (a per-unit
        activation, e.g. a layer module); expectations are averaged over units.
    name : str, default="function"

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.eoc._moments import FunctionActivation
    >>> relu = FunctionActivation(torch.relu, kinks=(0.0,), name="relu")
    >>> round(float(relu.moments(1.0).phi2), 12)
    0.5
    """

    def __init__(
        self, fn: Callable, kinks: Sequence[float] = (), n_units: int | None = None, name: str = "function"
    ) -> None:
        if not callable(fn):
            raise TypeError(f"activation must be callable; got {type(fn).__name__}.")
        self.fn, self.n_units, self.name = fn, n_units, name
        self.kinks = np.asarray(sorted(float(k) for k in kinks), dtype=float)
        if not np.isfinite(self.kinks).all():
            raise ValueError("kinks must be finite numbers.")
        self._torch = None  # decided on the first call: does fn accept tensors?

    # ---------------------------------------------------------------- evaluation
    def _check_torch(self) -> bool:
        if self._torch is None:
            try:
                shape = (2,) if self.n_units is None else (2, self.n_units)
                x = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
                self._torch = isinstance(self.fn(x), torch.Tensor)
            except Exception:  # a numpy-only function: fall back to finite differences
                self._torch = False
        return self._torch

    def evaluate(self, x: np.ndarray, derivatives: int = 2) -> list[np.ndarray]:
        """``[phi, phi', phi'']`` (up to ``derivatives``) at ``x``, each of shape ``x.shape + (units,)``."""
        x = np.asarray(x, dtype=float)
        if self.n_units is not None:
            x = np.repeat(x[..., None], self.n_units, -1)
        res = self._evaluate_torch(x, derivatives) if self._check_torch() else self._evaluate_numpy(x, derivatives)
        if self.n_units is None:
            res = [r[..., None] for r in res]
        for r in res:
            if not np.isfinite(r).all():
                raise ValueError(f"activation {self.name!r} returned NaN or infinity inside the integration range.")
        return res

    def _evaluate_torch(self, x: np.ndarray, derivatives: int) -> list[np.ndarray]:
        t = torch.tensor(x, dtype=torch.float64, requires_grad=derivatives > 0)
        with torch.enable_grad():
            cur = self.fn(t)
            if derivatives > 0 and not cur.requires_grad:
                raise ValueError(
                    f"activation {self.name!r} returned a tensor without autograd history, so its derivative "
                    "cannot be computed: write it with differentiable torch operations, or pass a function of "
                    "numpy arrays (differentiated by finite differences)."
                )
            out = [cur]
            for _ in range(derivatives):
                if not cur.requires_grad:  # piecewise linear: the next derivative is 0
                    cur = torch.zeros_like(t)
                else:  # elementwise: the gradient of the sum is the derivative
                    try:
                        (g,) = torch.autograd.grad(cur.sum(), t, create_graph=True, allow_unused=True)
                    except RuntimeError as exc:
                        raise ValueError(
                            f"autograd cannot differentiate activation {self.name!r} ({exc}); write it with "
                            "differentiable torch operations, or pass a function of numpy arrays."
                        ) from None
                    cur = torch.zeros_like(t) if g is None else g
                out.append(cur)
        # force: a derivative that autograd knows to be zero comes back as a ZeroTensor
        return [torch.broadcast_to(o.detach(), t.shape).to("cpu", torch.float64).numpy(force=True) for o in out]

    def _evaluate_numpy(self, x: np.ndarray, derivatives: int) -> list[np.ndarray]:
        f = lambda v: np.broadcast_to(np.asarray(self.fn(v), float), v.shape)
        h = 1e-3 * np.maximum(1.0, np.abs(x))
        y0 = f(x)
        out = [y0]
        if derivatives >= 1:  # fourth-order central differences
            yp, ym, yp2, ym2 = f(x + h), f(x - h), f(x + 2 * h), f(x - 2 * h)
            out.append((8 * (yp - ym) - (yp2 - ym2)) / (12 * h))
            if derivatives >= 2:
                out.append((16 * (yp + ym) - (yp2 + ym2) - 30 * y0) / (12 * h**2))
        return out

    # ---------------------------------------------------------------- expectations
    def _zcuts(self, q: float) -> np.ndarray:
        return self.kinks / math.sqrt(q)

    def moments(self, q) -> GaussianMoments:
        q = np.asarray(q, dtype=float)
        flat = np.atleast_1d(q).ravel()
        if self.kinks.size and np.any(self.kinks != 0):
            cuts = np.stack([self._zcuts(v) for v in flat])
        else:
            cuts = np.broadcast_to(self.kinks, (flat.size, self.kinks.size))
        z, w = _split_nodes(cuts)  # (nq, n)
        phi, d1, d2 = self.evaluate(np.sqrt(flat)[:, None] * z, 2)
        e = lambda a: np.einsum("qn,qnu->q", w, a) / a.shape[-1]
        res = [e(phi * phi), e(d1 * d1), e(phi * d2), e(d2 * d2)]
        return GaussianMoments(q, *(r.reshape(q.shape) for r in res))

    def _pairs(self, qa, qb, c):
        """Nodes and weights for ``u_a = sqrt(qa)(a Z1 + b Z2)``, ``u_b = sqrt(qb)(a Z1 - b Z2)``.

        ``a = sqrt((1 + c) / 2)``, ``b = sqrt((1 - c) / 2)``. The outer variable ``Z2``
        runs along the difference of the two pre-activations, the inner ``Z1`` along
        their sum; for each ``Z2`` the inner rule is split where ``u_a`` or ``u_b``
        crosses a kink, and the outer rule where two such cuts meet. The integrand is
        then smooth on every panel for any ``c``, including ``c -> 1`` where the kink
        lines of ``u_a`` and ``u_b`` nearly coincide. Arguments are 1-d arrays (one
        entry per pair); returns ``a Z1``, ``b Z2`` and weights of shape ``(P, n2, n1)``.
        """
        a = np.sqrt(np.clip((1.0 + c) / 2.0, 0.0, 1.0))[:, None]
        b = np.sqrt(np.clip((1.0 - c) / 2.0, 0.0, 1.0))[:, None]
        # c = +-1 needs no special case: a tiny divisor sends the cuts out of range
        a_, b_ = np.maximum(a, 1e-300), np.maximum(b, 1e-300)
        ka, kb = self.kinks[None, :] / np.sqrt(qa)[:, None], self.kinks[None, :] / np.sqrt(qb)[:, None]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            outer = np.nan_to_num((ka[:, :, None] - kb[:, None, :]).reshape(len(c), -1) / (2.0 * b_))
            z2, w2 = _split_nodes(outer, 2 * _PANEL)  # (P, n2)
            inner = np.concatenate([ka[:, None, :] - (b * z2)[..., None], kb[:, None, :] + (b * z2)[..., None]], -1)
            z1, w1 = _split_nodes(np.nan_to_num(inner / a_[..., None]), 2 * _PANEL)  # (P, n2, n1)
        return a[..., None] * z1, np.broadcast_to((b * z2)[..., None], z1.shape), w2[..., None] * w1

    def cross(self, qa, qb, c, derivative: int = 0):
        qa, qb, c = (np.atleast_1d(np.asarray(v, float)) for v in (qa, qb, c))
        qa, qb, c = np.broadcast_arrays(qa, qb, c)
        shape = qa.shape
        qa, qb, c = qa.ravel(), qb.ravel(), c.ravel()
        out = np.empty(c.size)
        for i in range(0, c.size, 4):  # a few pairs at a time bounds the memory
            s = slice(i, i + 4)
            az, bz, w = self._pairs(qa[s], qb[s], c[s])
            sa, sb = np.sqrt(qa[s])[:, None, None], np.sqrt(qb[s])[:, None, None]
            fa = self.evaluate(sa * (az + bz), derivative)[derivative]
            fb = self.evaluate(sb * (az - bz), derivative)[derivative]
            out[s] = np.einsum("pij,pij->p", w, np.mean(fa * fb, -1))
        return out.reshape(shape) if shape != (1,) else float(out[0])

    def half_sq_diff(self, q: float, delta: float) -> float:
        c = np.array([1.0 - delta])
        az, bz, w = self._pairs(np.array([q]), np.array([q]), c)
        # u_a - u_b = 2 sqrt(q) b Z2 exactly: the two arguments never come from a difference of c's
        fa = self.evaluate(math.sqrt(q) * (az + bz), 0)[0]
        fb = self.evaluate(math.sqrt(q) * (az - bz), 0)[0]
        return float(0.5 * np.sum(w * np.mean((fa - fb) ** 2, -1)))
