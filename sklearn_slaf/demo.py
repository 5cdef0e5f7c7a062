"""The main job: learn a hidden polynomial, beat the usual choices, and read the polynomial back.

``python -m sklearn_slaf demo`` runs :func:`run`:

1. draws the authors' benchmark, a sparse polynomial of five Gaussian inputs
   (:func:`~sklearn_slaf.datasets.make_sparse_polynomial`), 1,200 rows, a quarter held out;
2. fits ``StandardScaler -> SLNNRegressor(extrapolation="continue")`` (the data are a polynomial)
   with a 3-fold ``GridSearchCV`` over the SLAF degree, and beside it ``LinearRegression``, a
   scaled ``MLPRegressor`` run to convergence and ``PolynomialFeatures -> LassoCV``, printing
   test RMSE, R^2 and fit times;
3. reads the chosen network as a polynomial (:class:`~sklearn_slaf.PolynomialFeatureEquivalent`),
   prints its leading terms beside the true ones and compares it with least squares on the
   same monomials; with matplotlib, saves the learned activations to a PNG.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV, LinearRegression
from sklearn.metrics import r2_score, root_mean_squared_error
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from .datasets import make_sparse_polynomial
from .polynomial import PolynomialFeatureEquivalent, compare_with_least_squares
from .regressor import SLNNRegressor

N_SAMPLES, N_FEATURES, N_TERMS, NOISE = 1200, 5, 6, 0.1
NAMES = ("SLNNRegressor (grid-searched degree)", "LinearRegression", "MLPRegressor (scaled, converged)",
         "PolynomialFeatures(3) + LassoCV")


def models(seed: int) -> dict:
    """The SLNN search and the baselines a user would reach for, each configured as its documentation advises.

    Examples
    --------
    >>> from sklearn_slaf.demo import models
    >>> search, *baselines = models(seed=0).values()
    >>> search.param_grid, search.cv
    ({'slnn__degree': [2, 3]}, 3)
    >>> [type(m).__name__ for m in baselines]
    ['LinearRegression', 'Pipeline', 'Pipeline']
    """
    # the data are a polynomial: the network is one beyond the training range too ("continue"); the default,
    # "constant", holds each activation at its value on the edge of the range it was trained on
    slnn = Pipeline([("scale", StandardScaler()), ("slnn", SLNNRegressor(random_state=seed, extrapolation="continue"))])
    return {
        NAMES[0]: GridSearchCV(slnn, {"slnn__degree": [2, 3]}, cv=3),
        NAMES[1]: LinearRegression(),
        # scaled inputs, and iterations enough to converge (the default 200 are not, here)
        NAMES[2]: make_pipeline(StandardScaler(), MLPRegressor(max_iter=2000, random_state=seed)),
        NAMES[3]: make_pipeline(StandardScaler(), PolynomialFeatures(3), StandardScaler(),
                                LassoCV(random_state=seed)),
    }


def _terms_table(pfe: PolynomialFeatureEquivalent, truth: dict[str, float], n: int) -> list[str]:
    """The network's ``n`` largest terms beside the true coefficients (0 where the truth has none)."""
    names = pfe.get_feature_names_out()
    coef = np.asarray(pfe.coef_)
    order = np.argsort(-np.abs(coef))[:n]
    lines = [f"{'term':<14}{'SLNN':>10}{'true':>10}"]
    lines += [f"{names[i]:<14}{coef[i]:>10.3f}{truth.get(names[i], 0.0):>10.3f}" for i in order]
    # standardising shifts the true monomials into many small lower-order ones: name only the large
    big = max(abs(c) for c in truth.values())
    missed = [t for t, c in truth.items() if abs(c) >= 0.05 * big and t not in {names[i] for i in order}]
    if missed:
        lines.append(f"(large true terms outside the top {n}: {', '.join(missed)})")
    return lines


def _true_terms(scaler: StandardScaler, X: np.ndarray, powers: np.ndarray, coef: np.ndarray, degree: int):
    """The true polynomial in the standardised inputs the network reads, named as the expansion names them.

    Exact: the noiseless target is a polynomial of degree ``degree`` in the standardised
    inputs too, so least squares on all its monomials recovers it to round-off.
    """
    Z = scaler.transform(X)
    clean = (np.prod(X[:, None, :] ** powers, axis=2) * coef).sum(axis=1)
    poly = PolynomialFeatures(degree, include_bias=False)
    F = poly.fit_transform(Z)
    lin = LinearRegression().fit(F, clean)
    names = list(poly.get_feature_names_out())
    return {n: c for n, c in zip(names, lin.coef_) if abs(c) > 1e-8}


def run(seed: int = 0, plot: str | Path | None = "slnn_activations.png", n_terms: int = 8) -> dict:
    """Run the demo, print its report and return ``{model: (test RMSE, test R^2, fit seconds)}``.

    Parameters
    ----------
    seed : int, default=0
        Seeds the data, the split and every model.
    plot : str, Path or None, default="slnn_activations.png"
        Where to save the learned activations (needs matplotlib; ``None`` skips it).
    n_terms : int, default=8
        Leading terms of the polynomial to print.

    Examples
    --------
    The whole demo fits a grid search and three baselines on 900 rows (tens of seconds:
    ``python -m sklearn_slaf demo`` runs it, and ``tests/test_main.py`` checks it); its
    data are these, with the true polynomial returned beside them:

    >>> from sklearn_slaf.datasets import make_sparse_polynomial
    >>> from sklearn_slaf.demo import N_FEATURES, N_SAMPLES, N_TERMS, NOISE
    >>> X, y, powers, coef = make_sparse_polynomial(N_SAMPLES, N_FEATURES, N_TERMS, noise=NOISE,
    ...                                             random_state=0, return_polynomial=True)
    >>> X.shape, powers.shape, int(powers.sum(axis=1).max())  # 6 terms of degree <= 3
    ((1200, 5), (6, 5), 3)
    """
    torch.set_num_threads(min(2, torch.get_num_threads()))
    X, y, powers, coef = make_sparse_polynomial(N_SAMPLES, N_FEATURES, N_TERMS, noise=NOISE, random_state=seed,
                                                return_polynomial=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed)
    print(f"sparse polynomial: {len(Xtr)} train / {len(Xte)} test rows, {N_FEATURES} Gaussian features, "
          f"{len(coef)} true terms of degree 3, noise {NOISE:.0%} of the signal, seed {seed}")
    rows, fitted = {}, {}
    for name, model in models(seed).items():
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Xtr, ytr)
        dt = time.perf_counter() - t
        pred = model.predict(Xte)
        rows[name], fitted[name] = (root_mean_squared_error(yte, pred), r2_score(yte, pred), dt), model
    print(f"\n{'model':<40}{'test RMSE':>11}{'test R2':>9}{'fit s':>8}")
    for name, (rmse, r2, dt) in rows.items():
        print(f"{name:<40}{rmse:>11.3f}{r2:>9.3f}{dt:>8.2f}")

    search = fitted[NAMES[0]]
    best = search.best_estimator_
    scaler, slnn = best.named_steps["scale"], best.named_steps["slnn"]
    print(f"\ngrid search chose degree {search.best_params_['slnn__degree']} "
          f"(3-fold CV R2 {search.best_score_:.3f}); the network is exactly a polynomial of degree "
          f"{slnn.module_.total_degree} in the standardised inputs:")
    Ztr, Zte = scaler.transform(Xtr), scaler.transform(Xte)
    pfe = PolynomialFeatureEquivalent(slnn).fit(Ztr)
    truth = _true_terms(scaler, Xtr, powers, coef, pfe.degree_)
    print("\n".join(_terms_table(pfe, truth, n_terms)))
    print("\nleast squares on the same monomials:")
    print(compare_with_least_squares(slnn, Ztr, ytr, Zte, yte))
    if plot is not None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from .plotting import plot_activations
        except ImportError:
            print("\n(matplotlib is not installed: no picture of the learned activations)")
        else:
            fig = plot_activations(slnn, Ztr)  # with the histogram of the pre-activations on the training data
            fig.savefig(plot, dpi=120)
            plt.close(fig)
            print(f"\nlearned activations saved to {plot}")
    return rows
