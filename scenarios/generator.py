"""Synthetic benchmark scenarios of any size, valid by construction and deterministic for a seed.

Same realism as ``cn-telecom`` (part spreads, contracts, transport modes, installed base, opening
stock, 24 months of Poisson demand history; see :mod:`scenarios.synth`) on synthetic coordinates in
eastern China: depots scattered over the populated part of the country, sites clustered around them.
"""

from __future__ import annotations

import math
from datetime import time

import numpy as np

from inventory.domain import Depot, DepotKind, Hub, Scenario, Settings, Site, WeeklyHours
from scenarios import synth

LAT_RANGE = (21.0, 42.0)
LON_RANGE = (100.0, 123.0)
HQ_LATLON = (22.5431, 114.0579)  # Shenzhen
_CUSTOMERS = ("China Mobile", "China Telecom", "China Unicom", "State Grid", "ICBC")


def generate(parts: int, depots: int, sites: int, seed: int) -> Scenario:
    """A scenario with ``parts`` parts, ``depots`` depots (one HQ, ~1/8 partners, the rest regional)
    and ``sites`` customer sites; equal scenarios for equal arguments.

    Raises ValueError for sizes below 1 part, 2 depots or 1 site.
    """
    if parts < 1 or depots < 2 or sites < 1:
        raise ValueError(f"need parts >= 1, depots >= 2, sites >= 1; got {parts}, {depots}, {sites}")
    rng = np.random.default_rng(seed)
    settings = Settings()
    depot_list = _depots(rng, depots)
    site_list = _sites(rng, depot_list, sites)
    part_list = synth.make_parts(rng, parts)
    subs = synth.make_substitutions(rng, part_list)
    installed = synth.make_installed_base(rng, [s.site_id for s in site_list], part_list, (3, 30))
    rates = synth.demand_rates(installed, part_list)
    primary = {s.site_id: s.primary_depot_id for s in site_list}
    return Scenario(
        name=f"generated-p{parts}-d{depots}-s{sites}-seed{seed}", currency="CNY", horizon_days=365,
        settings=settings, parts=tuple(part_list), depots=tuple(depot_list), sites=tuple(site_list),
        contracts=synth.standard_contracts(), installed_base=tuple(installed),
        transport_modes=synth.standard_modes(), substitutions=tuple(subs),
        hubs=_hubs(depot_list),
        stock=tuple(synth.opening_stock(rng, part_list, depot_list, primary, rates)),
        demand_history=tuple(synth.demand_history(rng, rates)),
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


def _sites(rng: np.random.Generator, depots: list[Depot], n: int) -> list[Site]:
    """Sites scattered around depots (normal offsets, sd 80 km, at most 400 km), each served by
    its nearest depot."""
    anchor = rng.integers(0, len(depots), n)
    dist = np.minimum(np.abs(rng.normal(0.0, 80.0, n)), 400.0)
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
