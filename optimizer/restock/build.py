"""Restock inputs from a scenario: positions, lead times, transfer lanes and local demand.

Proxies (documented here because the scenario has no lane table):

* transfer lead time between depots: the child's ``replenishment_lead_time_days`` on a
  parent-child lane, otherwise ``1 + road_km / TRUCK_KM_PER_DAY`` days (a day of handling plus a
  consolidated truck line), road km = great-circle km x ``settings.circuity_factor``;
* transfer cost per unit: the cheapest transport mode accepting the part's size class,
  ``fixed_cost + cost_per_km x road_km`` (one unit per trip, an upper bound for consolidated moves);
* buy lead time to a depot: the part's procurement lead time plus the replenishment lead times
  down the tree from the HQ;
* repair cost: ``repair_cost_fraction`` x unit cost;
* forecast demand at a depot: the part's forecast split by the installed base of the sites the
  depot serves as primary depot; the HQ carries the whole part's demand (it resupplies everyone).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from inventory.domain import Lifecycle, Scenario, SizeClass, great_circle_km
from optimizer.restock.inputs import RestockInputs
from optimizer.restock.positions import PositionRow, Positions
from optimizer.travel import leg_cost

TRUCK_KM_PER_DAY = 600.0
SIZE_ORDER = (SizeClass.SMALL, SizeClass.MEDIUM, SizeClass.LARGE)


class BalanceLike(Protocol):
    """What :func:`ledger_positions` reads from a ledger balance."""

    depot_id: str
    part_id: str
    on_hand: int
    reserved: int
    in_transit: int
    defective: int
    in_repair: int


def location_ids(scenario: Scenario) -> tuple[str, ...]:
    """HQ first, then the other depots in scenario order (the stocking model's order)."""
    hq = scenario.hq.depot_id
    return (hq, *(d.depot_id for d in scenario.depots if d.depot_id != hq))


def scenario_positions(scenario: Scenario, part_ids: Sequence[str], locs: Sequence[str]
                       ) -> Positions:
    """Positions from the scenario's opening stock (on hand and defective; nothing in flight)."""
    rows = [PositionRow(s.depot_id, s.part_id, on_hand=s.on_hand, defective=s.defective)
            for s in scenario.stock]
    return Positions.from_rows(part_ids, locs, rows)


def ledger_positions(scenario: Scenario, balances: Iterable[BalanceLike], part_ids: Sequence[str],
                     locs: Sequence[str], horizon_days: float) -> Positions:
    """Positions from ledger balances; units in repair count when the part's repair turnaround
    fits in ``horizon_days`` (the ledger does not date them). The ledger keeps no backorders."""
    rows = []
    for b in balances:
        due = b.in_repair if scenario.part(b.part_id).repair_turnaround_days <= horizon_days else 0
        rows.append(PositionRow(b.depot_id, b.part_id, on_hand=b.on_hand, in_transit=b.in_transit,
                                repair_due=due, defective=b.defective, reserved=b.reserved))
    return Positions.from_rows(part_ids, locs, rows)


def road_km_matrix(scenario: Scenario, locs: Sequence[str]) -> np.ndarray:
    """(L, L) road km between locations: great-circle x circuity factor."""
    ds = [scenario.depot(d) for d in locs]
    km = np.array([[great_circle_km(a.lat, a.lon, b.lat, b.lon) for b in ds] for a in ds])
    return km * scenario.settings.circuity_factor


def transfer_lanes(scenario: Scenario, locs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """((L, L) transfer days, (Z, L, L) unit transfer cost by size class in :data:`SIZE_ORDER`)."""
    km = road_km_matrix(scenario, locs)
    days = 1.0 + km / TRUCK_KM_PER_DAY
    ix = {d: j for j, d in enumerate(locs)}
    for j, d in enumerate(locs):
        parent = scenario.depot(d).parent_id
        if parent is not None:
            lt = scenario.depot(d).replenishment_lead_time_days
            days[ix[parent], j] = lt
            days[j, ix[parent]] = lt
    np.fill_diagonal(days, 0.0)
    cost = np.full((len(SIZE_ORDER), len(locs), len(locs)), np.inf)
    for z, size in enumerate(SIZE_ORDER):
        for m in scenario.transport_modes:
            if size in m.size_classes:
                cost[z] = np.minimum(cost[z], leg_cost(m, km))
    return days, cost


def inbound_days(scenario: Scenario, part_ids: Sequence[str], locs: Sequence[str]) -> np.ndarray:
    """(P, L) buy lead time: procurement lead time + transit from the HQ down the tree."""
    down = np.zeros(len(locs))
    for j, d in enumerate(locs):
        dep, total = scenario.depot(d), 0.0
        while dep.parent_id is not None:
            total += dep.replenishment_lead_time_days
            dep = scenario.depot(dep.parent_id)
        down[j] = total
    proc = np.array([scenario.part(p).procurement_lead_time_days for p in part_ids])
    return proc[:, None] + down[None, :]


def local_demand_shares(scenario: Scenario, part_ids: Sequence[str], locs: Sequence[str]
                        ) -> np.ndarray:
    """(P, L) share of each part's installed base served by each depot; HQ column = 1."""
    pix = {p: i for i, p in enumerate(part_ids)}
    lix = {d: j for j, d in enumerate(locs)}
    units = np.zeros((len(part_ids), len(locs)))
    for ib in scenario.installed_base:
        units[pix[ib.part_id], lix[scenario.site(ib.site_id).primary_depot_id]] += ib.quantity
    tot = units.sum(axis=1, keepdims=True)
    share = np.divide(units, tot, out=np.zeros_like(units), where=tot > 0)
    share[:, 0] = 1.0
    return share


def scenario_inputs(scenario: Scenario, target: np.ndarray, positions: Positions,
                    rate_per_month: np.ndarray, horizon_days: float, *,
                    repair_cost_fraction: float = 0.25, service_weight: np.ndarray | None = None,
                    pipeline_mean: np.ndarray | None = None) -> RestockInputs:
    """:class:`RestockInputs` for ``target`` (P, L) from the scenario and a per-part forecast."""
    part_ids, locs = positions.part_ids, positions.location_ids
    parts = [scenario.part(p) for p in part_ids]
    days, cost = transfer_lanes(scenario, locs)
    quarter_demand = np.asarray(rate_per_month)[:, None] * 3.0 * local_demand_shares(
        scenario, part_ids, locs)
    unit_cost = np.array([p.unit_cost for p in parts])
    return RestockInputs(
        part_ids=part_ids, location_ids=locs, target=np.asarray(target, dtype=np.int64),
        positions=positions, unit_cost=unit_cost,
        repairable=np.array([p.repairable for p in parts], dtype=bool),
        end_of_life=np.array([p.lifecycle is Lifecycle.END_OF_LIFE for p in parts], dtype=bool),
        repair_yield=np.array([p.repair_yield for p in parts]),
        repair_turnaround_days=np.array([p.repair_turnaround_days for p in parts]),
        repair_cost=repair_cost_fraction * unit_cost,
        inbound_days=inbound_days(scenario, part_ids, locs), transfer_days=days,
        transfer_cost=cost, part_size=np.array([SIZE_ORDER.index(SizeClass(p.size_class))
                                                for p in parts], dtype=np.int64),
        demand_per_quarter=quarter_demand, horizon_days=float(horizon_days),
        service_weight=service_weight, pipeline_mean=pipeline_mean)
