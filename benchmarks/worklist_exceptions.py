"""Cost of the worklist's plan exceptions (:func:`optimizer.worklist.plan_exceptions`: the parts
driving each class below target and the platinum/gold parts with no stock in reach), which every
workspace plan job computes after solving, against the plan itself.

    python benchmarks/worklist_exceptions.py --scenario cn-telecom --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="cn-telecom")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import scenarios
    from optimizer.reach import build_reach
    from optimizer.stocking.analysis import plan_scenario
    from optimizer.travel import TravelNetwork
    from optimizer.worklist import plan_exceptions

    sc = scenarios.load(args.scenario)
    t0 = time.perf_counter()
    reach = build_reach(sc, TravelNetwork(sc))
    t_reach = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = plan_scenario(sc, reach=reach)
    t_plan = time.perf_counter() - t0
    times, cpu = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        drivers, uncovered = plan_exceptions(sc, reach, plan)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    missed = sum(not m for m in plan.class_met)
    print(f"{sc.name}: {len(sc.parts)} parts, {len(sc.depots)} locations, {len(sc.sites)} sites, "
          f"{len(sc.installed_base):,} installed-base rows")
    print(f"reach {t_reach:.1f} s, plan {t_plan:.1f} s (wall); classes below target {missed}")
    print(f"plan_exceptions: median {statistics.median(times):.2f} s wall, "
          f"{statistics.median(cpu):.2f} s CPU over {args.repeat} runs; {len(drivers)} driver "
          f"rows, {len(uncovered):,} platinum/gold (site, part) pairs without stock in reach")


if __name__ == "__main__":
    main()
