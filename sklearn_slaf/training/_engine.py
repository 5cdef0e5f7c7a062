"""Autograd-free forward and backward pass of an :class:`~sklearn_slaf.network.SLNN` on a batch.

On mini-batches of a few hundred rows a training step is dominated by per-operation
overhead, not arithmetic: building and walking the autograd graph, and the Python
around each module, cost more than the matrix products. The engine walks the network
as a list of layer operations that keep exactly what their backward pass needs and
write parameter gradients straight into ``.grad`` (views of the flat buffer of
:mod:`sklearn_slaf.training._optim`):

* linear layers: one ``addmm`` forward; ``addmm_`` into the weight gradient backward;
* ReLU, tanh, sigmoid, GELU, SiLU/swish, leaky ReLU: in place forward, torch's own
  derivative kernels backward;
* SLAF layers in training mode: the fused kernels of :mod:`sklearn_slaf._kernels`
  (see ``_SLAF`` below), reading the layer through its small engine interface;
* anything else (batch normalisation, the Fourier basis, SLAF without normalisation,
  other activations): a local autograd graph around that one module.

The maths are those of ``loss.backward()`` on the module; the tests check gradients
against autograd.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .. import _kernels
from .. import basis as _basis
from .._batch_weights import BatchNorm1d
from .._kernels import _native
from ..activation import SLAF
from ..network import SLNN
from ._optim import add_grad

__all__ = ["Engine"]

_aten = torch.ops.aten


class _Linear:
    def __init__(self, lin: nn.Linear, need_input_grad: bool) -> None:
        self.lin, self.need_input_grad, self.h = lin, need_input_grad, None

    def forward(self, h: Tensor) -> Tensor:
        self.h = h
        return torch.addmm(self.lin.bias, h, self.lin.weight.t())

    def backward(self, g: Tensor) -> Tensor | None:
        w, b, h = self.lin.weight, self.lin.bias, self.h
        self.h = None
        if w.grad is not None:
            w.grad.addmm_(g.t(), h)
        elif w.requires_grad:
            w.grad = g.t() @ h
        add_grad(b, g.sum(0))
        if not self.need_input_grad:
            return None
        # one output: the product is an outer product, which BLAS runs as a slow (N, 1) x (1, U) matmul;
        # the broadcast multiply computes the same single products (bit for bit) at half the time
        return g * w if w.shape[0] == 1 else g @ w


class _Pointwise:
    """A parameter-free activation: in-place forward, torch's derivative kernel backward."""

    def __init__(self, forward_, backward, save_output: bool) -> None:
        self._forward, self._backward, self.save_output, self.saved = forward_, backward, save_output, None

    def forward(self, h: Tensor) -> Tensor:
        if self.save_output:
            self.saved = self._forward(h)  # h is the fresh output of a linear layer, ours to overwrite
            return self.saved
        self.saved = h
        return self._forward(h)

    def backward(self, g: Tensor) -> Tensor:
        saved, self.saved = self.saved, None
        return self._backward(g, saved)


def _pointwise(act: nn.Module) -> _Pointwise | None:
    # exact types: a subclass may compute something else in its forward
    kind = type(act)
    if kind is nn.ReLU:
        return _Pointwise(torch.relu_, lambda g, y: _aten.threshold_backward(g, y, 0), True)
    if kind is nn.Tanh:
        return _Pointwise(torch.tanh_, _aten.tanh_backward, True)
    if kind is nn.Sigmoid:
        return _Pointwise(torch.sigmoid_, _aten.sigmoid_backward, True)
    if kind is nn.LeakyReLU and act.negative_slope > 0:
        s = act.negative_slope
        # with a positive slope the output has the input's sign, so the derivative reads the output
        return _Pointwise(lambda h: _aten.leaky_relu_(h, s), lambda g, y: _aten.leaky_relu_backward(g, y, s, True),
                          True)
    if kind is nn.SiLU:
        return _Pointwise(torch.nn.functional.silu, _aten.silu_backward, False)
    if kind is nn.GELU:
        a = act.approximate
        return _Pointwise(lambda h: _aten.gelu(h, approximate=a), lambda g, x: _aten.gelu_backward(g, x, approximate=a),
                          False)
    if kind is nn.Identity:
        return _Pointwise(lambda h: h, lambda g, _: g, True)
    return None


class _Autograd:
    """Any other module: a local autograd graph from its input to its output."""

    def __init__(self, module: nn.Module) -> None:
        self.module, self.saved = module, None

    def forward(self, h: Tensor) -> Tensor:
        x = h.detach().requires_grad_(True)
        with torch.enable_grad():
            y = self.module(x)
        self.saved = (x, y)
        return y.detach()

    def backward(self, g: Tensor) -> Tensor:
        (x, y), self.saved = self.saved, None
        torch.autograd.backward(y, g)  # parameter gradients accumulate into their .grad
        return x.grad


class _SLAF:
    """A SLAF layer's fused training step: the kernels of :mod:`sklearn_slaf._kernels`, no autograd.

    Reads the layer through its engine interface (:meth:`~sklearn_slaf.activation.SLAF.per_unit`,
    :meth:`~sklearn_slaf.activation.SLAF.count_batch`, ...) and does what its ``forward``
    does in training mode, keeping only what the backward pass needs. Batches the fused
    kernels do not cover (one row, no normalisation, ``fourier``, weighted batch
    statistics) go through autograd.
    """

    def __init__(self, layer: SLAF) -> None:
        self.layer, self.fallback, self.saved = layer, _Autograd(layer), None
        # a step reads a dozen parameters and buffers, and nn.Module.__getattr__ costs about 0.5 us
        # a read (a tenth of a layer's step at batch 200): read its registries, which it keeps current
        self._params, self._buffers = layer._parameters, layer._buffers

    def forward(self, h: Tensor) -> Tensor:
        layer = self.layer
        if layer.batch_weight is not None or not (
            layer.uses_batch_statistics(h.shape[0]) and layer.basis in _kernels.FUSED_BASES
        ):
            self.saved = None
            return self.fallback.forward(h)
        bufs = self._buffers
        if _native.usable(h) and _in_place(h, bufs["running_mean"], bufs["running_var"]):
            return self._native_forward(h)
        w = layer.count_batch(h.shape[0])
        r = layer.update_input_range(h, w)
        coef, bias = layer.per_unit(layer.effective_coefficients()), layer.per_unit(layer.bias)
        out, mean, var, self.saved = _kernels.normalized_forward(layer.basis, h, r, coef, bias, layer.normalize_eps)
        layer.update_running_stats(mean.T, var.T, w)
        return out

    def _native_forward(self, h: Tensor) -> Tensor:
        # one C call does the layer's step and its bookkeeping (batch count, running statistics);
        # the mapped families' input range stays here
        layer, params, bufs = self.layer, self._params, self._buffers
        if layer.mapped:
            w = layer.count_batch(h.shape[0])
            r, count, momentum = layer.update_input_range(h, w), None, w
        else:
            r, count, momentum = None, bufs["num_batches_tracked"], layer.normalize_momentum
        coef = params["coef"] if params.get("gate_logit") is None else layer.effective_coefficients()
        out, saved = _native.fused_forward(
            layer.basis, h, r, coef, params["bias"], layer.normalize_eps,
            bufs["running_mean"], bufs["running_var"], count, momentum)
        self.saved = ("train", saved)
        return out

    def backward(self, g: Tensor) -> Tensor:
        if self.saved is None:
            return self.fallback.backward(g)
        layer, (saved, self.saved) = self.layer, (self.saved, None)
        if saved[0] == "train":
            # without a gate the kernel adds the group gradients straight into .grad
            params = self._params
            gc, gb = params["coef"].grad, params["bias"].grad
            direct = params.get("gate_logit") is None and _in_place(g, gc, gb)
            # g is the next linear layer's fresh input gradient, used by nothing else: grad_x goes over it
            grad_x, gc, gb = _native.fused_backward(layer.basis, g, saved[1], *((gc, gb) if direct else ()),
                                                    overwrite_gy=True)
            if not direct:
                _add_group_grads(layer, gc, gb)
            return grad_x
        grad_x, grad_c, grad_b = _kernels.normalized_backward(layer.basis, g, saved, True)
        _add_coefficient_grads(layer, grad_c, grad_b)
        return grad_x


def _in_place(like: Tensor, *buffers: Tensor | None) -> bool:
    """Whether the C kernels may write into ``buffers``: present, contiguous, of ``like``'s dtype and device."""
    dtype, device = like.dtype, like.device
    for b in buffers:
        if b is None or not b.is_contiguous() or b.dtype != dtype or b.device != device:
            return False
    return True


def _add_coefficient_grads(layer: SLAF, grad_c: Tensor, grad_b: Tensor) -> None:
    """Accumulate per-unit coefficient and bias gradients into a SLAF layer's (shared, gated) parameters."""
    _add_group_grads(layer, layer.sum_per_group(grad_c), layer.sum_per_group(grad_b))


def _add_group_grads(layer: SLAF, gc: Tensor, gb: Tensor) -> None:
    """Accumulate per-group coefficient and bias gradients into a SLAF layer's (gated) parameters."""
    if layer.gate_logit is not None:  # chain rule through coef * sigmoid(gate_logit)
        sig = torch.sigmoid(layer.gate_logit)
        add_grad(layer.gate_logit, gc * layer.coef * sig * (1.0 - sig))
        gc = gc * sig
    add_grad(layer.coef, gc)
    add_grad(layer.bias, gb)


class _DistributedSLAF:
    """A SLAF layer's training step with its batch statistics reduced across processes.

    The maths of the fused kernels (``_SLAF``) on the stacked basis, with the sums that
    span the batch (input range, element means and variances; in the backward pass the
    upstream gradient's sum and ``p_i``) reduced by the communicator: each process then
    normalises and differentiates its rows exactly as one process would the whole batch.
    Parameter gradients stay local shares; the solver sums them with the rest of the flat
    gradient.
    """

    def __init__(self, layer: SLAF, comm) -> None:
        self.layer, self.comm, self.fallback, self.saved = layer, comm, _Autograd(layer), None

    def forward(self, h: Tensor) -> Tensor:
        layer, comm = self.layer, self.comm
        n = comm.rows(h)
        if not (layer.uses_batch_statistics(n) and _basis.is_polynomial(layer.basis)):
            if layer.normalize_basis and layer.training and n > 1:
                raise ValueError(f"distributed=True does not support basis={layer.basis!r}; use a polynomial basis.")
            self.saved = None
            return self.fallback.forward(h)
        w = layer.count_batch(n)
        p, total = _global_shares(layer, h, comm)
        if p is not None:
            w = w * (total > 0).to(h.dtype)  # a batch of zero weight leaves the running statistics
        r = None
        if layer.mapped:
            if not h.shape[0]:
                local = h.new_zeros(h.shape[1])
            elif p is None:
                local = torch.maximum(h.amax(dim=0), h.amin(dim=0).neg())
            else:  # rows of weight 0 are absent
                local = torch.where(p[:, None] > 0, h.abs(), 0.0).amax(dim=0)
            r = comm.max_(local.clone()).clamp_min_(torch.finfo(h.dtype).tiny)
            if p is not None:
                r = torch.where(total > 0, r, layer.running_range)
            layer._blend(layer.running_range, r, w)
        u = h if r is None else h / r
        g = _basis.evaluate(layer.basis, u, layer.degree)  # (N, U, k)
        mean, d, var = _global_mean_var(g, p, n, comm)
        scale = torch.rsqrt(var + layer.normalize_eps)
        coef, bias = layer.per_unit(layer.effective_coefficients()), layer.per_unit(layer.bias)
        a = coef * scale
        layer.update_running_stats(mean, var, w)
        self.saved = (u, d, scale, a, r, n, p)
        return (d * a).sum(-1) + bias

    def backward(self, gy: Tensor) -> Tensor:
        if self.saved is None:
            return self.fallback.backward(gy)
        layer, comm = self.layer, self.comm
        (u, d, scale, a, r, n, q), self.saved = self.saved, None
        sum_y_local = gy.sum(0)
        p_local = (gy.unsqueeze(-1) * d).sum(0)
        sum_y, p = comm.sum(sum_y_local, p_local)
        # dL/dg_i = a_i (y - mean y - s_i^2 p_i d_i / N), then through the elements' derivatives in u;
        # with row weights q (summing to 1 over the global batch) 1/N becomes each row's q
        if q is None:
            dg = a * ((gy - sum_y / n).unsqueeze(-1) - scale.square() * p * d / n)
        else:
            dg = a * ((gy - q[:, None] * sum_y).unsqueeze(-1) - scale.square() * p * d * q[:, None, None])
        with torch.enable_grad():
            u_ = u.detach().requires_grad_(True)
            (grad_u,) = torch.autograd.grad(_basis.evaluate(layer.basis, u_, layer.degree), u_, dg)
        _add_coefficient_grads(layer, p_local * scale, sum_y_local)  # local shares: the solver sums them
        return grad_u if r is None else grad_u / r


class _DistributedBatchNorm:
    """``BatchNorm1d`` in training mode with its batch statistics reduced across processes."""

    def __init__(self, bn: nn.BatchNorm1d, comm) -> None:
        self.bn, self.comm, self.saved = bn, comm, None

    def forward(self, h: Tensor) -> Tensor:
        bn, comm = self.bn, self.comm
        n = comm.rows(h)
        if n < 2:
            raise ValueError("batch normalisation needs at least 2 rows in a batch.")
        p, total = _global_shares(bn, h, comm)
        mean, d, var = _global_mean_var(h, p, n, comm)
        scale = torch.rsqrt(var + bn.eps)
        if bn.track_running_stats:  # an unweighted batch counts its n rows, as torch's layer does
            # called unbound: it reads only torch's BatchNorm1d buffers, so plain torch layers take it too
            BatchNorm1d.update_weighted_running_stats(bn, mean, var, h.new_tensor(float(n)) if p is None else total)
        xhat = d * scale
        self.saved = (xhat, scale, n, p)
        return xhat * bn.weight + bn.bias if bn.affine else xhat

    def backward(self, g: Tensor) -> Tensor:
        bn, comm = self.bn, self.comm
        (xhat, scale, n, p), self.saved = self.saved, None
        sum_g_local, sum_gx_local = g.sum(0), (g * xhat).sum(0)
        if bn.affine:
            add_grad(bn.weight, sum_gx_local)
            add_grad(bn.bias, sum_g_local)
        sum_g, sum_gx = comm.sum(sum_g_local, sum_gx_local)
        gamma = bn.weight if bn.affine else 1.0
        if p is None:
            return gamma * scale * (g - sum_g / n - xhat * sum_gx / n)
        return gamma * scale * (g - p[:, None] * (sum_g + xhat * sum_gx))


def _global_mean_var(t: Tensor, p: Tensor | None, n: int, comm) -> tuple[Tensor, Tensor, Tensor]:
    """Mean, deviations and biased variance over the global batch's rows (the first axis of ``t``).

    ``p`` are this process's rows' shares of the global weight (:func:`_global_shares`), or
    ``None``: every one of the ``n`` global rows counts once.
    """
    pw = None if p is None else p.reshape((-1,) + (1,) * (t.dim() - 1))
    mean = comm.sum(t.sum(0) if pw is None else (t * pw).sum(0))[0]
    mean = mean / n if pw is None else mean
    d = t - mean
    var = comm.sum(d.square().sum(0) if pw is None else (d.square() * pw).sum(0))[0]
    return mean, d, (var / n if pw is None else var)


def _global_shares(layer: nn.Module, h: Tensor, comm) -> tuple[Tensor | None, Tensor | None]:
    """This process's rows' shares ``w / sum(w)`` of the global batch's weight, and that sum; ``None`` unweighted."""
    w = getattr(layer, "batch_weight", None)
    if w is None:
        return None, None
    if w.shape != (h.shape[0],):
        raise ValueError(f"the batch weights have shape {tuple(w.shape)} but this process's share of the batch "
                         f"has {h.shape[0]} rows; give one weight per row.")
    total = comm.sum(w.sum().reshape(1))[0][0]
    return w / total.clamp_min(torch.finfo(w.dtype).tiny), total


class _Chain:
    """Operations applied one after the other (a hidden layer's batch normalisation, then its activation)."""

    def __init__(self, ops: list) -> None:
        self.ops = ops

    def forward(self, h: Tensor) -> Tensor:
        for op in self.ops:
            h = op.forward(h)
        return h

    def backward(self, g: Tensor) -> Tensor:
        for op in reversed(self.ops):
            g = op.backward(g)
        return g


def _activation_op(act: nn.Module, comm=None):
    if type(act).forward is SLAF.forward:
        return _SLAF(act) if comm is None else _DistributedSLAF(act, comm)
    if comm is not None and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in act.modules()):
        # data-parallel: each batch normalisation reduces its statistics across processes too
        parts = list(act) if type(act) is nn.Sequential else [act]
        ops = []
        for part in parts:
            if type(part) in (nn.BatchNorm1d, BatchNorm1d):
                ops.append(_DistributedBatchNorm(part, comm))
            elif any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in part.modules()):
                raise ValueError(f"distributed=True cannot reduce the batch statistics of {type(part).__name__}.")
            else:
                ops.append(_activation_op(part, comm))
        return _Chain(ops)
    return _pointwise(act) or _Autograd(act)


class Engine:
    """Loss and parameter gradients of an SLNN on one batch, without a global autograd graph.

    Parameters
    ----------
    module : SLNN
    loss : object
        A loss of :mod:`sklearn_slaf.training._losses` (anything with ``value_and_grad(z, target, w)``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.training._engine import Engine
    >>> from sklearn_slaf.training._losses import SquaredError
    >>> from sklearn_slaf.network import SLNN
    >>> gen = torch.Generator().manual_seed
    >>> net = SLNN(3, (8,), degree=3, generator=gen(0)).train()
    >>> X, Y = torch.randn(16, 3, generator=gen(1)), torch.randn(16, 1, generator=gen(2))
    >>> loss = Engine(net, SquaredError(net)).loss_and_grad(X, Y)
    >>> grads = [p.grad.clone() for p in net.parameters()]
    >>> net.zero_grad()
    >>> reference = SquaredError(net)(net(X), Y).mean()  # the same loss through autograd
    >>> reference.backward()
    >>> bool(torch.allclose(loss, reference))
    True
    >>> all(torch.allclose(g, p.grad, atol=1e-6) for g, p in zip(grads, net.parameters()))
    True
    """

    def __init__(self, module, loss, comm=None) -> None:
        self.module, self.loss, self.comm = module, loss, comm
        # set by a solver that standardised the whole training set once (SLNN.standardize is row-wise)
        self.inputs_standardized = False
        ops: list = []
        for lin, act in zip(module.hidden, module.activations):
            ops += [_Linear(lin, need_input_grad=bool(ops)), _activation_op(act, comm)]
        ops.append(_Linear(module.output, need_input_grad=bool(ops)))
        self.ops = ops

    @staticmethod
    def supports(module: nn.Module, loss) -> bool:
        """Whether the engine can train ``module`` with ``loss``.

        The engine re-implements :meth:`SLNN.forward <sklearn_slaf.network.SLNN.forward>`, so
        a subclass with its own ``forward``, linear layers of another type or any module
        hook (which the engine would not call) send training through autograd instead.
        """
        if not (isinstance(module, SLNN) and type(module).forward is SLNN.forward and hasattr(loss, "value_and_grad")):
            return False
        if any(type(lin) is not nn.Linear for lin in module.linear_layers):
            return False
        hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
        return not any(getattr(m, h, None) for m in module.modules() for h in hooks)

    @torch.no_grad()
    def loss_and_grad(self, x: Tensor, target: Tensor, w: Tensor | None = None) -> Tensor:
        """Batch loss (weighted mean); gradients are *added* to the parameters' ``.grad``."""
        h = self.forward(x)
        loss, g = self.loss.value_and_grad(h, target, w)
        if self.comm is not None:
            # this process's rows are a share of the batch: its gradient is that share of the global mean's
            mine = torch.tensor(float(x.shape[0]), device=x.device) if w is None else w.sum().double()
            total, summed = self.comm.sum(mine.reshape(1), (loss.double() * mine).reshape(1))
            g = g * (mine / total).to(g.dtype)
            loss = (summed / total).reshape(()).to(loss.dtype)
        for op in reversed(self.ops):
            g = op.backward(g)
        return loss

    def forward(self, x: Tensor) -> Tensor:
        """The network's output on a batch, keeping what the backward pass needs (training mode)."""
        h = x if self.inputs_standardized else self.module.standardize(x)
        for op in self.ops:
            h = op.forward(h)
        return h
