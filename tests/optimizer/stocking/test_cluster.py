"""The stocking solver's per-part work on a real Dask cluster (``distributed.LocalCluster``, two
worker processes on the loopback interface) gives exactly the in-process plan, evaluation and
simulation; cluster specs and the CLI's ``--cluster``."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import scenarios
from api.cli.main import app
from optimizer.reach import build_reach
from optimizer.stocking import GapReached, Objective, SolveParams, solve
from optimizer.stocking.chunks import evaluate_levels
from optimizer.stocking.cluster import (
    ENV_SCHEDULER,
    HEAP_KEEP_BYTES,
    ClusterError,
    DaskCluster,
    InProcess,
    connect,
    local_cluster,
)
from optimizer.stocking.columns import ColumnPool, paths
from optimizer.stocking.problem import StockingProblem, build_problem
from optimizer.stocking.simulation import simulate
from optimizer.travel import TravelNetwork
from scenarios.generator import generate


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(2) as c:
        c.client.wait_for_workers(2, timeout=60)
        yield c


def _problem(sc) -> StockingProblem:
    return build_problem(sc, build_reach(sc, TravelNetwork(sc)))


@pytest.fixture(scope="module")
def tiny() -> StockingProblem:
    return _problem(scenarios.load("tiny"))


@pytest.fixture(scope="module")
def generated() -> StockingProblem:
    return _problem(generate(40, 5, 80, 3))


def _same_result(a, b) -> None:
    assert np.array_equal(a.levels, b.levels)
    assert a.investment == b.investment and a.bound == b.bound and a.feasible == b.feasible
    assert a.stats.columns == b.stats.columns
    assert np.array_equal(a.class_on_time, b.class_on_time, equal_nan=True)
    assert np.array_equal(a.evaluation.availability, b.evaluation.availability)
    assert np.array_equal(a.evaluation.stream_fill, b.evaluation.stream_fill)


def test_cluster_has_two_worker_processes(cluster: DaskCluster) -> None:
    assert cluster.n_workers == 2 and cluster.address.startswith("tcp://127.0.0.1:")
    pids = cluster.client.run(lambda: __import__("os").getpid())
    assert len(set(pids.values())) == 2


def test_local_workers_reuse_the_memory_they_free(cluster: DaskCluster) -> None:
    # Dask's nanny would set MALLOC_TRIM_THRESHOLD_=65536, which costs the workers system time
    for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"):
        seen = cluster.client.run(lambda n=name: __import__("os").environ.get(n))
        assert len(seen) == 2 and set(seen.values()) == {str(HEAP_KEEP_BYTES)}


_FREED = """
import ctypes, sys
import numpy as np
from optimizer.stocking.cluster import retain_heap
if sys.argv[1] == "retain" and not retain_heap():
    print("unsupported"); sys.exit()
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = type("Info", (ctypes.Structure,), {"_fields_": [
    (n, ctypes.c_size_t) for n in ("arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks "
                                   "fordblks keepcost").split()]})
a = np.ones(8_000_000)  # 64 MB: above glibc's largest adaptive mmap threshold
del a
print(libc.mallinfo2().fordblks)  # bytes free in the heap, kept for the next allocation
"""


@pytest.mark.parametrize("mode", ["default", "retain"])
def test_retain_heap_keeps_freed_arrays_for_reuse(mode: str) -> None:
    out = subprocess.run([sys.executable, "-c", _FREED, mode], capture_output=True, text=True,
                         check=True, env={k: v for k, v in os.environ.items()
                                          if not k.startswith("MALLOC_")}).stdout.strip()
    if out == "unsupported":
        pytest.skip("not glibc")
    if mode == "retain":
        assert int(out) >= 64_000_000  # in the heap: the next array reuses it
    else:
        assert int(out) < 64_000_000  # unmapped: the next array is mapped and faulted in anew


@pytest.mark.parametrize("chunk_pairs", [SolveParams().chunk_pairs, 40])
def test_tiny_plan_on_the_cluster_equals_the_in_process_plan(cluster, tiny, chunk_pairs) -> None:
    params = SolveParams(chunk_pairs=chunk_pairs)
    here = solve(tiny, params=params)
    there = solve(tiny, params=params, cluster=cluster)
    _same_result(here, there)
    assert there.stats.cluster == cluster.address and there.stats.workers == 2
    assert here.stats.cluster == "in-process"


def test_generated_plan_on_the_cluster_equals_the_in_process_plan(cluster, generated) -> None:
    """Chunks of 8 parts: five tasks per pricing call, spread over both workers (a gap, not a
    runtime, stops the MIPs: a runtime limit would make any two runs differ)."""
    params = SolveParams(chunk_pairs=8 * generated.n_locations, neighbourhood=1)
    stop = GapReached(1e-3)
    here = solve(generated, stop=stop, params=params)
    there = solve(generated, stop=stop, params=params, cluster=cluster)
    _same_result(here, there)
    assert here.evaluation.meets_targets(generated, here.aimed_at)
    budget = Objective(budget=here.investment * 0.6)
    _same_result(solve(generated, budget, stop=stop, params=params),
                 solve(generated, budget, stop=stop, params=params, cluster=cluster))


def test_inputs_are_scattered_once_per_problem(cluster, generated) -> None:
    prices = np.where(generated.class_demand_per_year > 0, 1.0, 0.0)
    n = 10
    before = len(cluster._shared)
    for _ in range(2):
        paths(generated, prices, ColumnPool(generated.n_locations, generated.n_classes),
              cluster=cluster, chunk_parts=n, stop_ratio=1e-3)
    assert len(cluster._shared) <= before + 1
    futures = cluster.share(generated, ("chunks", n), lambda: pytest.fail("scattered again"))
    assert len(futures) == -(-generated.n_parts // n)


def test_evaluation_on_the_cluster_equals_in_process(cluster, generated) -> None:
    S = np.random.default_rng(0).integers(0, 3, (generated.n_parts, generated.n_locations))
    a = evaluate_levels(generated, S, chunk_parts=7)
    b = evaluate_levels(generated, S, chunk_parts=7, cluster=cluster)
    for name in ("class_on_time", "stream_on_time", "stream_fill", "availability", "backorders"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


def test_the_deadline_reaches_the_workers(cluster, generated) -> None:
    """A pricing pass whose wall-clock deadline has passed stops in every chunk on the workers:
    the levels stay where they started and no column is added; without it the same pass moves."""
    D = generated.class_demand_per_year
    prices = np.where(D > 0, 1.0 / np.where(D > 0, D, 1.0), 0.0)
    start = np.zeros((generated.n_parts, generated.n_locations), dtype=np.int64)
    pool = ColumnPool(generated.n_locations, generated.n_classes)
    kw = {"stop_ratio": 1e-9, "cluster": cluster, "chunk_parts": 10, "start": start}
    assert np.array_equal(paths(generated, prices, pool, stop_at=0.0, **kw), start)
    assert len(pool) == 0
    assert paths(generated, prices, pool, **kw).sum() > 0 and len(pool) > 0


def test_simulation_on_the_cluster_equals_in_process(cluster, tiny) -> None:
    S = solve(tiny).levels
    kw = {"years": 2.0, "replications": 5, "seed": 4, "parts_per_task": 2,
          "replications_per_task": 2}
    a = simulate(tiny, S, **kw)
    seen: list[int] = []
    b = simulate(tiny, S, cluster=cluster, progress=lambda done, total: seen.append(done), **kw)
    for name in ("class_on_time_by_replication", "stream_demands", "stream_on_time", "fill_rate",
                 "availability", "mean_backorders", "final_on_hand", "final_pipeline",
                 "final_backorders", "final_in_transit", "final_customer_backorders"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    assert a.overall_on_time == b.overall_on_time and seen[-1] == tiny.n_parts
    # the task size changes nothing either
    c = simulate(tiny, S, **{**kw, "parts_per_task": 50, "replications_per_task": 5})
    assert np.array_equal(a.final_on_hand, c.final_on_hand)
    assert np.array_equal(a.class_on_time_by_replication, c.class_on_time_by_replication,
                          equal_nan=True)


def test_cluster_specs(monkeypatch) -> None:
    monkeypatch.delenv(ENV_SCHEDULER, raising=False)
    assert isinstance(connect(None), InProcess) and isinstance(connect("none"), InProcess)
    for bad, match in (("local:0", "at least 1 worker"), ("local:x", "whole number"),
                       ("somewhere", "expected tcp://host:port")):
        with pytest.raises(ValueError, match=match):
            connect(bad)
    monkeypatch.setenv(ENV_SCHEDULER, "nonsense")
    with pytest.raises(ValueError, match="nonsense"):
        connect(None)
    assert isinstance(connect(None, use_env=False), InProcess)


def test_an_unreachable_scheduler_is_named(monkeypatch) -> None:
    import socket

    import optimizer.stocking.cluster as cl

    monkeypatch.setattr(cl, "CONNECT_TIMEOUT_S", 2.0)
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ClusterError, match=f"tcp://127.0.0.1:{port}"):
        connect(f"tcp://127.0.0.1:{port}")


def test_cli_refuses_a_bad_cluster_by_option_name(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_SCHEDULER, raising=False)
    r = CliRunner().invoke(app, ["plan", "--scenario", "tiny", "--out", str(tmp_path / "p"),
                                 "--cluster", "local:zero"])
    assert r.exit_code == 2 and "--cluster" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "p").exists()


def test_cli_plans_on_a_running_cluster(cluster, tmp_path) -> None:
    out = tmp_path / "plan"
    r = CliRunner().invoke(app, ["plan", "--scenario", "tiny", "--out", str(out),
                                 "--cluster", cluster.address])
    assert r.exit_code == 0, r.output
    assert (out / "stock_levels.csv").is_file()
    assert cluster.client.status == "running"  # the CLI closed its own client only


def test_reach_built_on_the_cluster_equals_the_in_process_reach(cluster: DaskCluster) -> None:
    """The reach's sites split over the workers (one piece each, built on their own travel
    network) give the reach built in this process."""
    sc = generate(40, 5, 80, 3)
    net = TravelNetwork(sc)
    assert build_reach(sc, net, cluster=cluster) == build_reach(sc, net)
