"""Warnings that point at the user's line, however deep inside the package they are raised."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import joblib
import sklearn
import torch

_PACKAGE = str(Path(__file__).resolve().parent)
# frames between the user and the estimator: all of scikit-learn (fit wrappers, pipelines,
# scorers, model selection), joblib's dispatch, and torch's ``no_grad`` decorator
_WRAPPERS = (
    str(Path(sklearn.__file__).resolve().parent),
    str(Path(joblib.__file__).resolve().parent),
    str(Path(torch.__file__).resolve().parent / "utils" / "_contextlib.py"),
)


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning raised by its caller name the first frame outside the package.

    Frames of the package, of scikit-learn and joblib, and torch's ``no_grad`` wrapper are
    skipped: a warning raised in a pipeline's ``predict`` or in a fit run by
    ``GridSearchCV`` names the user's call of the pipeline or of the search.

    Examples
    --------
    >>> from sklearn_slaf._warnings import user_stacklevel
    >>> user_stacklevel() >= 1
    True
    """
    frame, level = sys._getframe(1), 1  # the caller, who passes the result to warnings.warn
    while frame is not None:
        path = str(Path(frame.f_code.co_filename).resolve()) if not frame.f_code.co_filename.startswith("<") else ""
        if not (path.startswith(_PACKAGE) or path.startswith(_WRAPPERS)):
            return level
        frame, level = frame.f_back, level + 1
    return level


def warn_user(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` at the user's line (:func:`user_stacklevel`).

    Examples
    --------
    >>> import warnings
    >>> from sklearn_slaf._warnings import warn_user
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_user("careful", UserWarning)
    >>> str(caught[0].message)
    'careful'
    """
    warnings.warn(message, category, stacklevel=user_stacklevel())
