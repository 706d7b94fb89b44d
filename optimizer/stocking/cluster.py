"""Where the stocking solver's per-part work runs: in this process, or as tasks on a Dask cluster.

Parts are independent given their own levels, so the pricing paths, the column and plan
evaluations and the simulation replications split into chunks of parts that run anywhere; the
solver calls :meth:`InProcess.run` / :meth:`DaskCluster.run` with a module-level function and
one argument tuple per chunk and gets the results back in chunk order. Both run the very same
tasks, so a plan is identical whichever runs it. Read-only inputs (a problem's chunks) are
scattered to the workers once per problem and reused by every later call (:meth:`share`).

:func:`connect` turns the CLI's ``--cluster`` (or ``SPARES_DASK_SCHEDULER``) into one of them:
none -> in this process; ``local`` / ``local:N`` -> a Dask ``LocalCluster`` of N worker
processes (default: the usable cores) on this machine; ``tcp://host:8786`` -> the scheduler of
a cluster started with ``dask scheduler`` / ``dask worker`` (README, "Running on a cluster").
"""

from __future__ import annotations

import ctypes
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

ENV_SCHEDULER = "SPARES_DASK_SCHEDULER"
"""Environment variable naming the scheduler (``tcp://host:8786``, ``local[:N]``) when no
``--cluster`` is given."""
SHARED_PROBLEMS = 4
"""Problems whose scattered inputs a :class:`DaskCluster` keeps on its workers (least recently
used dropped first)."""
CONNECT_TIMEOUT_S = 20.0
"""Seconds to wait for a remote scheduler before giving up."""


class ClusterError(RuntimeError):
    """The cluster cannot be reached or started; the message says which and why."""


class InProcess:
    """Runs every task in this process, one after another (no cluster)."""

    address = "in-process"
    local = True

    @property
    def n_workers(self) -> int:
        return 1

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple],
            on_done: Callable[[int], None] | None = None) -> list:
        """``[fn(*args) for args in tasks]``; ``on_done(i)`` after task ``i``."""
        out = []
        for i, args in enumerate(tasks):
            out.append(fn(*args))
            if on_done is not None:
                on_done(i)
        return out

    def share(self, owner: object, key: Hashable, make: Callable[[], Iterable[Any]]) -> list:
        """Nothing to ship: the items themselves (``make`` may yield lazy ones)."""
        return list(make())

    def close(self) -> None:
        pass

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "InProcess()"


class DaskCluster:
    """Tasks on a Dask cluster through a ``distributed.Client`` (closing it closes the client,
    and the ``LocalCluster`` too when this object started one)."""

    local = False

    def __init__(self, client: Any, cluster: Any = None) -> None:
        self.client = client
        self._cluster = cluster
        self._shared: OrderedDict[tuple, tuple[object, list]] = OrderedDict()

    @property
    def address(self) -> str:
        return str(self.client.scheduler.address)

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple],
            on_done: Callable[[int], None] | None = None) -> list:
        """Submit ``fn(*args)`` per task (futures among the args resolve on the worker) and
        gather the results in task order; ``on_done(i)`` as task ``i`` finishes."""
        futures = [self.client.submit(fn, *args, pure=False) for args in tasks]
        try:
            if on_done is not None:
                from distributed import as_completed

                index = {f.key: i for i, f in enumerate(futures)}
                for f in as_completed(futures, loop=self.client.loop):
                    on_done(index[f.key])
            return self.client.gather(futures)
        finally:
            for f in futures:
                f.release()

    def share(self, owner: object, key: Hashable, make: Callable[[], Iterable[Any]]) -> list:
        """Futures of ``make()``'s items scattered to the workers, once per ``(owner, key)``:
        later calls with the same owner object and key reuse them. One item is built and sent at
        a time, so the client never holds a second copy of all of them."""
        k = (id(owner), key)
        hit = self._shared.get(k)
        if hit is not None and hit[0] is owner:
            self._shared.move_to_end(k)
            return hit[1]
        futures = [self.client.scatter(item, hash=False) for item in make()]
        self._shared[k] = (owner, futures)  # the owner is kept alive, so its id stays unique
        while len({id(o) for o, _ in self._shared.values()}) > SHARED_PROBLEMS:
            self._shared.popitem(last=False)
        return futures

    def close(self) -> None:
        self._shared.clear()
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DaskCluster({self.address!r})"


Cluster = InProcess | DaskCluster


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def connect(spec: str | None = None, *, use_env: bool = True) -> Cluster:
    """The cluster ``spec`` names (see the module docstring); ``None`` falls back to
    ``$SPARES_DASK_SCHEDULER`` (when ``use_env``), then to :class:`InProcess`.

    ValueError for a spec that names nothing known; :class:`ClusterError` when the scheduler
    cannot be reached or the local cluster does not start. The calling process is about to plan
    (a command, a benchmark, a solve given a cluster spec), so it reuses the memory it frees from
    now on (:func:`retain_heap`).
    """
    if spec is None and use_env:
        spec = os.environ.get(ENV_SCHEDULER) or None
    text = (spec or "").strip()
    retain_heap()
    if text in ("", "none", "in-process"):
        return InProcess()
    if text == "local" or text.startswith("local:"):
        n_text = text.partition(":")[2]
        try:
            n = int(n_text) if n_text else usable_cores()
        except ValueError:
            raise ValueError(f"cluster {text!r}: the worker count after 'local:' must be a whole "
                             "number") from None
        if n < 1:
            raise ValueError(f"cluster {text!r}: needs at least 1 worker")
        return local_cluster(n)
    if "://" in text:
        from distributed import Client

        try:
            client = Client(text, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cluster {text}: no Dask scheduler answers there ({exc})") from None
        return DaskCluster(client)
    raise ValueError(f"cluster {text!r}: expected tcp://host:port (a Dask scheduler), local or "
                     "local:N")


HEAP_KEEP_BYTES = 1 << 30
"""glibc's mmap and trim thresholds in planning processes (:func:`retain_heap`)."""
WORKER_ENVIRON = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": str(HEAP_KEEP_BYTES),
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": str(HEAP_KEEP_BYTES),
}
"""Local workers start with :func:`retain_heap`'s thresholds (Dask's nanny would set
``MALLOC_TRIM_THRESHOLD_=65536``, which makes every large temporary a fresh mapping)."""


def retain_heap(limit_bytes: int = HEAP_KEEP_BYTES) -> bool:
    """Let this process reuse the memory it frees (glibc only; False elsewhere).

    The per-part work allocates and frees arrays of tens to hundreds of MB at every step. By
    default glibc maps each array above 32 MB afresh and unmaps it when freed, so each step
    page-faults its arrays in again and a large share of the CPU goes to the kernel. With the
    mmap and trim thresholds at ``limit_bytes`` freed arrays stay in the heap for the next step;
    the peak is unchanged, but memory freed after it is returned only when the process ends.
    Meant for planning processes (CLI, benchmarks, cluster workers), not for a long-lived server.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, limit_bytes)) and bool(
        mallopt(m_trim_threshold, limit_bytes))


def local_cluster(n_workers: int) -> DaskCluster:
    """A ``distributed.LocalCluster`` of ``n_workers`` single-threaded worker processes on the
    loopback interface, with its client; workers reuse the memory they free
    (:data:`WORKER_ENVIRON`)."""
    import dask
    from distributed import Client, LocalCluster

    try:
        with dask.config.set(WORKER_ENVIRON):
            lc = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cluster local:{n_workers}: the local Dask cluster did not start "
                           f"({exc})") from None
    return DaskCluster(Client(lc, set_as_default=False), lc)


def workers_of(cluster: Cluster | None) -> Cluster:
    """``cluster``, or :class:`InProcess` for None."""
    return InProcess() if cluster is None else cluster
