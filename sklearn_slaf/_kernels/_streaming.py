"""Fused training-mode kernels of the SLAF layer for the polynomial basis families.

:func:`normalized_forward` and :func:`normalized_backward` (the autograd-free pair the
training engine calls) and :func:`normalized_basis` (their autograd wrapper) send small
batches to the stacked kernels of :mod:`sklearn_slaf._kernels._stacked`, which spend fewer tensor
operations, and large ones to the streaming kernels below, which spend less memory.

The reference forward of :class:`~sklearn_slaf.activation.SLAF` stacks the ``k`` basis
elements into an ``(N, U, k)`` tensor, normalises it with :func:`torch.var_mean` and
lets autograd keep every intermediate for the backward pass. That costs far more time
and memory than the maths needs.

Here the elements ``g_1 .. g_k`` are produced one at a time by the family's own
three-term recurrence (the one :func:`sklearn_slaf.basis.evaluate` uses, so rounding
behaves as in the reference; nothing goes through the ill-conditioned power basis),
each is normalised and folded into the output as soon as it exists, and only
the input ``x`` plus ``(k, U)`` statistics are saved for the backward pass, which
recomputes ``u = x / r``, the elements and their derivatives instead of storing them.

Backward maths (batch-norm backward on every element, then the chain rule through
``u``): with upstream gradient ``y``, ``d_i = g_i - mu_i``, ``s_i = (var_i + eps)^-1/2``,
``a_i = c_i s_i`` and ``p_i = sum_n y d_i``,

* ``dL/dc_i = s_i p_i`` and ``dL/db = sum_n y``;
* ``dL/dg_i = a_i (y - mean(y) - s_i^2 p_i d_i / N)`` and
  ``dL/dx = sum_i dL/dg_i g_i'(u) / r``.

Derivatives (table :func:`sklearn_slaf.basis.derivative`): ``g_i' = i g_(i-1)`` (power,
hermite) or ``g_(i-1)`` (taylor) cost nothing; chebyshev (``T_i' = i U_(i-1)``,
``U_(i-1) = U_(i-3) + 2 T_(i-1)``) and legendre (``P_i' = P_(i-2)' + (2i - 1) P_(i-1)``)
cost one in-place pass per degree.

Performance notes. On a CPU, a fresh multi-megabyte tensor is usually handed back to
the operating system when freed and page-faulted in again on the next allocation,
which costs several times the arithmetic on it; the kernels therefore work in a few
recycled scratch buffers (:mod:`sklearn_slaf._kernels._scratch`) and in place wherever autograd is not
involved. Only plain eager torch operations are used, so the kernels run on any
device and dtype.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .. import basis as _basis
from . import _native, _stacked
from ._scratch import _scratch

__all__ = [
    "FUSED_BASES", "affine_basis", "clenshaw", "elements", "normalized_backward", "normalized_basis",
    "normalized_forward",
]

FUSED_BASES: frozenset[str] = frozenset({"power", "taylor", "hermite", "chebyshev", "legendre"})

# elements of u from which affine_basis recycles scratch buffers (256 KiB of float32)
_RECYCLE_FROM = 1 << 16

# g_i'(u) is represented as ``factor * base`` with ``base=None`` standing for the
# constant 1, so that scalar factors fold into per-unit vectors instead of costing a
# pass over an (N, U) tensor.
_Derivative = tuple[float, "Tensor | None"]


def _step(family: str, n: int, u: Tensor, cur: Tensor, prev: Tensor | None, out: Tensor | None) -> Tensor:
    """``g_{n+1}`` from ``g_n`` (``cur``) and ``g_{n-1}`` (``prev``; ``None`` is ``g_0 = 1``).

    The result goes into ``out`` (a fresh tensor if ``None``), which may be ``prev``
    itself: then ``g_{n-1}`` is overwritten. In-place operations act only on the
    result, whose value no backward formula needs, so with ``out=None`` the step is
    autograd-safe.
    """
    a, b = _basis.recurrence(family, n)  # g_(n+1) = a u g_n - b g_(n-1)
    if b == 0.0:  # power, taylor: no g_(n-1) term
        nxt = torch.mul(cur, u, out=out)
        return nxt if a == 1.0 else nxt.mul_(a)
    if out is not None and out is prev:
        return prev.mul_(-b).addcmul_(u, cur, value=a)
    nxt = torch.mul(u, cur, out=out)
    if a != 1.0:
        nxt.mul_(a)
    return nxt.sub_(b) if prev is None else nxt.sub_(prev, alpha=b)


def elements(family: str, u: Tensor, degree: int, buffers: tuple[Tensor, Tensor] | None = None) -> Iterator[Tensor]:
    """Yield ``g_1(u) .. g_degree(u)`` one at a time, holding at most three of them.

    Parameters
    ----------
    family : str
        One of :data:`FUSED_BASES`.
    u : torch.Tensor
        Input, already mapped by ``x / r`` for the families that need it.
    degree : int
        Number of elements.
    buffers : pair of torch.Tensor, optional
        Two tensors shaped like ``u`` to write ``g_2, g_3, ..`` into in turn: each
        yielded element then stays valid only until the next-but-one is yielded,
        and nothing is differentiable. Without them every element is a fresh,
        autograd-safe tensor.
    """
    prev, cur = None, u
    yield u  # g_1 = u for every polynomial family
    for n in range(1, degree):
        out = None if buffers is None else buffers[n % 2]  # from g_4 on this is g_(n-1) itself
        prev, cur = cur, _step(family, n, u, cur, prev, out)
        yield cur


def _with_derivatives(
    family: str, u: Tensor, degree: int, buffers: list[Tensor]
) -> Iterator[tuple[Tensor, _Derivative]]:
    """Yield ``(g_i, (factor, base))`` with ``g_i'(u) = factor * base``; uses 2 or 4 buffers."""
    gen = elements(family, u, degree, (buffers[0], buffers[1]))
    if _basis.derivative(family, 1)[1] is None:  # B_i = g_(i-1)
        prev = None
        for i, g in enumerate(gen, start=1):
            yield g, (_basis.derivative(family, i)[0], prev)
            prev = g
        return
    older = old = None  # B_(i-2), B_(i-1); None at i <= 2 stands for 0 and 1
    prev = None
    for i, g in enumerate(gen, start=1):
        f, c = _basis.derivative(family, i)
        if i >= 2:
            if i >= 4:  # B_(i-2) is one of our buffers and no longer needed
                nxt = older.add_(prev, alpha=c)
            else:
                nxt = torch.mul(prev, c, out=buffers[i % 2 + 2])
                if i == 3:
                    nxt.add_(1.0)
            older, old = old, nxt
        yield g, (f, old)
        prev = g


def affine_basis(family: str, u: Tensor, coef: Tensor, bias: Tensor) -> Tensor:
    """``bias + sum_i coef[:, i] g_i(u)`` by Clenshaw's rule, without materialising any ``g_i``.

    Differentiable by ordinary autograd. Used for evaluation mode, batches of one and
    layers without normalisation, where the coefficients are fixed per unit.

    With the recurrence ``g_(n+1) = a_n u g_n - b_n g_(n-1)`` of the family, Clenshaw's
    sums ``B_n = c_n + a_n u B_(n+1) - b_(n+1) B_(n+2)`` run from ``B_k = c_k`` down to
    ``B_1``, and the result is ``c_0 + u B_1 - b_1 B_2``: one fused multiply-add per
    degree for power and taylor (Horner's rule, ``b = 0``), two for the others, against
    three or four when every element is formed and summed. It stays in the family's own
    basis, so nothing goes through the ill-conditioned power form.

    Parameters
    ----------
    family : str
        One of :data:`FUSED_BASES`.
    u : torch.Tensor of shape (..., U)
    coef : torch.Tensor of shape (U, k)
    bias : torch.Tensor of shape (U,)
    """
    return clenshaw(family, u, coef.t().contiguous().unbind(0), bias)


def clenshaw(family: str, u: Tensor, columns: Sequence[Tensor], bias: Tensor) -> Tensor:
    """:func:`affine_basis` with the coefficients given as ``k`` contiguous ``(U,)`` tensors.

    Broadcasting a strided column of a ``(U, k)`` tensor costs about three times a
    contiguous one on small batches; callers that keep the coefficients between calls
    keep them in this form.
    """
    k = len(columns)
    # under autograd every B_n must survive for the backward pass; otherwise large inputs
    # recycle three buffers (small ones are cheaper to allocate than to fetch from the cache)
    recycle = u.numel() >= _RECYCLE_FROM and not (
        torch.is_grad_enabled() and any(t.requires_grad for t in (u, *columns, bias))
    )
    free = [_scratch.take(u) for _ in range(min(3, k - 1))] if recycle else []
    b1, b2 = columns[k - 1], None  # B_(n+1), B_(n+2); per-unit vectors until the first product
    for n in range(k - 1, 0, -1):
        a = _basis.recurrence(family, n)[0]
        out = next((t for t in free if t is not b1 and t is not b2), None)
        if out is None:
            new = torch.addcmul(columns[n - 1], u, b1, value=a)
        else:
            new = torch.addcmul(columns[n - 1], u, b1, value=a, out=out)
        # addcmul's backward needs only its inputs, so updating its result in place is safe
        b_next = _basis.recurrence(family, n + 1)[1]
        if b2 is not None and b_next != 0.0:
            new.sub_(b2, alpha=b_next)
        b1, b2 = new, b1
    out = torch.addcmul(bias, u, b1)
    b_first = _basis.recurrence(family, 1)[1]
    if b2 is not None and b_first != 0.0:
        out.sub_(b2, alpha=b_first)
    if free:
        _scratch.give(*free)
    return out


def normalized_forward(
    family: str, x: Tensor, r: Tensor | None, coef: Tensor, bias: Tensor, eps: float
) -> tuple[Tensor, Tensor, Tensor, tuple]:
    """Forward maths of :func:`normalized_basis` without autograd: ``out, mean, var, ctx``.

    ``ctx`` is what :func:`normalized_backward` needs. On a CPU running one torch thread
    the C kernels of :mod:`sklearn_slaf._kernels._native` take the batch when they could be
    compiled. Otherwise batches with ``k N U`` up to
    :data:`~sklearn_slaf._kernels._stacked.STACK_LIMIT` go through the stacked kernels of
    :mod:`sklearn_slaf._kernels._stacked` (fewer operations), larger ones stream.
    """
    if _native.usable(x):
        var = torch.empty(coef.shape[1], x.shape[1], dtype=x.dtype)
        out, saved = _native.fused_forward(family, x, r, coef, bias, eps, var=var)
        return out, _native.batch_mean(saved), var, ("native", saved)
    if x.numel() * coef.shape[1] <= _stacked.STACK_LIMIT:
        out, mean, var, ctx = _stacked.stacked_forward(family, x, r, coef, bias, eps)
        return out, mean, var, ("stacked", ctx)
    out, mean, var, scale = _streaming_forward(family, x, r, coef, bias, eps)
    return out, mean, var, ("streaming", (x, r, coef, mean, scale))


def normalized_backward(
    family: str, gy: Tensor, ctx: tuple, need_x: bool = True
) -> tuple[Tensor | None, Tensor, Tensor]:
    """Backward maths of :func:`normalized_basis`: ``grad_x, grad_coef, grad_bias`` (per unit).

    ``grad_x`` is ``None`` unless ``need_x``; see the module docstring for the formulas.
    """
    kind, saved = ctx
    if kind == "native":
        return _native.fused_backward(family, gy, saved, need_x=need_x)
    if kind == "stacked":
        return _stacked.stacked_backward(family, gy, saved, need_x)
    return _streaming_backward(family, gy, *saved, need_x)


def _streaming_forward(
    family: str, x: Tensor, r: Tensor | None, coef: Tensor, bias: Tensor, eps: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Streaming forward: ``out, mean, var, scale`` with ``scale = (var + eps) ** -0.5``."""
    # u goes into scratch and is recomputed in backward: saving x instead costs the
    # same memory and spares a page-faulted allocation
    work = [_scratch.take(x) for _ in range(3 if r is None else 4)]
    u = x if r is None else torch.div(x, r, out=work[3])
    out = torch.empty_like(u, memory_format=torch.contiguous_format)
    means, variances, scales = [], [], []
    shift = bias
    for i, g in enumerate(elements(family, u, coef.shape[1], (work[0], work[1]))):
        mu = g.mean(0)
        # two-pass variance: as accurate as torch.var_mean and far cheaper on a CPU
        var = torch.sub(g, mu, out=work[2]).square_().mean(0)
        s = torch.rsqrt(var + eps)
        a = coef[:, i] * s
        # out = sum_i a_i g_i + (b - sum_i a_i mu_i), the reference's own folding
        if i == 0:
            torch.mul(g, a, out=out)
        else:
            out.addcmul_(g, a)
        shift = shift - a * mu
        means.append(mu)
        variances.append(var)
        scales.append(s)
    _scratch.give(*work)
    out.add_(shift)
    return out, torch.stack(means), torch.stack(variances), torch.stack(scales)


def _streaming_backward(
    family: str, gy: Tensor, x: Tensor, r: Tensor | None, coef: Tensor, mean: Tensor, scale: Tensor,
    need_x: bool = True,
) -> tuple[Tensor | None, Tensor, Tensor]:
    """Streaming backward from the inputs and the ``(k, U)`` statistics."""
    n, k = x.shape[0], coef.shape[1]
    sum_y = gy.sum(0)
    d, tmp, yc = (_scratch.take(x) for _ in range(3))
    u = x if r is None else torch.div(x, r, out=_scratch.take(x))
    work = [_scratch.take(u) for _ in range(2 if family in ("power", "taylor", "hermite") else 4)]
    grad_x = None
    if need_x:
        pairs = _with_derivatives(family, u, k, work)
        torch.sub(gy, sum_y / n, out=yc)
        grad_x = torch.empty_like(u, memory_format=torch.contiguous_format)
    else:
        pairs = ((g, None) for g in elements(family, u, k, (work[0], work[1])))
    grad_coef = []
    for i, (g, deriv) in enumerate(pairs):
        torch.sub(g, mean[i], out=d)
        p = torch.mul(gy, d, out=tmp).sum(0)
        grad_coef.append(p * scale[i])
        if deriv is None:
            continue
        # dL/dg_i g_i' / r = f base (ar_i (y - mean y) - w_i d_i) with g_i' = f base
        f, base = deriv
        ar = coef[:, i] * scale[i] if r is None else coef[:, i] * scale[i] / r
        w = ar * scale[i].square() * p * (1.0 / n)
        if base is None:  # g_1' = 1
            torch.mul(d, w.neg(), out=grad_x).addcmul_(yc, ar)
        else:
            torch.mul(d, w.neg(), out=tmp).addcmul_(yc, ar)
            grad_x.addcmul_(tmp, base, value=f)
    _scratch.give(d, tmp, yc, *work, None if u is x else u)
    return grad_x, torch.stack(grad_coef, dim=1), sum_y


class _NormalizedBasis(torch.autograd.Function):
    """Training-mode SLAF on a batch: normalise each element with batch statistics."""

    @staticmethod
    def forward(ctx, x: Tensor, r: Tensor | None, coef: Tensor, bias: Tensor, family: str, eps: float):
        out, mean, var, saved = normalized_forward(family, x, r, coef, bias, eps)
        ctx.family, ctx.saved = family, saved  # intermediates, so kept on ctx rather than saved
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    @once_differentiable
    def backward(ctx, gy: Tensor, _gmean, _gvar):
        need_x, _, need_c, need_b = ctx.needs_input_grad[:4]
        grad_x, grad_c, grad_b = normalized_backward(ctx.family, gy, ctx.saved, need_x)
        return grad_x, None, grad_c if need_c else None, grad_b if need_b else None, None, None


def normalized_basis(
    family: str, x: Tensor, r: Tensor | None, coef: Tensor, bias: Tensor, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Training-mode SLAF output with batch statistics, and those statistics.

    Computes ``bias + sum_i coef[:, i] (g_i(u) - mu_i) / sqrt(var_i + eps)`` with
    ``u = x / r`` and the biased batch mean and variance of every element, saving only
    ``x`` and ``(k, U)`` statistics for the backward pass. Supports first derivatives
    (double backward raises).

    Parameters
    ----------
    family : str
        One of :data:`FUSED_BASES`.
    x : torch.Tensor of shape (N, U)
        Pre-activations, ``N >= 2``.
    r : torch.Tensor of shape (U,) or None
        Input range of the map ``u = x / r`` (treated as a constant), or ``None`` for
        no map.
    coef : torch.Tensor of shape (U, k)
        Per-unit coefficients of the normalised elements.
    bias : torch.Tensor of shape (U,)
    eps : float

    Returns
    -------
    out : torch.Tensor of shape (N, U)
    mean, var : torch.Tensor of shape (k, U)
        Batch statistics of the elements (not differentiable).
    """
    if family not in FUSED_BASES:
        raise ValueError(f"no streaming kernel for basis={family!r}; use one of {sorted(FUSED_BASES)}.")
    if r is not None:
        r = r.detach()
    return _NormalizedBasis.apply(x, r, coef, bias, family, float(eps))
