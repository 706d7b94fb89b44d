"""Benchmark: the cn-telecom quarterly run with and without its substitution rows.

With them, superseded parts' demand is planned on their successors and two-way parts as one pool
(:mod:`optimizer.supersession`); without them every part is planned alone. Prints the
investment, the orders and the on-time share per class of both runs (reach built once).

Usage: ``python benchmarks/supersession_restock.py [--scenario cn-telecom] [--quarter 2027Q1]``
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import scenarios
from optimizer.reach import build_reach
from optimizer.restock.quarter import Quarter
from optimizer.restock.run import scenario_run
from optimizer.travel import TravelNetwork

KEYS = ("investment_today", "investment_target", "investment_after", "buy_units", "buy_amount",
        "transfer_units", "repair_units", "excess_units", "excess_value")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="cn-telecom")
    ap.add_argument("--quarter", default="2027Q1")
    args = ap.parse_args()
    sc = scenarios.load(args.scenario)
    t0 = time.perf_counter()
    reach = build_reach(sc, TravelNetwork(sc))
    print(f"reach {time.perf_counter() - t0:.1f} s")
    q = Quarter.parse(args.quarter)
    for tag, s in (("with substitutions", sc), ("without", replace(sc, substitutions=()))):
        t0 = time.perf_counter()
        r = scenario_run(s, q, reach=reach)
        summ = r.summary()
        print(f"\n## {tag} ({time.perf_counter() - t0:.1f} s)")
        print({k: summ[k] for k in KEYS})
        print(r.service.round(4).to_string())


if __name__ == "__main__":
    main()
