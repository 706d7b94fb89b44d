"""Exceptions of a stocking plan that need a planner's decision (the workspace's worklist).

Pure functions of plan data:

* :func:`miss_drivers`: for each service class below its target, the parts whose shortfall
  costs the most on-time requests. A part's shortfall in class ``c`` is
  ``target_c x requests - on-time requests`` (per year) over the part's in-service demand of the
  class; summed over all parts it is the class's own shortfall, so the largest terms are the
  parts that hold the class back.
* :func:`no_stock_in_reach`: (site, part) pairs of the chosen tiers (platinum and gold by
  default) where, for some severity with a part deadline, no location that reaches the site in
  time (any location of the reach list for that severity and the part's size class) holds
  stock of the part in the plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from inventory.domain import Milestone, Scenario, SizeClass
from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.problem import (
    ReachLike,
    StockingProblem,
    build_problem,
    failing_base,
    term_shares,
)
from optimizer.stocking.result import StockingPlan, levels_in_order
from optimizer.supersession import planning_scenario

DRIVERS_PER_CLASS = 10
COVERED_TIERS = ("platinum", "gold")
TOL = 1e-9


@dataclass(frozen=True)
class MissDriver:
    """One part holding back a class below target (rates in requests per year)."""

    tier: str
    severity: int
    target: float
    class_on_time: float
    part_id: str
    requests_per_year: float
    on_time_per_year: float
    shortfall_per_year: float
    """``target x requests - on time``: on-time requests a year this part misses against the
    class target (> 0)."""

    @property
    def on_time(self) -> float:
        """The part's on-time share in the class."""
        return self.on_time_per_year / self.requests_per_year if self.requests_per_year else 0.0


def miss_drivers(problem: StockingProblem, stream_on_time: np.ndarray, *,
                 top: int = DRIVERS_PER_CLASS) -> list[MissDriver]:
    """The ``top`` parts with the largest shortfall of every constrained class whose on-time
    share (from ``stream_on_time``, (N,) on-time probability per stream of ``problem``, as
    :func:`optimizer.stocking.evaluate.evaluate` gives it) is below its target; classes in
    problem order, parts by shortfall (largest first, then part id)."""
    p_on = np.asarray(stream_on_time, dtype=float)
    if p_on.shape != problem.stream_part.shape:
        raise ValueError(f"stream_on_time has shape {p_on.shape}, expected "
                         f"{problem.stream_part.shape}")
    rate = np.where(problem.stream_in_service, problem.stream_rate_per_year, 0.0)
    P, C = problem.n_parts, problem.n_classes
    cell = problem.stream_class * P + problem.stream_part
    requests = np.bincount(cell, weights=rate, minlength=C * P).reshape(C, P)
    on_time = np.bincount(cell, weights=rate * p_on, minlength=C * P).reshape(C, P)
    out: list[MissDriver] = []
    for c in range(C):
        target = float(problem.class_target[c])
        total = float(requests[c].sum())
        if np.isnan(target) or total <= 0:
            continue
        share = float(on_time[c].sum()) / total
        if share >= target - TOL:
            continue
        short = target * requests[c] - on_time[c]
        ranked = sorted((p for p in np.nonzero(short > TOL)[0]),
                        key=lambda p: (-short[p], str(problem.part_ids[p])))
        out += [MissDriver(str(problem.class_tier[c]), int(problem.class_severity[c]), target,
                           share, str(problem.part_ids[p]), float(requests[c, p]),
                           float(on_time[c, p]), float(short[p])) for p in ranked[:top]]
    return out


@dataclass(frozen=True)
class Uncovered:
    """A part at a site of a covered tier with no stock in reach for ``severities``;
    ``requests_per_year``: the part's failures a year at the site raised at those severities."""

    site_id: str
    contract_id: str
    tier: str
    part_id: str
    severities: tuple[int, ...]
    requests_per_year: float


def no_stock_in_reach(scenario: Scenario, reach: ReachLike,
                      stocked: Mapping[str, frozenset[str] | set[str]], *,
                      tiers: Sequence[str] = COVERED_TIERS) -> list[Uncovered]:
    """Every (site, part) of a contract of ``tiers`` whose installed base fails (rate > 0) and,
    for one or more severities with a part deadline, has no location in reach in time holding
    stock (``stocked``: part id -> locations with a base stock above 0). Sorted by tier (in
    ``tiers`` order), requests a year at stake (largest first), site, part."""
    keys = {k: i for i, k in enumerate(reach.keys)}
    no_deadline = set(reach.no_part_deadline)
    mix = scenario.settings.severity_mix
    rank = {t: i for i, t in enumerate(tiers)}
    found: dict[tuple[str, str], Uncovered] = {}
    for _, part, site, contract, rate in failing_base(scenario):
        if contract.tier not in rank:
            continue
        size = str(SizeClass(part.size_class))
        have = stocked.get(part.part_id, frozenset())
        sevs, at_stake = [], 0.0
        for term, share in term_shares(contract, mix):
            if (term.milestone is Milestone.RESPONSE
                    or (site.site_id, term.severity) in no_deadline):
                continue
            i = keys.get((site.site_id, term.severity, size))
            in_reach = {d for d, p in reach.entries[i] if p > 0} if i is not None else set()
            if not in_reach & set(have):
                sevs.append(term.severity)
                at_stake += rate * share
        if sevs:
            key = (site.site_id, part.part_id)
            prev = found.get(key)
            if prev is not None:  # the same part listed twice at a site: add the rates
                at_stake += prev.requests_per_year
            found[key] = Uncovered(site.site_id, contract.contract_id, contract.tier,
                                   part.part_id, tuple(sorted(sevs)), at_stake)
    return sorted(found.values(), key=lambda u: (rank[u.tier], -u.requests_per_year, u.site_id,
                                                 u.part_id))


def stocked_locations(part_ids: Sequence[str], location_ids: Sequence[str],
                      levels: np.ndarray) -> dict[str, frozenset[str]]:
    """Part id -> the locations whose level (``levels`` (P, L)) is above 0."""
    S = np.asarray(levels)
    return {str(part_ids[p]): frozenset(str(location_ids[j]) for j in np.nonzero(S[p] > 0)[0])
            for p in range(len(part_ids))}


def plan_exceptions(scenario: Scenario, reach: ReachLike, plan: StockingPlan, *,
                    top: int = DRIVERS_PER_CLASS, tiers: Sequence[str] = COVERED_TIERS
                    ) -> tuple[list[MissDriver], list[Uncovered]]:
    """:func:`miss_drivers` and :func:`no_stock_in_reach` of a plan made by
    :func:`optimizer.stocking.analysis.plan_scenario` on ``scenario`` and ``reach`` (on the same
    problem: superseded and interchangeable parts are planned, and listed, as the part that
    carries them)."""
    pooled = planning_scenario(scenario)[0]
    problem = build_problem(pooled, reach)
    S = levels_in_order(plan, problem.part_ids, problem.location_ids)
    drivers = miss_drivers(problem, evaluate(problem, S).stream_on_time, top=top)
    stocked = stocked_locations(problem.part_ids, problem.location_ids, S)
    return drivers, no_stock_in_reach(pooled, reach, stocked, tiers=tiers)
