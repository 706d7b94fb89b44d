"""Choose the source depot, part and transport mode for one request.

Rule, in order:

1. Candidates are the depots that serve the site (a customer kit only its own customer's) with
   at least ``quantity`` free units of the requested part or of an allowed substitute
   (:meth:`Scenario.substitutes_for`); one depot ships the whole quantity. To keep a decision
   within milliseconds on large networks only the ``max_sources`` nearest such depots (road km
   to the site) are weighed, plus the HQ; the others are listed as too far.
2. Each candidate is tried with every transport mode that carries the part's size class
   (:meth:`TravelNetwork.options`); an option meets the deadline when it arrives by ``due_at``
   (always, for a response milestone that has no part deadline).
3. Among options that meet the deadline the choice is the one that does not take units below the
   depot's critical level for the request's tier, then the lowest cost (transport + value of the
   protected units taken + substitute premium), then the earliest arrival.
4. If none meets the deadline, the earliest arrival is chosen and flagged at risk with the reason.
5. If no depot has free stock, the request is backordered with the expected date of the pipeline
   toward the site's primary depot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from inventory.domain import DepotKind, Scenario, SizeClass
from optimizer.deadlines import Deadline, compute_deadline
from optimizer.dispatch.rationing import CriticalLevels
from optimizer.dispatch.result import (
    DispatchDecision,
    DispatchRequest,
    Option,
    Outcome,
    ReplenishmentOrder,
)
from optimizer.travel import Leg, TravelNetwork

HOUR = timedelta(hours=1)


def tier_of(scenario: Scenario, site_id: str) -> str:
    """Contract tier of a site."""
    return scenario.contract(scenario.site(site_id).contract_id).tier


def request_deadline(scenario: Scenario, request: DispatchRequest) -> Deadline:
    """The contractual deadline of ``request`` (see :func:`optimizer.deadlines.compute_deadline`)."""
    site = scenario.site(request.site_id)
    contract = scenario.contract(site.contract_id)
    return compute_deadline(contract.term(request.severity), site, contract,
                            reported_at=request.reported_at, confirmed_at=request.confirmed_at,
                            approved_at=request.approved_at)


def _options(request: DispatchRequest, scenario: Scenario, network: TravelNetwork,
             free_stock: Mapping[tuple[str, str], int], levels: CriticalLevels, tier: str,
             due: datetime | None, ready_at: datetime,
             max_sources: int) -> tuple[list[Option], list[Option]]:
    """(feasible options, options that cannot ship) over the candidate depots and parts."""
    requested = scenario.part(request.part_id)
    parts = [request.part_id, *scenario.substitutes_for(request.part_id)]
    q = request.quantity
    feasible: list[Option] = []
    blocked: list[Option] = []
    site_j = network.site_index[request.site_id]
    hq = scenario.hq.depot_id
    serving = (network.serving_depots(request.site_id) if network.scenario is scenario
               else [d for d in scenario.depots if d.serves(scenario.site(request.site_id))])
    stocked = [(d, p, int(free_stock.get((d.depot_id, p), 0))) for d in serving for p in parts]
    stocked = [x for x in stocked if x[2] > 0]
    for depot, part_id, free in stocked:
        if free < q:
            blocked.append(Option(depot.depot_id, part_id, None, free,
                                  levels.level(depot.depot_id, part_id, tier), None, None, None,
                                  False, 0, 0.0, 0.0, 0.0,
                                  lost_because=f"only {free} free unit(s), {q} needed"))
    enough = sorted((x for x in stocked if x[2] >= q),
                    key=lambda x: network.road_km[network.depot_index[x[0].depot_id], site_j])
    near_depots = list(dict.fromkeys(d.depot_id for d, _, _ in enough))[:max_sources]
    legs_by_depot: dict[tuple[str, SizeClass], list[Leg]] = {}
    for depot, part_id, free in enough:
        crit = levels.level(depot.depot_id, part_id, tier)
        if depot.depot_id not in near_depots and depot.depot_id != hq:
            blocked.append(Option(depot.depot_id, part_id, None, free, crit, None, None, None,
                                  False, 0, 0.0, 0.0, 0.0,
                                  lost_because=f"farther than the {max_sources} nearest depots "
                                               "with stock"))
            continue
        part = scenario.part(part_id)
        taken_protected = max(0, q - max(0, free - crit))
        sub_cost = max(0.0, part.unit_cost - requested.unit_cost) * q
        # the legs depend on the part only through its size class: substitutes of one family
        # usually share it, so each depot's legs are computed once per decision
        leg_key = (depot.depot_id, part.size_class)
        legs = legs_by_depot.get(leg_key)
        if legs is None:
            legs = legs_by_depot[leg_key] = network.options(depot.depot_id, request.site_id, part,
                                                            ready_at)
        if not legs:
            blocked.append(Option(depot.depot_id, part_id, None, free, crit, None, None, None,
                                  False, taken_protected, 0.0, 0.0, sub_cost,
                                  lost_because="no transport mode can carry the part there"))
        for leg in legs:
            margin = None if due is None else (due - leg.arrives_at) / HOUR
            feasible.append(Option(
                depot.depot_id, part_id, leg.mode_id, free, crit, leg.departs_at,
                leg.arrives_at, margin, due is None or leg.arrives_at <= due, taken_protected,
                round(leg.cost, 2), round(taken_protected * part.unit_cost, 2),
                round(sub_cost, 2), leg=leg))
    return feasible, blocked


def _why_lost(o: Option, chosen: Option, due: datetime | None, tier: str) -> str:
    if chosen.meets_deadline and not o.meets_deadline:
        late = (o.arrives_at - due) / HOUR  # type: ignore[operator]
        return f"arrives {late:.2f} h after the deadline"
    if not chosen.meets_deadline:
        later = (o.arrives_at - chosen.arrives_at) / HOUR  # type: ignore[operator]
        return f"arrives {later:.2f} h later than the earliest option"
    if o.takes_protected and not chosen.takes_protected:
        return (f"would take {o.takes_protected} unit(s) below the critical level "
                f"{o.critical_level} kept for tiers above {tier}, while another source meets the "
                "deadline without")
    if o.cost > chosen.cost + 1e-9:
        return f"costs {o.cost - chosen.cost:.2f} more ({o.cost:.2f} vs {chosen.cost:.2f})"
    return "same cost, later or equal arrival"


def replenishment_for(scenario: Scenario, depot_id: str, part_id: str, quantity: int,
                      at: datetime) -> ReplenishmentOrder:
    """Order refilling ``depot_id``: a transfer from its parent, or a buy at the HQ."""
    depot = scenario.depot(depot_id)
    if depot.kind is DepotKind.HQ or depot.parent_id is None:
        lead = scenario.part(part_id).procurement_lead_time_days
        return ReplenishmentOrder("buy", depot_id, part_id, quantity, "supplier",
                                  at + timedelta(days=lead), lead)
    lead = depot.replenishment_lead_time_days
    return ReplenishmentOrder("transfer", depot_id, part_id, quantity, depot.parent_id,
                              at + timedelta(days=lead), lead)


def pipeline_days(scenario: Scenario, depot_id: str, part_id: str) -> float:
    """Days for a part bought at the HQ to reach ``depot_id`` down the parent chain."""
    days = scenario.part(part_id).procurement_lead_time_days
    depot = scenario.depot(depot_id)
    while depot.parent_id is not None:
        days += depot.replenishment_lead_time_days
        depot = scenario.depot(depot.parent_id)
    return days


def decide(request: DispatchRequest, *, scenario: Scenario, network: TravelNetwork,
           free_stock: Mapping[tuple[str, str], int], levels: CriticalLevels | None = None,
           deadline: Deadline | None = None, ready_at: datetime | None = None,
           inbound: Mapping[tuple[str, str], datetime] | None = None,
           max_sources: int = 10) -> DispatchDecision:
    """Decide one dispatch.

    Parameters
    ----------
    request
        The ticket's request.
    scenario, network
        The network and its ETA rules.
    free_stock
        ``{(depot_id, part_id): units}`` free to reserve (on hand minus reserved).
    levels
        Critical levels for rationing; None protects nothing.
    deadline
        The request's deadline if already computed; else computed from the site's contract.
    ready_at
        When the order reaches the depot (default: ``request.reported_at``).
    inbound
        ``{(depot_id, part_id): expected arrival}`` of open replenishment orders, for the date of
        a backorder.
    max_sources
        How many of the nearest depots with enough stock are weighed (the HQ always is).

    Returns
    -------
    DispatchDecision
        The choice, every alternative with why it lost, and the replenishment order.
    """
    _check_known(scenario, request)
    deadline = deadline or request_deadline(scenario, request)
    return _decide(request, scenario, network, free_stock, levels, deadline, deadline.due_at,
                   ready_at or request.reported_at, inbound, max_sources)


def redecide(request: DispatchRequest, *, due_at: datetime | None, ready_at: datetime,
             scenario: Scenario, network: TravelNetwork,
             free_stock: Mapping[tuple[str, str], int], levels: CriticalLevels | None = None,
             max_sources: int = 10) -> DispatchDecision:
    """Decide a waiting request (a backorder) again on the free stock now: the part deadline
    ``due_at`` of its first decision stands (None: no part deadline), only the source and the
    transport are chosen anew, shipping from ``ready_at``. The decision's ``deadline`` is None
    (the first decision carries it)."""
    _check_known(scenario, request)
    return _decide(request, scenario, network, free_stock, levels, None, due_at, ready_at, None,
                   max_sources)


def _check_known(scenario: Scenario, request: DispatchRequest) -> None:
    for name, key in (("site_id", request.site_id), ("part_id", request.part_id)):
        known = scenario._index["sites" if name == "site_id" else "parts"]
        if key not in known:
            raise KeyError(f"{name}: unknown {name[:-3]} {key!r}")


def _decide(request: DispatchRequest, scenario: Scenario, network: TravelNetwork,
            free_stock: Mapping[tuple[str, str], int], levels: CriticalLevels | None,
            deadline: Deadline | None, due: datetime | None, ready: datetime,
            inbound: Mapping[tuple[str, str], datetime] | None,
            max_sources: int) -> DispatchDecision:
    levels = levels or CriticalLevels()
    tier = tier_of(scenario, request.site_id)
    feasible, blocked = _options(request, scenario, network, free_stock, levels, tier, due, ready,
                                 max_sources)

    if not feasible:
        return _backorder(request, scenario, deadline, tier, blocked, ready, inbound or {})

    meeting = [o for o in feasible if o.meets_deadline]
    if meeting:
        chosen = min(meeting, key=lambda o: (o.takes_protected > 0, o.cost, o.arrives_at, o.depot_id))
        outcome = Outcome.ON_TIME
        if due is None:
            reason = ("No part deadline (response milestone): cheapest source that keeps protected "
                      "stock.")
        else:
            reason = (f"Cheapest of {len(meeting)} option(s) meeting the deadline; margin "
                      f"{chosen.margin_hours:.2f} h.")
        if chosen.takes_protected:
            reason += (f" It takes {chosen.takes_protected} protected unit(s) because no other "
                       "source meets the deadline.")
    else:
        chosen = min(feasible, key=lambda o: (o.arrives_at, o.takes_protected > 0, o.cost, o.depot_id))
        outcome = Outcome.AT_RISK
        reason = (f"No option meets the deadline: the earliest arrival is "
                  f"{-chosen.margin_hours:.2f} h late (on_time false).")
    alternatives = tuple(
        _replace_reason(o, _why_lost(o, chosen, due, tier)) for o in feasible if o is not chosen
    ) + tuple(blocked)
    alternatives = tuple(sorted(alternatives, key=lambda o: (o.arrives_at is None,
                                                             o.arrives_at or ready, o.cost)))
    return DispatchDecision(request, tier, deadline, outcome, chosen, alternatives, reason,
                            replenishment_for(scenario, chosen.depot_id, chosen.part_id,
                                              request.quantity, ready),
                            expected_at=chosen.arrives_at)


def _replace_reason(o: Option, why: str) -> Option:
    """``o`` with ``lost_because=why`` (a direct constructor call: ``dataclasses.replace`` costs
    several times more, and a decision renames dozens of options)."""
    return Option(o.depot_id, o.part_id, o.mode_id, o.free_units, o.critical_level, o.departs_at,
                  o.arrives_at, o.margin_hours, o.meets_deadline, o.takes_protected,
                  o.transport_cost, o.protection_cost, o.substitute_cost, o.leg, why)


def _backorder(request: DispatchRequest, scenario: Scenario, deadline: Deadline | None, tier: str,
               blocked: list[Option], ready: datetime,
               inbound: Mapping[tuple[str, str], datetime]) -> DispatchDecision:
    """No depot can ship the whole quantity: expected date from open orders or the pipeline."""
    primary = scenario.site(request.site_id).primary_depot_id
    days = pipeline_days(scenario, primary, request.part_id)
    expected = ready + timedelta(days=days)
    source = f"the pipeline to {primary} ({days:g} days: procurement plus transfers)"
    parts = [request.part_id, *scenario.substitutes_for(request.part_id)]
    open_orders = [(at, d, p) for (d, p), at in inbound.items() if p in parts]
    if open_orders:
        at, d, p = min(open_orders)
        if at < expected:
            expected, source = at, f"an open order of {p} arriving at {d}"
    # only the HQ buys from suppliers (regional and partner depots are refilled by transfers):
    # the order is the HQ's buy; ``expected_at`` of the decision adds the transfers to the primary
    lead = scenario.part(request.part_id).procurement_lead_time_days
    order = ReplenishmentOrder("buy", scenario.hq.depot_id, request.part_id, request.quantity,
                               "supplier", ready + timedelta(days=lead), lead)
    reason = (f"No depot has {request.quantity} free unit(s) of {request.part_id} or a substitute; "
              f"backordered, expected {expected:%Y-%m-%d} from {source}.")
    return DispatchDecision(request, tier, deadline, Outcome.BACKORDERED, None, tuple(blocked),
                            reason, order, expected_at=expected,
                            notes=(f"{math.ceil(days)} days of pipeline to {primary}",))
