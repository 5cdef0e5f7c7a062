"""Out-of-core training without Dask: ``partial_fit`` over chunks of a memory-mapped ``.npy`` or a generator."""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from sklearn_slaf import SLNNClassifier, SLNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
PASSES = 50  # as documented in docs/scaling_out.rst


def chunks(X, y, size):
    for i in range(0, len(X), size):
        yield X[i : i + size], y[i : i + size]


def test_memory_mapped_chunks_reach_the_in_memory_fit(tmp_path):
    X, y = make_classification(n_samples=4000, n_features=10, n_informative=6, random_state=0)
    np.save(tmp_path / "X.npy", X[:3000])
    np.save(tmp_path / "y.npy", y[:3000])
    Xm, ym = np.load(tmp_path / "X.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")
    in_memory = SLNNClassifier(random_state=0, device="cpu").fit(X[:3000], y[:3000]).score(X[3000:], y[3000:])
    clf = SLNNClassifier(random_state=0, device="cpu")
    for p in range(PASSES):
        for i, (Xc, yc) in enumerate(chunks(Xm, ym, 500)):
            clf.partial_fit(Xc, yc, classes=[0, 1] if p == i == 0 else None)
    assert clf.n_iter_ == 6 * PASSES
    assert clf.score(X[3000:], y[3000:]) >= in_memory - 0.02


def test_a_generator_of_chunks_trains_a_regressor():
    X, y = make_regression(n_samples=3000, n_features=6, noise=1.0, random_state=0)

    def source():  # rows arrive once and are gone, e.g. read from a socket or a database cursor
        rng = np.random.default_rng(0)
        for _ in range(20):
            idx = rng.integers(0, 2500, size=250)
            yield X[idx], y[idx]

    reg = SLNNRegressor(random_state=0, device="cpu")
    scores = []
    for Xc, yc in source():
        reg.partial_fit(Xc, yc)
        scores.append(reg.score(X[2500:], y[2500:]))
    assert scores[-1] > 0.9 and scores[-1] > scores[0]
