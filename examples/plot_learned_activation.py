"""
Learned activations on the diabetes data
========================================

Fit an :class:`~sklearn_slaf.SLNNRegressor` and look at the activation each layer learned,
in the coordinates of its own pre-activation, beside the identity it started from.
Run with ``python examples/plot_learned_activation.py`` (needs matplotlib); the figure is
written next to this file.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from numpy.polynomial import polynomial as P  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402

from sklearn_slaf import SLNNRegressor  # noqa: E402

X, y = load_diabetes(return_X_y=True)
reg = SLNNRegressor(hidden_layer_sizes=(32, 32), degree=(3, 2), early_stopping=True, random_state=0).fit(X, y)
print(f"R^2 on the training data: {reg.score(X, y):.3f}; network degree {reg.module_.total_degree}")

fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
z = np.linspace(-3, 3, 200)
for i, (ax, layer) in enumerate(zip(axes, reg.module_.slaf_layers)):
    coefs = layer.power_coefficients()  # exact polynomial of each unit (shared: all rows equal)
    ax.plot(z, P.polyval(z, coefs[0]), label="learned")
    ax.plot(z, z, "--", color="grey", label="identity")
    ax.set_title(f"layer {i + 1}, degree {layer.degree}")
    ax.set_xlabel("pre-activation")
axes[0].legend()
fig.tight_layout()
# beside the script when run as one; in the working directory under sphinx-gallery, which has no __file__
out = Path(__file__).with_suffix(".png") if "__file__" in globals() else Path("plot_learned_activation.png")
fig.savefig(out, dpi=100)
print(f"wrote {out}")
