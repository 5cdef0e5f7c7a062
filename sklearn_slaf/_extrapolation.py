"""Extrapolation: the range each polynomial layer saw in training, and a warning when predict leaves it.

A polynomial of high degree grows fast outside the data it was fitted on. Fits record
the per-unit range of every polynomial SLAF layer's pre-activations. With the estimators'
``extrapolation="constant"`` (the default) the layers clamp their inputs to the range of
the calibration rows in evaluation mode; with ``"continue"`` they evaluate the polynomial
beyond it, and ``predict`` counts the rows that leave it and warns with
:class:`ExtrapolationWarning`.
"""

from __future__ import annotations

import weakref

import numpy as np
import torch

from . import basis as _basis
from ._warnings import ExtrapolationWarning, warn_user
from .network import SLNN

__all__ = ["EXTRAPOLATION_MARGIN", "ExtrapolationWarning"]

# predict warns for rows whose pre-activations leave the training range widened by this
# fraction of its width on each side (polynomial layers only: there the output can explode)
EXTRAPOLATION_MARGIN = 0.1


# per fitted module: (its recorded ranges, their tensors); outside the estimator, which predict must not change
_RANGE_BOUNDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _RangeProbe:
    """Observer of :meth:`SLNN.forward_observed`: records the polynomial layers' input range, or counts rows outside.

    With ``limits=None`` it records each polynomial SLAF layer's per-unit minimum and
    maximum; with the recorded ``limits`` it marks the rows that leave them (widened by
    :data:`EXTRAPOLATION_MARGIN`). One reduction of the scaled deviation settles the common
    case, all rows inside; rows are marked one by one only when some value strays.
    """

    def __init__(self, module: SLNN, limits: list | None = None, bounds: dict | None = None,
                 rows: torch.Tensor | None = None) -> None:
        self.watched = {i for i, layer in enumerate(module.slaf_layers)
                        if layer is not None and _basis.is_polynomial(layer.basis)}
        self.limits = limits
        self.keep = rows  # recording: a mask of the rows to record (those of positive weight), or all
        self.lo: dict[int, torch.Tensor] = {}
        self.hi: dict[int, torch.Tensor] = {}
        # per layer, (centre, 1 / half-width) of the widened range as tensors; callers may keep it between calls
        self.bounds: dict[int, tuple[torch.Tensor, torch.Tensor]] = {} if bounds is None else bounds
        self.rows: torch.Tensor | None = None  # of the current forward call: outside some layer's range
        self.count = 0

    def __call__(self, i: int, x: torch.Tensor) -> None:
        if i not in self.watched:
            return
        if self.limits is None:
            if self.keep is not None:
                x = x[self.keep]
            lo, hi = x.amin(0), x.amax(0)
            self.lo[i] = lo if i not in self.lo else torch.minimum(self.lo[i], lo)
            self.hi[i] = hi if i not in self.hi else torch.maximum(self.hi[i], hi)
            return
        if self.limits[i] is None:
            return
        key = (i, x.dtype, x.device)
        if key not in self.bounds:
            a, b = self.limits[i]
            half = (0.5 + EXTRAPOLATION_MARGIN) * (b - a)
            self.bounds[key] = tuple(
                torch.as_tensor(v, dtype=x.dtype, device=x.device) for v in ((a + b) / 2, 1 / half)
            )
        centre, inv_half = self.bounds[key]
        dev = (x - centre).mul_(inv_half).abs_()  # > 1 outside the widened range
        if bool(dev.amax() > 1):
            rows = dev.amax(1) > 1
            self.rows = rows if self.rows is None else self.rows | rows

    def end_call(self, n_real: int) -> None:
        """Count the marked rows among the first ``n_real`` of the call just made (the rest is padding)."""
        if self.rows is not None:
            self.count += int(self.rows[:n_real].sum())
            self.rows = None

    def ranges(self, previous: list | None) -> list:
        """Per hidden layer, ``(low, high)`` arrays of its units' training range, or ``None``."""
        n = max(len(self.limits or []), max(self.watched, default=-1) + 1, len(previous or []))
        out = [None] * n
        for i in self.watched:
            lo, hi = self.lo[i].double().cpu().numpy(), self.hi[i].double().cpu().numpy()
            if previous and previous[i] is not None:
                lo, hi = np.minimum(lo, previous[i][0]), np.maximum(hi, previous[i][1])
            out[i] = (lo, hi)
        return out

    def warn_outside(self, n_rows: int) -> None:
        if self.count:
            warn_user(
                f"{self.count} of {n_rows} rows lie outside the range the network's polynomial layers saw in "
                f"training (by more than {EXTRAPOLATION_MARGIN:.0%} of its width): a polynomial can be far off there.",
                ExtrapolationWarning,
            )
