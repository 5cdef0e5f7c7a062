"""``device="auto"``: one GPU per worker where a machine has several (the selection, with mocked devices)."""

import sys
import types

import pytest
import torch

from sklearn_slaf._devices import resolve_device, worker_slot


@pytest.fixture
def gpus(monkeypatch):
    def set_count(n):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    return set_count


@pytest.fixture
def in_worker(monkeypatch):
    """Pretend to run inside a dask worker named ``name`` at ``address``."""
    def enter(name, address="tcp://127.0.0.1:40000"):
        fake = types.ModuleType("distributed")
        fake.get_worker = lambda: types.SimpleNamespace(name=name, address=address)
        monkeypatch.setitem(sys.modules, "distributed", fake)
    return enter


def test_auto_without_cuda_is_the_cpu(gpus, in_worker):
    gpus(0)
    in_worker(3)
    assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("name, count, expected", [(0, 4, "cuda:0"), (3, 4, "cuda:3"), (5, 4, "cuda:1"),
                                                   ("2", 2, "cuda:0"), (7, 1, "cuda")])
def test_workers_spread_over_the_gpus(gpus, in_worker, name, count, expected):
    gpus(count)
    in_worker(name)
    assert resolve_device("auto") == torch.device(expected)


def test_named_workers_take_a_stable_gpu(gpus, in_worker):
    gpus(8)
    in_worker("worker-a", "tcp://10.0.0.1:1234")
    first = resolve_device("auto")
    assert first == resolve_device("auto") and first.index in range(8)
    in_worker("worker-b", "tcp://10.0.0.2:1234")
    assert resolve_device("auto").index in range(8)


def test_outside_any_worker_the_current_gpu(gpus, monkeypatch):
    gpus(4)
    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert worker_slot() is None
    assert resolve_device("auto") == torch.device("cuda")
    monkeypatch.setenv("LOCAL_RANK", "6")  # torchrun's rank on this machine
    assert resolve_device("auto") == torch.device("cuda:2")


def test_explicit_devices_are_kept(gpus, in_worker):
    gpus(4)
    in_worker(3)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu")
