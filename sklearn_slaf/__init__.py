"""sklearn-slaf: self-learnable activation functions for scikit-learn."""

from ._extrapolation import ExtrapolationWarning
from ._version import __version__
from .activation import SLAF
from .classifier import SLNNClassifier
from .eoc import edge_of_chaos, edge_of_chaos_init, edge_of_chaos_per_layer, eoc_curve, eoc_curve_per_layer, propagation
from .network import SLNN
from .polynomial import (
    ConditioningWarning,
    LeastSquaresComparison,
    NetworkPolynomial,
    PolynomialFeatureEquivalent,
    compare_with_least_squares,
    expand_network,
)
from .regressor import SLNNRegressor
from .training import TrainingDivergedError

__all__ = [
    "ConditioningWarning",
    "ExtrapolationWarning",
    "LeastSquaresComparison",
    "NetworkPolynomial",
    "PolynomialFeatureEquivalent",
    "SLAF",
    "SLNN",
    "SLNNClassifier",
    "SLNNRegressor",
    "TrainingDivergedError",
    "compare_with_least_squares",
    "edge_of_chaos",
    "edge_of_chaos_init",
    "edge_of_chaos_per_layer",
    "eoc_curve",
    "eoc_curve_per_layer",
    "expand_network",
    "propagation",
    "__version__",
]
