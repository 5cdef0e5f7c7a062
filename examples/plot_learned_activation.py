"""
Plotting learned activations
============================

Each SLAF layer learns its own activation. :func:`sklearn_slaf.plotting.plot_activations`
draws, for every hidden layer, the learned function over the range its pre-activations
actually take on the data, with their histogram underneath and the activation the layer
started from (the identity here) dashed for reference. Where coefficients are learned per
unit (``coef_sharing="unit"``) it draws the units' curves, and for wide layers a median
with a 10-90% band.

The network is a two-layer SLNN of degrees 3 and 2 on the diabetes data, each unit with
its own coefficients: 32 cubics in the first layer, 8 quadratics in the second.
:func:`~sklearn_slaf.plotting.plot_loss_curve` then shows how the fit went, with the
early-stopping epoch whose weights were kept.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402

from sklearn_slaf import SLNNRegressor  # noqa: E402
from sklearn_slaf.plotting import plot_activations, plot_loss_curve  # noqa: E402

X, y = load_diabetes(return_X_y=True)
reg = SLNNRegressor(hidden_layer_sizes=(32, 8), degree=(3, 2), coef_sharing="unit", random_state=0).fit(X, y)
print(f"best validation R^2 {reg.best_validation_score_:.3f}; "
      f"the network is a polynomial of degree {reg.module_.total_degree}")
for layer, coef in enumerate(reg.activation_coefs_):
    print(f"layer {layer + 1}: coefficients of shape {coef.shape}")

fig = plot_activations(reg, X)
_ = fig.suptitle("learned activations on the diabetes data")

# %%
# The training and validation curves of the same fit
plot_loss_curve(reg)
plt.show()
