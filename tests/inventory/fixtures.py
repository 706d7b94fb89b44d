"""A small scenario built in code that exercises every stored field (independent of scenarios/)."""

from __future__ import annotations

from datetime import time

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
    WeeklyHours,
    WindowKind,
)

ALWAYS = WeeklyHours()
OFFICE = WeeklyHours.parse("mon-fri 08:30-17:45")
SCATTERED = WeeklyHours(always=False, days=frozenset({0, 2, 4}), start_minute=7, end_minute=1440)


def small_scenario(name: str = "unit") -> Scenario:
    """Two regional depots (one listed before its parent), awkward floats, every dialect field."""
    parts = (
        Part("P-1", "PSU 1200 W", 0.1 + 0.2, True, 12.5, 0.85, 30.0, SizeClass.SMALL, 1 / 3),
        Part("P-2", "Line card", 12345.678901, True, 20.0, 0.9, 45.0, SizeClass.MEDIUM, 0.0123456789,
             Lifecycle.PHASE_OUT),
        Part("P-3", "Chassis", 99999.5, False, 0.0, 0.0, 90.0, SizeClass.LARGE, 1e-7,
             Lifecycle.END_OF_LIFE),
    )
    depots = (
        Depot("R-N", "North", DepotKind.REGIONAL, 39.9042, 116.4074, "Asia/Shanghai", "CN", OFFICE,
              "HQ", 2.25, 0.75),
        Depot("HQ", "Central", DepotKind.HQ, 31.2304, 121.4737, "Asia/Shanghai", "CN", ALWAYS, None,
              0.0),
        Depot("P-X", "Partner", DepotKind.PARTNER, 39.0, 117.2, "Asia/Shanghai", "CN", SCATTERED,
              "R-N", 1.0 / 7),
    )
    terms = (
        SeverityTerm(1, WindowKind.HOURS, 4.0, 0.95, Milestone.PART_ON_SITE,
                     ClockStart.TICKET_OPENED, ALWAYS),
        SeverityTerm(3, WindowKind.BUSINESS_DAYS, 1, 0.9, Milestone.ENGINEER_ON_SITE,
                     ClockStart.FAULT_CONFIRMED, OFFICE, time(16, 0)),
        SeverityTerm(2, WindowKind.HOURS, 9.5, 0.925, Milestone.RESPONSE,
                     ClockStart.DISPATCH_APPROVED, SCATTERED),
    )
    contracts = (Contract("GOLD", "Gold", "gold", terms),
                 Contract("BASIC", "Basic", "basic", (terms[1],)))
    sites = (
        Site("S-1", "Beijing POP", "CarrierA", 39.95, 116.3, "Asia/Shanghai", "CN", "GOLD", "R-N"),
        Site("S-2", "Tianjin POP", "CarrierB", 39.1, 117.1, "Asia/Shanghai", "CN", "BASIC", "P-X"),
    )
    modes = (
        TransportMode("COURIER", "Courier", TransportKind.COURIER, 55.5, 80.0, 2.35, ALWAYS,
                      frozenset(SizeClass)),
        TransportMode("PARCEL", "Parcel", TransportKind.PARCEL, 40.0, 15.125, 0.0, OFFICE,
                      frozenset({SizeClass.SMALL, SizeClass.MEDIUM}), time(17, 30), time(10, 0)),
        TransportMode("AIR", "Air", TransportKind.AIR, 650.0, 300.0, 0.5, ALWAYS,
                      frozenset({SizeClass.SMALL}), min_distance_km=600.0, handling_hours=1.5,
                      road_speed_kmh=45.0),
    )
    return Scenario(
        name=name, currency="CNY", horizon_days=365,
        settings=Settings(circuity_factor=1.27, holding_rate_per_year=0.18,
                          severity_mix=(0.1, 0.2, 0.3, 0.4)),
        parts=parts, depots=depots, sites=sites, contracts=contracts,
        installed_base=(InstalledBase("S-1", "P-1", 4), InstalledBase("S-2", "P-2", 2),
                        InstalledBase("S-1", "P-3", 1)),
        transport_modes=modes,
        substitutions=(Substitution("P-1", "P-2"), Substitution("P-2", "P-3", SubstitutionKind.TWO_WAY)),
        hubs=(Hub("PEK", "Beijing Capital", 40.08, 116.58, "Asia/Shanghai"),
              Hub("SHA", "Hongqiao", 31.2, 121.34, "Asia/Shanghai", time(6, 30), time(22, 15))),
        stock=(StockRecord("HQ", "P-1", 10, 2), StockRecord("R-N", "P-1", 3),
               StockRecord("P-X", "P-2", 0, 1), StockRecord("HQ", "P-3", 0)),
        demand_history=(DemandRecord("2025-01", "S-1", "P-1", 2),
                        DemandRecord("2025-02", "S-2", "P-2", 0)),
    )
