"""Sample weights in the batch statistics of the normalising layers.

A weighted fit means what it would with repeated rows: a row of weight 3 enters a
layer's batch mean and variance as three copies of it would, a row of weight 0 as if it
were absent. The trainer hands a batch's weights to the module for one step with
:func:`batch_weights`, which sets ``batch_weight`` on every layer that reads it (the
layers deriving from :class:`WeightedStatistics`: :class:`~sklearn_slaf.activation.SLAF`
and :class:`BatchNorm1d`). Outside that context ``batch_weight`` is ``None`` and the
layers count rows, on exactly the paths they take without weights.

Only the ratios of the weights matter to the normalisation (it divides by their sum),
except in :class:`BatchNorm1d`'s unbiased running variance, which counts ``sum(w)``
rows as torch counts a batch's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

__all__ = ["BatchNorm1d", "WeightedStatistics", "batch_weights", "has_weight", "weighted_mean_var"]


class WeightedStatistics:
    """Mixin of the layers whose training-mode statistics may weight the rows of a batch.

    Attributes
    ----------
    batch_weight : torch.Tensor of shape (n_rows,) or None
        The current batch's per-row weights, set by :func:`batch_weights`; ``None``
        counts every row once.
    """

    batch_weight: Tensor | None = None

    def row_probabilities(self, n_rows: int) -> Tensor | None:
        """The batch weights divided by their sum (``None`` without weights); all zeros stay zeros."""
        w = self.batch_weight
        if w is None:
            return None
        if w.shape != (n_rows,):
            raise ValueError(
                f"the batch weights have shape {tuple(w.shape)} but the layer's batch has {n_rows} rows; "
                f"give one weight per row."
            )
        return w / w.sum().clamp_min(torch.finfo(w.dtype).tiny)


@contextmanager
def batch_weights(module: nn.Module, w: Tensor | None) -> Iterator[None]:
    """Weight the batch statistics of every normalising layer of ``module`` by ``w`` while in the context.

    ``w`` holds one weight per row of the batches the module sees inside the context
    (detached and cast to each layer's dtype); ``None`` changes nothing. The previous
    weights are put back on exit, whatever happens inside.

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf._batch_weights import batch_weights
    >>> from sklearn_slaf.activation import SLAF
    >>> weighted, repeated = SLAF(1, degree=2, init_std=0.0), SLAF(1, degree=2, init_std=0.0)
    >>> with batch_weights(weighted, torch.tensor([2.0, 1.0, 0.0])):  # row 0 twice, row 2 not at all
    ...     out = weighted(torch.tensor([[0.0], [1.0], [3.0]]))
    >>> torch.allclose(out[:2], repeated(torch.tensor([[0.0], [0.0], [1.0]]))[1:])
    True
    >>> torch.allclose(weighted.running_var, repeated.running_var)
    True
    """
    if w is None:
        yield
        return
    w = w.detach()
    layers = [m for m in module.modules() if isinstance(m, WeightedStatistics)]
    saved = [m.batch_weight for m in layers]
    try:
        for m in layers:
            dtype = next((t.dtype for t in m.buffers() if t.is_floating_point()), w.dtype)
            m.batch_weight = w if w.dtype == dtype else w.to(dtype)
        yield
    finally:
        for m, old in zip(layers, saved):
            m.batch_weight = old


def weighted_mean_var(t: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and biased variance over the first axis of ``t`` with row weights ``p`` summing to 1 (or all 0)."""
    shape = (-1,) + (1,) * (t.dim() - 1)
    pw = p.reshape(shape)
    mean = (t * pw).sum(0)
    var = ((t - mean).square() * pw).sum(0)
    return mean, var


def has_weight(p: Tensor) -> Tensor:
    """1 if a batch's row weights are not all zero, else 0, as a 0-d tensor (no host synchronisation).

    A batch of zero weight is empty: the layers multiply the weight of its statistics in
    the running ones by this, so it leaves them as they were.
    """
    return (p.sum() > 0).to(p.dtype)


class BatchNorm1d(nn.BatchNorm1d, WeightedStatistics):
    """:class:`torch.nn.BatchNorm1d` whose training-mode statistics weight the rows by ``batch_weight``.

    Without weights it is torch's layer, unchanged. With them (on ``(N, C)`` inputs) the
    batch mean and biased variance are weighted means, and the running variance is kept
    unbiased as torch keeps it, counting ``n = sum(w)`` rows: ``var * n / (n - 1)``
    (the biased variance where ``n <= 1``). Integer weights are then repetitions of rows.
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.batch_weight is None or not (self.training or self.running_mean is None):
            return super().forward(x)
        if x.dim() != 2:
            raise ValueError(f"weighted batch normalisation takes (N, C) inputs; got shape {tuple(x.shape)}.")
        p = self.row_probabilities(x.shape[0])
        mean, var = weighted_mean_var(x, p)
        if self.training and self.track_running_stats:
            self.update_weighted_running_stats(mean, var, self.batch_weight.sum())
        xhat = (x - mean) * torch.rsqrt(var + self.eps)
        return torch.addcmul(self.bias, xhat, self.weight) if self.affine else xhat

    @torch.no_grad()
    def update_weighted_running_stats(self, mean: Tensor, var: Tensor, total: Tensor) -> None:
        """Blend a weighted batch's mean and biased variance into the running ones; ``total`` is ``sum(w)``.

        A batch of zero weight is empty and leaves them as they were.
        """
        self.num_batches_tracked.add_(1)
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        total = total.to(var.dtype)
        m = (total > 0).to(var.dtype) * m
        unbiased = torch.where(total > 1, var * total / (total - 1).clamp_min(torch.finfo(var.dtype).tiny), var)
        self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), m.to(self.running_mean.dtype))
        self.running_var.lerp_(unbiased.detach().to(self.running_var.dtype), m.to(self.running_var.dtype))
