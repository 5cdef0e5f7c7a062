"""Scores computed on arrays already validated, without scikit-learn's input checks (for loops that score often)."""

from __future__ import annotations

import numpy as np

__all__ = ["r2_score"]


def r2_score(y, pred, sample_weight=None) -> float:
    """``sklearn.metrics.r2_score(y, pred, sample_weight=...)`` with its defaults, without its input checks.

    The uniform average over outputs of ``1 - SSE / SST``, with a constant target scoring
    1 if predicted exactly and 0 otherwise. scikit-learn's checks cost more than a small
    network's forward pass, which matters when every training epoch is scored.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_slaf._metrics import r2_score
    >>> r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    0.5
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    pred = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    sse = w @ (y - pred) ** 2
    sst = w @ (y - (w @ y) / w.sum()) ** 2
    score = np.where(sst != 0, 1.0 - sse / np.where(sst != 0, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
    return float(score.mean())
