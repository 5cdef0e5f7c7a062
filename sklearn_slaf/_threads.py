"""How many intra-op threads torch uses for one ``fit`` or ``predict`` call, and setting them for its duration.

torch's intra-op thread count is one process-wide setting, by default the number of
cores. On small tensors its threads cost more in wake-ups and contention than they
save: on a shared 2-core machine under load, whole small fits ran 10-147 times slower
with 2 threads than with 1, and a one-row ``predict`` took 15.7 ms instead of a few
hundred microseconds. Measured on an idle 2-core machine (``benchmarks/threads.py``):
2 threads gain nothing at a batch of 200 x 128 units and start to gain (0.6-0.8x the
time) from about a million elements per ``(rows, units)`` tensor, such as a batch of
4096 rows through 256 units. :data:`PARALLEL_WORK` is that threshold.

The estimators' ``n_threads=None`` therefore uses one thread for small work and the
*worker's share* of the cores for large work: the caller's own torch setting (which
loky and dask workers start at their share, through ``OMP_NUM_THREADS``), capped by
the cores this process may run on and, inside a multi-threaded dask worker, by the
cores per worker thread. An integer ``n_threads`` is used as given.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ._devices import dask_worker

__all__ = ["PARALLEL_WORK", "resolve_threads", "thread_limit", "worker_share"]

#: elements of the widest ``(rows, units)`` tensor from which ``n_threads=None`` uses more than one thread
PARALLEL_WORK = 1 << 20

# With OpenMP (torch's backend on Linux, Windows and macOS wheels) the setting belongs to the
# calling thread; with the native or TBB pools it is one for the whole process.
_PER_THREAD = "parallel backend: OpenMP" in torch.__config__.parallel_info()
_lock = threading.Lock()
_active = 0  # process-wide setting: threads inside thread_limit
_saved: int | None = None  # process-wide setting: the value before the first of them
_local = threading.local()  # .depth: nesting of thread_limit in this thread; .saved: its value before


def _callers_setting() -> int:
    """torch's setting as the caller made it, also while a thread_limit call overrides it."""
    if getattr(_local, "depth", 0):
        return _local.saved
    if not _PER_THREAD and _saved is not None:
        return _saved
    return torch.get_num_threads()


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def worker_share() -> int:
    """The threads this process (or this dask worker thread) may use: at least 1.

    The smallest of torch's current setting, the cores in this process's affinity mask
    and, inside a ``dask.distributed`` worker running several tasks at once, the cores
    per task.

    Examples
    --------
    >>> from sklearn_slaf._threads import worker_share
    >>> worker_share() >= 1
    True
    """
    n = min(_callers_setting(), _cores())
    worker = dask_worker()
    nthreads = getattr(getattr(worker, "state", None), "nthreads", None)
    if nthreads:
        n = min(n, max(1, _cores() // nthreads))
    return max(1, n)


def resolve_threads(n_threads: int | None, work: int) -> int:
    """The thread count for a call whose widest ``(rows, units)`` tensor holds ``work`` elements.

    Examples
    --------
    >>> from sklearn_slaf._threads import resolve_threads
    >>> resolve_threads(None, 200 * 128)  # a small batch: one thread
    1
    >>> resolve_threads(3, 200 * 128)
    3
    """
    if n_threads is not None:
        return int(n_threads)
    return 1 if work < PARALLEL_WORK else worker_share()


@contextmanager
def thread_limit(n: int) -> Iterator[None]:
    """Run the body with ``torch.set_num_threads(n)``; restore the caller's setting afterwards.

    A call nested in another in the same thread (a ``predict`` inside a ``fit``) keeps
    the outer call's setting. With OpenMP (torch's usual backend) each thread has its own
    setting, so calls in several threads (joblib's threading backend, a dask worker) are
    independent. With a process-wide setting (torch's native or TBB pools) overlapping
    calls share it: the value before the first of them is kept aside and put back when
    the last one leaves, so none restores a value another one set.

    Examples
    --------
    >>> import torch
    >>> from sklearn_slaf._threads import thread_limit
    >>> before = torch.get_num_threads()
    >>> with thread_limit(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    global _active, _saved
    if getattr(_local, "depth", 0):
        _local.depth += 1
        try:
            yield
        finally:
            _local.depth -= 1
        return
    _local.saved = torch.get_num_threads() if _PER_THREAD or _saved is None else _saved
    if _PER_THREAD:
        if _local.saved != n:
            torch.set_num_threads(n)
    else:
        with _lock:
            if _active == 0:
                _saved = _local.saved
            _active += 1
            if torch.get_num_threads() != n:
                torch.set_num_threads(n)
    _local.depth = 1
    try:
        yield
    finally:
        _local.depth = 0
        if _PER_THREAD:
            if torch.get_num_threads() != _local.saved:
                torch.set_num_threads(_local.saved)
        else:
            with _lock:
                _active -= 1
                if _active == 0:
                    if torch.get_num_threads() != _saved:
                        torch.set_num_threads(_saved)
                    _saved = None
