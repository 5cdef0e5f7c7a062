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

Derivatives are ``g_i' = f_i B_i`` with the constants and the recurrence of ``B_i`` from
:func:`sklearn_slaf.basis.derivative` (``B_1 = 1``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .. import basis as _basis

__all__ = ["STACK_LIMIT", "stacked_backward", "stacked_forward"]

#: Largest ``k * N * U`` for which the stacked kernels are used. Measured on a 2-core
#: x86 machine (U = 64, forward + backward): stacked takes 0.3-0.75 of the streaming
#: time up to about 200k elements, then 2-4 times as long, once every fresh stack
#: of that size is page-faulted in (the streaming kernels recycle scratch memory).
STACK_LIMIT = 3 * 2**16

_factor_cache: dict[tuple, Tensor] = {}


def _factors(family: str, k: int, like: Tensor) -> Tensor:
    """``f_i`` of ``g_i' = f_i B_i`` for ``i = 1 .. k`` as a ``(k, 1)`` tensor."""
    key = (family, k, like.device, like.dtype)
    f = _factor_cache.get(key)
    if f is None:
        vals = [_basis.derivative(family, i)[0] for i in range(1, k + 1)]
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
    """``B_2 .. B_k`` of the derivatives (:func:`sklearn_slaf.basis.derivative`) as a ``(k - 1, N, U)`` tensor."""
    if _basis.derivative(family, 1)[1] is None:  # B_i = g_(i-1)
        return G[:-1]
    B = torch.empty_like(G[1:])
    for m in range(B.shape[0]):  # B[m] = B_(m+2) = B_m + c g_(m+1), with B_0 = 0 and B_1 = 1
        torch.mul(G[m], _basis.derivative(family, m + 2)[1], out=B[m])
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
    # dL/dg_i f_i / r = yc (a_i f_i / r) - (w_i f_i / r) d_i, summed against B_i
    dg = torch.mul(yc, (a * f)[:, None])
    dg.addcmul_(D, (w * f)[:, None], value=-1.0)
    if G.shape[0] == 1:
        return dg[0], grad_coef, sum_y
    grad_x = torch.mul(dg[1:], _bases(family, G)).sum(0).add_(dg[0])
    return grad_x, grad_coef, sum_y
