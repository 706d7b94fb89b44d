"""Stocking scale benchmark: plan a generated scenario, report wall time per step and peak RSS.

    python benchmarks/stocking_scale.py --parts 5000 --depots 30 --sites 2000 --seed 1 [--workers 2]
"""

from __future__ import annotations

import argparse
import resource
import time

from optimizer.reach import build_reach
from optimizer.stocking.problem import build_problem
from optimizer.stocking.solve import solve
from optimizer.travel import TravelNetwork
from scenarios.generator import generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--parts", type=int, default=5000)
    ap.add_argument("--depots", type=int, default=30)
    ap.add_argument("--sites", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="pricing processes (spares plan: cores)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    sc = generate(a.parts, a.depots, a.sites, a.seed)
    t1 = time.perf_counter()
    reach = build_reach(sc, TravelNetwork(sc))
    t2 = time.perf_counter()
    pr = build_problem(sc, reach)
    t3 = time.perf_counter()
    plan = solve(pr, "greedy", workers=a.workers)
    t4 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"{a.parts} parts x {a.depots} depots x {a.sites} sites: {len(pr.stream_part)} streams, "
          f"K={pr.stream_pref.shape[1]}")
    print(f"generate {t1 - t0:.1f} s, reach {t2 - t1:.1f} s, build_problem {t3 - t2:.1f} s, "
          f"solve {t4 - t3:.1f} s (plan = build_problem + solve {t4 - t2:.1f} s)")
    print(f"investment {plan.investment:,.0f} {plan.currency}, units {plan.units}, feasible {plan.feasible}, "
          f"peak RSS {rss:.2f} GiB")


if __name__ == "__main__":
    main()
