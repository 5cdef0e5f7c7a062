"""SLNNClassifier: classification with a self-learnable-activation network."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSLNN
from ._docstrings import shared_parameters
from .training import LogisticLoss, SoftmaxCrossEntropy


# the Parameters entries are written once, in _docstrings.py, for both estimators
@shared_parameters("classifier")
class SLNNClassifier(ClassifierMixin, BaseSLNN):
    """Classification with a network of self-learnable activation functions (SLAF).

    Binary problems use one output logit (logistic loss), multiclass problems one logit
    per class (softmax cross-entropy). Inputs are standardised inside the network.
    Parameters, optimisation and fitted attributes are those of
    :class:`~sklearn_slaf.SLNNRegressor`, with these differences: early stopping
    monitors validation accuracy (on a stratified split) and ``"auto"`` leaves it off,
    and ``loss_curve_`` holds the cross-entropy.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (any sortable labels, strings included).
    module_ : SLNN
    n_features_in_ : int
    feature_names_in_ : ndarray of str
    loss_curve_, validation_loss_curve_, validation_scores_, best_validation_score_ : see SLNNRegressor
    best_loss_, loss_, n_iter_, t_, device_, activation_coefs_, coefs_, intercepts_, n_layers_ : see SLNNRegressor
    n_outputs_ : int
        1 for binary problems (one logit), else the number of classes.
    out_activation_ : str
        ``"logistic"`` (binary) or ``"softmax"``.

    References
    ----------
    %(references)s

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_slaf import SLNNClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SLNNClassifier(hidden_layer_sizes=(16,), max_iter=100, device="cpu", random_state=0).fit(X, y)
    >>> round(clf.score(X, y), 2), clf.out_activation_
    (0.95, 'softmax')
    >>> clf.predict(X[[0, 50, 100]]).tolist(), clf.predict_proba(X[:1]).round(1).tolist()
    ([0, 1, 2], [[1.0, 0.0, 0.0]])
    """

    def _y_validation(self) -> dict:
        return {"multi_output": False}

    def _encode_targets(self, y, *, first: bool, classes=None) -> np.ndarray:
        check_classification_targets(y)
        if first:
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if labels.size < 2:
                raise ValueError(f"SLNNClassifier needs samples of at least 2 classes; got 1 class ({labels[0]!r}).")
            self.classes_ = labels
            self.n_outputs_ = 1 if labels.size == 2 else labels.size
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            # scikit-learn's rule for partial_fit: the classes are fixed by the first call
            raise ValueError(
                f"classes={np.asarray(classes).tolist()} is not the same as classes_={self.classes_.tolist()} "
                "fixed by the first call; pass the same classes (or none) to later partial_fit calls."
            )
        missing = np.setdiff1d(np.unique(y), self.classes_)
        if missing.size:
            raise ValueError(f"y contains labels {missing.tolist()} not in classes_ {self.classes_.tolist()}.")
        return np.searchsorted(self.classes_, y).astype(np.float64)[:, None]

    # early_stopping="auto" is off: an accuracy on a tenth of the rows moves in steps too coarse to stop
    # on (the suite's cross-validation: digits 0.961 with it, 0.979 without), and the decay regularises
    _auto_early_stopping_rows = None

    @property
    def out_activation_(self) -> str:
        """``"logistic"`` for binary problems (one logit), ``"softmax"`` otherwise (``MLPClassifier``'s names)."""
        check_is_fitted(self, "module_")
        return "logistic" if self._binary else "softmax"

    @property
    def _binary(self) -> bool:
        return len(self.classes_) == 2

    def _build_module(self, n_features, n_outputs, generator):
        return super()._build_module(n_features, 1 if self._binary else len(self.classes_), generator)

    def _raw_targets(self, Y):
        return Y[:, 0].astype(np.intp)

    def _stratify(self, Y):
        return Y[:, 0]

    def _n_strata(self, Y) -> int:
        counts = np.bincount(Y[:, 0].astype(np.intp))
        return len(counts) if counts.min() >= 2 else np.iinfo(np.int32).max

    def _output_scaling(self, Y, sw):
        return None, None

    def _make_loss(self) -> LogisticLoss | SoftmaxCrossEntropy:
        return LogisticLoss(self.module_) if self._binary else SoftmaxCrossEntropy(self.module_)

    @torch.no_grad()
    def _score_module(self, module, Xv, yv, wv) -> float:
        module.eval()
        out = module(Xv)
        pred = (out[:, 0] > 0).long() if out.shape[1] == 1 else out.argmax(1)
        hit = (pred.cpu().numpy() == yv).astype(float)
        return float(np.average(hit, weights=wv))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over the given data, starting from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), optional
            All labels that will ever appear; required on the first call.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if not hasattr(self, "module_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def decision_function(self, X):
        """Logits: shape (n_samples,) for binary problems, (n_samples, n_classes) otherwise."""
        out = self._forward(X)
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_log_proba(self, X):
        """Log of class probabilities, shape (n_samples, n_classes)."""
        d = self._forward(X)
        if d.shape[1] == 1:
            return np.column_stack([-np.logaddexp(0.0, d[:, 0]), -np.logaddexp(0.0, -d[:, 0])])
        return d - np.logaddexp.reduce(d, axis=1, keepdims=True)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """Predicted class labels."""
        d = self._forward(X)
        idx = (d[:, 0] > 0).astype(np.intp) if d.shape[1] == 1 else d.argmax(axis=1)
        return self.classes_[idx]
