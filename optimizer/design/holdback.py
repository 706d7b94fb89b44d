"""Which sites and parts hold back a class that cannot reach its target, and what would reach them.

For a class (tier, severity) whose contract target lies above its ceiling, every site of that tier
contributes the demand of the request instants at which no location (existing or candidate) is on
time. Those sites are listed with that unreached demand, the nearest location and what it would
take: the best case from it (24x7 courier, its handling time) against the contract window, and
the road radius within which a 24x7 location with half an hour's handling would make the window.
At instants of a pattern with none of its weighed locations on time, a key's tail (the farther
depots, :class:`optimizer.reach.Reach`) reaches the share of its first allowed depot within
that pattern's instants, as the class ceiling counts it (stock everywhere: the first one ships).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from inventory.domain import Scenario, SizeClass, TransportKind, WindowKind
from optimizer.reach import Reach
from optimizer.stocking.problem import term_shares
from optimizer.travel import TravelNetwork

HANDLING_H = 0.5
"""Handling time assumed for the radius a new 24x7 location would need (hours)."""


@dataclass(frozen=True)
class HoldBack:
    """One site holding back a class: ``unreached_per_year`` failures a year with no location on
    time; ``parts`` the parts carrying most of it; the ``nearest`` location (id, kind, road km,
    best-case hours) and ``radius_km`` within which a 24x7 location would reach it in time."""

    tier: str
    severity: int
    site_id: str
    site_name: str
    customer: str
    unreached_per_year: float
    parts: tuple[str, ...]
    window: str
    nearest: str
    nearest_kind: str
    nearest_km: float
    nearest_hours: float
    radius_km: float | None


def hold_backs(scenario: Scenario, reach: Reach, network: TravelNetwork,
               classes: list[tuple[str, int]], *, allowed: set[str] | None = None,
               limit: int = 50) -> list[HoldBack]:
    """The sites holding back ``classes`` (tier, severity), largest unreached demand first
    (``limit`` per class). ``scenario`` / ``reach`` / ``network`` are the network with every
    candidate open; ``allowed`` (default: every location) are the locations of the network
    judged (e.g. the chosen design), so what remains is what none of them reaches in time. The
    nearest location is searched among all locations, candidates included."""
    mix = scenario.settings.severity_mix
    courier = [m for m in scenario.transport_modes if m.kind is TransportKind.COURIER]
    speed = max((m.speed_kmh for m in courier), default=60.0)
    out: list[HoldBack] = []
    for tier, sev in classes:
        unreached: dict[str, float] = defaultdict(float)
        by_part: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        window = ""
        for b in scenario.installed_base:
            site = scenario.site(b.site_id)
            contract = scenario.contract(site.contract_id)
            if contract.tier != tier or sev not in [t.severity for t in contract.terms]:
                continue
            term = contract.term(sev)
            window = (f"{term.window_value:g} h" if term.window_kind is WindowKind.HOURS
                      else f"{term.window_value:g} business day(s)")
            share = dict((t.severity, x) for t, x in term_shares(contract, mix)).get(sev, 0.0)
            part = scenario.part(b.part_id)
            key = (site.site_id, sev, str(SizeClass(part.size_class)))
            i = reach._lookup.get(key)
            miss = 1.0 if i is None else _unreached_share(reach, i, allowed)
            rate = b.rate_per_year(part) * share * miss
            if rate > 0:
                unreached[site.site_id] += rate
                by_part[site.site_id][b.part_id] += rate
        ranked = sorted(unreached.items(), key=lambda kv: -kv[1])[:limit]
        for site_id, rate in ranked:
            site = scenario.site(site_id)
            j = network.site_index[site_id]
            ok = [i for i, d in enumerate(network.depots) if d.serves(site)]
            i = min(ok, key=lambda k: network.road_km[k, j])
            d = network.depots[i]
            km = float(network.road_km[i, j])
            hours = d.handling_hours + float(network.drive_hours(km, speed))
            parts = tuple(p for p, _ in sorted(by_part[site_id].items(), key=lambda kv: -kv[1])[:5])
            out.append(HoldBack(tier, sev, site_id, site.name, site.customer, rate, parts, window,
                                d.depot_id, str(d.kind), km, hours,
                                _radius(network, speed, sev, scenario, site_id)))
    return out


def _unreached_share(reach: Reach, i: int, allowed: set[str] | None) -> float:
    """Share of key ``i``'s request instants at which no location of ``allowed`` (None: every
    one) is on time: its patterns without an allowed weighed location on time, less what the
    first allowed tail depot reaches within each."""
    mask = sum(1 << k for k, (d, _) in enumerate(reach.entries[i])
               if allowed is None or d in allowed)
    tail = [shares for d, shares in (reach.tails[i] if reach.tails else ())
            if allowed is None or d in allowed]
    return sum(w * (1.0 - (tail[0][q] if tail else 0.0))
               for q, (w, m) in enumerate(reach.patterns[i]) if not m & mask)


def _radius(network: TravelNetwork, speed: float, sev: int, scenario: Scenario,
            site_id: str) -> float | None:
    """Road km within which a 24x7 location (HANDLING_H) makes an hours window; None otherwise."""
    term = scenario.contract(scenario.site(site_id).contract_id).term(sev)
    if term.window_kind is not WindowKind.HOURS or not term.coverage.always:
        return None
    budget = term.window_value - HANDLING_H
    if budget <= 0:
        return 0.0
    lo, hi = 0.0, 5000.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if float(network.drive_hours(mid, speed)) <= budget:
            lo = mid
        else:
            hi = mid
    return lo
