"""Plain files of a network design (``spares plan --design``): ``design.csv``, the usual
``stock_levels.csv`` / ``service.csv`` / ``summary.json`` of the plan on the designed network,
``before_after.csv`` per class and ``hold_backs.csv`` for classes no design can bring to target."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from optimizer.design.plan import DesignPlan, NetworkPlan
from optimizer.stocking.io import summary_dict, write_plan

DESIGN_COLUMNS = ("location_id", "name", "kind", "candidate", "open", "fixed_cost_per_year", "units",
                  "investment", "sites_served", "capacity_units", "capacity_value",
                  "within_capacity")
BEFORE_AFTER_COLUMNS = ("tier", "severity", "target", "before_ceiling", "before_predicted",
                        "after_ceiling", "after_predicted", "met_before", "met_after")
HOLD_BACK_COLUMNS = ("tier", "severity", "site_id", "site_name", "customer", "unreached_per_year",
                     "parts", "window", "nearest_location", "nearest_kind", "nearest_km",
                     "nearest_best_case_hours", "radius_km_for_24x7_location")


def _f(x: float | None, digits: int = 6) -> str:
    return "" if x is None or x != x else f"{x:.{digits}f}".rstrip("0").rstrip(".")


def sites_served(d: DesignPlan) -> dict[str, int]:
    """Per location holding stock: the sites it reaches in time at some request moment (for any
    severity and size class, from the reach with every candidate open)."""
    plan = d.plan
    stocked = {str(plan.location_ids[j]) for j in np.nonzero(plan.levels.sum(axis=0) > 0)[0]}
    sites: dict[str, set[str]] = {}
    for (site_id, _sev, _size), entries in zip(d.reach.keys, d.reach.entries, strict=True):
        for depot_id, _p in entries:
            if depot_id in stocked:
                sites.setdefault(depot_id, set()).add(site_id)
    return {k: len(v) for k, v in sites.items()}


def _network(n: NetworkPlan, reference: NetworkPlan) -> dict:
    return {"name": n.name, "yearly_cost": n.yearly_cost, "fixed_cost_per_year": n.fixed_cost,
            "investment": n.plan.investment, "feasible": n.feasible, "opened": list(n.opened),
            "closed": list(n.closed),
            "saving_per_year": n.yearly_cost - reference.yearly_cost,
            "saving_share": (n.yearly_cost - reference.yearly_cost) / n.yearly_cost
            if n.yearly_cost > 0 else None}


def summary_design(d: DesignPlan) -> dict:
    """``summary.json``: the plan's summary plus the design's costs, bound, gap and baselines."""
    dp, c = d.problem, d.chosen
    out = summary_dict(d.plan)
    out.update({
        "method": f"{d.design.method} design",
        "runtime_s": d.runtime_s,
        "yearly_cost": c.yearly_cost,
        "fixed_cost_per_year": c.fixed_cost,
        "investment": c.plan.investment,
        "carrying_rate": dp.carrying_rate,
        "bound": d.bound,
        "gap": d.gap,
        "bound_method": ("the exact design MIP's proven bound (over every design and every "
                         "stock vector in its box)" if d.design.method == "exact" else
                         "coverage relaxation (valid over every design and stock level)"),
        "bound_system": d.design.system_bound,
        "gap_system": d.system_gap,
        "bound_system_method": ("coverage relaxation plus the units each part's HQ resupply "
                                "pipeline holds (Palm's theorem): what the real network needs at "
                                "least; the stocking model's approximations may plan below it"),
        "opened": list(c.opened),
        "closed": list(c.closed),
        "design_master": {"yearly_cost": d.design.yearly_cost, "columns": d.design.columns,
                          "timings": d.design.timings, "notes": list(d.design.notes)},
        "timings": d.timings,
        "design_notes": list(d.notes),
        "capacity_overruns": [asdict(o) for o in d.overruns],
        "design_baselines": [_network(b, c) for b in (d.sequential, d.before) if b is not None],
    })
    return out


def write_design(d: DesignPlan, folder: str | Path) -> Path:
    """Write every design file into ``folder`` (created if missing)."""
    out = write_plan(d.plan, folder)
    dp, plan = d.problem, d.plan
    served = sites_served(d)
    col = {str(x): j for j, x in enumerate(plan.location_ids)}
    opened = set(d.opened)
    over = {o.location_id for o in d.overruns}
    with (out / "design.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(DESIGN_COLUMNS)
        for j, lid in enumerate(dp.location_ids):
            lid = str(lid)
            k = col.get(lid)
            units = 0 if k is None else int(plan.levels[:, k].sum())
            inv = 0.0 if k is None else float(plan.unit_cost @ plan.levels[:, k])
            is_open = k is not None and (not dp.is_candidate[j] or lid in opened)
            w.writerow([lid, d.names.get(lid, ""), dp.kind[j], "yes" if dp.is_candidate[j] else "no",
                        "yes" if is_open else "no", _f(dp.fixed_cost[j], 2), units, _f(inv, 2),
                        served.get(lid, 0) if is_open else 0,
                        "" if not np.isfinite(dp.cap_units[j]) else int(dp.cap_units[j]),
                        "" if not np.isfinite(dp.cap_value[j]) else _f(dp.cap_value[j], 2),
                        "" if not is_open else ("no" if lid in over else "yes")])
    before = d.before.plan if d.before is not None else None
    with (out / "before_after.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(BEFORE_AFTER_COLUMNS)
        for c in range(len(plan.class_tier)):
            t = plan.class_target[c]
            b = None if before is None else float(before.class_on_time[c])
            bc = None if before is None or before.class_ceiling is None else before.class_ceiling[c]
            a = plan.class_on_time[c]
            w.writerow([plan.class_tier[c], int(plan.class_severity[c]), _f(t), _f(bc), _f(b),
                        _f(None if plan.class_ceiling is None else plan.class_ceiling[c]), _f(a),
                        "" if b is None or t != t else ("yes" if b >= t - 1e-9 else "no"),
                        "" if t != t else ("yes" if a >= t - 1e-9 else "no")])
    with (out / "hold_backs.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HOLD_BACK_COLUMNS)
        for h in d.hold_backs:
            w.writerow([h.tier, h.severity, h.site_id, h.site_name, h.customer,
                        _f(h.unreached_per_year), "|".join(h.parts), h.window, h.nearest,
                        h.nearest_kind, _f(h.nearest_km, 1), _f(h.nearest_hours, 2),
                        _f(h.radius_km, 1)])
    (out / "summary.json").write_text(json.dumps(summary_design(d), indent=2) + "\n")
    return out
