"""The data sets the defaults are chosen and judged on (issue 10's suite).

Regression: Boston (the paper's split; only its 404 training rows are ever used to choose
anything), diabetes, Friedman #1-#3 and the authors' synthetic sparse polynomial.
Classification: digits, breast cancer, wine and the authors' two spirals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_friedman1,
    make_friedman2,
    make_friedman3,
)

from sklearn_slaf.datasets import make_sparse_polynomial, make_two_spirals

DATA = Path(__file__).resolve().parent / "data"


def boston_paper_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Keras' ``boston_housing`` split: file order, ``RandomState(113)`` shuffle, 404 train / 102 test."""
    d = np.loadtxt(DATA / "boston_house_prices.csv", delimiter=",", skiprows=2)
    X, y = d[:, :13], d[:, 13]
    idx = np.arange(len(y))
    np.random.RandomState(113).shuffle(idx)
    tr, te = idx[:404], idx[404:]
    return X[tr], y[tr], X[te], y[te]


def two_spirals(n_per_class: int = 5000, noise: float = 0.0, random_state: int = 0):
    """The authors' two interleaved spirals, ``n_per_class`` points each (three turns)."""
    return make_two_spirals(2 * n_per_class, noise=noise, random_state=random_state)


def regression_suite() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    Xb, yb, _, _ = boston_paper_split()
    return {
        "boston": (Xb, yb),
        "diabetes": load_diabetes(return_X_y=True),
        "friedman1": make_friedman1(n_samples=500, noise=1.0, random_state=0),
        "friedman2": make_friedman2(n_samples=500, noise=0.0, random_state=0),
        "friedman3": make_friedman3(n_samples=500, noise=0.0, random_state=0),
        "sparse_poly": make_sparse_polynomial(random_state=0),
    }


def classification_suite() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        "digits": load_digits(return_X_y=True),
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "two_spirals": two_spirals(),
    }
