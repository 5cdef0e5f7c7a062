"""scikit-learn's common estimator checks on both estimators, in several configurations."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_slaf import SLNNClassifier, SLNNRegressor

_SMALL = {"hidden_layer_sizes": (16,), "max_iter": 100, "device": "cpu"}
CONFIGS = [
    {},
    {"hidden_layer_sizes": (16, 8), "hidden_activation": ("slaf", "relu+bn")},
    {"coef_sharing": "unit", "degree": 2},
    {"basis": "chebyshev", "degree": 4},
    # no batch statistics, full batch, float64: weights are exactly repetitions, as for MLPClassifier
    {"solver": "lbfgs", "normalize_basis": False, "dtype": "float64"},
]
ESTIMATORS = [cls(**{**_SMALL, **cfg}) for cfg in CONFIGS for cls in (SLNNRegressor, SLNNClassifier)]

_BATCH_STATS = (
    "the basis normalisation (like BatchNorm) uses mini-batch statistics that count samples, "
    "not weights, and mini-batches differ when samples are repeated, so integer weights and "
    "repetitions give different, equally valid fits"
)


def expected_failed_checks(estimator):
    if not estimator.normalize_basis and "+bn" not in str(estimator.hidden_activation):
        return {}  # every check passes, sample-weight equivalence included
    return {"check_sample_weight_equivalence_on_dense_data": _BATCH_STATS}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
