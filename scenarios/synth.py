"""Building blocks shared by the cn-telecom builder and the benchmark generator.

Pure functions of a seeded :class:`numpy.random.Generator` and plain inputs; numpy vectorises the
parts that grow with scenario size (part attributes, installed base rates, demand history draws,
nearest depots). Money is in CNY, rates per year, times in days unless a name says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

import numpy as np
from scipy.stats import poisson

from inventory.domain import (
    EARTH_RADIUS_KM,
    ClockStart,
    Contract,
    DemandRecord,
    Depot,
    DepotKind,
    InstalledBase,
    Lifecycle,
    Milestone,
    Part,
    SeverityTerm,
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
OFFICE = WeeklyHours.parse("mon-fri 09:00-18:00")
EXTENDED = WeeklyHours.parse("mon-sat 08:00-20:00")
HISTORY_MONTHS = tuple(f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13))
"""The 24 months of generated dispatch history."""

# category code, name, log10 unit cost range (CNY), size classes allowed
_CATEGORIES: tuple[tuple[str, str, float, float, tuple[SizeClass, ...]], ...] = (
    ("SFP", "Optical transceiver", 1.5, 3.3, (SizeClass.SMALL,)),
    ("CBL", "Cable assembly", 1.5, 2.7, (SizeClass.SMALL,)),
    ("DIM", "Memory module", 2.5, 3.7, (SizeClass.SMALL,)),
    ("FAN", "Fan tray", 2.3, 3.5, (SizeClass.SMALL, SizeClass.MEDIUM)),
    ("DSK", "Disk drive", 2.7, 3.9, (SizeClass.SMALL,)),
    ("PSU", "Power supply", 2.8, 4.0, (SizeClass.SMALL, SizeClass.MEDIUM)),
    ("BAT", "Battery module", 2.8, 3.8, (SizeClass.MEDIUM, SizeClass.LARGE)),
    ("LC", "Line card", 3.6, 4.7, (SizeClass.MEDIUM,)),
    ("MCU", "Main control board", 3.8, 4.7, (SizeClass.MEDIUM,)),
    ("SFU", "Switch fabric card", 3.9, 4.7, (SizeClass.MEDIUM, SizeClass.LARGE)),
    ("OTU", "OTN tributary board", 3.7, 4.6, (SizeClass.MEDIUM,)),
    ("CHS", "Chassis backplane", 4.0, 4.7, (SizeClass.LARGE,)),
)


def make_parts(rng: np.random.Generator, n: int) -> list[Part]:
    """``n`` parts with realistic spreads.

    Unit cost log-uniform within a category band (tens to ~50,000 CNY overall), annual failure rate
    per installed unit log-uniform 0.1 %-20 %, repairable with a probability rising with cost (~80 %
    overall; turnaround 10-40 days, yield 0.70-0.98), procurement lead time 30-120 days, ~88 %
    active, 9 % phase-out, 3 % end of life.
    """
    cat = rng.integers(0, len(_CATEGORIES), n)
    lo = np.array([c[2] for c in _CATEGORIES])[cat]
    hi = np.array([c[3] for c in _CATEGORIES])[cat]
    cost = np.round(10 ** rng.uniform(lo, hi), 2)
    afr = np.round(np.exp(rng.uniform(np.log(0.001), np.log(0.2), n)), 5)
    p_repair = np.clip(0.35 + 0.15 * np.log10(cost), 0.3, 0.97)
    repairable = rng.random(n) < p_repair
    turnaround = rng.integers(10, 41, n).astype(float)
    yield_ = np.round(rng.uniform(0.70, 0.98, n), 2)
    lead = rng.integers(30, 121, n).astype(float)
    life_draw = rng.random(n)
    size_draw = rng.random(n)
    parts: list[Part] = []
    for i in range(n):
        code, name, _, _, sizes = _CATEGORIES[cat[i]]
        life = (Lifecycle.ACTIVE if life_draw[i] < 0.88 else
                Lifecycle.PHASE_OUT if life_draw[i] < 0.97 else Lifecycle.END_OF_LIFE)
        rep = bool(repairable[i])
        parts.append(Part(
            part_id=f"{code}-{i + 1:05d}", name=f"{name} type {i + 1:05d}", unit_cost=float(cost[i]),
            repairable=rep, repair_turnaround_days=float(turnaround[i]) if rep else 0.0,
            repair_yield=float(yield_[i]) if rep else 0.0,
            procurement_lead_time_days=float(lead[i]),
            size_class=sizes[int(size_draw[i] * len(sizes))], annual_failure_rate=float(afr[i]),
            lifecycle=life))
    return parts


def make_substitutions(rng: np.random.Generator, parts: Sequence[Part]) -> list[Substitution]:
    """One-way supersession for ~60 % of phase-out/end-of-life parts (by an active part of the same
    category and size), and two-way interchangeability for ~1 % of active parts."""
    groups: dict[tuple[str, SizeClass], list[Part]] = {}
    for p in parts:
        if p.lifecycle is Lifecycle.ACTIVE:
            groups.setdefault((p.part_id.split("-")[0], p.size_class), []).append(p)
    out: list[Substitution] = []
    seen: set[frozenset[str]] = set()
    draws = rng.random(len(parts))
    for p, draw in zip(parts, draws, strict=True):
        old = p.lifecycle is not Lifecycle.ACTIVE
        if (old and draw < 0.6) or (not old and draw < 0.01):
            pool = groups.get((p.part_id.split("-")[0], p.size_class), [])
            if not pool:
                continue
            sub = pool[int(rng.integers(0, len(pool)))]
            if sub is p:
                continue
            pair = frozenset((p.part_id, sub.part_id))
            if pair in seen:
                continue
            seen.add(pair)
            kind = SubstitutionKind.ONE_WAY if old else SubstitutionKind.TWO_WAY
            out.append(Substitution(p.part_id, sub.part_id, kind))
    return out


def _term(sev: int, kind: WindowKind, value: float, target: float, start: ClockStart,
          coverage: WeeklyHours, cutoff: time | None = None) -> SeverityTerm:
    return SeverityTerm(sev, kind, value, target, Milestone.PART_ON_SITE, start, coverage, cutoff)


def standard_contracts() -> tuple[Contract, ...]:
    """Platinum, gold, silver and basic service products in four window dialects.

    Platinum: 4/24/48/96 h around the clock from the ticket. Gold: 8/24/48/96 h around the clock
    from fault confirmation. Silver: 12/24 covered hours (Mon-Sat 08-20) then 2/4 business days.
    Basic: 24 h around the clock for severity 1, then next business day / 2 / 4 business days
    (Mon-Fri 09-18, cut-off 16:00).
    """
    h, bd = WindowKind.HOURS, WindowKind.BUSINESS_DAYS
    tk, fc = ClockStart.TICKET_OPENED, ClockStart.FAULT_CONFIRMED
    nbd = time(16, 0)
    return (
        Contract("PLATINUM", "Platinum 7x24, 4 h part on site", "platinum", (
            _term(1, h, 4, 0.95, tk, ALWAYS), _term(2, h, 24, 0.95, tk, ALWAYS),
            _term(3, h, 48, 0.92, tk, ALWAYS), _term(4, h, 96, 0.92, tk, ALWAYS))),
        Contract("GOLD", "Gold 7x24 from fault confirmation", "gold", (
            _term(1, h, 8, 0.92, fc, ALWAYS), _term(2, h, 24, 0.92, fc, ALWAYS),
            _term(3, h, 48, 0.90, fc, ALWAYS), _term(4, h, 96, 0.90, fc, ALWAYS))),
        Contract("SILVER", "Silver extended business hours", "silver", (
            _term(1, h, 12, 0.90, tk, EXTENDED), _term(2, h, 24, 0.90, tk, EXTENDED),
            _term(3, bd, 2, 0.88, tk, OFFICE, nbd), _term(4, bd, 4, 0.88, tk, OFFICE, nbd))),
        Contract("BASIC", "Basic next business day", "basic", (
            _term(1, h, 24, 0.90, tk, ALWAYS), _term(2, bd, 1, 0.85, tk, OFFICE, nbd),
            _term(3, bd, 2, 0.85, tk, OFFICE, nbd), _term(4, bd, 4, 0.85, tk, OFFICE, nbd))),
    )


TIER_SHARES = {"PLATINUM": 0.15, "GOLD": 0.30, "SILVER": 0.30, "BASIC": 0.25}
"""Share of sites under each standard contract."""


def standard_modes() -> tuple[TransportMode, ...]:
    """Courier (70 km/h), parcel (cut-off 17:00, 12:00 next business day), air via hubs (700 km/h,
    2 h handling each end, >= 800 km) and the depots' own van runs (50 km/h)."""
    every = frozenset(SizeClass)
    boxed = frozenset({SizeClass.SMALL, SizeClass.MEDIUM})
    return (
        TransportMode("COURIER", "Dedicated courier", TransportKind.COURIER, 70.0, 150.0, 3.0,
                      ALWAYS, every, road_speed_kmh=70.0),
        TransportMode("PARCEL", "Parcel carrier, next business day", TransportKind.PARCEL, 60.0, 25.0,
                      0.02, WeeklyHours.parse("mon-fri 08:00-18:00"), boxed, cutoff=time(17, 0),
                      delivery_time=time(12, 0)),
        TransportMode("AIR", "Air courier via hub airports", TransportKind.AIR, 700.0, 800.0, 1.5,
                      ALWAYS, boxed, min_distance_km=800.0, handling_hours=2.0, road_speed_kmh=70.0),
        TransportMode("VAN", "Own van run", TransportKind.VAN_RUN, 50.0, 60.0, 1.2, EXTENDED, every,
                      road_speed_kmh=50.0),
    )


def haversine_matrix_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                        lon2: np.ndarray) -> np.ndarray:
    """Great-circle km between each point of set 1 (rows) and set 2 (columns)."""
    p1, p2 = np.radians(lat1)[:, None], np.radians(lat2)[None, :]
    dl = np.radians(lon2)[None, :] - np.radians(lon1)[:, None]
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def nearest_depot(lat: np.ndarray, lon: np.ndarray, depots: Sequence[Depot]) -> tuple[np.ndarray,
                                                                                       np.ndarray]:
    """Index of the nearest depot of each point and its distance in km."""
    km = haversine_matrix_km(lat, lon, np.array([d.lat for d in depots]),
                             np.array([d.lon for d in depots]))
    idx = km.argmin(axis=1)
    return idx, km[np.arange(len(lat)), idx]


def pick_contracts(rng: np.random.Generator, n: int) -> list[str]:
    """Contract id of each of ``n`` sites, drawn with :data:`TIER_SHARES`."""
    ids = list(TIER_SHARES)
    draw = rng.choice(len(ids), size=n, p=np.array(list(TIER_SHARES.values())))
    return [ids[k] for k in draw]


def make_installed_base(rng: np.random.Generator, site_ids: Sequence[str], parts: Sequence[Part],
                        types_per_site: tuple[int, int] = (3, 30)) -> list[InstalledBase]:
    """Installed FRUs per site: each site runs 1-3 product platforms and installs a few to tens of
    their part types, popular parts more often; quantities scale with a site size (POP to data
    center). Every part is installed at least once so that every part has demand.
    """
    n_parts = len(parts)
    n_plat = int(np.clip(n_parts // 25, 4, 12))
    platform = rng.integers(0, n_plat, n_parts)
    weight = rng.lognormal(0.0, 1.0, n_parts)
    members = [np.flatnonzero(platform == k) for k in range(n_plat)]
    scale = rng.choice(np.array([1.0, 2.0, 4.0, 8.0]), size=len(site_ids), p=[0.4, 0.3, 0.2, 0.1])
    site_parts: list[np.ndarray] = []
    site_plats: list[np.ndarray] = []
    for _ in site_ids:
        plats = rng.choice(n_plat, size=int(rng.integers(1, 4)), replace=False)
        cand = np.concatenate([members[k] for k in plats])
        if len(cand) == 0:
            cand = np.arange(n_parts)
        k = min(len(cand), int(rng.integers(types_per_site[0], types_per_site[1] + 1)))
        w = weight[cand] / weight[cand].sum()
        site_parts.append(np.sort(rng.choice(cand, size=k, replace=False, p=w)))
        site_plats.append(plats)
    covered = np.zeros(n_parts, dtype=bool)
    for sp in site_parts:
        covered[sp] = True
    runs = np.zeros((len(site_ids), n_plat), dtype=bool)
    for i, plats in enumerate(site_plats):
        runs[i, plats] = True
    hosts = [np.flatnonzero(runs[:, k]) for k in range(n_plat)]
    everyone = np.arange(len(site_ids))
    for p in np.flatnonzero(~covered):
        pool = hosts[platform[p]] if len(hosts[platform[p]]) else everyone
        i = int(pool[rng.integers(0, len(pool))])
        site_parts[i] = np.append(site_parts[i], p)
    out: list[InstalledBase] = []
    for i, sid in enumerate(site_ids):
        qty = np.maximum(1, np.rint(scale[i] * rng.lognormal(0.5, 0.7, len(site_parts[i])))).astype(int)
        out.extend(InstalledBase(sid, parts[p].part_id, int(q)) for p, q in zip(site_parts[i], qty,
                                                                                strict=True))
    return out


@dataclass(frozen=True)
class DemandRates:
    """Annual failure demand (units/year) of each installed-base row, aligned with its list."""

    rows: Sequence[InstalledBase]
    per_year: np.ndarray


def demand_rates(installed: Sequence[InstalledBase], parts: Sequence[Part]) -> DemandRates:
    afr = {p.part_id: p.annual_failure_rate for p in parts}
    rate = np.array([b.quantity * afr[b.part_id] for b in installed], dtype=float)
    return DemandRates(installed, rate)


def demand_history(rng: np.random.Generator, rates: DemandRates,
                   months: Sequence[str] = HISTORY_MONTHS) -> list[DemandRecord]:
    """Monthly dispatches drawn from Poisson(rate / 12) per installed-base row; zero months left out."""
    draws = rng.poisson(rates.per_year[:, None] / 12.0, size=(len(rates.rows), len(months)))
    rows, cols = np.nonzero(draws)
    order = np.lexsort((rows, cols))  # month-major, then installed-base order
    return [DemandRecord(months[cols[k]], rates.rows[rows[k]].site_id, rates.rows[rows[k]].part_id,
                         int(draws[rows[k], cols[k]])) for k in order]


def opening_stock(rng: np.random.Generator, parts: Sequence[Part], depots: Sequence[Depot],
                  primary: dict[str, str], rates: DemandRates,
                  fill: float = 0.9) -> list[StockRecord]:
    """A plausible opening position: at each depot the ``fill`` quantile of Poisson demand over
    its replenishment lead time plus a week (at least one cheap unit where there is any demand);
    at HQ the quantile over the part's resupply time (repair for the usable share, procurement for
    the rest) of all demand. HQ also holds a few defective repairables awaiting repair.
    """
    part_ix = {p.part_id: i for i, p in enumerate(parts)}
    depot_ix = {d.depot_id: j for j, d in enumerate(depots)}
    lam = np.zeros((len(parts), len(depots)))
    for b, r in zip(rates.rows, rates.per_year, strict=True):
        lam[part_ix[b.part_id], depot_ix[primary[b.site_id]]] += r
    lead = np.array([d.replenishment_lead_time_days for d in depots]) + 7.0
    cost = np.array([p.unit_cost for p in parts])
    level = poisson.ppf(fill, lam * lead[None, :] / 365.0).astype(int)
    level[(lam > 0) & (level == 0) & (cost[:, None] < 1000.0)] = 1
    hq = next(j for j, d in enumerate(depots) if d.kind is DepotKind.HQ)
    rep = np.array([p.repair_yield if p.repairable else 0.0 for p in parts])
    turn = np.array([p.repair_turnaround_days for p in parts])
    proc = np.array([p.procurement_lead_time_days for p in parts])
    resupply = rep * turn + (1 - rep) * proc
    total = lam.sum(axis=1)
    level[:, hq] = poisson.ppf(fill, total * resupply / 365.0).astype(int)
    defective = np.where(rep > 0, rng.poisson(total * 14.0 / 365.0), 0)
    bad = np.zeros_like(level)
    bad[:, hq] = defective
    cols, rows = np.nonzero(((level > 0) | (bad > 0)).T)  # depot-major order
    return [StockRecord(depots[j].depot_id, parts[i].part_id, int(level[i, j]), int(bad[i, j]))
            for j, i in zip(cols, rows, strict=True)]
