"""Argument checks shared by the torch modules and the analysis functions.

The estimators validate their parameters with scikit-learn's ``_parameter_constraints``;
the lower layers, which do not depend on scikit-learn's estimator machinery, use these.
"""

from __future__ import annotations

from numbers import Integral

__all__ = ["check_positive_int"]


def check_positive_int(value, name: str) -> int:
    """``int(value)`` if ``value`` is an integer >= 1 (``True`` is not), else a ``ValueError`` naming ``name``.

    Examples
    --------
    >>> from sklearn_slaf._validation import check_positive_int
    >>> check_positive_int(3, "degree")
    3
    >>> check_positive_int(0, "degree")
    Traceback (most recent call last):
    ...
    ValueError: degree must be an integer >= 1; got 0.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
    return int(value)
