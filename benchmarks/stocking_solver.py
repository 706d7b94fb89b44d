"""Stocking solver on a bundled scenario: time and quality per step, for BENCHMARKS.md "Stocking".

    python benchmarks/stocking_solver.py --scenario cn-telecom [--units-per-round N] [--rounds R]
        [--baselines] [--frontier] [--budget-fraction F ...]

Builds reach and problem once, then times ``plan_levels`` (the greedy method) with its default
schedule or a forced number of locations per pricing round, and optionally the two baselines,
the frontier sweep and budget-mode solves at fractions of the plan's investment.
"""

from __future__ import annotations

import argparse
import resource
import time

import scenarios
from optimizer.reach import build_reach
from optimizer.stocking import Objective, SolveParams, lagrange, solve
from optimizer.stocking.analysis import frontier
from optimizer.stocking.baselines import item_approach, rule_of_thumb
from optimizer.stocking.problem import build_problem
from optimizer.stocking.targets import effective_targets
from optimizer.travel import TravelNetwork


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="cn-telecom")
    ap.add_argument("--units-per-round", type=int, default=None,
                    help="force this many locations per part per pricing round (default: the "
                         "solver's schedule)")
    ap.add_argument("--rounds", type=int, default=1, help="pricing rounds after feasibility")
    ap.add_argument("--baselines", action="store_true")
    ap.add_argument("--frontier", action="store_true")
    ap.add_argument("--budget-fraction", type=float, nargs="*", default=[])
    a = ap.parse_args()
    t0 = time.perf_counter()
    sc = scenarios.load(a.scenario)
    problem = build_problem(sc, build_reach(sc, TravelNetwork(sc)))
    print(f"{a.scenario}: {problem.n_parts} parts, {problem.n_locations} locations, "
          f"{len(problem.stream_part)} streams; reach + problem {time.perf_counter() - t0:.1f} s")
    params = SolveParams(rounds=a.rounds)
    if a.units_per_round is not None:
        params = SolveParams(rounds=a.rounds, units_per_round=a.units_per_round,
                             single_unit_pairs=0 if a.units_per_round > 1 else 10**12)
    targets, _ = effective_targets(problem)
    t = time.perf_counter()
    res = lagrange.plan_levels(problem, targets, rounds=a.rounds, params=params)
    el = time.perf_counter() - t
    inv = float(problem.unit_cost @ res.levels.sum(axis=1))
    print(f"plan_levels: {el:.1f} s, investment {inv:,.0f} {problem.currency}, "
          f"{int(res.levels.sum())} units, pool LP bound {res.lp_bound:,.0f}, "
          f"{res.columns} columns, feasible {res.feasible}")
    print("  steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in res.timings.items()))
    if a.baselines:
        for f in (item_approach, rule_of_thumb):
            t = time.perf_counter()
            b = f(problem, targets)
            print(f"{b.name}: {time.perf_counter() - t:.1f} s, investment {b.investment:,.0f} "
                  f"(plan saves {1 - inv / b.investment:.1%}), feasible {b.feasible}")
    if a.frontier or a.budget_fraction:
        plan = solve(problem)
        if a.frontier:
            t = time.perf_counter()
            pts = frontier(problem, plan)
            print(f"frontier: {time.perf_counter() - t:.1f} s, {len(pts)} points")
            for p in pts:
                print(f"  {p.label:8s} {p.investment:14,.0f} {p.on_time:.4%} {p.units}")
        for fr in a.budget_fraction:
            t = time.perf_counter()
            b = solve(problem, Objective(budget=fr * plan.investment))
            print(f"budget {fr:g} x plan: {time.perf_counter() - t:.1f} s, investment "
                  f"{b.investment:,.0f}, overall on time {b.overall_on_time:.4%} "
                  f"(targets plan {plan.overall_on_time:.4%})")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"peak RSS {rss:.2f} GiB")


if __name__ == "__main__":
    main()
