"""sklearn-slaf: self-learnable activation functions for scikit-learn."""

from .activation import SLAF
from .network import SLNN

__version__ = "0.1.0.dev0"

__all__ = ["SLAF", "SLNN", "__version__"]
