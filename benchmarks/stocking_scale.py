"""Stocking at scale: plan a generated scenario in this process and on local Dask clusters of 1
and 2 worker processes, side by side (same problem, same code), for BENCHMARKS.md "Stocking".

    python benchmarks/stocking_scale.py --parts 5000 --depots 30 --sites 2000 --seed 1 \\
        [--cluster none local:1 local:2] [--max-runtime 110] [--gap 0.005] [--estimate 100000 200 16]
        [--problem-cache FILE [--build-only]] [--simulate YEARS REPLICATIONS]

The scenario, reach and problem are built once (timed; ``--problem-cache`` keeps them in a pickle
for the next run; ``--build-only`` stops there and prints the peak RSS) and pickled; each cluster
mode then runs in a fresh process, so its peak memory is its own: the client's peak RSS and, on a
cluster, the largest worker's. Per mode it prints the whole solve (wall time, the phases,
investment, the gap to the column pool's LP bound) and, apart from it, one pricing pass (every
part's marginal-analysis path under the start prices: the per-part work alone) with its speed-up
over this process. It also times the cluster's per-task overhead (empty tasks) and, with
``--estimate P L W``, turns the measured per-pair pricing and evaluation costs and that overhead
into a paper estimate for P parts x L locations on W workers. ``--simulate Y R`` then simulates
each mode's plan for R replications of Y years (after a year of warm-up) on the same cluster, timed,
with the largest gap between the simulated and the predicted on-time share of a class.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

GiB = 1024 * 1024  # ru_maxrss is in KiB on Linux


def _noop(x: int) -> int:
    return x


class TotalRss:
    """Samples the resident memory of this process and all its descendants (a local cluster's
    workers) every ``every_s`` seconds on a thread; ``peak`` is the largest sum seen (GiB)."""

    def __init__(self, every_s: float = 0.2) -> None:
        import psutil

        self._me = psutil.Process()
        self._every = every_s
        self._stop = threading.Event()
        self.peak = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(self._every):
            total = 0
            for p in [self._me, *self._me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker that just ended
                    total += p.memory_info().rss
            self.peak = max(self.peak, total / 2**30)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_mode(problem_file: str, mode: str, max_runtime: float, gap: float,
             simulate_for: tuple[float, int] | None = None) -> dict:
    """One cluster mode in this (fresh) process: pricing pass, task overhead, whole solve, and
    with ``simulate_for`` (years, replications) a simulation of the plan."""
    from optimizer.stocking import GapReached, MaxRuntime, SolveParams, connect, solve
    from optimizer.stocking.chunks import evaluate_levels
    from optimizer.stocking.columns import ColumnPool, paths
    from optimizer.stocking.lagrange import _first_ratio

    with open(problem_file, "rb") as fh:
        problem = pickle.load(fh)
    params = SolveParams()
    P, L = problem.n_parts, problem.n_locations
    chunk = params.chunk_parts(L, P)
    out: dict = {"mode": mode, "chunk_parts": chunk, "tasks_per_pass": -(-P // chunk)}
    rss = TotalRss()
    t = time.perf_counter()
    cluster = connect(mode, use_env=False)
    out["connect_s"] = time.perf_counter() - t
    with cluster:
        out["workers"] = cluster.n_workers
        if not cluster.local:
            cluster.client.wait_for_workers(cluster.n_workers, timeout=120)
            t = time.perf_counter()
            n = 400
            cluster.run(_noop, [(i,) for i in range(n)])
            out["task_overhead_ms"] = (time.perf_counter() - t) / n * 1e3
        D = problem.class_demand_per_year
        con = ~np.isnan(problem.class_target) & (D > 0)
        prices = np.where(con, 1.0 / np.where(D > 0, D, 1.0), 0.0)
        t = time.perf_counter()
        ratio = _first_ratio(problem, prices, cluster=cluster, chunk_parts=chunk) * 1e-3
        out["first_ratio_s"] = time.perf_counter() - t
        pool = ColumnPool(L, problem.n_classes)
        t = time.perf_counter()  # includes scattering the chunks once on a cluster
        S = paths(problem, prices, pool, stop_ratio=ratio, units_per_round=params.per_round(P * L),
                  cluster=cluster, chunk_parts=chunk)
        out["pricing_s"] = time.perf_counter() - t
        out["pricing_columns"] = len(pool)
        t = time.perf_counter()
        evaluate_levels(problem, S, cluster=cluster, chunk_parts=chunk)
        out["evaluation_s"] = time.perf_counter() - t
        t = time.perf_counter()
        res = solve(problem, stop=MaxRuntime(max_runtime) | GapReached(gap), params=params,
                    cluster=cluster)
        out["solve_s"] = time.perf_counter() - t
        out["timings"] = {k: round(v, 1) for k, v in res.stats.timings.items()}
        out.update(investment=res.investment, bound=res.bound, gap=res.gap, units=res.units,
                   feasible=res.feasible, columns=res.stats.columns,
                   out_of_time=res.stats.out_of_time, levels_sum=int(res.levels.sum()),
                   stop_reason=res.stats.stop_reason, pricing_rounds=res.stats.pricing_rounds,
                   levels_hash=int(np.int64(np.sum(res.levels * (1 + np.arange(P))[:, None]))))
        if simulate_for is not None:
            from optimizer.stocking.simulation import simulate

            years, reps = simulate_for
            t = time.perf_counter()
            sim = simulate(problem, res.levels, years=years, replications=reps, seed=1,
                           cluster=cluster)
            out["simulation_s"] = time.perf_counter() - t
            pred = res.evaluation.class_on_time
            ok = ~np.isnan(sim.class_on_time) & ~np.isnan(pred)
            out["simulation"] = {"years": years, "replications": reps,
                                 "failures": int(sim.total_demands),
                                 "max_class_diff": float(np.max(np.abs(
                                     sim.class_on_time[ok] - pred[ok]))),
                                 "class_on_time": [round(float(x), 6)
                                                   for x in sim.class_on_time]}
        if not cluster.local:
            peaks = cluster.client.run(
                lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            out["worker_peak_gib"] = max(peaks.values()) / GiB
    out["client_peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / GiB
    out["total_peak_gib"] = rss.stop()
    return out


def estimate(rows: list[dict], pairs_measured: int, P: int, L: int, W: int) -> list[str]:
    """Paper estimate of one pricing pass and one plan evaluation at P x L on W workers."""
    here = next((r for r in rows if r["mode"] == "none"), None)
    dask = [r for r in rows if "task_overhead_ms" in r]
    if here is None or not dask:
        return ["(estimate needs the 'none' mode and a local cluster mode)"]
    per_pair_price = here["pricing_s"] / pairs_measured
    per_pair_eval = here["evaluation_s"] / pairs_measured
    overhead = min(r["task_overhead_ms"] for r in dask) / 1e3
    pairs = P * L
    tasks = -(-P // max(1, 100_000 // L))
    lines = [f"measured here: pricing pass {per_pair_price * 1e6:.2f} us per (part, location) "
             f"pair, plan evaluation {per_pair_eval * 1e6:.2f} us per pair, task overhead "
             f"{overhead * 1e3:.1f} ms"]
    for name, c in (("pricing pass", per_pair_price), ("plan evaluation", per_pair_eval)):
        serial = c * pairs
        par = serial / W + tasks * overhead / W
        lines.append(f"{P:,} x {L} = {pairs:,} pairs, {tasks} tasks: {name} {serial:,.0f} s in one "
                     f"process, ~{par:,.0f} s on {W} workers")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=5000)
    ap.add_argument("--depots", type=int, default=30)
    ap.add_argument("--sites", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cluster", nargs="+", default=["none", "local:1", "local:2"])
    ap.add_argument("--max-runtime", type=float, default=110.0)
    ap.add_argument("--gap", type=float, default=0.005)
    ap.add_argument("--estimate", type=int, nargs=3, metavar=("PARTS", "LOCATIONS", "WORKERS"))
    ap.add_argument("--problem-cache", type=Path,
                    help="pickle of the problem: read if it exists, else written after building")
    ap.add_argument("--build-only", action="store_true", help="stop after building the problem")
    ap.add_argument("--simulate", type=float, nargs=2, metavar=("YEARS", "REPLICATIONS"))
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--problem-file", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.mode:  # a child: one mode
        sim = None if a.simulate is None else (a.simulate[0], int(a.simulate[1]))
        print(json.dumps(run_mode(a.problem_file, a.mode, a.max_runtime, a.gap, sim)))
        return

    from optimizer.reach import build_reach
    from optimizer.stocking.problem import build_problem
    from optimizer.travel import TravelNetwork
    from scenarios.generator import generate

    if a.problem_cache is not None and a.problem_cache.is_file():
        with a.problem_cache.open("rb") as fh:
            pr = pickle.load(fh)
        print(f"{a.parts} parts x {a.depots} depots x {a.sites} sites: "
              f"{len(pr.stream_part):,} streams, K={pr.stream_pref.shape[1]} (from "
              f"{a.problem_cache})", flush=True)
    else:
        t0 = time.perf_counter()
        sc = generate(a.parts, a.depots, a.sites, a.seed)
        t1 = time.perf_counter()
        reach = build_reach(sc, TravelNetwork(sc))
        t2 = time.perf_counter()
        pr = build_problem(sc, reach)
        t3 = time.perf_counter()
        print(f"{a.parts} parts x {a.depots} depots x {a.sites} sites: {len(pr.stream_part):,} "
              f"streams, K={pr.stream_pref.shape[1]}; generate {t1 - t0:.1f} s, reach "
              f"{t2 - t1:.1f} s, build_problem {t3 - t2:.1f} s", flush=True)
        del sc, reach
        if a.problem_cache is not None:
            with a.problem_cache.open("wb") as fh:
                pickle.dump(pr, fh)
    if a.build_only:
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / GiB:.2f} GiB")
        return
    with tempfile.TemporaryDirectory(prefix="stocking-scale-") as tmp:
        path = Path(tmp) / "problem.pkl"
        with path.open("wb") as fh:
            pickle.dump(pr, fh)
        rows = []
        for mode in a.cluster:
            cmd = [sys.executable, __file__, "--mode", mode, "--problem-file", str(path),
                   "--max-runtime", str(a.max_runtime), "--gap", str(a.gap)]
            if a.simulate is not None:
                cmd += ["--simulate", *map(str, a.simulate)]
            r = subprocess.run(cmd, capture_output=True, text=True, check=True)
            row = json.loads(r.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
    base = next((r for r in rows if r["mode"] == "none"), rows[0])
    print("\n| mode | workers | pricing pass | speed-up | plan evaluation | solve | gap to pool "
          "bound | investment | peak RSS client / worker | all processes together |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        wk = f"{r['worker_peak_gib']:.2f}" if "worker_peak_gib" in r else "-"
        gap = "-" if r["gap"] is None else f"{r['gap']:.3%}"
        print(f"| {r['mode']} | {r['workers']} | {r['pricing_s']:.1f} s | "
              f"{base['pricing_s'] / r['pricing_s']:.2f}x | {r['evaluation_s']:.1f} s | "
              f"{r['solve_s']:.1f} s | {gap} | {r['investment']:,.0f} | "
              f"{r['client_peak_gib']:.2f} / {wk} GiB | {r['total_peak_gib']:.2f} GiB |")
    same = len({(r["investment"], r["levels_hash"]) for r in rows}) == 1
    print(f"plans identical across modes: {same}")
    if a.simulate is not None:
        for r in rows:
            s = r["simulation"]
            print(f"simulation {r['mode']}: {s['replications']} x {s['years']:g} years, "
                  f"{s['failures']:,} failures, {r['simulation_s']:.1f} s; largest class "
                  f"difference to the plan {s['max_class_diff']:.4f}")
        print("simulations identical across modes: "
              f"{len({tuple(r['simulation']['class_on_time']) for r in rows}) == 1}")
    if a.estimate:
        for line in estimate(rows, pr.n_parts * pr.n_locations, *a.estimate):
            print(line)


if __name__ == "__main__":
    main()
