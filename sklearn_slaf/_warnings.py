"""Warnings that point at the user's line, however deep inside the package they are raised."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import sklearn

_PACKAGE = str(Path(__file__).resolve().parent)
# scikit-learn's own wrappers of fit (``_fit_context``, ``set_output``) stand between the user and the estimator
_SKLEARN_WRAPPERS = tuple(str(Path(sklearn.__file__).resolve().parent / name) for name in ("base.py", "utils"))


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning raised by its caller name the first frame outside the package.

    Frames of the package and of scikit-learn's fit wrappers are skipped; a fit called by
    scikit-learn's model selection then points at that call, the nearest one outside.

    Examples
    --------
    >>> from sklearn_slaf._warnings import user_stacklevel
    >>> user_stacklevel() >= 1
    True
    """
    frame, level = sys._getframe(1), 1  # the caller, who passes the result to warnings.warn
    while frame is not None:
        path = str(Path(frame.f_code.co_filename).resolve()) if not frame.f_code.co_filename.startswith("<") else ""
        if not (path.startswith(_PACKAGE) or path.startswith(_SKLEARN_WRAPPERS)):
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
