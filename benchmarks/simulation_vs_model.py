"""Simulation vs analytic model: simulated on-time share per class next to the prediction.

For each scenario: build reach and problem, solve the greedy plan (``--plan quantileQ``: a
quick, lean per-location Poisson quantile plan instead, which stresses the model's
independence approximation when the HQ is short), evaluate it
analytically and simulate it; print per class the target, the prediction, the simulated share
with its 95% interval (``*``: prediction more than 0.05 pp outside it) and the gap, plus the
availability and backorder gaps per location kind, and the timings.

Usage: ``python benchmarks/simulation_vs_model.py [--scenarios tiny,cn-telecom] [--years 5]
[--replications 5] [--seed 1] [--plan greedy|quantile0.95]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

import scenarios
from optimizer.reach import build_reach
from optimizer.stocking import solve
from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.problem import DAYS_PER_YEAR, StockingProblem, build_problem
from optimizer.stocking.simulation import simulate
from optimizer.travel import TravelNetwork


def quantile_levels(problem: StockingProblem, q: float) -> np.ndarray:
    """A quick non-optimised plan: at every location the Poisson ``q``-quantile of its pipeline.

    Rates are those with no stock anywhere (every failure ordered through its primary depot);
    lead times are the transit days (depots) and the mean HQ resupply time (HQ).
    """
    zero = np.zeros((problem.n_parts, problem.n_locations), dtype=np.int64)
    rate = evaluate(problem, zero).rate_per_year
    lead_days = np.broadcast_to(problem.transit_days, rate.shape).copy()
    lead_days[:, 0] = problem.hq_resupply_days
    return stats.poisson.ppf(q, rate * lead_days / DAYS_PER_YEAR).astype(np.int64)


def run(name: str, years: float, replications: int, seed: int, plan_kind: str) -> None:
    sc = scenarios.load(name)
    t0 = time.perf_counter()
    problem = build_problem(sc, build_reach(sc, TravelNetwork(sc)))
    t1 = time.perf_counter()
    if plan_kind == "greedy":
        levels = solve(problem).levels
    else:
        levels = quantile_levels(problem, float(plan_kind.removeprefix("quantile")))
    t2 = time.perf_counter()
    ev = evaluate(problem, levels)
    t3 = time.perf_counter()
    sim = simulate(problem, levels, years=years, replications=replications, seed=seed)
    t4 = time.perf_counter()
    invest = float((problem.unit_cost[:, None] * levels).sum())
    print(f"\n## {name}, plan {plan_kind}: {problem.n_parts} parts, {problem.n_locations} locations, "
          f"{len(problem.stream_part)} streams, {int(levels.sum())} units, investment {invest:,.0f}")
    print(f"problem {t1 - t0:.1f} s, plan {t2 - t1:.1f} s, evaluate {t3 - t2:.2f} s, "
          f"simulate {years:g} y x {replications} reps {t4 - t3:.1f} s, "
          f"{sim.total_demands:,} failures simulated")
    print("| class | target | predicted | simulated | 95% CI | gap (pp) | failures |")
    print("|---|---|---|---|---|---|---|")
    for c in range(problem.n_classes):
        if np.isnan(problem.class_target[c]):
            continue
        pred, s = ev.class_on_time[c], sim.class_on_time[c]
        inside = sim.class_ci_low[c] - 5e-4 <= pred <= sim.class_ci_high[c] + 5e-4
        print(f"| {problem.class_label(c)} | {problem.class_target[c]:.1%} | {pred:.2%} | {s:.2%} | "
              f"[{sim.class_ci_low[c]:.2%}, {sim.class_ci_high[c]:.2%}]{'' if inside else ' *'} | "
              f"{100 * (pred - s):+.2f} | {int(sim.class_demands[c]):,} |")
    print(f"overall: predicted {ev.overall_on_time:.2%}, simulated {sim.overall_on_time:.2%}")
    gap = ev.availability - sim.availability
    hq, dep = gap[:, 0], gap[:, 1:]
    print(f"availability gap (model - sim): HQ mean {np.nanmean(hq):+.4f} max |.| "
          f"{np.nanmax(np.abs(hq)):.4f}; depots mean {np.nanmean(dep):+.4f} max |.| "
          f"{np.nanmax(np.abs(dep)):.4f}")
    ebo = ev.backorders - sim.mean_backorders
    print(f"backorder gap (model - sim): HQ sum {np.nansum(ebo[:, 0]):+.3f} "
          f"(sim {np.nansum(sim.mean_backorders[:, 0]):.3f}); depots sum {np.nansum(ebo[:, 1:]):+.3f} "
          f"(sim {np.nansum(sim.mean_backorders[:, 1:]):.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="tiny,cn-telecom")
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--plan", default="greedy",
                    help="greedy (the solver) or quantileQ, e.g. quantile0.95 (see quantile_levels)")
    args = ap.parse_args()
    if args.plan != "greedy" and not args.plan.startswith("quantile"):
        ap.error(f"--plan: {args.plan!r} is neither greedy nor quantileQ")
    for name in args.scenarios.split(","):
        run(name.strip(), args.years, args.replications, args.seed, args.plan)


if __name__ == "__main__":
    main()
