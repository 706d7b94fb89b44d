"""Greedy vs exact on small generated instances, and savings vs baselines on bundled scenarios.

    python benchmarks/stocking_gap.py --instances 20 --parts 8 --depots 4 --sites 12
"""

from __future__ import annotations

import argparse

import numpy as np

import scenarios
from optimizer.reach import build_reach
from optimizer.stocking import Exact, solve
from optimizer.stocking.analysis import baselines
from optimizer.stocking.exact import solve_exact
from optimizer.stocking.problem import build_problem
from optimizer.stocking.targets import effective_targets
from optimizer.travel import TravelNetwork
from scenarios.generator import generate


def _problem(sc):
    return build_problem(sc, build_reach(sc, TravelNetwork(sc)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--instances", type=int, default=20)
    ap.add_argument("--parts", type=int, default=8)
    ap.add_argument("--depots", type=int, default=4)
    ap.add_argument("--sites", type=int, default=12)
    ap.add_argument("--scenarios", nargs="*", default=["tiny", "cn-telecom"])
    ap.add_argument("--box", choices=("uniform", "local"), default="uniform",
                    help="exact search box: uniform = 0..(greedy's largest level + 2) at every part "
                         "and location (independent of where the greedy put stock); local = "
                         "0..(greedy level + 2) per part and location")
    a = ap.parse_args()
    gaps = []
    for seed in range(a.instances):
        pr = _problem(generate(a.parts, a.depots, a.sites, seed))
        g = solve(pr)
        if a.box == "local":
            x = solve(pr, method=Exact())
        else:
            upper = np.full_like(g.levels, int(g.levels.max()) + 2)
            x = solve_exact(pr, upper, targets=effective_targets(pr)[0])
        gaps.append(g.investment / x.investment - 1 if x.investment > 0 else 0.0)
        print(f"seed {seed}: greedy {g.investment:,.0f} exact {x.investment:,.0f} gap {gaps[-1]:.3%}")
    print(f"greedy vs exact over {len(gaps)} instances: mean {np.mean(gaps):.3%}, worst {np.max(gaps):.3%}")
    for name in a.scenarios:
        pr = _problem(scenarios.load(name))
        plan = solve(pr)
        for b in baselines(pr, plan.aimed_at):
            print(f"{name}: plan {plan.investment:,.0f} vs {b.name} {b.investment:,.0f} "
                  f"(saving {1 - plan.investment / b.investment:.1%}, baseline feasible {b.feasible})")


if __name__ == "__main__":
    main()
