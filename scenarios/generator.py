"""Synthetic benchmark scenarios of any size, valid by construction and deterministic for a seed.

Same realism as ``cn-telecom`` (part spreads, contracts, transport modes, installed base, opening
stock, 24 months of Poisson demand history; see :mod:`scenarios.synth`) on synthetic coordinates in
eastern China: depots scattered over the populated part of the country, sites clustered around them.
Optionally candidate locations for the network design, near clusters of platinum and gold sites.
"""

from __future__ import annotations

import math
from datetime import time

import numpy as np

from inventory.domain import (
    Candidate,
    Depot,
    DepotKind,
    Hub,
    Scenario,
    Settings,
    Site,
    WeeklyHours,
    great_circle_km,
)
from scenarios import synth

LAT_RANGE = (21.0, 42.0)
LON_RANGE = (100.0, 123.0)
HQ_LATLON = (22.5431, 114.0579)  # Shenzhen
_CUSTOMERS = ("China Mobile", "China Telecom", "China Unicom", "State Grid", "ICBC")


def generate(parts: int, depots: int, sites: int, seed: int, candidates: int = 0,
             site_spread_km: float = 80.0) -> Scenario:
    """A scenario with ``parts`` parts, ``depots`` depots (one HQ, ~1/8 partners, the rest regional)
    and ``sites`` customer sites; equal scenarios for equal arguments.

    ``candidates`` adds that many candidate locations (:func:`make_candidates`); they are drawn
    from their own random stream, so the rest of the scenario does not depend on their number.
    ``site_spread_km``: standard deviation of a site's distance from its anchor depot (km; at
    most 5 times that); wide spreads put sites out of the depots' reach, where candidates matter.
    Raises ValueError for sizes below 1 part, 2 depots or 1 site, negative ``candidates`` or a
    spread that is not positive.
    """
    if parts < 1 or depots < 2 or sites < 1 or candidates < 0 or not site_spread_km > 0:
        raise ValueError(f"need parts >= 1, depots >= 2, sites >= 1, candidates >= 0, "
                         f"site_spread_km > 0; got {parts}, {depots}, {sites}, {candidates}, "
                         f"{site_spread_km}")
    rng = np.random.default_rng(seed)
    settings = Settings()
    depot_list = _depots(rng, depots)
    site_list = _sites(rng, depot_list, sites, site_spread_km)
    part_list = synth.make_parts(rng, parts)
    subs = synth.make_substitutions(rng, part_list)
    installed = synth.make_installed_base(rng, [s.site_id for s in site_list], part_list, (3, 30))
    rates = synth.demand_rates(installed, part_list)
    primary = {s.site_id: s.primary_depot_id for s in site_list}
    cands = make_candidates(np.random.default_rng([seed, 1]), depot_list, site_list, candidates)
    name = f"generated-p{parts}-d{depots}-s{sites}" + (f"-c{candidates}" if candidates else "") + (
        f"-r{site_spread_km:g}" if site_spread_km != 80.0 else "")
    return Scenario(
        name=f"{name}-seed{seed}", currency="CNY", horizon_days=365,
        settings=settings, parts=tuple(part_list), depots=tuple(depot_list), sites=tuple(site_list),
        contracts=synth.standard_contracts(), installed_base=tuple(installed),
        transport_modes=synth.standard_modes(), substitutions=tuple(subs),
        hubs=_hubs(depot_list),
        stock=tuple(synth.opening_stock(rng, part_list, depot_list, primary, rates)),
        demand_history=tuple(synth.demand_history(rng, rates)), candidates=cands,
    )


def _depots(rng: np.random.Generator, n: int) -> list[Depot]:
    """HQ in Shenzhen; regional depots uniform in the box, replenished from HQ; partner depots
    (every 8th) replenished from their nearest regional depot. Lead time 1 day + 1 day per 800 km."""
    n_partner = (n - 1) // 8
    n_regional = n - 1 - n_partner
    lat = np.round(np.concatenate([[HQ_LATLON[0]], rng.uniform(*LAT_RANGE, n - 1)]), 4)
    lon = np.round(np.concatenate([[HQ_LATLON[1]], rng.uniform(*LON_RANGE, n - 1)]), 4)
    km = synth.haversine_matrix_km(lat, lon, lat, lon)
    open_hours = WeeklyHours.parse("mon-sat 08:00-20:00")
    office = WeeklyHours.parse("mon-fri 09:00-18:00")
    out = [Depot("HQ", "HQ spare-parts center", DepotKind.HQ, float(lat[0]), float(lon[0]),
                 "Asia/Shanghai", "CN", WeeklyHours(), None, 0.0, 1.0)]
    for k in range(1, n):
        if k <= n_regional:
            kind, parent = DepotKind.REGIONAL, 0
            hours = WeeklyHours() if k % 4 else open_hours
        else:
            kind, parent = DepotKind.PARTNER, 1 + int(np.argmin(km[k, 1:n_regional + 1]))
            hours = office
        lead = round(1.0 + float(km[k, parent]) / 800.0, 1)
        out.append(Depot(f"D{k:03d}", f"{kind.value.title()} depot {k}", kind, float(lat[k]),
                         float(lon[k]), "Asia/Shanghai", "CN", hours, out[parent].depot_id, lead,
                         0.5 if kind is DepotKind.REGIONAL else 1.0))
    return out


def _sites(rng: np.random.Generator, depots: list[Depot], n: int, spread_km: float = 80.0
           ) -> list[Site]:
    """Sites scattered around depots (normal offsets, sd ``spread_km``, at most 5 times that),
    each served by its nearest depot."""
    anchor = rng.integers(0, len(depots), n)
    dist = np.minimum(np.abs(rng.normal(0.0, spread_km, n)), 5.0 * spread_km)
    bearing = rng.uniform(0, 2 * math.pi, n)
    alat = np.array([d.lat for d in depots])[anchor]
    alon = np.array([d.lon for d in depots])[anchor]
    lat = np.round(alat + dist * np.cos(bearing) / 111.2, 4)
    lon = np.round(alon + dist * np.sin(bearing) / (111.2 * np.cos(np.radians(alat))), 4)
    primary, _ = synth.nearest_depot(lat, lon, depots)
    contracts = synth.pick_contracts(rng, n)
    cust = rng.integers(0, len(_CUSTOMERS), n)
    return [Site(f"S{k + 1:06d}", f"Site {k + 1}", _CUSTOMERS[cust[k]], float(lat[k]), float(lon[k]),
                 "Asia/Shanghai", "CN", contracts[k], depots[primary[k]].depot_id) for k in range(n)]


def _hubs(depots: list[Depot]) -> tuple[Hub, ...]:
    """An airport ~20 km east of each of the first ten depots (HQ first)."""
    return tuple(Hub(f"H{d.depot_id}", f"Airport near {d.name}", d.lat,
                     round(d.lon + 20.0 / (111.2 * math.cos(math.radians(d.lat))), 4),
                     "Asia/Shanghai", time(7, 0), time(22, 0)) for d in depots[:10])


# kind, share, yearly fixed cost range, opening cost range (CNY), handling hours, capacity units
_CANDIDATE_KINDS: tuple[tuple[DepotKind, float, tuple[float, float], tuple[float, float], float,
                              int | None], ...] = (
    (DepotKind.CONSIGNMENT, 0.40, (60_000.0, 150_000.0), (20_000.0, 50_000.0), 0.5, 300),
    (DepotKind.CUSTOMER_KIT, 0.25, (10_000.0, 30_000.0), (8_000.0, 15_000.0), 0.25, 36),
    (DepotKind.TRUNK, 0.30, (20_000.0, 50_000.0), (2_000.0, 5_000.0), 0.5, 15),
    (DepotKind.REGIONAL, 0.05, (300_000.0, 600_000.0), (300_000.0, 500_000.0), 0.5, None),
)
_PREMIUM = ("PLATINUM", "GOLD")


def make_candidates(rng: np.random.Generator, depots: list[Depot], sites: list[Site],
                    n: int) -> tuple[Candidate, ...]:
    """``n`` candidate locations near clusters of platinum and gold sites.

    Anchors are platinum/gold sites drawn with weight = the number of such sites within 50 km
    (dense clusters first; all sites when there is none); each candidate sits up to 5 km from its
    anchor. Kinds: ~40 % 24x7 consignment warehouses, ~25 % customer kits (24x7, for the anchor's
    customer and its platinum/gold sites within 10 km), ~30 % engineer trunks (half business
    hours, half on call 24x7), ~5 % new regional depots; yearly fixed and opening costs uniform in
    the bands of :data:`_CANDIDATE_KINDS`, rounded to 1,000 CNY. Parent: the nearest HQ or regional
    depot, lead time 1 day + 1 day per 800 km.
    """
    if n <= 0:
        return ()
    premium = [s for s in sites if s.contract_id in _PREMIUM] or list(sites)
    pool = premium if len(premium) <= 4000 else [premium[k] for k in np.sort(
        rng.choice(len(premium), 4000, replace=False))]
    lat = np.array([s.lat for s in pool])
    lon = np.array([s.lon for s in pool])
    density = (synth.haversine_matrix_km(lat, lon, lat, lon) <= 50.0).sum(axis=1).astype(float)
    anchors = rng.choice(len(pool), size=n, p=density / density.sum())
    shares = np.array([k[1] for k in _CANDIDATE_KINDS])
    kinds = rng.choice(len(_CANDIDATE_KINDS), size=n, p=shares / shares.sum())
    dist = 5.0 * np.sqrt(rng.random(n))
    bearing = rng.uniform(0, 2 * math.pi, n)
    fixed_u = rng.random(n)
    open_u = rng.random(n)
    on_call = rng.random(n) < 0.5
    feeders = [d for d in depots if d.kind in (DepotKind.HQ, DepotKind.REGIONAL)]
    out: list[Candidate] = []
    for k in range(n):
        a = pool[int(anchors[k])]
        kind, _, (f_lo, f_hi), (o_lo, o_hi), handling, units = _CANDIDATE_KINDS[int(kinds[k])]
        clat = round(a.lat + float(dist[k] * math.cos(bearing[k])) / 111.2, 4)
        clon = round(a.lon + float(dist[k] * math.sin(bearing[k]))
                     / (111.2 * math.cos(math.radians(a.lat))), 4)
        parent = min(feeders, key=lambda d: (great_circle_km(clat, clon, d.lat, d.lon), d.depot_id))
        lead = round(1.0 + great_circle_km(clat, clon, parent.lat, parent.lon) / 800.0, 1)
        hours = WeeklyHours.parse("mon-fri 09:00-18:00") if (
            kind is DepotKind.TRUNK and not on_call[k]) else WeeklyHours()
        customer, served = None, ()
        if kind is DepotKind.CUSTOMER_KIT:
            customer = a.customer
            served = tuple(s.site_id for s in premium if s.customer == customer
                           and great_circle_km(a.lat, a.lon, s.lat, s.lon) <= 10.0)
        label = {DepotKind.CONSIGNMENT: "Partner consignment warehouse",
                 DepotKind.CUSTOMER_KIT: f"{customer} on-site kit",
                 DepotKind.TRUNK: "Engineer trunk stock",
                 DepotKind.REGIONAL: "New regional depot"}[kind]
        fixed = round((f_lo + float(fixed_u[k]) * (f_hi - f_lo)) / 1000.0) * 1000.0
        opening = round((o_lo + float(open_u[k]) * (o_hi - o_lo)) / 1000.0) * 1000.0
        out.append(Candidate(f"C{k + 1:04d}", f"{label} near {a.site_id}", kind, clat, clon,
                             a.timezone, "CN", hours, parent.depot_id, lead, handling, fixed,
                             opening, units, None, customer, served))
    return tuple(out)
