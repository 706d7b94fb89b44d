"""Write a whole :class:`~inventory.domain.Scenario` to the database and read it back.

:func:`load_scenario` inserts catalog, network, contracts, sites, installed base and history, and
books the opening stock as ledger movements (``receipt`` for serviceable, ``defective_in`` for
defective units), all inside the caller's transaction; a failure rolls back a savepoint so nothing
is half-written. :func:`read_scenario_from_db` rebuilds the equal Scenario (stock = the current
balances, which right after a load are the opening stock), except for the candidate locations of
the network design, which are not stored: open them (``Scenario.with_design``) before loading to
keep them, as depots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from inventory.db.codec import hours_from_text, hours_to_text, sizes_from_text, sizes_to_text
from inventory.db.models import (
    BUCKETS,
    ContractRow,
    ContractTermRow,
    DemandHistoryRow,
    DepotRow,
    HubRow,
    InstalledBaseRow,
    PartRow,
    ScenarioMeta,
    SiteRow,
    StockBalance,
    StockMovement,
    SubstitutionRow,
    TransportModeRow,
)
from inventory.domain import (
    ClockStart,
    Contract,
    DemandRecord,
    Depot,
    DepotKind,
    Hub,
    InstalledBase,
    Lifecycle,
    Milestone,
    Part,
    Scenario,
    Settings,
    SeverityTerm,
    Site,
    SizeClass,
    StockRecord,
    Substitution,
    SubstitutionKind,
    TransportKind,
    TransportMode,
    WindowKind,
)

LOADER_ACTOR = "scenario-load"


class LoadError(RuntimeError):
    """The scenario cannot be loaded as asked (e.g. the database already holds one)."""


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_scenario` wrote: the scenario name and the row count per table."""

    scenario: str
    counts: dict[str, int] = field(default_factory=dict)
    replaced: str | None = None
    """Name of the scenario that was deleted first (``replace=True``), if any."""


def _t(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


# children before parents: the order in which a replace deletes
_DELETE_ORDER = (StockMovement, StockBalance, DemandHistoryRow, InstalledBaseRow, SiteRow,
                 ContractTermRow, ContractRow, SubstitutionRow, TransportModeRow, HubRow, DepotRow,
                 PartRow, ScenarioMeta)


def loaded_scenario_name(*, session: Session) -> str | None:
    """Name of the scenario in the database, or None when it holds none."""
    return session.scalar(select(ScenarioMeta.name).limit(1))


def clear_scenario(*, session: Session) -> None:
    """Delete the loaded scenario and its whole ledger (inside the caller's transaction)."""
    session.execute(update(_t(DepotRow)).values(parent_id=None))
    for model in _DELETE_ORDER:
        session.execute(delete(_t(model)))


def load_scenario(scenario: Scenario, *, session: Session, replace: bool = False,
                  at: datetime | None = None) -> LoadReport:
    """Write ``scenario`` and its opening stock in the caller's transaction.

    Parameters
    ----------
    replace : delete an already loaded scenario (ledger included) first; without it a database
        that holds a scenario is refused with :class:`LoadError`.
    at : time stamp of the opening-stock movements (aware; default now).

    Any error rolls back everything this call wrote (a savepoint), then propagates.
    """
    when = (at or datetime.now(UTC)).astimezone(UTC)
    existing = loaded_scenario_name(session=session)
    if existing is not None and not replace:
        raise LoadError(f"the database already holds scenario {existing!r}; "
                        "load with replace=True (CLI: --replace) to overwrite it")
    with session.begin_nested():
        if existing is not None:
            clear_scenario(session=session)
        counts = {name: _insert(session, model, rows)
                  for name, model, rows in _scenario_rows(scenario, when)}
        counts.update(_book_opening_stock(session, scenario.stock, when))
    return LoadReport(scenario.name, counts, replaced=existing)


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> int:
    if rows:
        session.execute(insert(_t(model)), rows)
    return len(rows)


def _depots_parents_first(depots: Sequence[Depot]) -> list[tuple[int, Depot]]:
    """Depots with their scenario position, ordered so each parent precedes its children."""
    by_id = {d.depot_id: d for d in depots}

    def depth(d: Depot) -> int:
        n = 0
        while d.parent_id is not None:
            d, n = by_id[d.parent_id], n + 1
        return n

    return sorted(enumerate(depots), key=lambda p: (depth(p[1]), p[0]))


def _scenario_rows(s: Scenario, when: datetime) -> list[tuple[str, Any, list[dict[str, Any]]]]:
    st = s.settings
    meta = {"id": 1, "name": s.name, "currency": s.currency, "horizon_days": s.horizon_days,
            "circuity_factor": st.circuity_factor,
            "holding_rate_per_year": st.holding_rate_per_year, "design_years": st.design_years,
            "max_service_radius_km": st.max_service_radius_km,
            "urban_radius_km": st.urban_radius_km, "urban_speed_kmh": st.urban_speed_kmh,
            **{f"severity_{i + 1}_share": x for i, x in enumerate(st.severity_mix)},
            "loaded_at": when}
    parts = [{"part_id": p.part_id, "seq": i, "name": p.name, "unit_cost": p.unit_cost,
              "repairable": p.repairable, "repair_turnaround_days": p.repair_turnaround_days,
              "repair_yield": p.repair_yield,
              "procurement_lead_time_days": p.procurement_lead_time_days,
              "size_class": p.size_class.value, "annual_failure_rate": p.annual_failure_rate,
              "lifecycle": p.lifecycle.value} for i, p in enumerate(s.parts)]
    subs = [{"seq": i, "part_id": x.part_id, "substitute_id": x.substitute_id,
             "kind": x.kind.value} for i, x in enumerate(s.substitutions)]
    depots = [{"depot_id": d.depot_id, "seq": i, "name": d.name, "kind": d.kind.value,
               "lat": d.lat, "lon": d.lon, "timezone": d.timezone, "country": d.country,
               "hours": hours_to_text(d.hours), "parent_id": d.parent_id,
               "replenishment_lead_time_days": d.replenishment_lead_time_days,
               "handling_hours": d.handling_hours, "customer": d.customer,
               "closable": d.closable, "annual_fixed_cost": d.annual_fixed_cost,
               "capacity_units": d.capacity_units, "capacity_value": d.capacity_value,
               "site_ids": list(d.site_ids)} for i, d in _depots_parents_first(s.depots)]
    hubs = [{"hub_id": h.hub_id, "seq": i, "name": h.name, "lat": h.lat, "lon": h.lon,
             "timezone": h.timezone, "first_flight": h.first_flight,
             "last_flight": h.last_flight} for i, h in enumerate(s.hubs)]
    modes = [{"mode_id": m.mode_id, "seq": i, "name": m.name, "kind": m.kind.value,
              "speed_kmh": m.speed_kmh, "fixed_cost": m.fixed_cost, "cost_per_km": m.cost_per_km,
              "hours": hours_to_text(m.hours), "size_classes": sizes_to_text(m.size_classes),
              "cutoff": m.cutoff, "delivery_time": m.delivery_time,
              "min_distance_km": m.min_distance_km, "handling_hours": m.handling_hours,
              "road_speed_kmh": m.road_speed_kmh} for i, m in enumerate(s.transport_modes)]
    contracts = [{"contract_id": c.contract_id, "seq": i, "name": c.name, "tier": c.tier}
                 for i, c in enumerate(s.contracts)]
    terms = [{"contract_id": c.contract_id, "severity": t.severity, "seq": j,
              "window_kind": t.window_kind.value, "window_value": t.window_value,
              "target": t.target, "milestone": t.milestone.value,
              "clock_start": t.clock_start.value, "coverage": hours_to_text(t.coverage),
              "cutoff": t.cutoff} for c in s.contracts for j, t in enumerate(c.terms)]
    sites = [{"site_id": x.site_id, "seq": i, "name": x.name, "customer": x.customer,
              "lat": x.lat, "lon": x.lon, "timezone": x.timezone, "country": x.country,
              "contract_id": x.contract_id, "primary_depot_id": x.primary_depot_id}
             for i, x in enumerate(s.sites)]
    base = [{"seq": i, "site_id": b.site_id, "part_id": b.part_id, "quantity": b.quantity}
            for i, b in enumerate(s.installed_base)]
    history = [{"seq": i, "month": h.month, "site_id": h.site_id, "part_id": h.part_id,
                "quantity": h.quantity} for i, h in enumerate(s.demand_history)]
    return [("scenario_meta", ScenarioMeta, [meta]), ("parts", PartRow, parts),
            ("substitutions", SubstitutionRow, subs), ("depots", DepotRow, depots),
            ("hubs", HubRow, hubs), ("transport_modes", TransportModeRow, modes),
            ("contracts", ContractRow, contracts), ("contract_terms", ContractTermRow, terms),
            ("sites", SiteRow, sites), ("installed_base", InstalledBaseRow, base),
            ("demand_history", DemandHistoryRow, history)]


def _book_opening_stock(session: Session, stock: Sequence[StockRecord],
                        when: datetime) -> dict[str, int]:
    """Opening balances plus the movements that explain them (bulk; same deltas as the ledger)."""
    totals: dict[tuple[str, str], list[int]] = {}
    moves: list[dict[str, Any]] = []
    zero = {f"d_{b}": 0 for b in BUCKETS}
    for rec in stock:
        acc = totals.setdefault((rec.depot_id, rec.part_id), [0, 0])
        acc[0] += rec.on_hand
        acc[1] += rec.defective
        common = {"at": when, "recorded_at": when, "depot_id": rec.depot_id,
                  "part_id": rec.part_id, "reference": "opening-stock", "reason": None,
                  "actor": LOADER_ACTOR}
        if rec.on_hand:
            moves.append({**common, **zero, "kind": "receipt", "quantity": rec.on_hand,
                          "d_on_hand": rec.on_hand})
        if rec.defective:
            moves.append({**common, **zero, "kind": "defective_in", "quantity": rec.defective,
                          "d_defective": rec.defective})
    rows = [{"depot_id": d, "part_id": p, "on_hand": oh, "reserved": 0, "in_transit": 0,
             "defective": df, "in_repair": 0, "version": int(oh > 0) + int(df > 0)}
            for (d, p), (oh, df) in totals.items()]
    return {"stock_balances": _insert(session, StockBalance, rows),
            "stock_movements": _insert(session, StockMovement, moves)}


# --- reading back ----------------------------------------------------------------------------

def _rows(session: Session, model: Any, order: Callable[[Table], tuple[Any, ...]] | None = None) -> list[Any]:
    t = _t(model)
    keys = order(t) if order else (t.c.seq,)
    return list(session.execute(select(t).order_by(*keys)))


def read_scenario_from_db(*, session: Session) -> Scenario:
    """The loaded scenario as a domain :class:`Scenario`; its ``stock`` is the current balances
    (on hand and defective, in balance creation order) and it has no ``candidates`` (they are not
    stored). Raises :class:`LoadError` if none."""
    meta = session.execute(select(_t(ScenarioMeta))).first()
    if meta is None:
        raise LoadError("the database holds no scenario; run `spares db load SCENARIO` first")
    settings = Settings(
        circuity_factor=meta.circuity_factor, holding_rate_per_year=meta.holding_rate_per_year,
        design_years=meta.design_years,
        max_service_radius_km=meta.max_service_radius_km, urban_radius_km=meta.urban_radius_km,
        urban_speed_kmh=meta.urban_speed_kmh,
        severity_mix=(meta.severity_1_share, meta.severity_2_share, meta.severity_3_share,
                      meta.severity_4_share))
    parts = tuple(Part(r.part_id, r.name, float(r.unit_cost), bool(r.repairable),
                       r.repair_turnaround_days, r.repair_yield, r.procurement_lead_time_days,
                       SizeClass(r.size_class), r.annual_failure_rate, Lifecycle(r.lifecycle))
                  for r in _rows(session, PartRow))
    subs = tuple(Substitution(r.part_id, r.substitute_id, SubstitutionKind(r.kind))
                 for r in _rows(session, SubstitutionRow))
    depots = tuple(Depot(r.depot_id, r.name, DepotKind(r.kind), r.lat, r.lon, r.timezone,
                         r.country, hours_from_text(r.hours), r.parent_id,
                         r.replenishment_lead_time_days, r.handling_hours, customer=r.customer,
                         closable=bool(r.closable), annual_fixed_cost=float(r.annual_fixed_cost),
                         capacity_units=r.capacity_units,
                         capacity_value=None if r.capacity_value is None else float(r.capacity_value),
                         site_ids=tuple(r.site_ids or ()))
                   for r in _rows(session, DepotRow))
    hubs = tuple(Hub(r.hub_id, r.name, r.lat, r.lon, r.timezone, r.first_flight, r.last_flight)
                 for r in _rows(session, HubRow))
    modes = tuple(TransportMode(r.mode_id, r.name, TransportKind(r.kind), r.speed_kmh,
                                float(r.fixed_cost), float(r.cost_per_km), hours_from_text(r.hours),
                                sizes_from_text(r.size_classes), r.cutoff, r.delivery_time,
                                r.min_distance_km, r.handling_hours, r.road_speed_kmh)
                  for r in _rows(session, TransportModeRow))
    terms: dict[str, list[SeverityTerm]] = {}
    for r in _rows(session, ContractTermRow, lambda t: (t.c.contract_id, t.c.seq)):
        terms.setdefault(r.contract_id, []).append(SeverityTerm(
            r.severity, WindowKind(r.window_kind), r.window_value, r.target,
            Milestone(r.milestone), ClockStart(r.clock_start), hours_from_text(r.coverage),
            r.cutoff))
    contracts = tuple(Contract(r.contract_id, r.name, r.tier, tuple(terms.get(r.contract_id, ())))
                      for r in _rows(session, ContractRow))
    sites = tuple(Site(r.site_id, r.name, r.customer, r.lat, r.lon, r.timezone, r.country,
                       r.contract_id, r.primary_depot_id) for r in _rows(session, SiteRow))
    base = tuple(InstalledBase(r.site_id, r.part_id, r.quantity)
                 for r in _rows(session, InstalledBaseRow))
    history = tuple(DemandRecord(r.month, r.site_id, r.part_id, r.quantity)
                    for r in _rows(session, DemandHistoryRow))
    stock = tuple(StockRecord(r.depot_id, r.part_id, r.on_hand, r.defective)
                  for r in _rows(session, StockBalance, lambda t: (t.c.id,)))
    return Scenario(meta.name, meta.currency, meta.horizon_days, settings, parts, depots, sites,
                    contracts, base, modes, subs, hubs, stock, history)


def table_counts(*, session: Session) -> dict[str, int]:
    """Row count of every scenario and ledger table (for summaries)."""
    return {_t(m).name: session.scalar(select(func.count()).select_from(_t(m))) or 0
            for m in reversed(_DELETE_ORDER)}
