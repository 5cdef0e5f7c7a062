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
        return g @ w if self.need_input_grad else None


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
    kernels do not cover (one row, no normalisation, ``fourier``) go through autograd.
    """

    def __init__(self, layer: SLAF) -> None:
        self.layer, self.fallback, self.saved = layer, _Autograd(layer), None

    def forward(self, h: Tensor) -> Tensor:
        layer = self.layer
        if not (layer.uses_batch_statistics(h.shape[0]) and layer.basis in _kernels.FUSED_BASES):
            self.saved = None
            return self.fallback.forward(h)
        w = layer.count_batch(h.shape[0])
        r = layer.update_input_range(h, w)
        coef, bias = layer.per_unit(layer.effective_coefficients()), layer.per_unit(layer.bias)
        out, mean, var, self.saved = _kernels.normalized_forward(layer.basis, h, r, coef, bias, layer.normalize_eps)
        layer.update_running_stats(mean.T, var.T, w)
        return out

    def backward(self, g: Tensor) -> Tensor:
        if self.saved is None:
            return self.fallback.backward(g)
        layer, (saved, self.saved) = self.layer, (self.saved, None)
        grad_x, grad_c, grad_b = _kernels.normalized_backward(layer.basis, g, saved, True)
        gc, gb = layer.sum_per_group(grad_c), layer.sum_per_group(grad_b)
        if layer.gate_logit is not None:  # chain rule through coef * sigmoid(gate_logit)
            sig = torch.sigmoid(layer.gate_logit)
            add_grad(layer.gate_logit, gc * layer.coef * sig * (1.0 - sig))
            gc = gc * sig
        add_grad(layer.coef, gc)
        add_grad(layer.bias, gb)
        return grad_x


def _activation_op(act: nn.Module):
    if type(act).forward is SLAF.forward:
        return _SLAF(act)
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
    >>> net = SLNN(3, (8,), degree=3, generator=torch.Generator().manual_seed(0)).train()
    >>> loss = Engine(net, SquaredError(net)).loss_and_grad(torch.randn(16, 3), torch.randn(16, 1))
    >>> net.output.weight.grad.shape
    torch.Size([1, 8])
    """

    def __init__(self, module, loss) -> None:
        self.module, self.loss = module, loss
        ops: list = []
        for lin, act in zip(module.hidden, module.activations):
            ops += [_Linear(lin, need_input_grad=bool(ops)), _activation_op(act)]
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
        m = self.module
        h = m.standardize(x)
        for op in self.ops:
            h = op.forward(h)
        loss, g = self.loss.value_and_grad(h, target, w)
        for op in reversed(self.ops):
            g = op.backward(g)
        return loss
