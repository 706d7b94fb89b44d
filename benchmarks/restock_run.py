"""Benchmark: the cn-telecom quarterly restocking run end to end (target: <= 60 s).

Times ``run_restock`` on the bundled scenario with positions from its opening stock, then
``write_outputs`` (CSV, JSON, xlsx, HTML). The re-plan step is the stocking optimizer's greedy by
default; ``--targets rule-of-thumb`` uses the stocking module's rule-of-thumb baseline levels
(computed before the clock starts) instead, for when the greedy is too slow on this machine.

Usage::

    python benchmarks/restock_run.py [--scenario cn-telecom] [--quarter 2027Q1]
        [--budget AMOUNT] [--targets greedy|rule-of-thumb] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

import scenarios
from optimizer.restock.build import location_ids, scenario_positions
from optimizer.restock.outputs import write_outputs
from optimizer.restock.quarter import Quarter
from optimizer.restock.run import run_restock, scale_rates
from optimizer.stocking.solve import solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="cn-telecom")
    ap.add_argument("--quarter", default="2027Q1")
    ap.add_argument("--budget", type=float, default=None)
    ap.add_argument("--targets", choices=("greedy", "rule-of-thumb"), default="greedy")
    ap.add_argument("--curve-points", type=int, default=5)
    ap.add_argument("--out", default=None)
    ap.add_argument("--workers", type=int, default=1,
                    help="pricing processes of the re-plan (spares restock: the usable cores)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    sc = scenarios.load(args.scenario)
    positions = scenario_positions(sc, [p.part_id for p in sc.parts], location_ids(sc))
    from optimizer.reach import build_reach
    from optimizer.travel import TravelNetwork

    reach = build_reach(sc, TravelNetwork(sc))
    t_setup = time.perf_counter() - t0
    targets = None
    t_targets = 0.0
    if args.targets == "rule-of-thumb":
        from optimizer.forecast.select import forecast_scenario
        from optimizer.stocking.baselines import rule_of_thumb
        from optimizer.stocking.problem import build_problem
        from optimizer.stocking.targets import effective_targets

        t1 = time.perf_counter()
        problem, _ = scale_rates(build_problem(sc, reach), forecast_scenario(sc))
        goal, _ = effective_targets(problem)
        targets = rule_of_thumb(problem, goal).levels
        t_targets = time.perf_counter() - t1

    steps: dict[str, float] = {}
    t1 = time.perf_counter()
    result = run_restock(sc, positions, Quarter.parse(args.quarter), budget=args.budget,
                         reach=reach, targets=targets, curve_points=args.curve_points,
                         planner=lambda pr: solve(pr, "greedy", workers=args.workers),
                         progress=lambda s, d, t: steps.setdefault(s, time.perf_counter() - t1))
    t_run = time.perf_counter() - t1
    out = args.out or tempfile.mkdtemp(prefix="restock-bench-")
    t2 = time.perf_counter()
    write_outputs(result, out)
    t_write = time.perf_counter() - t2
    s = result.summary()
    print(json.dumps({
        "scenario": sc.name, "parts": len(sc.parts), "locations": len(sc.depots),
        "targets": args.targets, "setup_load_and_reach_s": round(t_setup, 2),
        "targets_outside_run_s": round(t_targets, 2), "run_restock_s": round(t_run, 2),
        "write_outputs_s": round(t_write, 2), "end_to_end_s": round(t_run + t_write, 2),
        "steps_s": s["timings_s"], "transfer_units": s["transfer_units"],
        "repair_units": s["repair_units"], "buy_units": s["buy_units"],
        "buy_amount": s["buy_amount"], "cut_units": s["cut_units"],
        "excess_value": s["excess_value"], "investment_today": s["investment_today"],
        "investment_target": s["investment_target"],
        "on_time_today_vs_target": [round(float(v), 4) for v in
                                    result.curve.set_index("label").loc[
                                        ["today", "new plan"], "on_time"]],
        "units_total_target": int(np.asarray(result.plan.inputs.target).sum()),
        "out": out,
    }, indent=1))


if __name__ == "__main__":
    main()
