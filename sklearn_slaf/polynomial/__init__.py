"""The polynomial view of a trained SLNN.

An SLNN whose hidden layers are all polynomial SLAF layers, with a linear output, is
exactly a polynomial of total degree ``D = k_1 * ... * k_L`` in its inputs.

* :mod:`._algebra`: the graded monomial index (``PolynomialFeatures`` order) and
  products of dense polynomials;
* :mod:`._expansion`: :func:`expand_network`, the exact layer-by-layer expansion;
* :mod:`._transformer`: :class:`PolynomialFeatureEquivalent`, the expansion as a
  scikit-learn transformer with coefficients and feature names;
* :mod:`._least_squares`: :func:`compare_with_least_squares`, linear least squares on
  the same features (the paper's LLS baseline);
* :mod:`._sobol`: exact Sobol indices by a change of basis (:func:`polynomial_sobol`,
  :meth:`PolynomialFeatureEquivalent.sobol_indices`).

Imports run one way: algebra <- expansion, sobol <- transformer <- least squares.
"""

from ._algebra import MonomialIndex, n_monomials
from ._expansion import DEFAULT_MAX_TERMS, ConditioningWarning, NetworkPolynomial, expand_network
from ._least_squares import LeastSquaresComparison, compare_with_least_squares
from ._sobol import SobolIndices, orthonormal_to_monomials, polynomial_sobol, univariate_basis_change
from ._transformer import PolynomialFeatureEquivalent

__all__ = [
    "DEFAULT_MAX_TERMS",
    "ConditioningWarning",
    "LeastSquaresComparison",
    "MonomialIndex",
    "NetworkPolynomial",
    "PolynomialFeatureEquivalent",
    "SobolIndices",
    "compare_with_least_squares",
    "expand_network",
    "n_monomials",
    "orthonormal_to_monomials",
    "polynomial_sobol",
    "univariate_basis_change",
]
