"""Training losses of the estimators, each in two forms.

``loss(out, target)`` gives per-sample losses of the module's *output* under autograd
(evaluation, L-BFGS, any module). :meth:`value_and_grad` gives the (weighted) batch
mean and its gradient with respect to the output layer's pre-scaling result ``z``
(``out = z * output_scale + output_offset``) in closed form, for the autograd-free
engine. The tests check that the two agree.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["SquaredError", "LogisticLoss", "SoftmaxCrossEntropy", "weighted_mean"]


def _sample_weights(w: Tensor | None, n: int) -> Tensor | float:
    """Per-sample factors of the batch mean: ``1/n`` or ``w / sum(w)``.

    A batch whose weights are all zero gets factors 0 (no loss, no gradient), not 0/0.
    """
    return 1.0 / n if w is None else w / w.sum().clamp_min(torch.finfo(w.dtype).tiny)


def _mean_and_grad(per: Tensor, grad: Tensor, w: Tensor | None) -> tuple[Tensor, Tensor]:
    """Batch mean of per-sample losses and, in place, the matching per-sample gradient rows."""
    f = _sample_weights(w, per.shape[0])
    if w is None:
        return per.mean(), grad.mul_(f)
    return (per * f).sum(), grad.mul_(f[:, None])


def weighted_mean(per_sample: Tensor, w: Tensor | None) -> Tensor:
    """Batch mean of per-sample losses, weighted by ``w`` when given (0 for an all-zero ``w``).

    Parameters
    ----------
    per_sample : torch.Tensor of shape (n,)
    w : torch.Tensor of shape (n,) or None
        Sample weights; ``None`` is the plain mean.

    Returns
    -------
    torch.Tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf.training import weighted_mean
    >>> losses = torch.tensor([1.0, 2.0, 3.0])
    >>> float(weighted_mean(losses, None)), float(weighted_mean(losses, torch.tensor([0.0, 1.0, 3.0])))
    (2.0, 2.75)
    >>> float(weighted_mean(losses, torch.zeros(3)))  # no weight: no loss, not 0/0
    0.0
    """
    if w is None:
        return per_sample.mean()
    return (per_sample * _sample_weights(w, per_sample.shape[0])).sum()


class SquaredError:
    """Squared error in standardised target units, averaged over outputs.

    Parameters
    ----------
    module : SLNN
        Its ``output_offset`` and ``output_scale`` define the standardisation.

    Examples
    --------
    With an output scale of 2, errors of 1 and 3 are 0.5 and 1.5 standardised units:

    >>> from types import SimpleNamespace
    >>> import torch
    >>> from sklearn_slaf.training import SquaredError
    >>> module = SimpleNamespace(output_offset=torch.tensor([0.0]), output_scale=torch.tensor([2.0]))
    >>> loss = SquaredError(module)
    >>> loss(torch.tensor([[1.0], [3.0]]), torch.zeros(2, 1)).tolist()
    [0.25, 2.25]

    The closed form for the engine takes the pre-scaling output ``z = (out - offset) / scale``
    and returns the batch mean and its gradient in ``z``:

    >>> value, grad = loss.value_and_grad(torch.tensor([[0.5], [1.5]]), torch.zeros(2, 1), None)
    >>> float(value), grad.tolist()
    (1.25, [[0.5], [1.5]])
    """

    def __init__(self, module) -> None:
        self.module = module

    def __call__(self, out: Tensor, target: Tensor) -> Tensor:
        return ((out - target) / self.module.output_scale).square().mean(dim=1)

    def value_and_grad(self, z: Tensor, target: Tensor, w: Tensor | None) -> tuple[Tensor, Tensor]:
        m = self.module
        d = z - (target - m.output_offset) / m.output_scale
        per = d.square().mean(1)
        return _mean_and_grad(per, d.mul_(2.0 / z.shape[1]), w)


class _LogitLoss:
    """A loss on logits ``out = z * output_scale + output_offset`` (the identity for the classifier)."""

    def __init__(self, module) -> None:
        self.module = module

    def _per_sample_and_grad(self, out: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def value_and_grad(self, z: Tensor, target: Tensor, w: Tensor | None) -> tuple[Tensor, Tensor]:
        m = self.module
        per, grad = self._per_sample_and_grad(torch.addcmul(m.output_offset, z, m.output_scale), target)
        return _mean_and_grad(per, grad.mul_(m.output_scale), w)


class LogisticLoss(_LogitLoss):
    """Binary cross-entropy on one logit; targets are 0/1 in a ``(n, 1)`` column.

    Parameters
    ----------
    module : SLNN
        Its ``output_offset`` and ``output_scale`` map ``z`` to the logit (the identity for
        the classifier).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import torch
    >>> from sklearn_slaf.training import LogisticLoss
    >>> module = SimpleNamespace(output_offset=torch.tensor([0.0]), output_scale=torch.tensor([1.0]))
    >>> loss = LogisticLoss(module)
    >>> [round(v, 4) for v in loss(torch.tensor([[0.0], [2.0]]), torch.ones(2, 1)).tolist()]  # log 2, log(1 + e^-2)
    [0.6931, 0.1269]
    >>> value, grad = loss.value_and_grad(torch.zeros(1, 1), torch.ones(1, 1), None)
    >>> round(float(value), 4), grad.tolist()  # sigmoid(0) - 1
    (0.6931, [[-0.5]])
    """

    def __call__(self, out: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(out[:, 0], target[:, 0], reduction="none")

    def _per_sample_and_grad(self, out: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        per = F.binary_cross_entropy_with_logits(out, target, reduction="none")[:, 0]
        return per, torch.sigmoid(out).sub_(target)


class SoftmaxCrossEntropy(_LogitLoss):
    """Multiclass cross-entropy on one logit per class; targets are class indices in a ``(n, 1)`` column.

    Parameters
    ----------
    module : SLNN
        Its ``output_offset`` and ``output_scale`` map ``z`` to the logits (the identity for
        the classifier).

    Examples
    --------
    Equal logits over 3 classes cost ``log 3``; the gradient is ``softmax - one_hot``:

    >>> from types import SimpleNamespace
    >>> import torch
    >>> from sklearn_slaf.training import SoftmaxCrossEntropy
    >>> module = SimpleNamespace(output_offset=torch.zeros(3), output_scale=torch.ones(3))
    >>> loss = SoftmaxCrossEntropy(module)
    >>> [round(v, 4) for v in loss(torch.zeros(2, 3), torch.tensor([[0.0], [2.0]])).tolist()]
    [1.0986, 1.0986]
    >>> value, grad = loss.value_and_grad(torch.zeros(1, 3), torch.tensor([[2.0]]), None)
    >>> round(float(value), 4), [round(g, 4) for g in grad[0].tolist()]
    (1.0986, [0.3333, 0.3333, -0.6667])
    """

    def __call__(self, out: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(out, target[:, 0].long(), reduction="none")

    def _per_sample_and_grad(self, out: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        labels = target.long()
        logp = torch.log_softmax(out, dim=1)
        per = logp.gather(1, labels)[:, 0].neg_()
        return per, logp.exp_().scatter_add_(1, labels, torch.full_like(per, -1.0)[:, None])
