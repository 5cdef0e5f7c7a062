"""Which torch device an estimator's ``device`` parameter names, with one GPU per worker for ``"auto"``."""

from __future__ import annotations

import os
import sys
import zlib

import torch

__all__ = ["dask_worker", "resolve_device", "worker_slot"]


def dask_worker():
    """The ``dask.distributed`` worker this code runs in, or ``None`` (dask is never imported just to ask).

    Examples
    --------
    >>> from sklearn_slaf._devices import dask_worker
    >>> dask_worker() is None
    True
    """
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):  # not inside a worker
        return None


def worker_slot() -> int | None:
    """This process's index among parallel workers, or ``None`` outside any.

    Inside a ``dask.distributed`` worker: the worker's name when it is an integer (as
    ``LocalCluster`` names them), else a stable hash of its address. Under ``torchrun``:
    ``LOCAL_RANK``.

    Examples
    --------
    >>> from sklearn_slaf._devices import worker_slot
    >>> worker_slot() is None or worker_slot() >= 0
    True
    """
    worker = dask_worker()
    if worker is not None:
        name = worker.name
        if isinstance(name, int) or (isinstance(name, str) and name.isdigit()):
            return int(name)
        return zlib.crc32(str(worker.address).encode())
    rank = os.environ.get("LOCAL_RANK", "")
    return int(rank) if rank.isdigit() else None


def resolve_device(device) -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device`` into a device.

    ``"auto"`` is the CPU without CUDA. With CUDA it is the current GPU, except inside a
    worker of a parallel engine (:func:`worker_slot`) on a machine with several visible
    GPUs: there worker ``i`` takes GPU ``i % device_count``, so that the workers of one
    machine spread over its GPUs instead of all training on the first. Engines that give
    each worker its own GPU through ``CUDA_VISIBLE_DEVICES`` (dask-cuda) leave one visible
    device, which is then the one taken.

    Examples
    --------
    >>> from sklearn_slaf._devices import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        count, slot = torch.cuda.device_count(), worker_slot()
        return torch.device("cuda" if slot is None or count <= 1 else f"cuda:{slot % count}")
    else:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available; use 'cpu' or 'auto'.")
    return dev
