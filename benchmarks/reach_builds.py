"""Reach builds a network design makes in a row, timed (compare two checkouts side by side).

    python benchmarks/reach_builds.py [--tree DIR] [--parts 5 --depots 3 --sites 16 --candidates 4]

Builds the reach of a generated scenario with remote sites three times: every candidate open, the
existing network, every candidate open again (as :func:`optimizer.design.plan.plan_design` does).
``--tree`` imports the code from another checkout (e.g. a ``git worktree`` of an older commit),
so an old and a new tree can be run alternately in one session on the same machine.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", default=None, help="checkout to import the code from")
    ap.add_argument("--parts", type=int, default=5)
    ap.add_argument("--depots", type=int, default=3)
    ap.add_argument("--sites", type=int, default=16)
    ap.add_argument("--candidates", type=int, default=4)
    a = ap.parse_args()
    if a.tree:
        sys.path.insert(0, a.tree)
    from optimizer.reach import build_reach
    from optimizer.travel import TravelNetwork
    from scenarios.generator import generate

    spread = ({"site_spread_km": 250.0}
              if "site_spread_km" in inspect.signature(generate).parameters else {})
    sc = generate(a.parts, a.depots, a.sites, 0, candidates=a.candidates, **spread)
    full = sc.with_design([c.candidate_id for c in sc.candidates])
    times = []
    for s in (full, sc, full):
        t = time.perf_counter()
        build_reach(s, TravelNetwork(s))
        times.append(time.perf_counter() - t)
    print(f"{a.tree or 'this checkout'}: " + " / ".join(f"{x:.1f} s" for x in times))


if __name__ == "__main__":
    main()
