"""
The paper's Boston table in miniature
=====================================

Goyal, Goyal & Lall (arXiv 1906.09529) compare on the Boston housing data, with Keras'
split (file order, ``RandomState(113)`` shuffle, 404 training rows and 102 test rows), a
ReLU network with batch normalisation, an SLNN of total degree 8 (hidden layers of degrees
4 and 2) and least squares on polynomial features. This example reruns that comparison in
miniature, on three seeds, with the models a user would pick today beside it;
``benchmarks/paper_boston.py`` runs the full table (five seeds, the paper's own set-ups,
its degree-8 Lasso on 203,490 features).

Polynomial models extrapolate. By default an SLNN holds each activation at its edge value
beyond the range its inputs took on the training rows (``extrapolation="constant"``); with
``extrapolation="continue"`` it follows its polynomial there, and a test row outside that
range is reported by an :class:`~sklearn_slaf.ExtrapolationWarning`, which this example
collects and counts instead of printing. The degree-8 network runs both ways.
"""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: E402
from sklearn.linear_model import Lasso, LinearRegression  # noqa: E402
from sklearn.metrics import root_mean_squared_error  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import PolynomialFeatures, StandardScaler  # noqa: E402

from sklearn_slaf import ExtrapolationWarning, SLNNRegressor  # noqa: E402

# the data set travels with the repository's benchmarks (run from examples/, as the docs do)
data = np.loadtxt(Path("..") / "benchmarks" / "data" / "boston_house_prices.csv", delimiter=",", skiprows=2)
X, y = data[:, :13], data[:, 13]
order = np.arange(len(y))
np.random.RandomState(113).shuffle(order)
X_train, y_train, X_test, y_test = X[order[:404]], y[order[:404]], X[order[404:]], y[order[404:]]

models = {
    "SLNNRegressor()": lambda seed: SLNNRegressor(random_state=seed),
    "SLNNRegressor((128, 64),\ndegree=(4, 2)): total degree 8": lambda seed: SLNNRegressor(
        (128, 64), degree=(4, 2), random_state=seed),
    "the same, extrapolation=\n\"continue\"": lambda seed: SLNNRegressor(
        (128, 64), degree=(4, 2), random_state=seed, extrapolation="continue"),
    "StandardScaler +\nMLPRegressor(max_iter=2000)": lambda seed: make_pipeline(
        StandardScaler(), MLPRegressor(max_iter=2000, random_state=seed)),
    "HistGradientBoosting\nRegressor()": lambda seed: HistGradientBoostingRegressor(random_state=seed),
    "PolynomialFeatures(3) +\nLasso(0.01)": lambda seed: make_pipeline(
        PolynomialFeatures(3), StandardScaler(), Lasso(alpha=0.01, max_iter=20000)),
    "LinearRegression()": lambda seed: LinearRegression(),
}

results, outside = {}, 0
for name, make in models.items():
    rmse = []
    for seed in range(3):
        model = make(seed).fit(X_train, y_train)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExtrapolationWarning)
            rmse.append(root_mean_squared_error(y_test, model.predict(X_test)))
        outside += sum(issubclass(w.category, ExtrapolationWarning) for w in caught)
    results[name] = np.array(rmse)
    print(f"{name.replace(chr(10), ' '):62s} test RMSE {np.median(rmse):.2f} [{min(rmse):.2f}, {max(rmse):.2f}]")
print(f"predict calls that reported extrapolation: {outside}")

# %%
# Median test RMSE over the seeds, with the range as an error bar (the paper's best, its
# degree-8 least squares, is 3.07; linear regression 4.83)
names = list(results)
median = np.array([np.median(results[n]) for n in names])
low, high = median - [results[n].min() for n in names], [results[n].max() for n in names] - median
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
ax.barh(names, median, xerr=[low, high], color=["tab:blue"] * 3 + ["tab:gray"] * 4, capsize=3)
ax.axvline(3.066, color="k", ls="--", lw=1, label="paper's LLS (degree 8): 3.07")
ax.invert_yaxis()
ax.set(xlabel="test RMSE (thousands of dollars), median and range over 3 seeds",
       title="Boston housing, the paper's split")
ax.legend(loc="lower right")
plt.show()
