"""Hand-made design scenarios whose optimum is known in closed form."""

from __future__ import annotations

import itertools

import numpy as np

from inventory.domain import (
    Candidate,
    ClockStart,
    Contract,
    Depot,
    DepotKind,
    InstalledBase,
    Milestone,
    Part,
    Scenario,
    Settings,
    SeverityTerm,
    Site,
    SizeClass,
    TransportKind,
    TransportMode,
    WeeklyHours,
    WindowKind,
)
from optimizer.design.problem import DesignProblem
from optimizer.stocking.evaluate import evaluate_parts
from optimizer.stocking.targets import target_plan

ALWAYS = WeeklyHours()
ALL = frozenset(SizeClass)
SEV1_ONLY = Settings(severity_mix=(1.0, 0.0, 0.0, 0.0), holding_rate_per_year=0.2)


def contract(target: float, hours: float = 4.0) -> Contract:
    """Platinum: severity 1 part on site within ``hours`` around the clock, at ``target``."""
    return Contract("PLAT", "Platinum", "platinum", (
        SeverityTerm(1, WindowKind.HOURS, hours, target, Milestone.PART_ON_SITE,
                     ClockStart.TICKET_OPENED, ALWAYS),))


def courier() -> TransportMode:
    return TransportMode("COURIER", "Courier", TransportKind.COURIER, 70, 100, 2.0, ALWAYS, ALL)


def part(pid: str, cost: float, rate: float) -> Part:
    """A consumable bought in 1 day (the HQ's pipeline barely delays its children)."""
    return Part(pid, pid, cost, False, 0.0, 0.0, 1.0, SizeClass.SMALL, rate)


def remote_site(target: float = 0.99, rate: float = 2.0, fixed: float = 50_000.0) -> Scenario:
    """HQ in Beijing, one regional depot in Shanghai; one site in Hefei (~470 km from Shanghai,
    beyond 4 h) that only a 24x7 consignment candidate in Hefei (refilled from the HQ in 2 days)
    reaches in time. One part, ``rate`` failures a year."""
    depots = (Depot("HQ", "Beijing HQ", DepotKind.HQ, 39.90, 116.40, "Asia/Shanghai", "CN", ALWAYS,
                    None, 0.0, 0.5),
              Depot("R-SHA", "Shanghai", DepotKind.REGIONAL, 31.23, 121.47, "Asia/Shanghai", "CN",
                    ALWAYS, "HQ", 2.0, 0.5))
    cand = (Candidate("K-HFE", "Hefei consignment", DepotKind.CONSIGNMENT, 31.82, 117.23,
                      "Asia/Shanghai", "CN", ALWAYS, "HQ", 2.0, 0.5, fixed),)
    site = (Site("S1", "Hefei DC", "Acme", 31.86, 117.28, "Asia/Shanghai", "CN", "PLAT", "R-SHA"),)
    return Scenario("remote", "CNY", 365, SEV1_ONLY, (part("P1", 10_000.0, 1.0),), depots, site,
                    (contract(target),), (InstalledBase("S1", "P1", int(rate)),), (courier(),),
                    candidates=cand)


def stock_saving(fixed: float = 50_000.0, n_parts: int = 5, cost: float = 100_000.0) -> Scenario:
    """Sites in Shanghai reached in time by the regional depot R-SHA (refilled from the HQ in 20
    days) and by a candidate consignment in Shanghai refilled from the HQ in 1 day. R-SHA alone
    covers every site (coverage opens nothing), but at 95 % each part needs 2 units there and
    only 1 at the candidate: opening it saves one unit of every part."""
    depots = (Depot("HQ", "Beijing HQ", DepotKind.HQ, 39.90, 116.40, "Asia/Shanghai", "CN", ALWAYS,
                    None, 0.0, 0.5),
              Depot("R-SHA", "Shanghai", DepotKind.REGIONAL, 31.23, 121.47, "Asia/Shanghai", "CN",
                    ALWAYS, "HQ", 20.0, 0.5))
    cand = (Candidate("K-SHA", "Shanghai consignment", DepotKind.CONSIGNMENT, 31.20, 121.40,
                      "Asia/Shanghai", "CN", ALWAYS, "HQ", 1.0, 0.5, fixed),)
    sites = (Site("S1", "Pudong DC", "Acme", 31.25, 121.55, "Asia/Shanghai", "CN", "PLAT", "R-SHA"),)
    parts = tuple(part(f"P{k}", cost, 1.0) for k in range(n_parts))
    base = tuple(InstalledBase("S1", p.part_id, 5) for p in parts)
    return Scenario("saving", "CNY", 365, SEV1_ONLY, parts, depots, sites, (contract(0.95),), base,
                    (courier(),), candidates=cand)


def cheapest_saving_design(dp: DesignProblem) -> float:
    """Brute force on ``build_design_problem(stock_saving(n_parts=2))``: the cheapest yearly cost
    over both designs (candidate closed or open) and every level 0..2 of both parts at the HQ,
    R-SHA and K-SHA that meets the targets aimed at."""
    ix = {str(x): j for j, x in enumerate(dp.location_ids)}
    aimed = target_plan(dp.stocking).aimed_at
    L = dp.stocking.n_locations
    best = np.inf
    for design in (False, True):
        for v in itertools.product(range(3), repeat=2 * 3):
            S = np.array(v, dtype=np.int64).reshape(2, 3)
            if not design and S[:, ix["K-SHA"]].any():
                continue
            full = np.zeros((2, L), dtype=np.int64)
            full[:, [0, ix["R-SHA"], ix["K-SHA"]]] = S
            if evaluate_parts(dp.stocking, full).meets_targets(dp.stocking, aimed):
                best = min(best, 0.2 * 100_000 * S.sum() + (50_000 if design else 0))
    return float(best)


def closable_depot(depot_fixed: float = 20_000.0, kit_fixed: float = 10_000.0,
                   n_parts: int = 5) -> Scenario:
    """Sites in Shanghai reached in time by a closable partner depot P-SHA (refilled from the HQ
    in 1 day, ``depot_fixed`` a year) and by a candidate consignment K-SHA (refilled in 3 days,
    ``kit_fixed`` a year); 5 failures a year of each part, bought by the HQ in 1 day; 95 %."""
    depots = (Depot("HQ", "Beijing HQ", DepotKind.HQ, 39.90, 116.40, "Asia/Shanghai", "CN", ALWAYS,
                    None, 0.0, 0.5),
              Depot("P-SHA", "Shanghai partner", DepotKind.PARTNER, 31.23, 121.47,
                    "Asia/Shanghai", "CN", ALWAYS, "HQ", 1.0, 0.5, closable=True,
                    annual_fixed_cost=depot_fixed))
    cand = (Candidate("K-SHA", "Shanghai consignment", DepotKind.CONSIGNMENT, 31.20, 121.40,
                      "Asia/Shanghai", "CN", ALWAYS, "HQ", 3.0, 0.5, kit_fixed),)
    sites = (Site("S1", "Pudong DC", "Acme", 31.25, 121.55, "Asia/Shanghai", "CN", "PLAT",
                  "P-SHA"),)
    parts = tuple(part(f"P{k}", 100_000.0, 1.0) for k in range(n_parts))
    base = tuple(InstalledBase("S1", p.part_id, 5) for p in parts)
    return Scenario("closable", "CNY", 365, SEV1_ONLY, parts, depots, sites, (contract(0.95),),
                    base, (courier(),), candidates=cand)
