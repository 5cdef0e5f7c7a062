"""scikit-learn's common estimator checks on both estimators, in several configurations."""

from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_slaf import SLNNClassifier, SLNNRegressor

_SMALL = {"hidden_layer_sizes": (16,), "max_iter": 100, "device": "cpu"}
CONFIGS = [
    {},
    {"hidden_layer_sizes": (16, 8), "hidden_activation": ("slaf", "relu+bn")},
    {"coef_sharing": "unit", "degree": 2},
    {"basis": "chebyshev", "degree": 4},
    # no batch statistics, full batch, float64
    {"solver": "lbfgs", "normalize_basis": False, "dtype": "float64"},
]
ESTIMATORS = [cls(**{**_SMALL, **cfg}) for cfg in CONFIGS for cls in (SLNNRegressor, SLNNClassifier)]

# scikit-learn runs this check on its MLP with solver="lbfgs": a full batch (the same batch statistics
# for weights as for repeated rows) and no stochastic steps; in float64, so that the weighted and the
# repeated sums round alike to the check's tolerance
_WEIGHT_EQUIVALENCE = {"check_sample_weight_equivalence_on_dense_data": {"solver": "lbfgs", "dtype": "float64"}}


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    params = _WEIGHT_EQUIVALENCE.get(getattr(check, "func", check).__name__)
    check(estimator if params is None else clone(estimator).set_params(**params))
