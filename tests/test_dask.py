"""Searches, threads and out-of-core fits on a real ``dask.distributed`` cluster (2 worker processes, loopback).

Skipped without the ``dask`` extra (``pip install sklearn-slaf[dask]``); CI installs it.
"""

import os
import signal
import threading
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV

from sklearn_slaf import SLNNClassifier, SLNNRegressor

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

GRID = {"degree": [2, 3], "alpha": [0.3, 3.0]}
SEARCHES = {
    "grid": lambda est: GridSearchCV(est, GRID, cv=3),
    "randomized": lambda est: RandomizedSearchCV(est, GRID, n_iter=3, cv=3, random_state=0),
    "halving": lambda est: HalvingRandomSearchCV(est, GRID, cv=3, factor=2, min_resources=60, random_state=0),
}


def _cluster(**kw):
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                    dashboard_address=None, **kw)


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cluster's start-up chatter
        cluster = _cluster()
        c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    Xr, yr = make_regression(n_samples=240, n_features=5, noise=5.0, random_state=0)
    Xc, yc = make_classification(n_samples=240, n_features=6, n_informative=4, random_state=0)
    return {"regressor": (Xr, yr), "classifier": (Xc, yc)}


ESTIMATORS = {
    "regressor": SLNNRegressor((8,), max_iter=15, random_state=0, device="cpu"),
    "classifier": SLNNClassifier((8,), max_iter=15, random_state=0, device="cpu"),
}


@pytest.mark.parametrize("kind", list(ESTIMATORS))
@pytest.mark.parametrize("search", list(SEARCHES))
def test_search_on_the_cluster_equals_the_serial_search(client, data, kind, search):
    X, y = data[kind]
    serial = SEARCHES[search](ESTIMATORS[kind]).fit(X, y)
    with joblib.parallel_backend("dask"):
        spread = SEARCHES[search](ESTIMATORS[kind]).set_params(n_jobs=-1).fit(X, y)
    np.testing.assert_array_equal(spread.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    assert spread.best_params_ == serial.best_params_
    np.testing.assert_array_equal(spread.predict(X), serial.predict(X))


def _threads_in_worker():
    import torch

    from sklearn_slaf._threads import worker_share

    before = torch.get_num_threads()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    SLNNRegressor((4,), max_iter=2, random_state=0, device="cpu", n_threads=None).fit(X, X[:, 0])
    return worker_share(), before, torch.get_num_threads()


def test_fits_in_workers_take_the_workers_share(client):
    # the nanny starts each worker with OMP_NUM_THREADS=1, so torch starts at one thread there;
    # a fit uses that share and leaves it as it found it
    for share, before, after in client.run(_threads_in_worker).values():
        assert share == 1 and before == 1 and after == 1


def test_a_killed_worker_is_retried_or_reported_never_half_done(data):
    X, y = data["regressor"]
    serial = GridSearchCV(ESTIMATORS["regressor"], GRID, cv=3).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = _cluster()
        c = distributed.Client(cluster)
    try:
        pids = c.run(os.getpid)
        victim = pids[next(iter(pids))]
        killed = []

        def kill():
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

        killer = threading.Timer(0.5, kill)  # mid-search: the fits take several seconds in all
        outcome = None
        try:
            with joblib.parallel_backend("dask"):
                search = GridSearchCV(ESTIMATORS["regressor"].set_params(max_iter=150), GRID, cv=3, n_jobs=-1)
                killer.start()
                outcome = search.fit(X, y)
        except (distributed.scheduler.KilledWorker, distributed.client.FutureCancelledError):
            # joblib's dask backend cancels the batch that ran on the dead worker: the search fails
            # as a whole (the message, "cancelled for reason: unknown", is dask's), and no result is left
            assert not hasattr(search, "cv_results_")
        killer.join()
        assert killed, "the worker was not killed during the search"
        if outcome is not None:  # retried on the survivor: a complete search, every candidate scored
            assert np.isfinite(outcome.cv_results_["mean_test_score"]).all()
            assert len(outcome.cv_results_["params"]) == len(serial.cv_results_["params"])
    finally:
        c.close()
        cluster.close()


@pytest.fixture(scope="module")
def stream():
    X, y = make_classification(n_samples=4000, n_features=10, n_informative=6, random_state=0)
    return X[:3000], y[:3000], X[3000:], y[3000:]


INCREMENTAL_PASSES = 50  # what docs/scaling_out.rst documents: within 0.02 of the in-memory accuracy


def test_incremental_on_a_chunked_array_reaches_the_in_memory_fit(client, stream):
    import dask.array as da

    dask_ml = pytest.importorskip("dask_ml.wrappers")
    Xtr, ytr, Xte, yte = stream
    in_memory = SLNNClassifier(random_state=0, device="cpu").fit(Xtr, ytr).score(Xte, yte)
    dX, dy = da.from_array(Xtr, chunks=500), da.from_array(ytr, chunks=500)
    inc = dask_ml.Incremental(SLNNClassifier(random_state=0, device="cpu"), scoring="accuracy", random_state=0)
    first = None
    for p in range(INCREMENTAL_PASSES):
        inc.partial_fit(dX, dy, classes=[0, 1])  # classes on every call, as Incremental passes them on
        if p == 0:
            first = inc.score(Xte, yte)
            model = inc.estimator_
            assert model.n_iter_ == 6  # one pass: one partial_fit call (one epoch) per chunk
    assert inc.estimator_.n_iter_ == 6 * INCREMENTAL_PASSES  # the optimiser's state carried over every call
    final = inc.score(Xte, yte)
    assert final > first and final >= in_memory - 0.02, (first, final, in_memory)


@pytest.mark.parametrize("search", ["hyperband", "incremental"])
def test_dask_ml_adaptive_searches_run(client, stream, search):
    import dask.array as da

    ms = pytest.importorskip("dask_ml.model_selection")
    Xtr, ytr, _, _ = stream
    dX, dy = da.from_array(Xtr[:2000], chunks=250), da.from_array(ytr[:2000], chunks=250)
    grid = {"degree": [2, 3], "learning_rate_init": [1e-3, 1e-2]}
    est = SLNNClassifier((16,), random_state=0, device="cpu")
    if search == "hyperband":
        s = ms.HyperbandSearchCV(est, grid, max_iter=9, random_state=0)
    else:
        s = ms.IncrementalSearchCV(est, grid, n_initial_parameters=4, max_iter=5, random_state=0)
    s.fit(dX, dy, classes=[0, 1])
    assert s.best_params_ in list(__import__("sklearn").model_selection.ParameterGrid(grid))
    assert 0.8 < s.best_score_ <= 1.0  # a working model, not chance (0.5)
