"""The quarterly restocking run: forecast -> re-plan -> orders, with a progress callback.

:func:`run_restock` is plain data in, :class:`RestockResult` out; :func:`approve` turns an
approved result into ledger movements through any writer (idempotent by run id).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from inventory.domain import Scenario
from optimizer.forecast.select import PartForecast, forecast_scenario
from optimizer.restock.build import location_ids, scenario_inputs
from optimizer.restock.plan import RestockPlan, plan_restock
from optimizer.restock.positions import Positions
from optimizer.restock.quarter import Quarter
from optimizer.stocking.evaluate import Evaluation, evaluate, evaluate_parts
from optimizer.stocking.gains import availability_coefficients
from optimizer.stocking.problem import ReachLike, StockingProblem, build_problem
from optimizer.stocking.result import StockingPlan

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as each of the run's steps starts and at the end."""

STEPS = ("forecast", "reach", "re-plan", "evaluate", "orders", "curve")


@dataclass(frozen=True, eq=False)
class RestockResult:
    """Everything one quarterly run produced.

    Attributes
    ----------
    run_id : deterministic id of the run (quarter, scenario and a digest of the orders), so the
        same state planned twice approves once.
    service : one row per (tier, severity) class: target, demand per year, predicted on-time share
        with today's stock (``on_time_before``), at the new targets (``on_time_target``) and after
        the orders as cut by the budget (``on_time_after``).
    curve : cost/service points (investment, on_time, label).
    depots : per depot: name, lat, lon, stock value today / at target / after the orders.
    """

    run_id: str
    quarter: Quarter
    scenario: str
    currency: str
    source: str
    forecast: PartForecast
    stocking: StockingPlan | None
    plan: RestockPlan
    service: pd.DataFrame
    curve: pd.DataFrame
    depots: pd.DataFrame
    investment_today: float
    investment_target: float
    investment_after: float
    timings_s: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def summary(self) -> dict:
        """JSON-ready headline figures."""
        svc = self.service
        return {
            "run_id": self.run_id, "quarter": str(self.quarter), "scenario": self.scenario,
            "currency": self.currency, "positions_from": self.source,
            "horizon_days": self.plan.inputs.horizon_days, "budget": self.plan.budget,
            "investment_today": round(self.investment_today, 2),
            "investment_target": round(self.investment_target, 2),
            "investment_after": round(self.investment_after, 2),
            **{k: (round(v, 2) if isinstance(v, float) else v)
               for k, v in self.plan.totals().items()},
            "forecast_units_per_month": round(float(self.forecast.rate_per_month.sum()), 3),
            "prior_units_per_month": round(float(self.forecast.prior_rate_per_month.sum()), 3),
            "forecast_methods": self.forecast.method_counts(),
            "service": [{k: (None if isinstance(v, float) and np.isnan(v) else v)
                         for k, v in row.items()} for row in svc.to_dict("records")],
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "notes": list(self.notes),
        }


def scale_rates(problem: StockingProblem, forecast: PartForecast) -> tuple[StockingProblem,
                                                                             list[str]]:
    """The problem with every stream of a part scaled by forecast / prior, keeping the
    installed-base split over sites and classes. Parts with a zero prior keep their streams."""
    pix = {p: i for i, p in enumerate(forecast.part_ids)}
    order = np.array([pix[p] for p in problem.part_ids])
    prior = forecast.prior_rate_per_month[order]
    fc = forecast.rate_per_month[order]
    factor = np.divide(fc, prior, out=np.ones_like(fc), where=prior > 0)
    notes = []
    lost = (prior <= 0) & (fc > 0)
    if lost.any():
        notes.append(f"{int(lost.sum())} parts have demand history but no installed base; "
                     "the model cannot place their demand and keeps them at zero")
    rates = problem.stream_rate_per_year * factor[problem.stream_part]
    return replace(problem, stream_rate_per_year=rates), notes


def tier_service(problem: StockingProblem, evs: dict[str, Evaluation]) -> pd.DataFrame:
    """Per class: tier, severity, target, demand per year and the on-time share of each evaluation."""
    df = pd.DataFrame({"tier": problem.class_tier.astype(str),
                       "severity": problem.class_severity.astype(int),
                       "target": problem.class_target,
                       "demand_per_year": problem.class_demand_per_year})
    for name, ev in evs.items():
        df[f"on_time_{name}"] = ev.class_on_time
    return df


def _levels(position: np.ndarray) -> np.ndarray:
    return np.clip(position, 0, None).astype(np.int64)


def run_restock(scenario: Scenario, positions: Positions, quarter: Quarter, *,
                budget: float | None = None, source: str = "scenario",
                reach: ReachLike | None = None, targets: np.ndarray | None = None,
                planner: Callable[[StockingProblem], StockingPlan] | None = None,
                strength_months: float = 12.0, excess_quarters: float = 4.0,
                repair_cost_fraction: float = 0.25, curve_points: int = 5,
                progress: Progress | None = None) -> RestockResult:
    """One quarterly run.

    Parameters
    ----------
    positions : current stock in the stocking model's order (:func:`build.location_ids`, parts in
        catalog order).
    quarter : the quarter being planned; its length is the horizon for transfers and repairs.
    budget : cap on the buy amount (currency), or None.
    targets : (P, L) base-stock levels to use instead of re-planning (e.g. a plan read back).
    planner : re-plans the forecast-scaled problem (default: the greedy stocking solver).
    curve_points : evaluations of scaled target plans drawn as the cost/service curve.
    """
    say = progress or (lambda step, done, total: None)
    timings: dict[str, float] = {}
    total = len(STEPS)

    def step(name: str) -> float:
        say(name, STEPS.index(name), total)
        return time.perf_counter()

    t = step("forecast")
    forecast = forecast_scenario(scenario, strength_months=strength_months)
    timings["forecast"] = time.perf_counter() - t

    t = step("reach")
    if reach is None:
        from optimizer.reach import build_reach
        from optimizer.travel import TravelNetwork

        reach = build_reach(scenario, TravelNetwork(scenario))
    problem, notes = scale_rates(build_problem(scenario, reach), forecast)
    timings["reach"] = time.perf_counter() - t
    if tuple(problem.location_ids) != tuple(positions.location_ids) or tuple(
            problem.part_ids) != tuple(positions.part_ids):
        raise ValueError("positions must list the scenario's parts (catalog order) and locations "
                         "(HQ first, then depots in scenario order)")

    t = step("re-plan")
    stocking = None
    if targets is None:
        if planner is None:
            from optimizer.stocking.solve import solve

            def planner(pr: StockingProblem) -> StockingPlan:
                return solve(pr, "greedy")
        stocking = planner(problem)
        S = np.asarray(stocking.levels, dtype=np.int64)
        notes.extend(stocking.notes)
    else:
        S = np.asarray(targets, dtype=np.int64)
        if S.shape != (problem.n_parts, problem.n_locations):
            raise ValueError(f"targets have shape {S.shape}, expected "
                             f"{(problem.n_parts, problem.n_locations)}")
    timings["re-plan"] = time.perf_counter() - t

    t = step("evaluate")
    ev_target = evaluate(problem, S)
    ev_before = evaluate(problem, _levels(positions.inventory_position))
    weight = availability_coefficients(problem, ev_target).sum(axis=2)
    timings["evaluate"] = time.perf_counter() - t

    t = step("orders")
    inp = scenario_inputs(scenario, S, positions, forecast.rate_per_month, quarter.days,
                          repair_cost_fraction=repair_cost_fraction, service_weight=weight,
                          pipeline_mean=ev_target.pipeline_mean)
    plan = plan_restock(inp, budget, excess_quarters=excess_quarters)
    after_levels = _levels(plan.position_after)
    ev_after = ev_target if np.array_equal(after_levels, S) else evaluate(problem, after_levels)
    timings["orders"] = time.perf_counter() - t

    t = step("curve")
    cost = problem.unit_cost
    inv = {name: float(cost @ lv.sum(axis=1)) for name, lv in
           (("today", _levels(positions.inventory_position)), ("target", S),
            ("after", after_levels))}
    points = [(inv["today"], ev_before.overall_on_time, "today"),
              (inv["target"], ev_target.overall_on_time, "new plan"),
              (inv["after"], ev_after.overall_on_time, "after orders")]
    for f in np.linspace(0.25, 1.25, curve_points) if curve_points > 0 else ():
        if abs(f - 1.0) < 1e-9:
            continue
        lv = np.floor(S * f + 0.5).astype(np.int64)
        # a plotted point: warm start from the target's availabilities, looser tolerance (1e-6)
        ev = evaluate_parts(problem, lv, tol=1e-6, initial_availability=ev_target.availability)
        points.append((float(cost @ lv.sum(axis=1)), ev.overall_on_time, f"{f:.0%} of plan"))
    curve = pd.DataFrame(points, columns=["investment", "on_time", "label"]).sort_values(
        "investment", kind="stable", ignore_index=True)
    timings["curve"] = time.perf_counter() - t
    say("done", total, total)

    service = tier_service(problem, {"before": ev_before, "target": ev_target, "after": ev_after})
    depots = depot_table(scenario, positions.location_ids, cost, {
        "today": _levels(positions.inventory_position), "target": S, "after": after_levels})
    return RestockResult(
        run_id=run_id(quarter, scenario.name, plan), quarter=quarter, scenario=scenario.name,
        currency=scenario.currency, source=source, forecast=forecast, stocking=stocking, plan=plan,
        service=service, curve=curve, depots=depots, investment_today=inv["today"],
        investment_target=inv["target"], investment_after=inv["after"], timings_s=timings,
        notes=tuple(notes))


def depot_table(scenario: Scenario, locs: Sequence[str], unit_cost: np.ndarray,
                levels: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per depot: id, name, kind, lat, lon and ``value_<name>`` = stock value of each level set."""
    ds = [scenario.depot(d) for d in locs]
    df = pd.DataFrame({"depot_id": list(locs), "name": [d.name for d in ds],
                       "kind": [str(d.kind) for d in ds], "lat": [d.lat for d in ds],
                       "lon": [d.lon for d in ds]})
    for name, lv in levels.items():
        df[f"value_{name}"] = np.round(unit_cost @ lv, 2)
    return df


def run_id(quarter: Quarter, scenario: str, plan: RestockPlan) -> str:
    """``<quarter>-<scenario>-<digest of the orders>``: equal plans get equal ids."""
    h = hashlib.sha256()
    for df in (plan.transfers, plan.repairs, plan.buys):
        h.update(df.to_csv(index=False).encode())
    return f"{quarter}-{scenario}-{h.hexdigest()[:12]}"


def scenario_run(scenario: Scenario, quarter: Quarter, **kw) -> RestockResult:
    """:func:`run_restock` with positions from the scenario's opening stock."""
    from optimizer.restock.build import scenario_positions

    positions = scenario_positions(scenario, [p.part_id for p in scenario.parts],
                                   location_ids(scenario))
    return run_restock(scenario, positions, quarter, source="scenario", **kw)


def targets_from_plan(plan: StockingPlan, part_ids: Sequence[str], locs: Sequence[str]
                      ) -> np.ndarray:
    """(P, L) levels of ``plan`` in the given order; a part or location the plan lacks gets 0,
    one the scenario lacks raises ValueError naming it."""
    pix = {p: i for i, p in enumerate(part_ids)}
    lix = {d: j for j, d in enumerate(locs)}
    for p in plan.part_ids:
        if p not in pix:
            raise ValueError(f"the plan's part {p!r} is not in the scenario")
    for d in plan.location_ids:
        if d not in lix:
            raise ValueError(f"the plan's location {d!r} is not in the scenario")
    out = np.zeros((len(part_ids), len(locs)), dtype=np.int64)
    rows = np.array([pix[p] for p in plan.part_ids], dtype=np.int64)
    cols = np.array([lix[d] for d in plan.location_ids], dtype=np.int64)
    out[np.ix_(rows, cols)] = plan.levels
    return out
