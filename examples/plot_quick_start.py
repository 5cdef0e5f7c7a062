"""
Quick start: regression and classification in a pipeline
=========================================================

``SLNNRegressor`` and ``SLNNClassifier`` are scikit-learn estimators: they go into a
:class:`~sklearn.pipeline.Pipeline`, are tuned by :class:`~sklearn.model_selection.GridSearchCV`
and are scored like any other. They standardise their inputs (and the regressor its target)
inside the network, so no scaler is needed in front of them.

The regression half fits Friedman's #1 problem, ``y = 10 sin(pi x1 x2) + 20 (x3 - 1/2)^2 +
10 x4 + 5 x5 + noise`` with five irrelevant inputs, where a learned polynomial has something
to find that a linear model cannot; one value in a hundred is missing, so the pipeline imputes
first. The classification half fits the breast-cancer data. Each half prints the search's
choice and its test score beside a linear baseline, and the figure shows the regression's
predictions against the truth and its training curve.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_breast_cancer, make_friedman1  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_slaf import SLNNClassifier, SLNNRegressor  # noqa: E402
from sklearn_slaf.plotting import plot_loss_curve  # noqa: E402

# %%
# Regression: a grid over the degree of the learned activations
X, y = make_friedman1(n_samples=1000, noise=1.0, random_state=0)
X[np.random.RandomState(0).uniform(size=X.shape) < 0.01] = np.nan
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

search = GridSearchCV(
    make_pipeline(SimpleImputer(), SLNNRegressor(random_state=0)),
    {"slnnregressor__degree": [1, 2, 3]},
    cv=3,
).fit(X_train, y_train)
linear = make_pipeline(SimpleImputer(), LinearRegression()).fit(X_train, y_train)
print("chosen:", search.best_params_)
print(f"test R^2: SLNN {search.score(X_test, y_test):.3f}, linear regression {linear.score(X_test, y_test):.3f}")

# %%
# Classification: a grid over the width
X, y = load_breast_cancer(return_X_y=True)
X_train_c, X_test_c, y_train_c, y_test_c = train_test_split(X, y, stratify=y, random_state=0)
clf = GridSearchCV(SLNNClassifier(random_state=0), {"hidden_layer_sizes": [(32,), (128,)]}, cv=3)
clf.fit(X_train_c, y_train_c)
logistic = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train_c, y_train_c)
print("chosen:", clf.best_params_)
print(f"test accuracy: SLNN {clf.score(X_test_c, y_test_c):.3f}, logistic regression "
      f"{logistic.score(X_test_c, y_test_c):.3f}")
print("probabilities of the first three test rows:\n", clf.predict_proba(X_test_c[:3]).round(3))

# %%
# The regression's predictions, and how its training went
best = search.best_estimator_[-1]
fig, (ax_pred, ax_loss) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
ax_pred.scatter(y_test, search.predict(X_test), s=8, label="SLNN")
ax_pred.scatter(y_test, linear.predict(X_test), s=8, alpha=0.5, label="linear regression")
lims = [y_test.min(), y_test.max()]
ax_pred.plot(lims, lims, "k--", lw=1, label="y = prediction")
ax_pred.set(xlabel="true y", ylabel="predicted y", title="Friedman #1, test rows")
ax_pred.legend(loc="upper left")
plot_loss_curve(best, ax=ax_loss)
plt.show()
