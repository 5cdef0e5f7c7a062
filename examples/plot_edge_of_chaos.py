"""
The edge of chaos of standard and learned activations
=====================================================

Mean-field theory (Hayou, Doucet & Rousseau, arXiv 1805.08266) follows the variance
``q`` and the correlation ``c`` of two inputs' pre-activations through a deep random
network. For a weight variance ``sigma_w^2 / fan_in`` and bias variance ``sigma_b^2`` the
variance map ``F(q)`` has a fixed point ``q*``; the network is on the *edge of chaos*
when the slope ``chi_1`` of the correlation map at ``c = 1`` is 1 there. Correlations
then neither collapse to 1 (the ordered phase: every input looks alike) nor decorrelate
(chaos) with depth, and deep networks train.

This example finds the edge-of-chaos point of tanh and of a SLAF learned on data (any
activation works: a name, a callable, a fitted layer), and draws for tanh the curve in
``(sigma_b, sigma_w)``, the variance map at one point of it, and how ``q`` and ``1 - c``
evolve over 30 layers there, with the correlation map at that point (its slope at
``c = 1`` is ``chi_1 = 1``: the map touches the diagonal there).
"""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sklearn_slaf import SLNNRegressor, edge_of_chaos, edge_of_chaos_per_layer  # noqa: E402
from sklearn_slaf.eoc import depth_profile  # noqa: E402
from sklearn_slaf.plotting import (  # noqa: E402
    plot_correlation_map,
    plot_depth_profile,
    plot_eoc_curve,
    plot_variance_map,
)

# a SLAF learned on data: its layer is a polynomial, whose Gaussian moments are exact
rng = np.random.default_rng(0)
X = rng.normal(size=(600, 4))
y = np.tanh(X[:, 0] + X[:, 1]) + 0.5 * X[:, 2] * X[:, 3]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    reg = SLNNRegressor((32,), degree=3, activation_init="tanh", max_iter=200, random_state=0).fit(X, y)

point = edge_of_chaos("tanh", sigma_b=0.2)[0]  # a list: some activations have several points
print(f"tanh on the edge of chaos at sigma_b=0.2: sigma_w={point.sigma_w:.4f}, q*={point.q_star:.4f}")
points = edge_of_chaos_per_layer(reg, sigma_b=0.2)[0]
print(f"the learned SLAF: {len(points)} edge-of-chaos point(s) at sigma_b=0.2:",
      ", ".join(f"sigma_w={p.sigma_w:.4f} ({'stable' if p.stable else 'unstable'})" for p in points))

fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
plot_eoc_curve("tanh", ax=axes[0, 0])
plot_variance_map("tanh", sigma_w=point.sigma_w, sigma_b=0.2, ax=axes[0, 1])
plot_correlation_map("tanh", sigma_w=point.sigma_w, sigma_b=0.2, ax=axes[1, 0])
plot_depth_profile(depth_profile("tanh", 30, sigma_w=point.sigma_w, sigma_b=0.2), ax=axes[1, 1])
fig.tight_layout()
plt.show()
