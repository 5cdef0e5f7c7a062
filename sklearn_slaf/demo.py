"""The main job: fit an SLNN on scikit-learn's diabetes data and compare it with the usual choices."""

from __future__ import annotations

import time
import warnings

import torch
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV, LinearRegression
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from .regressor import SLNNRegressor


def models(seed: int, degree: int) -> dict:
    """The SLNN and the baselines a user would reach for instead."""
    return {
        f"SLNNRegressor (64 units, degree {degree})": SLNNRegressor(degree=degree, random_state=seed),
        "LinearRegression": LinearRegression(),
        "MLPRegressor (64 ReLU units)": make_pipeline(
            StandardScaler(), MLPRegressor(hidden_layer_sizes=(64,), max_iter=500, random_state=seed)
        ),
        f"PolynomialFeatures({degree}) + LassoCV": make_pipeline(
            StandardScaler(), PolynomialFeatures(degree), StandardScaler(), LassoCV(random_state=seed)
        ),
    }


def run(seed: int = 0, degree: int = 3) -> list[tuple[str, float, float, float]]:
    """Fit each model, print train/test RMSE and fit time, and return the rows."""
    torch.set_num_threads(min(2, torch.get_num_threads()))
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed)
    rows = []
    for name, model in models(seed, degree).items():
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Xtr, ytr)
        dt = time.perf_counter() - t
        rows.append((name, root_mean_squared_error(ytr, model.predict(Xtr)),
                     root_mean_squared_error(yte, model.predict(Xte)), dt))
    print(f"diabetes: {len(Xtr)} train / {len(Xte)} test samples, {X.shape[1]} features, seed {seed}")
    print(f"{'model':<40}{'train RMSE':>12}{'test RMSE':>12}{'fit s':>9}")
    for name, tr, te, dt in rows:
        print(f"{name:<40}{tr:>12.2f}{te:>12.2f}{dt:>9.2f}")
    return rows
