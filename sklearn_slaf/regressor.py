"""SLNNRegressor: least-squares regression with a self-learnable-activation network."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSLNN, _weighted_scaling
from ._docstrings import shared_parameters
from ._metrics import r2_score
from .training import SquaredError


# the Parameters entries are written once, in _docstrings.py, for both estimators
@shared_parameters("regressor")
class SLNNRegressor(RegressorMixin, BaseSLNN):
    """Regression with a network of self-learnable activation functions (SLAF).

    The network is ``Linear -> SLAF -> ... -> Linear`` (:class:`~sklearn_slaf.network.SLNN`);
    each SLAF learns its activation as a normalised combination of basis functions. With
    polynomial bases and only SLAF hidden layers the fitted model is exactly a polynomial
    of degree ``prod(degree)`` in the inputs (see
    :class:`~sklearn_slaf.PolynomialFeatureEquivalent`). Inputs and targets are
    standardised inside the network (an affine map, so that polynomial view stays exact).

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    module_ : SLNN
        The fitted network (input/output standardisation included).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has string feature names.
    n_outputs_ : int
    loss_curve_ : list of float
        Training loss (mean squared error on standardised targets) per epoch.
    validation_loss_curve_ : list of float
        Validation loss per epoch (empty without early stopping).
    validation_scores_ : list of float or None
        Validation R^2 per epoch (``None`` when the fit held nothing out).
    best_validation_score_ : float or None
    best_loss_ : float
        Lowest training loss reached.
    loss_ : float
        Training loss of the last epoch.
    coefs_, intercepts_ : list of ndarray
        Weights ``(n_in, n_out)`` and biases of the linear layers, read-only views (as
        ``MLPRegressor``'s; on standardised inputs and targets).
    n_layers_ : int
        Layers, input and output included.
    out_activation_ : str
        ``"identity"``.
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    device_ : torch.device
    activation_coefs_ : list of ndarray or None
        Effective coefficients of each hidden layer's SLAF.

    See Also
    --------
    SLNNClassifier : the classifier.
    sklearn.neural_network.MLPRegressor : fixed-activation multi-layer perceptron.

    References
    ----------
    %(references)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn_slaf import SLNNRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = SLNNRegressor(degree=2, device="cpu", random_state=0).fit(X, y)
    >>> round(reg.score(X, y), 3)
    1.0
    >>> reg.predict(X[:2]).shape, reg.module_.total_degree
    ((2,), 2)
    >>> reg.best_validation_score_ > 0.99  # early stopping is on from 100 samples
    True
    """

    @property
    def out_activation_(self) -> str:
        """``"identity"``: the output layer is linear (``MLPRegressor``'s name)."""
        check_is_fitted(self, "module_")
        return "identity"

    def _y_validation(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def _encode_targets(self, y, *, first: bool, classes=None) -> np.ndarray:
        Y = np.asarray(y, dtype=np.float64)
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if first:
            self._y_ndim = np.ndim(y)
            self.n_outputs_ = Y.shape[1]
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the model was fitted with {self.n_outputs_}.")
        return Y

    def _raw_targets(self, Y):
        return Y

    def _output_scaling(self, Y, sw):
        return _weighted_scaling(Y, sw)

    def _make_loss(self) -> SquaredError:
        return SquaredError(self.module_)

    @torch.no_grad()
    def _score_module(self, module, Xv, yv, wv) -> float:
        module.eval()
        pred = module(Xv).double().cpu().numpy()
        if not np.isfinite(pred).all():  # a step went non-finite after its loss was measured: the guard's case
            return -np.inf
        return r2_score(yv, pred, wv)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
            Per-sample weights of the squared error.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over the given data, starting from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out = self._forward(X)
        return out[:, 0] if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
