"""Training of torch modules on in-memory tensors (no scikit-learn here).

* :mod:`._trainer`: :class:`Trainer`, the epoch/batch loop with its guards (divergence
  back-off, early stopping, interrupts) and :class:`TrainConfig` / :class:`TrainState`;
* :mod:`._engine`: :class:`Engine`, the autograd-free forward/backward of an SLNN;
* :mod:`._losses`: losses with closed-form gradients;
* :mod:`._optim`: AdamW and SGD on one flat parameter buffer.

Imports run one way: optim, losses <- engine <- trainer. The package reads the layers
(:mod:`sklearn_slaf.activation`, :mod:`sklearn_slaf.network`) and nothing above them.
"""

from ._engine import Engine
from ._losses import LogisticLoss, SoftmaxCrossEntropy, SquaredError, weighted_mean
from ._optim import FlatAdamW, FlatParameters, FlatSGDW
from ._trainer import COEF_PENALTIES, SOLVERS, TrainConfig, Trainer, TrainingDivergedError, TrainState

__all__ = [
    "COEF_PENALTIES",
    "Engine",
    "FlatAdamW",
    "FlatParameters",
    "FlatSGDW",
    "LogisticLoss",
    "SOLVERS",
    "SoftmaxCrossEntropy",
    "SquaredError",
    "TrainConfig",
    "TrainState",
    "Trainer",
    "TrainingDivergedError",
    "weighted_mean",
]
