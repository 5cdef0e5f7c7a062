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
    """Batch mean of per-sample losses, weighted by ``w`` when given (0 for an all-zero ``w``)."""
    if w is None:
        return per_sample.mean()
    return (per_sample * _sample_weights(w, per_sample.shape[0])).sum()


class SquaredError:
    """Squared error in standardised target units, averaged over outputs.

    Parameters
    ----------
    module : SLNN
        Its ``output_offset`` and ``output_scale`` define the standardisation.
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
    """Binary cross-entropy on one logit; targets are 0/1 in a ``(n, 1)`` column."""

    def __call__(self, out: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(out[:, 0], target[:, 0], reduction="none")

    def _per_sample_and_grad(self, out: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        per = F.binary_cross_entropy_with_logits(out, target, reduction="none")[:, 0]
        return per, torch.sigmoid(out).sub_(target)


class SoftmaxCrossEntropy(_LogitLoss):
    """Multiclass cross-entropy on one logit per class; targets are class indices in a ``(n, 1)`` column."""

    def __call__(self, out: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(out, target[:, 0].long(), reduction="none")

    def _per_sample_and_grad(self, out: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        labels = target.long()
        logp = torch.log_softmax(out, dim=1)
        per = logp.gather(1, labels)[:, 0].neg_()
        return per, logp.exp_().scatter_add_(1, labels, torch.full_like(per, -1.0)[:, None])
