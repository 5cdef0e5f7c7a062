"""The polynomial as a plain scikit-learn pipeline (:meth:`PolynomialFeatureEquivalent.to_sklearn`)."""

from __future__ import annotations

from math import comb

import numpy as np
from sklearn.base import is_classifier

__all__ = ["FEATURE_MAPS", "export_pipeline"]

FEATURE_MAPS = ("auto", "full", "sparse")


def _scaler(mean: np.ndarray, scale: np.ndarray):
    from sklearn.preprocessing import StandardScaler

    s = StandardScaler()
    s.mean_, s.scale_ = np.asarray(mean, float), np.asarray(scale, float)
    s.var_, s.n_features_in_, s.n_samples_seen_ = s.scale_**2, s.mean_.size, 1
    return s


def _supports(powers: np.ndarray) -> dict[tuple[int, ...], int]:
    """Per set of inputs that some kept monomials use all of: the highest total degree among them."""
    out: dict[tuple[int, ...], int] = {}
    for row in powers:
        key = tuple(np.flatnonzero(row).tolist())
        out[key] = max(out.get(key, 0), int(row.sum()))
    return out


def _sparse_width(supports: dict) -> int:
    return sum(comb(len(s) + d, d) - 1 for s, d in supports.items())


def export_pipeline(pfe, feature_map: str = "auto"):
    """Build the pipeline of ``pfe`` (a fitted PolynomialFeatureEquivalent); see its ``to_sklearn``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    if feature_map not in FEATURE_MAPS:
        raise ValueError(f"feature_map must be one of {FEATURE_MAPS}; got {feature_map!r}.")
    n = pfe.n_features_in_
    coef, intercept = pfe._coef_2d()
    standardized = pfe.coordinates == "standardized"
    offset, scale = np.asarray(pfe._offset, float), np.asarray(pfe._scale, float)
    supports = _supports(pfe.powers_)
    full_width = comb(n + pfe.degree_, pfe.degree_) - 1
    if feature_map == "auto":
        feature_map = "sparse" if _sparse_width(supports) < full_width else "full"

    if feature_map == "full":
        steps = [("scale", _scaler(offset, scale))] if standardized else []
        monomials = PolynomialFeatures(pfe.degree_, include_bias=False).fit(np.zeros((1, n)))
        steps.append(("monomials", monomials))
        width = monomials.n_output_features_
        # the dropped monomials get zero weights: PolynomialFeatures computes them all anyway
        weights = np.zeros((coef.shape[0], width))
        weights[:, pfe._columns - 1] = coef
    else:
        # one branch per set of inputs the kept monomials use: PolynomialFeatures of just those
        # inputs up to the degree needed there, so a compact form computes a handful of columns
        branches, offsets, width = [], {}, 0
        for s, d in supports.items():
            cols = list(s)
            poly = PolynomialFeatures(d, include_bias=False)
            # fitting the ColumnTransformer clones its steps: the scalers' statistics are set after it
            step = Pipeline([("scale", StandardScaler()), ("monomials", poly)]) if standardized else poly
            branches.append((f"x{'_'.join(map(str, s))}", step, cols))
            offsets[s] = width
            width += comb(len(s) + d, d) - 1
        select = ColumnTransformer(branches)
        select.fit(np.zeros((1, n)))  # sets its bookkeeping
        names = getattr(pfe, "feature_names_in_", None)
        for (_, _, cols), fitted in zip(branches, select.transformers_):
            if standardized:
                fitted[1].steps[0] = ("scale", _scaler(offset[cols], scale[cols]))
            if names is not None:  # a frame's columns reach each branch as a frame of those columns
                first = fitted[1].steps[0][1] if standardized else fitted[1]
                first.feature_names_in_ = np.asarray(names, dtype=object)[cols]
        steps = [("monomials", select)]
        weights = np.zeros((coef.shape[0], width))
        for m, row in enumerate(pfe.powers_):
            s = tuple(np.flatnonzero(row).tolist())
            name = f"x{'_'.join(map(str, s))}"
            poly = select.named_transformers_[name]
            poly = poly.steps[-1][1] if hasattr(poly, "steps") else poly
            where = np.flatnonzero((poly.powers_ == row[list(s)]).all(axis=1))[0]
            weights[:, offsets[s] + where] = coef[:, m]
    if hasattr(pfe, "feature_names_in_"):  # the pipeline takes the frames the model took, names checked
        steps[0][1].feature_names_in_ = np.asarray(pfe.feature_names_in_, dtype=object)
    if is_classifier(pfe.estimator_):
        head = LogisticRegression()
        head.classes_ = np.asarray(pfe.estimator_.classes_)
    else:
        head = LinearRegression()
    head.coef_ = weights if weights.shape[0] > 1 or is_classifier(pfe.estimator_) else weights[0]
    head.intercept_ = np.asarray(intercept, float) if head.coef_.ndim == 2 else np.float64(intercept[0])
    head.n_features_in_ = int(width)
    steps.append(("linear", head))
    return Pipeline(steps)
