"""
The polynomial a network learned, against least squares
=======================================================

A network of polynomial SLAF layers with a linear output is exactly a polynomial of its
inputs, of degree ``k1 * k2 * ...``. :class:`~sklearn_slaf.PolynomialFeatureEquivalent`
expands a fitted network into that polynomial, and :func:`~sklearn_slaf.compare_with_least_squares`
fits linear least squares on the same monomials: the paper's "LLS" baseline.

The data are the authors' synthetic benchmark (:func:`~sklearn_slaf.datasets.make_sparse_polynomial`):
five standard normal inputs and a target that is a sum of 10 random monomials of degree 3,
plus 10% noise. A degree-3 network can represent it exactly, its expansion has 56
monomials, and there are 750 training rows, so least squares is well posed and the
comparison is meaningful. The figure draws each of the 55 non-constant coefficients of the
network and of least squares against the truth, in the raw inputs' coordinates.

What it shows: both find the true terms and leave the 45 absent ones near zero. Least
squares, 56 parameters solved in closed form, reaches the noise floor; the network, 901
parameters trained by Adam and stopped early, gets the leading terms within about 0.1 and
a test error about 1.7 times the noise. When the degree is known and the monomials are
few, least squares on them is the better fit; the network earns its keep where the
expansion is too large to fit directly (Boston's degree 8: 203,490 monomials for 404 rows)
and as a compact, trainable parametrisation of it.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sklearn_slaf import PolynomialFeatureEquivalent, SLNNRegressor, compare_with_least_squares  # noqa: E402
from sklearn_slaf.datasets import make_sparse_polynomial  # noqa: E402

X, y, true_powers, true_coef = make_sparse_polynomial(1000, n_features=5, n_terms=10, degree=3, noise=0.1,
                                                      random_state=0, return_polynomial=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

reg = SLNNRegressor(degree=3, dtype="float64", random_state=0).fit(X_train, y_train)
pfe = PolynomialFeatureEquivalent(reg, coordinates="raw").fit(X_train)
cmp = compare_with_least_squares(reg, X_train, y_train, X_test, y_test, coordinates="raw")
print(f"degree {pfe.degree_}, {pfe.n_output_features_} monomials + constant; "
      f"expansion matches the network to {pfe.verification_error_:.1e} (relative)")
print(f"test RMSE: SLNN {cmp.rmse_test_slnn:.3f}, least squares {cmp.rmse_test_lls:.3f} "
      f"(noise sd {0.1 * np.std(y):.3f})")
print(f"parameters: SLNN {cmp.slnn_n_parameters}, least squares {cmp.lls_n_parameters}")

# the true coefficient of each of the expansion's monomials (zero for the 45 absent ones)
truth = np.zeros(pfe.n_output_features_)
index = {tuple(p): i for i, p in enumerate(pfe.powers_)}
for p, c in zip(true_powers, true_coef):
    if p.any():
        truth[index[tuple(p)]] = c
lls_coef = np.ravel(cmp.lls.coef_)

print("the network's five largest terms:")
names = pfe.get_feature_names_out()
for i in np.argsort(-np.abs(pfe.coef_))[:5]:
    print(f"  {pfe.coef_[i]:+.3f} {names[i]:10s} (true {truth[i]:+.3f})")

fig, ax = plt.subplots(figsize=(5.5, 5), layout="constrained")
ax.axline((0, 0), slope=1, color="k", lw=1, ls="--", label="coefficient = truth")
ax.scatter(truth, pfe.coef_, s=28, label=f"SLNN, degree 3 (test RMSE {cmp.rmse_test_slnn:.3f})")
ax.scatter(truth, lls_coef, s=12, marker="x", label=f"least squares (test RMSE {cmp.rmse_test_lls:.3f})")
ax.set(xlabel="true coefficient", ylabel="fitted coefficient",
       title="the 55 monomials of degree <= 3 in 5 inputs")
ax.legend(loc="upper left", fontsize=8)
plt.show()
