"""The stocking problem as plain numpy arrays, built from a scenario and its reach.

:class:`StockingProblem` is what the evaluation model, the solvers and the simulation read: no
domain objects, only ids and arrays. Locations are the HQ (index 0) and every other depot in
scenario order; ``parent`` gives the tree (-1 for the HQ). Demand is aggregated into **streams**:
all failures of one part in one service class whose sites share the same primary depot and the
same preference list (depot, p_on_time) form one Poisson stream (superposition of Poisson
processes), so the models work on thousands of streams instead of every site. Preference lists
come from the reach's patterns (:func:`pattern_lists`): at a request's moment the depots on time
then come first with ``p_on_time`` 1, the others follow with 0, and each pattern is a stream
carrying its share of the request instants (thinning a Poisson process by an independent mark).

Semantics (see ``docs/stocking-model.md``):

* a failure of stream ``n`` is filled by the first location in ``stream_pref[n]`` holding stock and
  is then on time with probability ``stream_p_on_time[n, k]``; if none holds stock it is
  backordered at ``stream_primary[n]`` and is late;
* streams of terms measured at a ``response`` milestone (no part deadline) have
  ``stream_in_service`` False: they consume stock (filled from the primary depot only) but do not
  count in any class's on-time share;
* a site whose key is missing from the reach (nothing reaches it in time) gives a stream with an
  empty preference list: always backordered at its primary depot, always late.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from inventory.domain import Contract, DepotKind, Milestone, Scenario, SeverityTerm, SizeClass

DAYS_PER_YEAR = 365.0


class ReachLike(Protocol):
    """What :func:`build_problem` needs from :class:`optimizer.reach.Reach`."""

    keys: Sequence[tuple[str, int, str]]
    entries: Sequence[tuple[tuple[str, float], ...]]
    patterns: Sequence[tuple[tuple[float, int], ...]]
    no_part_deadline: Sequence[tuple[str, int]]


MAX_LATE = 2
"""Late fall-back depots kept per pattern (they only decide which location ships a late part)."""


def pattern_lists(entries: tuple[tuple[str, float], ...], patterns: tuple[tuple[float, int], ...]
                  ) -> list[tuple[float, tuple[tuple[str, float], ...]]]:
    """``(weight, ((depot_id, p), ...))`` per pattern: the depots on time at such instants first
    (p = 1, in preference order), then at most :data:`MAX_LATE` other depots of the entries
    (p = 0: they ship late); equal lists merged. Every on-time depot is kept: a part may be
    stocked at none of the first few.

    Under the "first location with stock fills" semantics this is the dispatch rule: a request is
    on time when a depot on time at its moment has stock; otherwise it ships late from the next.
    """
    out: dict[tuple[tuple[str, float], ...], float] = {}
    for w, mask in patterns:
        on = [(d, 1.0) for k, (d, _) in enumerate(entries) if mask >> k & 1]
        late = [(d, 0.0) for k, (d, _) in enumerate(entries) if not mask >> k & 1]
        pref = tuple(on + late[:MAX_LATE])
        out[pref] = out.get(pref, 0.0) + w
    return [(w, pref) for pref, w in out.items()]


@dataclass(frozen=True, eq=False)
class StockingProblem:
    """Plain-array form of a two-echelon (any depth of tree) base-stock problem.

    Shapes: P parts, L locations, C classes, N streams, K longest preference list.

    Attributes
    ----------
    part_ids : (P,) str
    location_ids : (L,) str, index 0 is the HQ.
    parent : (L,) int, parent location index, -1 for the HQ.
    transit_days : (L,) float, replenishment lead time from the parent in days (0 for the HQ).
    unit_cost : (P,) float, currency per unit.
    repairable : (P,) bool
    repair_turnaround_days, repair_yield, procurement_lead_time_days : (P,) float
    class_tier : (C,) str; class_severity : (C,) int
    class_target : (C,) float, on-time target in (0, 1]; NaN where the class has no part deadline.
    stream_part, stream_class, stream_primary : (N,) int
    stream_rate_per_year : (N,) float, Poisson failure rate (units per year).
    stream_pref : (N, K) int, location indices in preference order, -1 padding.
    stream_p_on_time : (N, K) float, on-time probability when filled from that location, 0 padding.
    stream_in_service : (N,) bool, False for demand without a part deadline.
    currency : str; name : str (scenario name).
    cap_units, cap_value : (L,) float, the most stock a location may hold over all parts (units;
        currency at unit cost); ``inf`` = no cap (the default when not given).
    """

    name: str
    currency: str
    part_ids: np.ndarray
    location_ids: np.ndarray
    parent: np.ndarray
    transit_days: np.ndarray
    unit_cost: np.ndarray
    repairable: np.ndarray
    repair_turnaround_days: np.ndarray
    repair_yield: np.ndarray
    procurement_lead_time_days: np.ndarray
    class_tier: np.ndarray
    class_severity: np.ndarray
    class_target: np.ndarray
    stream_part: np.ndarray
    stream_class: np.ndarray
    stream_rate_per_year: np.ndarray
    stream_primary: np.ndarray
    stream_pref: np.ndarray
    stream_p_on_time: np.ndarray
    stream_in_service: np.ndarray
    cap_units: np.ndarray | None = None
    cap_value: np.ndarray | None = None

    def __post_init__(self) -> None:
        P, L, C = len(self.part_ids), len(self.location_ids), len(self.class_tier)
        N = len(self.stream_part)
        for name in ("cap_units", "cap_value"):
            cap = getattr(self, name)
            cap = np.full(L, np.inf) if cap is None else np.asarray(cap, dtype=float)
            if cap.shape != (L,) or np.any(np.isnan(cap)) or np.any(cap < 0):
                raise ValueError(f"{name} must hold one number >= 0 (or inf) per location")
            object.__setattr__(self, name, cap)
        if L == 0 or self.parent[0] != -1 or np.any(self.parent[1:] < 0):
            raise ValueError("location 0 must be the HQ (parent -1) and every other location needs a parent")
        for name, n in (("unit_cost", P), ("repairable", P), ("repair_turnaround_days", P),
                        ("repair_yield", P), ("procurement_lead_time_days", P), ("parent", L),
                        ("transit_days", L), ("class_severity", C), ("class_target", C),
                        ("stream_class", N), ("stream_rate_per_year", N), ("stream_primary", N),
                        ("stream_in_service", N)):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has length {len(getattr(self, name))}, expected {n}")
        if self.stream_pref.shape != self.stream_p_on_time.shape or self.stream_pref.shape[0] != N:
            raise ValueError("stream_pref and stream_p_on_time must both be (N, K)")
        if np.any(self.unit_cost <= 0):
            raise ValueError("unit_cost must be > 0")
        if np.any(self.stream_rate_per_year < 0):
            raise ValueError("stream rates must be >= 0")
        if N and (self.stream_part.max() >= P or self.stream_class.max() >= C
                  or self.stream_pref.max() >= L or self.stream_primary.max() >= L):
            raise ValueError("stream index out of range")

    # --- sizes and derived figures ---------------------------------------------------------
    @property
    def n_parts(self) -> int:
        return len(self.part_ids)

    @property
    def n_locations(self) -> int:
        return len(self.location_ids)

    @property
    def n_classes(self) -> int:
        return len(self.class_tier)

    @property
    def hq_resupply_days(self) -> np.ndarray:
        """(P,) mean HQ resupply time in days: y*T_rep + (1-y)*T_proc, or T_proc if consumable."""
        rep = self.repair_yield * self.repair_turnaround_days + (
            1 - self.repair_yield) * self.procurement_lead_time_days
        return np.where(self.repairable, rep, self.procurement_lead_time_days)

    @property
    def class_constrained(self) -> np.ndarray:
        """(C,) bool: the class has a part deadline and therefore a target to meet."""
        return ~np.isnan(self.class_target)

    @property
    def class_demand_per_year(self) -> np.ndarray:
        """(C,) in-service demand rate per class (units per year)."""
        w = np.where(self.stream_in_service, self.stream_rate_per_year, 0.0)
        return np.bincount(self.stream_class, weights=w, minlength=self.n_classes)

    @property
    def depth_order(self) -> np.ndarray:
        """Location indices sorted so that every parent comes before its children."""
        depth = np.zeros(self.n_locations, dtype=np.int64)
        for j in range(1, self.n_locations):
            d, k = 0, j
            while self.parent[k] >= 0:
                k, d = self.parent[k], d + 1
            depth[j] = d
        return np.argsort(depth, kind="stable")

    @property
    def capped(self) -> np.ndarray:
        """(L,) bool: the location has a unit or value cap."""
        return np.isfinite(self.cap_units) | np.isfinite(self.cap_value)

    def capacity_use(self, part: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(units, value)`` (M, L) that the stock vectors ``levels`` (M, L) of parts ``part``
        (M,) take of each location's unit and value caps."""
        units = np.asarray(levels, dtype=float)
        return units, units * self.unit_cost[np.asarray(part, dtype=np.int64)][:, None]

    def class_label(self, c: int) -> str:
        return f"{self.class_tier[c]}/sev{int(self.class_severity[c])}"


def term_shares(contract: Contract, mix: Sequence[float]) -> list[tuple[SeverityTerm, float]]:
    """The contract's terms with the share of a site's failures raised at each severity: the
    scenario's ``severity_mix`` renormalised over the severities the contract has terms for
    (terms with no share left out; empty when none has a share)."""
    shares = np.array([mix[t.severity - 1] for t in contract.terms], dtype=float)
    if shares.sum() <= 0:
        return []
    shares = shares / shares.sum()
    return [(t, float(x)) for t, x in zip(contract.terms, shares, strict=True) if x > 0]


def service_classes(scenario: Scenario) -> tuple[dict[tuple[str, int], int], list[float]]:
    """Class index per (tier, severity), contracts in file order and their terms by severity, and
    each class's target: the strictest of its part-deadline terms (NaN: response milestone only)."""
    classes: dict[tuple[str, int], int] = {}
    targets: list[float] = []
    for contract in scenario.contracts:
        for term in sorted(contract.terms, key=lambda t: t.severity):
            key = (contract.tier, term.severity)
            if key not in classes:
                classes[key] = len(classes)
                targets.append(float("nan"))
            if term.milestone is not Milestone.RESPONSE:
                c = classes[key]
                targets[c] = term.target if np.isnan(targets[c]) else max(targets[c], term.target)
    return classes, targets


def build_problem(scenario: Scenario, reach: ReachLike) -> StockingProblem:
    """Aggregate the scenario's installed base into demand streams over the reach patterns.

    Each (site, part, severity) splits over the reach's patterns of that key (which depots are on
    time together at a request's moment, :func:`pattern_lists`): one stream per pattern with the
    pattern's share of the rate, so the model applies the dispatch engine's rule.

    The demand of a part at a site is ``quantity x annual_failure_rate`` per year, split over
    the contract's severities by ``settings.severity_mix`` (renormalised over the severities
    the contract has terms for). A class is (contract tier, severity); its target is the
    strictest (largest) target of the part-deadline terms of that tier and severity.
    """
    hq = scenario.hq
    locs = [hq.depot_id] + [d.depot_id for d in scenario.depots if d.kind is not DepotKind.HQ]
    loc_ix = {d: i for i, d in enumerate(locs)}
    parent = np.array([-1] + [loc_ix[scenario.depot(d).parent_id] for d in locs[1:]], dtype=np.int64)
    transit = np.array([0.0] + [scenario.depot(d).replenishment_lead_time_days for d in locs[1:]])
    parts = scenario.parts
    part_ix = {p.part_id: i for i, p in enumerate(parts)}

    reach_map: Mapping[tuple[str, int, str], list[tuple[float, tuple[tuple[str, float], ...]]]] = {
        k: pattern_lists(e, pt) for k, e, pt in zip(reach.keys, reach.entries, reach.patterns,
                                                      strict=True)}
    no_deadline = set(reach.no_part_deadline)

    classes, targets = service_classes(scenario)
    mix = scenario.settings.severity_mix
    agg: dict[tuple, float] = {}
    # per reach key and per contract, computed once (a site holds many parts)
    indexed: dict[tuple[str, int, str], list[tuple[float, tuple[tuple[int, float], ...]]]] = {}
    shares_of: dict[str, list[tuple[SeverityTerm, float]]] = {}
    for ib in scenario.installed_base:
        part = scenario.part(ib.part_id)
        base_rate = ib.rate_per_year(part)
        if base_rate <= 0:
            continue
        site = scenario.site(ib.site_id)
        contract = scenario.contract(site.contract_id)
        primary = loc_ix[site.primary_depot_id]
        size = str(SizeClass(part.size_class))
        if contract.contract_id not in shares_of:
            shares_of[contract.contract_id] = term_shares(contract, mix)
        for term, share in shares_of[contract.contract_id]:
            c = classes[(contract.tier, term.severity)]
            in_service = (term.milestone is not Milestone.RESPONSE
                          and (site.site_id, term.severity) not in no_deadline)
            if in_service:
                rk = (site.site_id, term.severity, size)
                lists = indexed.get(rk)
                if lists is None:
                    lists = indexed[rk] = [(w, tuple((loc_ix[d], p) for d, p in pref))
                                           for w, pref in reach_map.get(rk, ())] or [(1.0, ())]
            else:
                lists = [(1.0, ((primary, 1.0),))]
            for w, pref in lists:
                key = (part_ix[part.part_id], c, primary, pref, in_service)
                agg[key] = agg.get(key, 0.0) + base_rate * float(share) * w

    keys = list(agg)
    n = len(keys)
    width = max([1] + [len(k[3]) for k in keys])
    pref_arr = np.full((n, width), -1, dtype=np.int64)
    p_arr = np.zeros((n, width))
    for i, k in enumerate(keys):
        for m, (loc, p) in enumerate(k[3]):
            pref_arr[i, m] = loc
            p_arr[i, m] = p
    tiers = [k[0] for k in classes]
    sevs = [k[1] for k in classes]
    return StockingProblem(
        name=scenario.name,
        currency=scenario.currency,
        part_ids=np.array([p.part_id for p in parts], dtype=object),
        location_ids=np.array(locs, dtype=object),
        parent=parent,
        transit_days=transit,
        unit_cost=np.array([p.unit_cost for p in parts], dtype=float),
        repairable=np.array([p.repairable for p in parts], dtype=bool),
        repair_turnaround_days=np.array([p.repair_turnaround_days for p in parts], dtype=float),
        repair_yield=np.array([p.repair_yield for p in parts], dtype=float),
        procurement_lead_time_days=np.array([p.procurement_lead_time_days for p in parts], dtype=float),
        class_tier=np.array(tiers, dtype=object),
        class_severity=np.array(sevs, dtype=np.int64),
        class_target=np.array(targets, dtype=float),
        stream_part=np.array([k[0] for k in keys], dtype=np.int64),
        stream_class=np.array([k[1] for k in keys], dtype=np.int64),
        stream_rate_per_year=np.array([agg[k] for k in keys], dtype=float),
        stream_primary=np.array([k[2] for k in keys], dtype=np.int64),
        stream_pref=pref_arr,
        stream_p_on_time=p_arr,
        stream_in_service=np.array([k[4] for k in keys], dtype=bool),
        cap_units=np.array([_cap(scenario.depot(d).capacity_units) for d in locs]),
        cap_value=np.array([_cap(scenario.depot(d).capacity_value) for d in locs]),
    )


def _cap(value: float | None) -> float:
    return float("inf") if value is None else float(value)
