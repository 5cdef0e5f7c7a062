"""Exact partial dependence (against scikit-learn's brute force) and the accuracy-versus-terms curve."""

import itertools

import numpy as np
import pytest
from sklearn.inspection import partial_dependence

from sklearn_slaf import PolynomialFeatureEquivalent, SLNNClassifier, SLNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def grid_data():
    # a full product grid: its joint empirical law is the product of its marginals, where
    # the brute-force average over rows and the closed form under independence coincide
    values = [np.linspace(-2, 2, 7), np.linspace(-1, 3, 7) ** 1.0, np.array([-1.5, -1, -0.2, 0.1, 0.5, 1.2, 2.0])]
    X = np.array(list(itertools.product(*values)))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + 0.3 * X[:, 0] ** 2 * X[:, 2]
    return X, y


@pytest.mark.parametrize("coordinates", ["standardized", "raw"])
def test_regressor_partial_dependence_is_sklearns_brute_force(grid_data, coordinates):
    X, y = grid_data
    reg = SLNNRegressor((8,), degree=(3,), max_iter=100, random_state=0, dtype="float64", device="cpu",
                        extrapolation="continue").fit(X, y)
    pfe = PolynomialFeatureEquivalent(reg, coordinates=coordinates).fit(X)
    for j in range(3):
        grid = np.unique(X[:, j])
        brute = partial_dependence(reg, X, [j], method="brute", grid_resolution=100, percentiles=(0, 1))
        np.testing.assert_allclose(brute["grid_values"][0], grid)
        exact = pfe.partial_dependence(j, grid, distribution="empirical", X=X)
        np.testing.assert_allclose(exact, brute["average"][0], rtol=1e-9, atol=1e-9)


def test_classifier_partial_dependence_of_the_decision_function(grid_data):
    X, y = grid_data
    clf = SLNNClassifier((8,), degree=2, max_iter=60, random_state=0, dtype="float64", device="cpu",
                        extrapolation="continue").fit(X, y > 0)
    pfe = PolynomialFeatureEquivalent(clf).fit(X)
    grid = np.unique(X[:, 1])
    brute = partial_dependence(clf, X, [1], method="brute", response_method="decision_function",
                               grid_resolution=100, percentiles=(0, 1))
    exact = pfe.partial_dependence(1, grid, distribution="empirical", X=X)
    np.testing.assert_allclose(exact, brute["average"][0], rtol=1e-9, atol=1e-9)


def test_partial_dependence_is_the_mean_plus_the_main_effect():
    # f = 1 + 2 x0 + 3 x0 x1 + x1^2 under standard normal inputs: E[f | x0] = 1 + 2 x0 + E[x1^2] = 2 + 2 x0
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    reg = SLNNRegressor((6,), degree=2, max_iter=5, random_state=0, dtype="float64", device="cpu",
                        extrapolation="continue").fit(X, X[:, 0])
    pfe = PolynomialFeatureEquivalent(reg, coordinates="raw").fit(X)
    powers = pfe.powers_
    coef = np.zeros(len(powers))
    target = {(1, 0): 2.0, (1, 1): 3.0, (0, 2): 1.0}
    for i, p in enumerate(map(tuple, powers)):
        coef[i] = target.get(p, 0.0)
    pfe.coef_, pfe.intercept_ = coef, 1.0
    pfe.coordinates = "raw"
    pfe._offset, pfe._scale = np.zeros(2), np.ones(2)
    v = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(pfe.partial_dependence(0, v, distribution="normal"), 2 + 2 * v, rtol=1e-12)
    np.testing.assert_allclose(pfe.partial_dependence(1, v, distribution="normal"), 1 + v**2, rtol=1e-12)


def test_partial_dependence_refuses_bad_input(grid_data):
    X, y = grid_data
    reg = SLNNRegressor((4,), degree=2, max_iter=5, random_state=0, dtype="float64", device="cpu",
                        extrapolation="continue").fit(X, y)
    pfe = PolynomialFeatureEquivalent(reg).fit(X)
    with pytest.raises(ValueError, match="feature"):
        pfe.partial_dependence(3, [0.0])
    with pytest.raises(ValueError, match="finite"):
        pfe.partial_dependence(0, [np.nan])
    with pytest.raises(ValueError, match="needs X"):
        pfe.partial_dependence(0, [0.0], distribution="empirical")


def test_compact_curve_rises_to_the_full_polynomial():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 4))
    y = X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + 0.1 * X[:, 3] ** 2 + 0.05 * rng.normal(size=500)
    reg = SLNNRegressor((12,), degree=2, max_iter=150, random_state=0, dtype="float64", device="cpu",
                        extrapolation="continue").fit(X, y)
    pfe = PolynomialFeatureEquivalent(reg).fit(X)
    curve = pfe.compact_curve(X=X, y=y)
    get = (lambda c: np.asarray(curve[c])) if hasattr(curve, "columns") else (lambda c: curve[c])
    n = get("n_terms")
    assert n[0] == 1 and np.all(np.diff(n) > 0)
    r2 = get("r2_distribution")
    assert np.all(np.diff(r2) >= -1e-12) and r2[-1] == pytest.approx(1.0, abs=1e-9)
    assert get("r2_model")[-1] == pytest.approx(1.0, abs=1e-9)  # every term: the polynomial itself
    assert get("r2_data")[-1] == pytest.approx(reg.score(X, y), abs=1e-9)
    for m, expected in zip(n, r2):  # each row is compact(n_terms=m)
        assert pfe.compact(n_terms=int(m)).compact_r2_ == pytest.approx(expected, abs=1e-12)
    # the three leading terms (x0, x1 x2, x3^2 and the like) carry nearly all of the variance
    assert pfe.compact_curve([3], X=X)["r2_model"][0] > 0.95
    with pytest.raises(ValueError, match="n_terms"):
        pfe.compact_curve([0])
    with pytest.raises(ValueError, match="y needs X"):
        pfe.compact_curve([1], y=y)


def test_plot_compact_curve_draws_each_column():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from sklearn_slaf.plotting import plot_compact_curve

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3))
    y = X[:, 0] + X[:, 1] * X[:, 2]
    reg = SLNNRegressor((8,), degree=2, max_iter=60, random_state=0, dtype="float64", device="cpu",
                        extrapolation="continue").fit(X, y)
    curve = PolynomialFeatureEquivalent(reg).fit(X).compact_curve(X=X, y=y)
    ax = plot_compact_curve(curve)
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_array_equal(lines[0].get_xdata(), np.asarray(curve["n_terms"]))
    np.testing.assert_allclose(lines[2].get_ydata(), np.asarray(curve["r2_data"]))
