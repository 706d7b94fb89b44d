"""Reach: which depots can deliver to a site inside its contract window, and how often.

For every (site, severity, size class) :func:`build_reach` lists the depots whose earliest
arrival by any allowed transport mode meets the deadline for at least one request instant of a
reference week, each with ``p_on_time``, the share of sampled request instants that are on time.
Request instants are sampled every ``step_minutes`` over one reference week in the site's time
zone (Monday 00:00 local to Sunday end). Holidays are not sampled: the default week
(2025-03-10 .. 16) holds no public holiday in CN, DE, US or GB; pass another ``week_start`` to study
a holiday week. The request instant is used as ticket, confirmation and approval time.

The numbers are exactly those of :meth:`TravelNetwork.earliest_arrival` and
:func:`~optimizer.deadlines.compute_deadline` at the sampled instants: the depot-side times
(picking, departure, parcel pick-up, flights) are computed once per depot and instant with the
network's own building blocks, and the site-side part (driving seconds, parcel delivery day,
final courier leg) is added with numpy. Deadlines are cached per (site zone, country, term).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from inventory.domain import Contract, Scenario, SeverityTerm, Site, SizeClass, TransportKind, TransportMode
from optimizer.deadlines import compute_deadline
from optimizer.travel import TravelNetwork

NEVER = np.iinfo(np.int64).max // 4
"""Epoch seconds standing for "cannot arrive" (no feasible leg)."""

DEFAULT_WEEK_START = date(2025, 3, 10)

ReachKey = tuple[str, int, str]


@dataclass(frozen=True)
class Reach:
    """Depots that reach each (site_id, severity, size_class) in time, in preference order.

    ``entries[k]`` belongs to ``keys[k]`` and holds ``(depot_id, p_on_time)`` pairs: the primary
    depot first if it reaches, then the others by median ETA (hours from request) over the
    sampled week. ``no_part_deadline`` lists (site_id, severity) whose term measures a response
    milestone: the part has no contractual deadline there.
    """

    keys: list[ReachKey]
    entries: list[tuple[tuple[str, float], ...]]
    no_part_deadline: list[tuple[str, int]]
    week_start: date
    step_minutes: int
    _lookup: dict[ReachKey, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._lookup.update({k: i for i, k in enumerate(self.keys)})

    def depots(self, site_id: str, severity: int,
               size_class: SizeClass | str) -> tuple[tuple[str, float], ...]:
        """The (depot_id, p_on_time) pairs of one key; empty if nothing reaches it."""
        i = self._lookup.get((site_id, severity, str(SizeClass(size_class))))
        return () if i is None else self.entries[i]


def sample_instants(timezone: str, week_start: date, step_minutes: int) -> list[datetime]:
    """Request instants (UTC) every ``step_minutes`` over the local week starting ``week_start``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(week_start, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(week_start + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
    n = int((end - start) / timedelta(minutes=step_minutes))
    return [start + timedelta(minutes=step_minutes * k) for k in range(n)]


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


class _ZoneTables:
    """Depot-side times for the request instants of one site time zone (epoch seconds, int64)."""

    def __init__(self, net: TravelNetwork, instants: list[datetime]) -> None:
        self.net = net
        self.instants = instants
        self.t = np.array([_epoch(t) for t in instants], dtype=np.int64)
        nd = len(net.depots)
        self.picked = [[net.picked_at(i, t) for t in instants] for i in range(nd)]
        self._dep: dict[int, np.ndarray] = {}
        self._ship: dict[int, tuple[np.ndarray, list[date]]] = {}
        self._air: dict[tuple[int, int], np.ndarray] = {}
        self._departures: dict[int, list[list[datetime]]] = {}

    def departures(self, m: int) -> list[list[datetime]]:
        if m not in self._departures:
            mode = self.net.modes[m]
            self._departures[m] = [[self.net.departure(i, mode, p) for p in row]
                                   for i, row in enumerate(self.picked)]
        return self._departures[m]

    def road_departure(self, m: int) -> np.ndarray:
        """[depot, instant] departure epoch of a COURIER/VAN_RUN mode."""
        if m not in self._dep:
            self._dep[m] = np.array([[_epoch(t) for t in row] for row in self.departures(m)],
                                    dtype=np.int64)
        return self._dep[m]

    def parcel_days(self, m: int) -> tuple[np.ndarray, list[date]]:
        """[depot, instant] index into the list of distinct local ship days of a PARCEL mode."""
        if m not in self._ship:
            mode = self.net.modes[m]
            days: dict[date, int] = {}
            idx = np.empty((len(self.net.depots), len(self.instants)), dtype=np.int64)
            for i, row in enumerate(self.picked):
                zone = self.net.depot_cal[i].zone
                for k, p in enumerate(row):
                    d = self.net.parcel_ship(i, mode, p).astimezone(zone).date()
                    idx[i, k] = days.setdefault(d, len(days))
            self._ship[m] = (idx, list(days))
        return self._ship[m]

    def air_ready(self, m: int, dest_hub: int) -> np.ndarray:
        """[depot, instant] epoch when the part is ready at ``dest_hub`` after handling."""
        key = (m, dest_hub)
        if key not in self._air:
            mode = self.net.modes[m]
            self._air[key] = np.array(
                [[_epoch(self.net.air_hub_arrival(i, dest_hub, mode, dep)[1]) for dep in row]
                 for i, row in enumerate(self.departures(m))], dtype=np.int64)
        return self._air[key]


def _arrivals(net: TravelNetwork, z: _ZoneTables, j: int, m: int, mode: TransportMode,
              parcel_cache: dict) -> np.ndarray:
    """[depot, instant] arrival epoch at site ``j`` by mode ``m`` (NEVER if infeasible)."""
    if mode.kind in (TransportKind.COURIER, TransportKind.VAN_RUN):
        drive = net.drive_seconds(net.road_km[:, j], mode.speed_kmh)
        return z.road_departure(m) + drive[:, None]
    if mode.kind is TransportKind.PARCEL:
        idx, days = z.parcel_days(m)
        cal = net.site_cal[j]
        key = (m, cal, id(z))
        if key not in parcel_cache:
            parcel_cache[key] = np.array([_epoch(net.parcel_delivery(cal, mode, d)) for d in days],
                                         dtype=np.int64)
        return parcel_cache[key][idx]
    out = np.full((len(net.depots), len(z.instants)), NEVER, dtype=np.int64)
    ok = [i for i in range(len(net.depots)) if net.air_possible(i, j, mode)]
    if ok:
        last = int(net.drive_seconds(np.array(net.site_hub_road_km[j]), mode.road_speed_kmh))
        out[ok] = z.air_ready(m, int(net.site_hub[j]))[ok] + last
    return out


def build_reach(scenario: Scenario, network: TravelNetwork | None = None, *,
                week_start: date = DEFAULT_WEEK_START, step_minutes: int = 60) -> Reach:
    """Depots reaching every (site, severity, size class) inside the contract window.

    Parameters
    ----------
    scenario, network
        The scenario and its travel network (built here if not given).
    week_start
        The Monday of the reference week (local to each site).
    step_minutes
        Sampling step of request instants over the week (60 = hourly).
    """
    if week_start.weekday() != 0:
        raise ValueError(f"week_start {week_start} is not a Monday")
    if not 0 < step_minutes <= 24 * 60:
        raise ValueError(f"step_minutes must be in (0, 1440], got {step_minutes}")
    net = network if network is not None else TravelNetwork(scenario)
    zones: dict[str, _ZoneTables] = {}
    due_cache: dict[tuple[str, str, SeverityTerm], np.ndarray | None] = {}
    parcel_cache: dict = {}
    sizes = list(SizeClass)
    mode_sets = {s: [net.mode_index[m.mode_id] for m in net.allowed_modes(s)] for s in sizes}
    keys: list[ReachKey] = []
    entries: list[tuple[tuple[str, float], ...]] = []
    none_due: list[tuple[str, int]] = []
    by_zone: dict[str, list[int]] = defaultdict(list)
    for j, s in enumerate(net.sites):
        by_zone[s.timezone].append(j)
    for tz, site_js in by_zone.items():
        z = zones.setdefault(tz, _ZoneTables(net, sample_instants(tz, week_start, step_minutes)))
        for j in site_js:
            site = net.sites[j]
            contract = scenario.contract(site.contract_id)
            arrivals: dict[int, np.ndarray] = {}
            for term in sorted(contract.terms, key=lambda t: t.severity):
                due = _due(due_cache, term, site, contract, z.instants)
                if due is None:
                    none_due.append((site.site_id, term.severity))
                    continue
                for size in sizes:
                    ms = mode_sets[size]
                    for m in ms:
                        if m not in arrivals:
                            arrivals[m] = _arrivals(net, z, j, m, net.modes[m], parcel_cache)
                    eta = (np.minimum.reduce([arrivals[m] for m in ms]) if ms else
                           np.full((len(net.depots), len(z.instants)), NEVER, dtype=np.int64))
                    keys.append((site.site_id, term.severity, str(size)))
                    entries.append(_rank(net, site, eta, due, z.t))
    return Reach(keys, entries, none_due, week_start, step_minutes)


def _due(cache: dict, term: SeverityTerm, site: Site, contract: Contract,
         instants: list[datetime]) -> np.ndarray | None:
    """Due epochs of ``term`` at the instants, cached per (site zone, country, term); None: no deadline."""
    key = (site.timezone, site.country, term)
    if key not in cache:
        first = compute_deadline(term, site, contract, reported_at=instants[0])
        if first.due_at is None:
            cache[key] = None
        else:
            cache[key] = np.array([_epoch(compute_deadline(term, site, contract, reported_at=t).due_at)
                                   for t in instants], dtype=np.int64)
    return cache[key]


def _rank(net: TravelNetwork, site: Site, eta: np.ndarray, due: np.ndarray,
          t: np.ndarray) -> tuple[tuple[str, float], ...]:
    """(depot_id, p_on_time) of the depots that reach in time at least once, preferred first."""
    p = (eta <= due[None, :]).mean(axis=1)
    reach = np.nonzero(p > 0)[0]
    if reach.size == 0:
        return ()
    typical = np.median(np.minimum(eta[reach] - t[None, :], NEVER), axis=1)
    primary = net.depot_index[site.primary_depot_id]
    order = sorted(range(reach.size), key=lambda k: (reach[k] != primary, typical[k], -p[reach[k]]))
    return tuple((net.depots[reach[k]].depot_id, float(p[reach[k]])) for k in order)
