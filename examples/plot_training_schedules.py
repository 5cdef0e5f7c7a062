"""
Training routines, schedules and hybrid networks
================================================

``SLNNRegressor`` and ``SLNNClassifier`` train with Adam by default, and also with SGD
(momentum, Nesterov) or full-batch L-BFGS (``solver``). The step size follows a schedule
(``learning_rate``): ``"constant"``, ``"invscaling"`` (``lr / t^power_t``), ``"adaptive"``
(divided by 5 when the loss stalls, as in ``MLPRegressor``) or ``"cosine"`` (annealed to 0
over ``max_iter`` epochs). Layers can mix SLAF with fixed activations (``hidden_activation``
per layer, ``"+bn"`` for batch normalisation first: the paper's hybrid networks), and
``partial_fit`` trains epoch by epoch on data that arrives in chunks.

This example fits the Friedman #1 problem with each schedule, with L-BFGS, with a hybrid
network, and chunk by chunk, and draws the training curves (left) and test R^2 (right).
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

X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
common = {"max_iter": 100, "early_stopping": False, "random_state": 0}

runs = {
    'adam, "constant"': SLNNRegressor(**common),
    'adam, "invscaling"': SLNNRegressor(learning_rate="invscaling", learning_rate_init=1e-2, power_t=0.5,
                                        **common),
    'adam, "adaptive"': SLNNRegressor(learning_rate="adaptive", n_iter_no_change=5, **common),
    'adam, "cosine"': SLNNRegressor(learning_rate="cosine", learning_rate_init=3e-3, **common),
    "sgd, Nesterov momentum": SLNNRegressor(solver="sgd", learning_rate_init=1e-2, momentum=0.9, **common),
    "hybrid: (slaf, relu+bn)": SLNNRegressor(hidden_layer_sizes=(128, 64), hidden_activation=("slaf", "relu+bn"),
                                             **common),
}

fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained",
                                        gridspec_kw={"width_ratios": [3, 2]})
scores = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed budget of 100 epochs, on purpose
    for name, reg in runs.items():
        reg.fit(X_train, y_train)
        scores[name] = reg.score(X_test, y_test)
        ax_loss.semilogy(range(1, len(reg.loss_curve_) + 1), reg.loss_curve_, label=name)

    # full-batch L-BFGS: its "epochs" are line-search iterations
    lbfgs = SLNNRegressor(solver="lbfgs", max_iter=200, random_state=0).fit(X_train, y_train)
    scores["lbfgs (full batch)"] = lbfgs.score(X_test, y_test)

    # partial_fit: one epoch over each chunk of 300 rows as it arrives, ten passes
    stream = SLNNRegressor(random_state=0)
    chunks = np.array_split(np.arange(len(y_train)), 5)
    for _ in range(10):
        for rows in chunks:
            stream.partial_fit(X_train[rows], y_train[rows])
    scores["partial_fit, 5 chunks x 10 passes"] = stream.score(X_test, y_test)

for name, r2 in scores.items():
    print(f"{name:36s} test R^2 {r2:.3f}")
ax_loss.set(xlabel="epoch", ylabel="training loss (standardised target)", title="Friedman #1, 1,500 rows")
ax_loss.legend(fontsize=8, loc="upper right")
names = list(scores)
ax_score.barh(names, [scores[n] for n in names], color="tab:blue")
ax_score.set(xlim=(min(scores.values()) - 0.05, 1.0), xlabel="test R^2", title="held-out rows")
ax_score.invert_yaxis()
plt.show()
