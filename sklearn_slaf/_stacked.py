"""Stacked kernels of the training-mode SLAF layer, for small batches.

The streaming kernels of :mod:`sklearn_slaf._kernels` touch one ``(N, U)`` element at
a time, which is what large batches need, but cost about ten tensor operations per
degree in each direction. On the mini-batches of tabular training (a few hundred rows)
each operation costs more in dispatch than in arithmetic, so here the ``k`` elements
live in one ``(k, N, U)`` stack and every formula of the streaming kernels' docstring
is applied to the whole stack at once: about 15 operations forward and 20 backward,
whatever the degree. The stack is kept for the backward pass (``k N U`` numbers), so
:func:`sklearn_slaf._kernels.normalized_forward` only takes this path below
:data:`STACK_LIMIT` elements.

Derivatives are written ``g_{j+1}' = f_j base_j`` with ``base_0 = 1`` and, for
``j >= 1``, ``base_j = g_j`` (power, taylor, hermite) or the recurrences
``base_j = base_{j-2} + c_j g_j`` of the Chebyshev (``U_j``, ``c_j = 2``) and Legendre
(``P_{j+1}'``, ``c_j = 2j + 1``) families.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import basis as _basis

__all__ = ["STACK_LIMIT", "stacked_backward", "stacked_forward"]

#: Largest ``k * N * U`` for which the stacked kernels are used. Measured on a 2-core
#: x86 machine (U = 64, forward + backward): stacked takes 0.3-0.75 of the streaming
#: time up to about 200k elements, then 2-4 times as long, once every fresh stack
#: of that size is page-faulted in (the streaming kernels recycle scratch memory).
STACK_LIMIT = 3 * 2**16

_SIMPLE = ("power", "taylor", "hermite")
_factor_cache: dict[tuple, Tensor] = {}


def _factors(family: str, k: int, like: Tensor) -> Tensor:
    """``f_j`` of ``g_{j+1}' = f_j base_j`` as a ``(k, 1)`` tensor."""
    key = (family, k, like.device, like.dtype)
    f = _factor_cache.get(key)
    if f is None:
        vals = [1.0] * k if family in ("taylor", "legendre") else [float(j + 1) for j in range(k)]
        f = _factor_cache[key] = torch.tensor(vals, dtype=like.dtype, device=like.device)[:, None]
    return f


def _stack(family: str, u: Tensor, k: int, out: Tensor) -> Tensor:
    """Fill ``out`` (``(k, N, U)``) with ``g_1(u) .. g_k(u)`` by the family's recurrence."""
    out[0].copy_(u)
    for n in range(1, k):
        a, b = _basis.recurrence(family, n)  # g_(n+1) = a u g_n - b g_(n-1)
        nxt = torch.mul(out[n - 1], u, out=out[n])
        if a != 1.0:
            nxt.mul_(a)
        if b != 0.0:
            if n == 1:
                nxt.sub_(b)
            else:
                nxt.sub_(out[n - 2], alpha=b)
    return out


def _bases(family: str, G: Tensor) -> Tensor:
    """``base_1 .. base_{k-1}`` of the derivatives as a ``(k - 1, N, U)`` tensor."""
    if family in _SIMPLE:
        return G[:-1]
    cheb = family == "chebyshev"
    B = torch.empty_like(G[1:])
    for m in range(B.shape[0]):
        c = 2.0 if cheb else 2.0 * m + 3.0  # c_j with j = m + 1
        torch.mul(G[m], c, out=B[m])
        if m == 1:
            B[m].add_(1.0)
        elif m >= 2:
            B[m].add_(B[m - 2])
    return B


def stacked_forward(
    family: str, x: Tensor, r: Tensor | None, coef: Tensor, bias: Tensor, eps: float
) -> tuple[Tensor, Tensor, Tensor, tuple]:
    """Training-mode SLAF output, batch mean and variance ``(k, U)`` and the backward context."""
    k = coef.shape[1]
    G = torch.empty((k, *x.shape), dtype=x.dtype, device=x.device)
    _stack(family, x if r is None else x / r, k, G)
    mean = G.mean(1)
    D = G - mean[:, None]
    # two-pass variance: torch.var_mean's Welford pass over the middle axis is ~40x slower here
    var = torch.mul(D, D).mean(1)
    s = torch.rsqrt(var + eps)
    # (k, U) in row-major order: a transposed operand would give every later stack its strides
    a = torch.mul(s, coef.t()).contiguous()
    out = torch.mul(D, a[:, None]).sum(0).add_(bias)
    return out, mean, var, (G, D, r, s, a)


def stacked_backward(
    family: str, gy: Tensor, ctx: tuple, need_x: bool = True
) -> tuple[Tensor | None, Tensor, Tensor]:
    """Input, per-unit coefficient ``(U, k)`` and bias gradients from :func:`stacked_forward`'s context."""
    G, D, r, s, a = ctx
    n = gy.shape[0]
    sum_y = gy.sum(0)
    sp = torch.mul(D, gy).sum(1).mul_(s)
    grad_coef = sp.t()
    if not need_x:
        return None, grad_coef, sum_y
    yc = torch.sub(gy, sum_y, alpha=1.0 / n)
    w = torch.mul(a, s).mul_(sp).mul_(1.0 / n)
    f = _factors(family, G.shape[0], G)
    if r is not None:
        f = f / r
    # dL/dg_j f_j / r = yc (a_j f_j / r) - (w_j f_j / r) d_j, summed against base_j
    dg = torch.mul(yc, (a * f)[:, None])
    dg.addcmul_(D, (w * f)[:, None], value=-1.0)
    if G.shape[0] == 1:
        return dg[0], grad_coef, sum_y
    grad_x = torch.mul(dg[1:], _bases(family, G)).sum(0).add_(dg[0])
    return grad_x, grad_coef, sum_y
