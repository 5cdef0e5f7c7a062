"""Data-parallel training over torch.distributed: 2 processes (gloo, CPU) equal one process on the global batches."""

import os
import pickle
import tempfile
import time
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sklearn_slaf import SLNNClassifier, SLNNRegressor

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 4)) * [1.0, 2.0, 0.5, 1.5] + [0.0, 1.0, -1.0, 0.0]
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) - 0.5 * X[:, 3]
    return X, y


MODELS = {
    # float64 so that only the order of the sums differs from one process: round-off, not float32 noise
    "regressor": lambda: SLNNRegressor((12, 8), degree=(3, 2), basis="chebyshev", gate=True, coef_alpha=1e-3,
                                       batch_size=60, max_iter=4, early_stopping=False, random_state=0,
                                       dtype="float64", device="cpu"),
    "hybrid": lambda: SLNNRegressor((10, 8), degree=3, hidden_activation=("slaf+bn", "relu+bn"), batch_size=60,
                                    max_iter=3, early_stopping=False, random_state=0, dtype="float64", device="cpu"),
    "classifier": lambda: SLNNClassifier((10,), degree=3, coef_sharing="unit", batch_size=48, max_iter=3,
                                         random_state=0, dtype="float64", device="cpu"),
    # sample weights in every batch statistic (the input range of a mapped basis included), zeros too
    "weighted": lambda: SLNNRegressor((10, 8), degree=3, basis="chebyshev", hidden_activation=("slaf+bn", "relu+bn"),
                                      batch_size=60, max_iter=3, early_stopping=False, random_state=0,
                                      dtype="float64", device="cpu"),
}


def _weights(kind):
    return np.random.default_rng(1).integers(0, 4, size=240) if kind == "weighted" else None


def _targets(kind, y):
    return np.digitize(y, np.quantile(y, [0.33, 0.66])) if kind == "classifier" else y


def _worker(rank, world, init_file, kind, out, die_at):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world,
                            timeout=__import__("datetime").timedelta(seconds=20))
    torch.set_num_threads(1)
    X, y = _data()
    result = {}
    try:
        model = MODELS[kind]().set_params(distributed=True)
        if die_at is not None and rank == 1:  # this rank dies at its die_at-th gradient reduction: mid-fit
            from sklearn_slaf.training import Communicator

            calls, real = [0], Communicator.sum_

            def dying(self, t):
                calls[0] += 1
                if calls[0] == die_at:
                    os._exit(3)
                return real(self, t)

            Communicator.sum_ = dying
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, _targets(kind, y), sample_weight=_weights(kind))
        result = {"state": {k: v.numpy() for k, v in model.module_.state_dict().items()},
                  "pred": model.predict(X), "loss": model.loss_curve_}
    except Exception as exc:  # reported to the parent, which checks it
        result = {"error": f"{type(exc).__name__}: {exc}"}
    with open(f"{out}.{rank}", "wb") as f:
        pickle.dump(result, f)
    try:
        dist.destroy_process_group()
    except Exception:
        pass


def _run(kind, die_at=None):
    with tempfile.TemporaryDirectory() as tmp:
        init, out = os.path.join(tmp, "init"), os.path.join(tmp, "out")
        ctx = mp.get_context("spawn")
        procs = [ctx.Process(target=_worker, args=(r, 2, init, kind, out, die_at)) for r in range(2)]
        start = time.time()
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        elapsed = time.time() - start
        for p in procs:
            if p.is_alive():
                p.kill()
                pytest.fail("a distributed fit hung")
        results = []
        for r in range(2):
            path = f"{out}.{r}"
            results.append(pickle.load(open(path, "rb")) if os.path.exists(path) else None)
        return results, elapsed


@pytest.mark.parametrize("kind", list(MODELS))
def test_two_processes_equal_one_process_on_the_global_batches(kind):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = MODELS[kind]().fit(X, _targets(kind, y), sample_weight=_weights(kind))
    results, _ = _run(kind)
    for res in results:
        assert "error" not in res, res.get("error")
        np.testing.assert_allclose(res["loss"], single.loss_curve_, rtol=1e-10)
        for name, value in single.module_.state_dict().items():
            # atol: a linear bias in front of batch normalisation has no gradient, only round-off (~1e-11)
            np.testing.assert_allclose(res["state"][name], value.numpy(), rtol=1e-9, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(res["pred"], single.predict(X), rtol=1e-9, atol=1e-9)


def test_a_dead_rank_makes_the_other_stop_with_a_clear_error():
    results, elapsed = _run("regressor", die_at=5)  # during the second epoch (4 steps each)
    assert results[1] is None  # it died
    assert results[0] is not None and "error" in results[0]
    assert results[0]["error"].startswith("DistributedTrainingError") and "peer process" in results[0]["error"]
    assert elapsed < 60  # the closed connection is seen at once; the group's timeout (20 s) bounds the rest


def test_distributed_needs_a_process_group_and_no_early_stopping():
    X, y = _data()
    with pytest.raises(ValueError, match="init_process_group"):
        SLNNRegressor((4,), max_iter=1, distributed=True, device="cpu").fit(X, y)
    with pytest.raises(ValueError, match="early_stopping"):
        SLNNRegressor((4,), max_iter=1, distributed=True, early_stopping=True, device="cpu").fit(X, y)

