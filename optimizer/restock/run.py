"""The quarterly restocking run: forecast -> re-plan -> orders, with a progress callback.

:func:`run_restock` is plain data in, :class:`RestockResult` out; :func:`approve` turns an
approved result into ledger movements through any writer (idempotent by run id).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from inventory.domain import Scenario
from optimizer.forecast.select import PartForecast, forecast_scenario
from optimizer.forecast.table import forecast_table
from optimizer.restock.build import local_demand_shares, location_ids, scenario_inputs
from optimizer.restock.minimums import Minimum, minimum_levels
from optimizer.restock.phasing import StepCap, glide_path, marginal_points
from optimizer.restock.plan import EXACT_FACTOR, MIN_GAIN, RestockPlan, plan_restock
from optimizer.restock.positions import Positions
from optimizer.restock.quarter import Quarter
from optimizer.restock.value import StockingModel
from optimizer.stocking.cluster import Cluster
from optimizer.stocking.evaluate import Evaluation
from optimizer.stocking.problem import ReachLike, StockingProblem, build_problem
from optimizer.stocking.result import StockingPlan
from optimizer.stocking.targets import target_plan
from optimizer.supersession import Succession, describe

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
    glide, glide_orders : with a step cap, service per class per quarter and the orders of the
        quarters after this one, each planned from the stock the one before leaves
        (:func:`optimizer.restock.phasing.glide_path`).
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
    glide: pd.DataFrame = field(default_factory=pd.DataFrame)
    glide_orders: pd.DataFrame = field(default_factory=pd.DataFrame)
    max_step: str | None = None
    part_names: dict[str, str] = field(default_factory=dict)
    forecast_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    overlay: str | None = None
    """The name of the what-if overlay the run planned on (:mod:`scenarios.overlay`), or None."""

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
            "max_step": self.max_step, "max_step_amount": self.plan.max_step,
            "min_gain_per_year": self.plan.min_gain,
            **{k: (round(v, 2) if isinstance(v, float) else v)
               for k, v in self.plan.totals().items()},
            "forecast_units_per_month": round(float(self.forecast.rate_per_month.sum()), 3),
            "prior_units_per_month": round(float(self.forecast.prior_rate_per_month.sum()), 3),
            "forecast_methods": self.forecast.method_counts(),
            "forecast_weights": {k: round(v, 4) for k, v in self.forecast.weights.items()},
            "service": [{k: (None if isinstance(v, float) and np.isnan(v) else v)
                         for k, v in row.items()} for row in svc.to_dict("records")],
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "notes": list(self.notes),
            "overlay": self.overlay,
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


def whatif_forecast(forecast: PartForecast, base: Scenario, whatif: Scenario) -> PartForecast:
    """A forecast made on ``base`` moved onto a what-if of it: each part's rates (and prior)
    times its installed-base demand in ``whatif`` over that in ``base`` (failures a year,
    demand factors included); unchanged for a part without an installed base in ``base``."""
    def yearly(sc: Scenario) -> dict[str, float]:
        out: dict[str, float] = {}
        for ib in sc.installed_base:
            out[ib.part_id] = out.get(ib.part_id, 0.0) + ib.rate_per_year(sc.part(ib.part_id))
        return out

    before, after = yearly(base), yearly(whatif)
    r = np.array([after.get(p, 0.0) / before[p] if before.get(p, 0.0) > 0 else 1.0
                  for p in forecast.part_ids])
    return replace(forecast, rate_per_month=forecast.rate_per_month * r,
                   rate_low=forecast.rate_low * r, rate_high=forecast.rate_high * r,
                   prior_rate_per_month=forecast.prior_rate_per_month * r)


@dataclass(frozen=True, eq=False)
class Shares:
    """On-time shares of a stock plan: per class (C,) and over all in-service demand."""

    class_on_time: np.ndarray
    overall_on_time: float


def tier_service(problem: StockingProblem, evs: dict[str, Evaluation | Shares]) -> pd.DataFrame:
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
                max_step: StepCap | None = None, glide_quarters: int = 4,
                min_gain: float = MIN_GAIN, cluster: Cluster | None = None,
                minimums: Sequence[Minimum] = (),
                progress: Progress | None = None,
                forecast_overrides: Mapping[str, float] | None = None,
                forecast_from: Scenario | None = None) -> RestockResult:
    """One quarterly run.

    Parameters
    ----------
    positions : current stock in the stocking model's order (:func:`build.location_ids`, parts in
        catalog order).
    quarter : the quarter being planned; its length is the horizon for transfers and repairs.
    budget : cap on the buy amount (currency), or None.
    targets : (P, L) base-stock levels to use instead of re-planning (e.g. a plan read back).
    planner : re-plans the forecast-scaled problem (default: the stocking solver,
        :func:`optimizer.stocking.solve`).
    curve_points : points of the marginal curve (the most valuable buys up to evenly spaced
        shares of their amount), 0 for none.
    max_step : cap on this quarter's buy amount (amount or share of today's stock value); the
        later quarters of the ``glide_quarters``-quarter glide path are each planned again from
        the stock the one before leaves, within the same cap.
    min_gain : on-time requests per year an order line must add to be proposed.
    cluster : where the re-plan's per-part work and large batches of order-line valuations run
        (:mod:`optimizer.stocking.cluster`); None: in this process.
    minimums : contractual minimums (:mod:`optimizer.restock.minimums`): bought whatever service
        they add, listed on their own (``plan.contractual``).
    forecast_overrides : part id -> units a month replacing the computed forecast (a planner's
        override; method ``override`` in the forecast table).
    forecast_from : the scenario the forecast is computed on (same parts), when ``scenario`` is
        a what-if of it (:mod:`scenarios.overlay`): each part's forecast over its installed-base
        prior there scales the what-if's demand streams, so a demand change of the what-if
        moves the history-calibrated demand by its own factor (and sites keep the what-if's
        split). None: ``scenario`` itself.
    """
    say = progress or (lambda step, done, total: None)
    timings: dict[str, float] = {}
    total = len(STEPS)

    def step(name: str) -> float:
        say(name, STEPS.index(name), total)
        return time.perf_counter()

    t = step("forecast")
    succession = Succession.from_scenario(scenario)
    planning = succession.planning_scenario(scenario)  # superseded parts' demand on successors
    if forecast_from is None:
        forecast = forecast_scenario(planning, strength_months=strength_months,
                                     planned_elsewhere=succession.planned_elsewhere)
    else:
        base = Succession.from_scenario(forecast_from)
        base_planning = base.planning_scenario(forecast_from)
        forecast = whatif_forecast(
            forecast_scenario(base_planning, strength_months=strength_months,
                              planned_elsewhere=base.planned_elsewhere),
            base_planning, planning)
    if forecast_overrides:  # planner overrides replace the computed monthly rates
        from optimizer.overrides import override_forecast

        forecast = override_forecast(forecast, forecast_overrides)
    timings["forecast"] = time.perf_counter() - t

    t = step("reach")
    if reach is None:
        from optimizer.reach import build_reach
        from optimizer.travel import TravelNetwork

        reach = build_reach(scenario, TravelNetwork(scenario), cluster=cluster)
    problem, notes = scale_rates(build_problem(planning, reach), forecast)
    notes.extend(describe(succession))
    timings["reach"] = time.perf_counter() - t
    if tuple(problem.location_ids) != tuple(positions.location_ids) or tuple(
            problem.part_ids) != tuple(positions.part_ids):
        raise ValueError("positions must list the scenario's parts (catalog order) and locations "
                         "(HQ first, then depots in scenario order)")

    t = step("re-plan")
    stocking = None
    if targets is None:
        if planner is None:
            from optimizer.stocking.analysis import plan_problem

            def planner(pr: StockingProblem) -> StockingPlan:
                return plan_problem(pr, cluster=cluster)
        stocking = planner(problem)
        S = np.asarray(stocking.levels, dtype=np.int64)
        notes.extend(stocking.notes)
    else:
        S = np.asarray(targets, dtype=np.int64)
        if S.shape != (problem.n_parts, problem.n_locations):
            raise ValueError(f"targets have shape {S.shape}, expected "
                             f"{(problem.n_parts, problem.n_locations)}")
    S = succession.pool_targets(S)  # a given plan may hold targets for superseded parts
    timings["re-plan"] = time.perf_counter() - t

    t = step("evaluate")
    aimed = stocking.effective_target if stocking is not None and \
        stocking.effective_target is not None else target_plan(problem).aimed_at
    model = StockingModel(problem, aimed, fold=lambda lv: succession.fold_levels(lv, S),
                          cluster=cluster, exact_below=EXACT_FACTOR * min_gain)
    # the re-plan evaluated its levels already; today's stock on the model the orders are
    # valued on (its per-part evaluations are kept for the parts the orders leave alone)
    ev_target = Shares(*model.shares(S)) if stocking is None else Shares(
        np.asarray(stocking.class_on_time), float(stocking.overall_on_time))
    ev_before = Shares(*model.shares(positions.inventory_position))
    timings["evaluate"] = time.perf_counter() - t

    t = step("orders")
    inp = scenario_inputs(planning, succession.split_targets(S, positions.inventory_position),
                          positions, forecast.rate_per_month, quarter.days,
                          repair_cost_fraction=repair_cost_fraction)
    inp = replace(inp, demand_per_quarter=succession.member_demand(  # old stock's own demand
        inp.demand_per_quarter, local_demand_shares(scenario, inp.part_ids, inp.location_ids)))
    value_today = float(problem.unit_cost @ _levels(positions.inventory_position).sum(axis=1))
    step_amount = None if max_step is None else max_step.resolve(value_today)
    floors = minimum_levels(minimums, inp.part_ids, inp.location_ids) if minimums else None
    plan = plan_restock(inp, budget, excess_quarters=excess_quarters, model=model,
                        max_step=step_amount, min_gain=min_gain, minimums=floors)
    after_levels = _levels(plan.position_after)
    pooled_after = succession.fold_levels(after_levels, S)
    ev_after = ev_target if np.array_equal(pooled_after, S) else Shares(
        *model.shares(plan.position_after))
    timings["orders"] = time.perf_counter() - t

    t = step("curve")
    cost = problem.unit_cost
    inv = {name: float(cost @ lv.sum(axis=1)) for name, lv in
           (("today", _levels(positions.inventory_position)), ("target", S),
            ("after", after_levels))}
    points = [(inv["today"], ev_before.overall_on_time, "today"),
              (inv["target"], ev_target.overall_on_time, "new plan"),
              (inv["after"], ev_after.overall_on_time, "after orders")]
    marginal = marginal_points(plan, model, np.linspace(0.0, 1.0, curve_points)) \
        if curve_points > 0 else pd.DataFrame(columns=["investment", "on_time", "label"])
    curve = pd.concat([pd.DataFrame(points, columns=["investment", "on_time", "label"]),
                       marginal], ignore_index=True).sort_values(
        "investment", kind="stable", ignore_index=True)
    timings["curve"] = time.perf_counter() - t
    t = time.perf_counter()
    glide, glide_orders = (pd.DataFrame(), pd.DataFrame()) if step_amount is None else \
        glide_path(plan, model, quarter, step_amount, glide_quarters,
                   excess_quarters=excess_quarters, minimums=floors)
    if step_amount is not None:
        timings["glide"] = time.perf_counter() - t
    say("done", total, total)

    service = tier_service(problem, {"before": ev_before, "target": ev_target, "after": ev_after})
    service.insert(3, "aimed_at", aimed)
    depots = depot_table(scenario, positions.location_ids, cost, {
        "today": _levels(positions.inventory_position), "target": S, "after": after_levels})
    return RestockResult(
        run_id=run_id(quarter, scenario.name, plan), quarter=quarter, scenario=scenario.name,
        currency=scenario.currency, source=source, forecast=forecast, stocking=stocking, plan=plan,
        service=service, curve=curve, depots=depots, investment_today=inv["today"],
        investment_target=inv["target"], investment_after=inv["after"], timings_s=timings,
        notes=tuple(notes), glide=glide, glide_orders=glide_orders,
        max_step=None if max_step is None else str(max_step),
        part_names={p.part_id: p.name for p in scenario.parts}, forecast_table=forecast_table(
            forecast, {p.part_id: p.name for p in scenario.parts}, succession.planned_as))


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
    for df in (plan.transfers, plan.repairs, plan.buys) + (
            (plan.contractual,) if len(plan.contractual) else ()):
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
