"""Benchmark: the cn-telecom quarterly run's steps after the re-plan, with the re-plan stored.

The stocking solver's re-plan dominates ``benchmarks/restock_run.py`` and is measured there. This
script stores one re-plan (``--save-plan FILE``: reach, forecast, problem and the solver once,
pickled with the reach) and then times everything else of the run on it (``--plan FILE``):
forecast, problem, evaluation of today's stock, the orders and their valuation, the curve, with
``--max-step`` the re-planned glide path, and writing the outputs. Valuations run in this
process. Two code versions compared on one stored plan, side by side
(``PYTHONPATH=<tree> python benchmarks/restock_steps.py --plan FILE``), give the ratio of the
work that is not the solver's.

Usage::

    python benchmarks/restock_steps.py --save-plan /tmp/restock-plan.pkl
    python benchmarks/restock_steps.py --plan /tmp/restock-plan.pkl [--max-step 25%]
        [--glide-quarters 4] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import pickle
import tempfile
import time

import scenarios
from optimizer.restock.build import location_ids, scenario_positions
from optimizer.restock.outputs import write_outputs
from optimizer.restock.quarter import Quarter
from optimizer.restock.run import run_restock


class _Stored(Exception):
    pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="cn-telecom")
    ap.add_argument("--quarter", default="2027Q1")
    ap.add_argument("--save-plan", default=None, help="re-plan once and pickle it here")
    ap.add_argument("--plan", default=None, help="a pickle written by --save-plan")
    ap.add_argument("--max-step", default=None)
    ap.add_argument("--glide-quarters", type=int, default=4)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    sc = scenarios.load(args.scenario)
    pos = scenario_positions(sc, [p.part_id for p in sc.parts], location_ids(sc))
    q = Quarter.parse(args.quarter)
    if args.save_plan:
        from optimizer.reach import build_reach
        from optimizer.travel import TravelNetwork

        t = time.perf_counter()
        reach = build_reach(sc, TravelNetwork(sc))
        got = {}

        def keep(problem):
            from optimizer.stocking.analysis import plan_problem

            got["plan"] = plan_problem(problem)
            raise _Stored

        with contextlib.suppress(_Stored):
            run_restock(sc, pos, q, reach=reach, planner=keep)
        with open(args.save_plan, "wb") as fh:
            pickle.dump({"reach": reach, "plan": got["plan"]}, fh)
        print(json.dumps({"saved": args.save_plan, "seconds": round(time.perf_counter() - t, 1)}))
        return
    with open(args.plan, "rb") as fh:
        stored = pickle.load(fh)
    kw: dict = {}
    if "workers" in inspect.signature(run_restock).parameters:
        kw["workers"] = 1  # older code: valuations in this process, as the newer default
    if args.max_step:
        from optimizer.restock.phasing import StepCap

        kw.update(max_step=StepCap.parse(args.max_step), glide_quarters=args.glide_quarters)
    cpu = time.process_time()
    t = time.perf_counter()
    r = run_restock(sc, pos, q, reach=stored["reach"], planner=lambda pr: stored["plan"], **kw)
    t_run = time.perf_counter() - t
    out = args.out or tempfile.mkdtemp(prefix="restock-steps-")
    t = time.perf_counter()
    write_outputs(r, out)
    t_write = time.perf_counter() - t
    s = r.summary()
    svc = r.service.dropna(subset=["aimed_at", "on_time_after"])
    print(json.dumps({
        "run_restock_s": round(t_run, 2), "write_outputs_s": round(t_write, 2),
        "total_s": round(t_run + t_write, 2), "cpu_s": round(time.process_time() - cpu, 2),
        "steps_s": {k: round(v, 2) for k, v in r.timings_s.items()},
        "buy_lines": len(r.plan.buys), "buy_units": s["buy_units"],
        "buy_amount": round(s["buy_amount"], 2), "gain_per_year": round(s["gain_per_year"], 3),
        "least_buy_gain": float(r.plan.buys["gain_per_year"].min()),
        "least_margin_after_vs_aimed": float((svc["on_time_after"] - svc["aimed_at"]).min()),
        "glide": r.glide.round(6).to_dict("records") if len(r.glide) else None, "out": out,
    }, indent=1, default=str))


if __name__ == "__main__":
    main()
