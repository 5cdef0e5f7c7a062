"""
Why the basis elements are normalised
=====================================

An SLAF sums basis elements ``g_i(x)``, and for a power basis their scales differ wildly:
for a standard normal pre-activation, ``x`` has variance 1 and ``x^8`` variance
``E[x^16] - E[x^8]^2 = 2,016,000``. The gradient of the loss with respect to the coefficient
of ``g_i`` is proportional to ``g_i``, so without normalisation the high-order
coefficients take steps thousands of times larger than the low-order ones and the learning
rate that suits one suits none. The layer therefore standardises every element by its batch
mean and variance (running averages in evaluation, as batch normalisation does), so that
each coefficient moves at the rate of the weights.

This example fits the same degree-8 network to Friedman's #1 problem with and without the
normalisation, with the early-stopping split off so that both run until their own loss
stops improving, and draws (left) the spread of the elements' scales at initialisation and
(right) the training loss per epoch.
"""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import make_friedman1  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_slaf import SLNNRegressor  # noqa: E402

X, y = make_friedman1(n_samples=1000, noise=1.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

fig, (ax_scale, ax_loss) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")


def normal_moment(n: int) -> float:
    """E[Z^n] of a standard normal: (n - 1)!! for even n, 0 for odd."""
    return float(np.prod(np.arange(n - 1, 0, -2))) if n % 2 == 0 else 0.0


std = [np.sqrt(normal_moment(2 * i) - normal_moment(i) ** 2) for i in range(1, 9)]
print("standard deviation of x^i, i = 1..8:", np.round(std, 1))
ax_scale.semilogy(range(1, 9), std, "o-", label="raw $x^i$")
ax_scale.semilogy(range(1, 9), np.ones(8), "s--", label="normalised: 1 by construction")
ax_scale.set(xlabel="degree $i$", ylabel="standard deviation of the element", xticks=range(1, 9),
             title="element scales, $x \\sim N(0, 1)$")
ax_scale.legend(loc="upper left")

for normalize in (True, False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = SLNNRegressor(degree=8, normalize_basis=normalize, early_stopping=False, max_iter=300,
                            random_state=0).fit(X_train, y_train)
    name = "normalised" if normalize else "raw elements"
    print(f"{name:13s}: {reg.n_iter_:3d} epochs, final training loss {reg.loss_curve_[-1]:.4f}, "
          f"test R^2 {reg.score(X_test, y_test):.3f}")
    ax_loss.semilogy(range(1, reg.n_iter_ + 1), reg.loss_curve_, label=f"{name} ({reg.n_iter_} epochs)")
ax_loss.set(xlabel="epoch", ylabel="training loss (standardised target)", title="degree 8, Friedman #1")
ax_loss.legend(loc="upper right")
plt.show()
