"""
Two spirals: what depth buys a polynomial network
=================================================

The authors' two interleaved spirals (:func:`sklearn_slaf.datasets.make_two_spirals`) are a
classic test of a network's capacity: the two classes wind around each other one and a half
times, so the boundary between them crosses every ray from the origin three times.

A network with one hidden SLAF layer of degree 3 is a cubic polynomial of the two inputs
(10 monomials), and a cubic's zero set cannot follow three windings: the default
``SLNNClassifier()`` draws a smooth S and scores about 0.88. Two hidden layers of degrees 3
and 2 make a polynomial of degree 6 (28 monomials) whose level sets can wind: they reach
about 0.98, level with a scaled ReLU ``MLPClassifier``. The panels draw each model's
decision regions over the test points.
"""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.inspection import DecisionBoundaryDisplay  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_slaf import ExtrapolationWarning, SLNNClassifier  # noqa: E402
from sklearn_slaf.datasets import make_two_spirals  # noqa: E402

X, y = make_two_spirals(4000, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

models = {
    "SLNNClassifier()\n1 layer, degree 3": SLNNClassifier(random_state=0),
    "SLNNClassifier((128, 32), degree=(3, 2))\ndegree 3 x 2 = 6": SLNNClassifier(
        hidden_layer_sizes=(128, 32), degree=(3, 2), random_state=0),
    "StandardScaler + MLPClassifier\nReLU (100,)": make_pipeline(
        StandardScaler(), MLPClassifier(max_iter=1000, random_state=0)),
}

fig, axes = plt.subplots(1, 3, figsize=(13, 4.6), layout="constrained")
for ax, (name, model) in zip(axes, models.items()):
    model.fit(X_train, y_train)
    accuracy = model.score(X_test, y_test)
    print(f"{name.splitlines()[0]:45s} test accuracy {accuracy:.3f}")
    with warnings.catch_warnings():
        # the corners of the plotting grid lie outside the disc of the data, where a polynomial
        # extrapolates, and predict says so; here that is the point of the picture
        warnings.simplefilter("ignore", ExtrapolationWarning)
        DecisionBoundaryDisplay.from_estimator(model, X, ax=ax, cmap="RdBu", alpha=0.35, eps=0.05,
                                               grid_resolution=200, response_method="predict")
    ax.scatter(*X_test[y_test == 0].T, s=4, c="tab:red", label="arm 0")
    ax.scatter(*X_test[y_test == 1].T, s=4, c="tab:blue", label="arm 1")
    ax.set(title=f"{name}\ntest accuracy {accuracy:.3f}", xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
axes[0].legend(loc="lower left", markerscale=3, framealpha=0.9)
plt.show()
