"""``n_threads``: torch's intra-op threads for the duration of each call, the caller's setting restored."""

import threading

import numpy as np
import pytest
import torch
from joblib import Parallel, cpu_count, delayed

from sklearn_slaf import SLNNClassifier, SLNNRegressor
from sklearn_slaf._threads import _PER_THREAD, PARALLEL_WORK, resolve_threads, thread_limit, worker_share


@pytest.fixture
def settings(monkeypatch):
    """Every value torch.set_num_threads is called with, while it still takes effect."""
    calls = []
    real = torch.set_num_threads

    def record(n):
        calls.append(n)
        real(n)

    monkeypatch.setattr(torch, "set_num_threads", record)
    return calls


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    return X, X[:, 0] - X[:, 1] ** 2


@pytest.mark.parametrize("n_threads", [1, 3])
def test_fit_and_predict_use_n_threads_and_restore_the_callers(two_threads, settings, data, n_threads):
    X, y = data
    reg = SLNNRegressor((8,), max_iter=3, n_threads=n_threads, random_state=0, device="cpu").fit(X, y)
    assert settings == [n_threads, 2] and torch.get_num_threads() == 2
    settings.clear()
    reg.predict(X)
    assert settings == [n_threads, 2] and torch.get_num_threads() == 2


def test_default_takes_one_thread_for_small_work(two_threads, settings, data):
    X, y = data
    clf = SLNNClassifier((8,), max_iter=3, random_state=0, device="cpu").fit(X, y > 0)
    clf.predict_proba(X)
    assert settings == [1, 2, 1, 2] and torch.get_num_threads() == 2


def test_default_takes_the_share_for_large_work(two_threads, settings):
    # a predict chunk of 8192 rows through 256 units is above the threshold: the caller's 2 stay
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    reg = SLNNRegressor((256,), max_iter=1, random_state=0, device="cpu").fit(X, X[:, 0])
    settings.clear()
    reg.predict(np.repeat(X, 50, axis=0))
    assert 8192 * 256 >= PARALLEL_WORK
    assert settings == [] and torch.get_num_threads() == 2


def test_a_failed_fit_restores_the_setting(two_threads, data):
    X, y = data
    with pytest.raises(ValueError):
        SLNNRegressor((8,), n_threads=1, device="cpu").fit(X, y[:-1])
    with pytest.raises(ValueError, match="NaN"):
        SLNNRegressor((8,), max_iter=2, n_threads=1, device="cpu").fit(X, y).predict(X * np.nan)
    assert torch.get_num_threads() == 2


def test_bad_n_threads_is_refused(data):
    with pytest.raises(ValueError, match="n_threads"):
        SLNNRegressor(n_threads=0).fit(*data)


def test_resolve_threads():
    assert resolve_threads(4, 10) == 4
    assert resolve_threads(None, PARALLEL_WORK - 1) == 1
    assert resolve_threads(None, PARALLEL_WORK) == worker_share()


def test_nested_and_overlapping_calls(two_threads):
    with thread_limit(1):
        with thread_limit(3):  # nested in the same thread: the outer call's choice holds
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2

    # calls in two threads at once: each sees its own limit inside and its own setting after,
    # and the calling thread's setting is untouched throughout
    inside, release = threading.Barrier(3), threading.Event()
    seen = []

    def call():
        torch.set_num_threads(2)  # a thread's own setting, where torch keeps one per thread
        with thread_limit(1):
            inside.wait(5)
            now = torch.get_num_threads()
            release.wait(5)
        seen.append((now, torch.get_num_threads()))

    workers = [threading.Thread(target=call) for _ in range(2)]
    for w in workers:
        w.start()
    inside.wait(5)
    during = torch.get_num_threads()
    release.set()
    for w in workers:
        w.join()
    assert [inside for inside, _ in seen] == [1, 1] and torch.get_num_threads() == 2
    if _PER_THREAD:
        assert [after for _, after in seen] == [2, 2] and during == 2


def _inside_worker():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    SLNNRegressor((4,), max_iter=1, device="cpu", random_state=0).fit(X, X[:, 0])
    return worker_share(), torch.get_num_threads()


def test_loky_workers_get_their_share():
    # loky starts its workers with OMP_NUM_THREADS at cpu_count // n_jobs, which torch reads
    shares = Parallel(n_jobs=2, backend="loky")(delayed(_inside_worker)() for _ in range(2))
    expected = max(1, cpu_count() // 2)
    assert all(share == expected and after == expected for share, after in shares), shares
