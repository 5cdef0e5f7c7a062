"""Gaussian quadrature shared by the layer's initial fit and the mean-field maths.

Composite Gauss-Legendre panels on ``[-L, L]`` standard deviations, optionally split
at given points (the kinks of ReLU-like functions), so the integrand is smooth on every
panel and the rule converges exponentially.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["interval_nodes", "normal_rule", "split_nodes"]

_L = 12.0  # integration range in standard deviations: the Gaussian weight beyond is < 1e-31
_PANEL = 0.75  # panel width in standard deviations
_NODES = 16  # Gauss-Legendre nodes per panel
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_NODES)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def interval_nodes(a: np.ndarray, b: np.ndarray, n_panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes/weights on ``[a, b]`` (arrays, broadcast) cut into equal panels."""
    a, b = np.asarray(a, float)[..., None], np.asarray(b, float)[..., None]
    k = np.arange(n_panels)
    lo = a + (b - a) * k / n_panels  # (..., n_panels)
    half = (b - a) / (2 * n_panels)
    x = (lo + half)[..., None] + half[..., None] * _GL_X  # (..., n_panels, nodes)
    w = np.broadcast_to(half[..., None] * _GL_W, x.shape)
    return x.reshape(*x.shape[:-2], -1), w.reshape(*w.shape[:-2], -1)


def split_nodes(cuts: np.ndarray, panel: float = _PANEL) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal quadrature on ``[-L, L]`` split at ``cuts`` (shape (..., n_cuts)).

    Returns nodes ``z`` and weights ``w`` (Gaussian density included) of shape
    ``(..., n)``; every row has the same number of nodes so rows can be stacked.
    """
    cuts = np.clip(np.sort(np.asarray(cuts, float), axis=-1), -_L, _L)
    edges = np.concatenate([np.full(cuts.shape[:-1] + (1,), -_L), cuts, np.full(cuts.shape[:-1] + (1,), _L)], -1)
    # the same number of panels on every piece keeps rows stackable; a piece at most
    # 2L long then has panels of at most 2L / per
    per = max(1, int(math.ceil(2 * _L / panel / (cuts.shape[-1] + 1))))
    zs, ws = [], []
    for i in range(edges.shape[-1] - 1):
        z, w = interval_nodes(edges[..., i], edges[..., i + 1], per)
        zs.append(z)
        ws.append(w)
    z, w = np.concatenate(zs, -1), np.concatenate(ws, -1)
    return z, w * _INV_SQRT_2PI * np.exp(-0.5 * z**2)


def normal_rule(cuts=(0.0,)) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``E[f(Z)]``, ``Z ~ N(0, 1)``, split at ``cuts``.

    Examples
    --------
    >>> from sklearn_slaf._gauss import normal_rule
    >>> z, w = normal_rule()
    >>> round(float(w.sum()), 12), round(float(w @ z**2), 12), round(float(w @ abs(z)), 12)
    (1.0, 1.0, 0.797884560803)
    """
    z, w = split_nodes(np.asarray(cuts, dtype=float).reshape(1, -1))
    return z[0], w[0]
