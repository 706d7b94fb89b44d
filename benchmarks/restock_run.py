"""Benchmark: the cn-telecom quarterly restocking run end to end (target: <= 60 s).

Times ``run_restock`` on the bundled scenario with positions from its opening stock, then
``write_outputs`` (CSV, JSON, xlsx, HTML). The re-plan step is the stocking optimizer's greedy by
default; ``--targets rule-of-thumb`` uses the stocking module's rule-of-thumb baseline levels
(computed before the clock starts) instead, for when the greedy is too slow on this machine.

Reports the issue-13 figures too: proposed order lines whose gain (on-time requests per year
they add on the plan the orders lead to) is not positive or below 0.001, classes below the share
aimed at after the orders, and with ``--max-step`` the glide path. ``--verify`` values every
proposed buy again outside the clock with a fresh model (no cache, no revaluation band): its gain
is the part's on-time demand with all orders less the same without that buy.

Usage::

    python benchmarks/restock_run.py [--scenario cn-telecom] [--quarter 2027Q1]
        [--budget AMOUNT] [--max-step 25%] [--glide-quarters 4] [--verify]
        [--targets greedy|rule-of-thumb] [--out DIR]
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
from optimizer.restock.phasing import StepCap
from optimizer.restock.quarter import Quarter
from optimizer.restock.run import run_restock, scale_rates
from optimizer.stocking.analysis import plan_problem
from optimizer.stocking.cluster import connect


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="cn-telecom")
    ap.add_argument("--quarter", default="2027Q1")
    ap.add_argument("--budget", type=float, default=None)
    ap.add_argument("--targets", choices=("greedy", "rule-of-thumb"), default="greedy")
    ap.add_argument("--curve-points", type=int, default=5)
    ap.add_argument("--out", default=None)
    ap.add_argument("--max-step", default=None, help="step cap: amount or share, e.g. 25%%")
    ap.add_argument("--glide-quarters", type=int, default=4)
    ap.add_argument("--verify", action="store_true",
                    help="value every proposed buy again with a fresh model (outside the clock)")
    ap.add_argument("--cluster", default=None,
                    help="where the re-plan's per-part work and the order valuations run "
                         "(local:N, tcp://host:8786; default in this process)")
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
    where = connect(args.cluster, use_env=False)
    t1 = time.perf_counter()
    result = run_restock(sc, positions, Quarter.parse(args.quarter), budget=args.budget,
                         reach=reach, targets=targets, curve_points=args.curve_points,
                         planner=lambda pr: plan_problem(pr, cluster=where),
                         max_step=None if args.max_step is None else StepCap.parse(args.max_step),
                         glide_quarters=args.glide_quarters, cluster=where,
                         progress=lambda s, d, t: steps.setdefault(s, time.perf_counter() - t1))
    t_run = time.perf_counter() - t1
    where.close()
    out = args.out or tempfile.mkdtemp(prefix="restock-bench-")
    t2 = time.perf_counter()
    write_outputs(result, out)
    t_write = time.perf_counter() - t2
    s = result.summary()
    p = result.plan
    lines = {"transfers": p.transfers["gain_per_year"], "buys": p.buys["gain_per_year"],
             # a repair line's gain is shared over its rows (units sent from each depot)
             "repairs": p.repairs.groupby(["part_id", "to_depot"])["gain_per_year"].sum()}
    svc = result.service.dropna(subset=["aimed_at", "on_time_after"])
    short = svc[svc["on_time_after"] < svc["aimed_at"] - 1e-9]
    figures = {
        "lines_nonpositive_gain": {k: int((v <= 0).sum()) for k, v in lines.items()},
        "lines_below_0.001": {k: int((v < 1e-3).sum()) for k, v in lines.items()},
        "buy_lines": len(p.buys), "gain_per_year": round(s["gain_per_year"], 3),
        "dropped": p.dropped.groupby("kind")["money"].agg(["size", "sum"]).round(2)
        .to_dict("index"),
        "classes_below_aimed_after": short[["tier", "severity", "aimed_at", "on_time_after"]]
        .to_dict("records"),
        "min_margin_after_vs_aimed": round(float((svc["on_time_after"] - svc["aimed_at"]).min()),
                                           6),
        "glide": result.glide[["quarter", "buy_amount", "stock_value", "deferred_amount",
                               "on_time"]].round(4).to_dict("records") if len(result.glide)
        else None,
    }
    if args.verify:
        figures["verify"] = verify_buys(sc, reach, result, targets)
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
        "issue_13": figures, "out": out,
    }, indent=1, default=str))


def verify_buys(sc, reach, result, targets) -> dict:
    """Every proposed buy valued again by a fresh model on the positions after all orders."""
    from optimizer.forecast.select import forecast_scenario
    from optimizer.restock.value import StockingModel
    from optimizer.stocking.problem import build_problem
    from optimizer.supersession import Succession

    succession = Succession.from_scenario(sc)
    planning = succession.planning_scenario(sc)
    forecast = forecast_scenario(planning, planned_elsewhere=succession.planned_elsewhere)
    problem, _ = scale_rates(build_problem(planning, reach), forecast)
    S = succession.pool_targets(result.stocking.levels if result.stocking is not None
                                else targets)
    model = StockingModel(problem, fold=lambda lv: succession.fold_levels(lv, S))
    p = result.plan
    pix = {x: i for i, x in enumerate(p.inputs.part_ids)}
    lix = {x: j for j, x in enumerate(p.inputs.location_ids)}
    parts = np.array([pix[x] for x in p.buys["part_id"]], dtype=np.int64)
    deltas = np.zeros((len(parts), len(lix)), dtype=np.int64)
    deltas[np.arange(len(parts)), [lix[x] for x in p.buys["to_depot"]]] = p.buys["quantity"]
    t = time.perf_counter()
    g = model.gains(p.position_after, parts, deltas).sum(axis=1) if len(parts) else np.zeros(0)
    diff = g - p.buys["gain_per_year"].to_numpy()
    worst = np.argsort(-np.abs(diff))[:3]
    return {"buys": len(g), "nonpositive": int((g <= 0).sum()), "below_0.001": int(
        (g < 1e-3).sum()), "min_gain": round(float(g.min(initial=np.inf)), 6),
        "max_abs_diff_vs_reported": round(float(np.abs(diff).max(initial=0)), 6),
        "lines_reported_low_by_over_1e-4": int((diff > 1e-4).sum()),
        "lines_reported_high_by_over_1e-4": int((diff < -1e-4).sum()),
        "worst": [{"part_id": p.buys["part_id"].iloc[i], "to_depot": p.buys["to_depot"].iloc[i],
                   "reported": float(p.buys["gain_per_year"].iloc[i]), "fresh": float(g[i])}
                  for i in worst],
        "seconds": round(time.perf_counter() - t, 1)}


if __name__ == "__main__":
    main()
