"""
Initialising a deep network on the edge of chaos
================================================

How a deep network's weights are drawn decides whether it trains at all. Mean-field theory
(Hayou, Doucet & Rousseau, arXiv 1805.08266) follows the correlation ``c`` of two inputs'
pre-activations through a random network: in the *ordered* phase it goes to 1 within a few
layers, so at depth every input looks alike and the gradient carries nothing; in the
*chaotic* phase it goes to a fixed ``c* < 1``; on the *edge of chaos* it approaches 1 only
polynomially, ``1 - c^l ~ 1 / l``.

This example trains a 40-layer tanh network of width 64 on the digits for 10 epochs of SGD
from four initialisations, and draws (left) their training losses and (right) the
mean-field prediction of ``1 - c`` layer by layer for each one's ``(sigma_w, sigma_b)``:

* ``weight_init="edge_of_chaos"``: every layer on tanh's edge-of-chaos point with ``q* = 1``
  (:func:`sklearn_slaf.eoc.edge_of_chaos_init`);
* ``"default"``: torch's ``nn.Linear`` scheme, ``sigma_w^2 = 1/3``, deep in the ordered phase;
* ``"xavier"``: ``sigma_w = 1, sigma_b = 0``, tanh's edge-of-chaos curve at its ``q* -> 0`` end;
* ``"he"``: ``sigma_w^2 = 2``, in the chaotic phase.

What it shows: the ordered start does not train at all (its loss stays at chance, as its
correlations reach 1 within a few layers); the other three train. Within this short budget
the edge point with ``q* = 1`` learns more slowly than Xavier's, itself an edge-of-chaos
point of tanh, and He's; the theory promises trainability at depth, not speed, and
``benchmarks/eoc_depth.py`` measures it against the phases over seeds. On the edge,
``1 - c`` decays like ``1 / l``, neither collapsing (ordered) nor stalling (chaotic).
"""

import math
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_slaf import SLNNClassifier  # noqa: E402
from sklearn_slaf.eoc import depth_profile, edge_of_chaos_init  # noqa: E402
from sklearn_slaf.network import SLNN  # noqa: E402

DEPTH, WIDTH = 40, 64
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# the point edge_of_chaos_init puts every tanh layer on
point = edge_of_chaos_init(SLNN(64, (WIDTH,) * DEPTH, 10, hidden_activation="tanh"))[0]
sigmas = {  # (sigma_w, sigma_b) of each scheme for a square layer of WIDTH units
    "edge_of_chaos": (point.sigma_w, point.sigma_b),
    "default": (math.sqrt(1 / 3), 1 / math.sqrt(3 * WIDTH)),
    "xavier": (1.0, 0.0),
    "he": (math.sqrt(2.0), 0.0),
}
print(f"edge of chaos of tanh at q* = 1: sigma_w = {point.sigma_w:.3f}, sigma_b = {point.sigma_b:.3f}")

warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed budget of 10 epochs, on purpose
fig, (ax_loss, ax_c) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
for init, (sigma_w, sigma_b) in sigmas.items():
    net = SLNNClassifier(
        hidden_layer_sizes=(WIDTH,) * DEPTH, hidden_activation="tanh", weight_init=init,
        solver="sgd", learning_rate_init=0.01, momentum=0.9, batch_size=64, alpha=0.0,
        max_iter=10, early_stopping=False, n_iter_no_change=10, random_state=0,
    ).fit(X_train, y_train)
    label = f"{init} ($\\sigma_w$={sigma_w:.2f}, $\\sigma_b$={sigma_b:.2f})"
    print(f"{init:14s} final training loss {net.loss_curve_[-1]:.3f}, test accuracy {net.score(X_test, y_test):.3f}")
    ax_loss.plot(range(1, len(net.loss_curve_) + 1), net.loss_curve_, marker="o", ms=3, label=label)
    prof = depth_profile("tanh", DEPTH, sigma_w=sigma_w, sigma_b=sigma_b, q0=1.0, c0=0.5)
    ax_c.semilogy(prof.layer, prof.one_minus_c, label=init)
ax_loss.axhline(math.log(10), color="k", ls=":", lw=1, label="chance (log 10)")
ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title=f"{DEPTH} tanh layers of {WIDTH} units")
ax_loss.legend(fontsize=8, loc="center right")
ax_c.set(xlabel="layer", ylabel="1 - c (mean field, two inputs at c = 0.5)",
         title="how fast inputs become alike")
ax_c.legend(fontsize=8, loc="lower left")
plt.show()
