"""sklearn-slaf: self-learnable activation functions for scikit-learn."""

from .activation import SLAF
from .classifier import SLNNClassifier
from .eoc import edge_of_chaos, edge_of_chaos_init, eoc_curve, propagation
from .network import SLNN
from .regressor import SLNNRegressor
from .training import TrainingDivergedError

__version__ = "0.1.0.dev0"

__all__ = [
    "SLAF",
    "SLNN",
    "SLNNClassifier",
    "SLNNRegressor",
    "TrainingDivergedError",
    "edge_of_chaos",
    "edge_of_chaos_init",
    "eoc_curve",
    "propagation",
    "__version__",
]
