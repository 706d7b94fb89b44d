"""Plan vs real dispatch: the stock plan's predicted on-time share per class next to a simulation
that runs the engine's own dispatch decision over real calendar time.

For each scenario: plan base-stock levels (``plan_scenario``, greedy, no baselines), derive the
rationing levels of that plan (``critical_levels``), simulate the plan with
``optimizer.dispatch.simulation.simulate_dispatch`` (holidays, opening hours, cut-offs, transport
schedules, substitutes, the cheapest-on-time rule) and print per class: target, plan prediction,
simulated share with its 95 % interval, difference (predicted - simulated, pp) and whether it is
within 1 pp. Also the overall shares, the backordered / at-risk shares and the timings. The same
levels are also simulated under the stocking model's own fill rule
(``optimizer.stocking.simulation``: first location of the reach's list with stock, exact
stock-out correlations), which splits each difference into the model's approximations
(``approx_pp`` = predicted - model-rule simulated) and the rest, between the model's rule and the
engine's (``rule_pp`` = model-rule simulated - engine simulated). Writes
``plan_vs_dispatch.csv`` (one row per class) and ``runs.csv`` (one row per scenario) under
``--out``.

Usage: ``python benchmarks/plan_vs_dispatch.py [--scenarios tiny,cn-telecom] [--generated N]
[--size 40,8,80] [--years 5] [--replications 5] [--warmup 0.5] [--seed 1] [--out DIR]
[--design] [--candidates N] [--cluster local:N]`` (``--design``: scenarios with candidates are planned
by the network design as ``spares plan --design`` plans them, its files written to
``--out/design-NAME``, and the designed network is simulated)
(``--scenarios ''`` runs only generated ones; generated scenario g uses generator seed
``seed + g``).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np

import scenarios
from inventory.domain import Scenario
from optimizer.design.io import write_design
from optimizer.design.plan import plan_design
from optimizer.dispatch.rationing import critical_levels
from optimizer.dispatch.simulation import simulate_dispatch
from optimizer.reach import Reach, build_reach
from optimizer.stocking.analysis import plan_scenario
from optimizer.stocking.cluster import connect
from optimizer.stocking.problem import build_problem
from optimizer.stocking.result import levels_in_order
from optimizer.stocking.simulation import simulate
from optimizer.supersession import planning_scenario
from optimizer.travel import TravelNetwork
from scenarios.generator import generate

TOLERANCE_PP = 1.0
CLASS_FIELDS = ["scenario", "tier", "severity", "target", "predicted", "simulated", "ci_low",
                "ci_high", "diff_pp", "within_1pp", "failures", "backordered", "at_risk",
                "model_rule_simulated", "approx_pp", "rule_pp"]
RUN_FIELDS = ["scenario", "parts", "locations", "sites", "units", "investment", "plan_s",
              "simulate_s", "model_rule_s", "years", "replications", "failures_simulated", "failures_per_s",
              "predicted_overall", "simulated_overall", "backordered_share", "at_risk_share",
              "classes", "classes_within_1pp"]


def _pct(x: float) -> str:
    return "" if x is None or not math.isfinite(x) else f"{100 * x:.2f}%"


def run(sc: Scenario, *, years: float, replications: int, warmup: float, seed: int,
        design: bool = False, cluster: str | None = None,
        keep: Path | None = None) -> tuple[list[dict], dict]:
    t0 = time.perf_counter()
    reach = None
    if design and (sc.candidates or any(d.closable for d in sc.depots)):
        with connect(cluster, use_env=False) as where:
            d = plan_design(sc, with_before=False, cluster=where)  # as `spares plan --design`
        if keep is not None:  # the designed plan's files, to simulate again without designing
            write_design(d, keep / f"design-{sc.name}")
        plan = d.plan
        sc = d.designed  # the simulated network is the designed one, each location at its S
        network = TravelNetwork(sc)
    else:
        network = TravelNetwork(sc)
        with connect(cluster, use_env=False) as where:
            reach = build_reach(sc, network, cluster=where)  # the plan's, reused below
            plan = plan_scenario(sc, with_baselines=False, cluster=where, reach=reach)
    t1 = time.perf_counter()
    base = {(str(plan.part_ids[p]), str(plan.location_ids[j])): int(plan.levels[p, j])
            for p, j in zip(*np.nonzero(plan.levels), strict=True)}
    levels = critical_levels(sc, base)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 30 or done == total:
            last[0] = now
            print(f"  {sc.name}: {done:,}/{total:,} failures decided", file=sys.stderr, flush=True)

    res = simulate_dispatch(sc, base, years=years, seed=seed, warmup_years=warmup,
                            replications=replications, network=network, levels=levels,
                            progress=progress)
    t2 = time.perf_counter()
    rule = _model_rule(sc, plan, reach if reach is not None else build_reach(sc, network),
                       years=years, replications=replications, warmup=warmup, seed=seed)
    t3 = time.perf_counter()
    rows: list[dict] = []
    for c in range(len(plan.class_tier)):
        tier, sev = str(plan.class_tier[c]), int(plan.class_severity[c])
        k = res.class_index(tier, sev)
        target = float(plan.class_target[c])
        pred, simd = float(plan.class_on_time[c]), float(res.class_on_time[k])
        diff = 100 * (pred - simd) if math.isfinite(pred) and math.isfinite(simd) else float("nan")
        constrained = math.isfinite(target)
        rows.append({
            "scenario": sc.name, "tier": tier, "severity": sev,
            "target": target if constrained else "", "predicted": pred, "simulated": simd,
            "ci_low": float(res.class_ci_low[k]), "ci_high": float(res.class_ci_high[k]),
            "diff_pp": diff,
            "within_1pp": ("" if not (constrained and math.isfinite(diff))
                           else "yes" if abs(diff) <= TOLERANCE_PP else "no"),
            "failures": int(res.class_demands[k]), "backordered": int(res.class_backordered[k]),
            "at_risk": int(res.class_at_risk[k]),
            "model_rule_simulated": float(rule[c]),
            "approx_pp": 100 * (pred - float(rule[c])), "rule_pp": 100 * (float(rule[c]) - simd),
        })
    judged = [r for r in rows if r["within_1pp"]]
    summary = {
        "scenario": sc.name, "parts": len(sc.parts), "locations": len(sc.depots),
        "sites": len(sc.sites), "units": plan.units, "investment": round(plan.investment, 2),
        "plan_s": round(t1 - t0, 2), "simulate_s": round(t2 - t1, 2),
        "model_rule_s": round(t3 - t2, 2), "years": years,
        "replications": replications, "failures_simulated": res.failures_simulated,
        "failures_per_s": round(res.failures_per_second, 1),
        "predicted_overall": plan.overall_on_time, "simulated_overall": res.overall_on_time,
        "backordered_share": res.backordered_share, "at_risk_share": res.at_risk_share,
        "classes": len(judged), "classes_within_1pp": sum(r["within_1pp"] == "yes" for r in judged),
    }
    return rows, summary


def _model_rule(sc: Scenario, plan, reach: Reach, *, years: float, replications: int,
                warmup: float, seed: int) -> np.ndarray:
    """(C,) on-time share per class of ``plan``'s levels simulated under the stocking model's fill
    rule on ``reach``, ``sc``'s own (the plan's problem, built again), classes in the plan's
    order."""
    problem = build_problem(planning_scenario(sc)[0], reach)
    if list(map(str, problem.class_tier)) != list(map(str, plan.class_tier)) or list(
            problem.class_severity) != list(plan.class_severity):
        raise RuntimeError("the rebuilt problem's classes differ from the plan's")
    S = levels_in_order(plan, [str(p) for p in problem.part_ids],
                        [str(j) for j in problem.location_ids])
    return simulate(problem, S, years=years, replications=replications, seed=seed,
                    warmup_years=warmup).class_on_time


def show(rows: list[dict], s: dict) -> None:
    print(f"\n## {s['scenario']}: {s['parts']} parts, {s['locations']} locations, {s['sites']} sites, "
          f"{s['units']} units, investment {s['investment']:,.0f}")
    print(f"plan {s['plan_s']:.1f} s; simulate {s['years']:g} y x {s['replications']} reps "
          f"{s['simulate_s']:.1f} s, {s['failures_simulated']:,} failures, "
          f"{s['failures_per_s']:,.0f} failures/s; model-rule simulation {s['model_rule_s']:.1f} s")
    print("| class | target | predicted | simulated | 95% CI | diff (pp) | within 1 pp | failures |"
          " backordered | at risk | model rule simulated | approximations (pp) | rules (pp) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        tgt = _pct(r["target"]) if r["target"] != "" else "-"
        print(f"| {r['tier']}/sev{r['severity']} | {tgt} | {_pct(r['predicted'])} | "
              f"{_pct(r['simulated'])} | [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}] | "
              f"{r['diff_pp']:+.2f} | {r['within_1pp'] or '-'} | {r['failures']:,} | "
              f"{r['backordered']:,} | {r['at_risk']:,} | {_pct(r['model_rule_simulated'])} | "
              f"{r['approx_pp']:+.2f} | {r['rule_pp']:+.2f} |")
    print(f"overall: predicted {_pct(s['predicted_overall'])}, simulated {_pct(s['simulated_overall'])}; "
          f"backordered {_pct(s['backordered_share'])}, at risk {_pct(s['at_risk_share'])} of failures; "
          f"{s['classes_within_1pp']}/{s['classes']} classes within {TOLERANCE_PP:g} pp")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="tiny", help="bundled names or folders, comma-separated")
    ap.add_argument("--generated", type=int, default=0, help="how many generated scenarios")
    ap.add_argument("--size", default="40,8,80", help="parts,depots,sites of generated scenarios")
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="plan-vs-dispatch")
    ap.add_argument("--design", action="store_true",
                    help="plan scenarios with candidates by the network design and simulate the "
                         "designed network")
    ap.add_argument("--candidates", type=int, default=0, help="candidates of generated scenarios")
    ap.add_argument("--cluster", default=None,
                    help="where the planner's per-part work runs (local:N, tcp://host:8786)")
    args = ap.parse_args()
    try:
        n_parts, n_depots, n_sites = (int(x) for x in args.size.split(","))
    except ValueError:
        ap.error(f"--size: {args.size!r} is not parts,depots,sites")
    todo: list[Scenario] = [scenarios.load(n.strip()) for n in args.scenarios.split(",") if n.strip()]
    todo += [generate(n_parts, n_depots, n_sites, args.seed + g, candidates=args.candidates)
             for g in range(args.generated)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    all_rows: list[dict] = []
    runs: list[dict] = []
    for sc in todo:
        rows, summary = run(sc, years=args.years, replications=args.replications,
                            warmup=args.warmup, seed=args.seed, design=args.design, keep=out,
                            cluster=args.cluster)
        show(rows, summary)
        all_rows += rows
        runs.append(summary)
        for name, fields, data in (("plan_vs_dispatch.csv", CLASS_FIELDS, all_rows),
                                   ("runs.csv", RUN_FIELDS, runs)):
            with open(out / name, "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=fields)
                w.writeheader()
                w.writerows(data)
    print(f"\nwrote {out / 'plan_vs_dispatch.csv'} and {out / 'runs.csv'}")


if __name__ == "__main__":
    main()
