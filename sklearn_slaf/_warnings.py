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


class ExtrapolationWarning(UserWarning):
    """``predict`` met rows outside the range a polynomial SLAF layer saw in training.

    A polynomial of high degree grows fast outside the data it was fitted on, so such
    predictions can be far off. Only an estimator with ``extrapolation="continue"`` warns:
    the default, ``"constant"``, holds each activation at its edge value there. Filter it
    with ``warnings.filterwarnings("ignore", category=ExtrapolationWarning)``.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn_slaf import ExtrapolationWarning, SLNNRegressor
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> reg = SLNNRegressor((4,), degree=3, max_iter=5, device="cpu", random_state=0,
    ...                     extrapolation="continue").fit(X, X[:, 0])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", ExtrapolationWarning)
    ...     _ = reg.predict(X[:5])  # inside the training range: silent
    ...     _ = reg.predict(10 * X[:5])  # far outside it
    >>> [w.category.__name__ for w in caught]
    ['ExtrapolationWarning']
    >>> print(str(caught[0].message).split(":")[0])
    4 of 5 rows lie outside the range the network's polynomial layers saw in training (by more than 10% of its width)
    """
