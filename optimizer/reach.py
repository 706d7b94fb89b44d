"""Reach: which depots can deliver to a site inside its contract window, and when.

For every (site, severity, size class) :func:`build_reach` lists the depots whose earliest
arrival by any allowed transport mode meets the deadline for at least one request instant of the
planning year, each with ``p_on_time``, the weighted share of sampled request instants at which it
is on time, and the **patterns**: which subsets of those depots are on time at the same instant,
with their weights. The patterns carry the dispatch engine's rule (:mod:`optimizer.dispatch.decide`
picks, at the request's moment, a source that arrives by the deadline): a request is on time when
any depot on time *at that instant* has stock, so two depots on time at different hours cover each
other, which per-depot shares cannot express.

Request instants are sampled every ``step_minutes`` in the site's time zone over the ``weeks``
weeks from ``year_start`` (a Monday). Every week whose 14 days from its Monday hold no public
holiday and no adjusted working day in any country of the network behaves like every other such
week (same local opening hours, cut-offs, next business days), so those weeks are represented by
the first of them with their count as weight; every other week is sampled itself. Holidays
therefore count with their true frequency over the year. The request instant is used as ticket,
confirmation and approval time.

The numbers are exactly those of :meth:`TravelNetwork.earliest_arrival` and
:func:`~optimizer.deadlines.compute_deadline` at the sampled instants: the depot-side times
(picking, departure, parcel pick-up, flights) are computed for all instants at once, once per
group of depots with the same hours, calendar and handling time, with the calendar tables of
:mod:`optimizer.calendars` (which give the scalar rules' instants), and the site-side part
(driving seconds, parcel delivery day, final courier leg) is added with numpy. Deadlines are
cached per (site zone, country, term).
The ``depots`` nearest depots that serve a site (road km), the ``near`` nearest forward
locations, and the HQ are weighed for it with their patterns of being on time together. The
dispatch engine ships from any depot with stock, so every other depot serving the site that is
on time at some instant follows as the key's **tail**: its on-time share within each pattern's
instants, without bits of its own (they would multiply the patterns).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

import numpy as np

from inventory.domain import (
    DepotKind,
    Scenario,
    SeverityTerm,
    Site,
    SizeClass,
    TransportKind,
    TransportMode,
)
from optimizer.calendars import (
    EPOCH_ORDINAL,
    US,
    Calendar,
    cutoff_table,
    day_number,
    duration_us,
    hours_table,
    local_day,
)
from optimizer.deadlines import due_instants
from optimizer.stocking.cluster import Cluster, workers_of
from optimizer.travel import TravelNetwork, leg_cost

NEVER = np.iinfo(np.int64).max // 4
"""Epoch seconds standing for "cannot arrive" (no feasible leg)."""

DEFAULT_YEAR_START = date(2026, 1, 5)
"""Monday of the default planning year's first week."""
WEEKS_PER_YEAR = 52
NEAR_DEPOTS = 16
"""Forward locations (consignment, customer kits, trunks) weighed per site with their patterns:
the nearest that serve it (road km)."""
WEIGHED_DEPOTS = 8
"""Other depots weighed per site with their patterns besides the HQ: the nearest that serve it;
the rest follow in the key's tail. Each depot weighed can double a key's patterns (which depots
are on time together), so weighing every depot this way makes the problem several times
larger; the tail keeps them at their share within each pattern instead."""

TailEntry = tuple[str, tuple[float, ...]]
"""A tail depot of a key: its id and its on-time share within each of the key's patterns."""

ReachKey = tuple[str, int, str]
Pattern = tuple[float, int]
"""(weight, bitmask): the share of request instants at which exactly the entries whose bits are
set (bit k = ``entries[key][k]``) are on time."""


@dataclass(frozen=True)
class Reach:
    """Depots that reach each (site_id, severity, size_class) in time, in preference order.

    ``entries[k]`` belongs to ``keys[k]`` and holds ``(depot_id, p_on_time)`` pairs in the order
    the dispatch engine prefers sources on time: cheapest leg on time first (mean over the
    sampled instants at which the depot is on time), then by median ETA (hours from request),
    then by depot id. ``patterns[k]`` lists ``(weight, bitmask)`` pairs (weights sum to 1, the
    pattern 0, nothing on time, included when it occurs). ``tails[k]`` (empty list: no tails)
    lists the depots beyond the weighed ones that are on time at some instant, in the same
    order, each with its on-time share within the instants of each pattern of ``patterns[k]``.
    ``no_part_deadline`` lists (site_id, severity) whose term measures a response milestone:
    the part has no contractual deadline there.
    """

    keys: list[ReachKey]
    entries: list[tuple[tuple[str, float], ...]]
    patterns: list[tuple[Pattern, ...]]
    no_part_deadline: list[tuple[str, int]]
    year_start: date
    weeks: int
    step_minutes: int
    tails: list[tuple[TailEntry, ...]] = field(default_factory=list)
    _lookup: dict[ReachKey, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._lookup.update({k: i for i, k in enumerate(self.keys)})

    def depots(self, site_id: str, severity: int,
               size_class: SizeClass | str) -> tuple[tuple[str, float], ...]:
        """The (depot_id, p_on_time) pairs of one key; empty if nothing reaches it."""
        i = self._lookup.get((site_id, severity, str(SizeClass(size_class))))
        return () if i is None else self.entries[i]

    def on_time_share(self, site_id: str, severity: int, size_class: SizeClass | str,
                      stocked: set[str] | frozenset[str]) -> float:
        """Share of request instants at which some depot of ``stocked`` is on time (the share
        the dispatch rule reaches when exactly those depots always have stock)."""
        i = self._lookup.get((site_id, severity, str(SizeClass(size_class))))
        if i is None:
            return 0.0
        mask = sum(1 << k for k, (d, _) in enumerate(self.entries[i]) if d in stocked)
        return float(sum(w for w, m in self.patterns[i] if m & mask))


def sample_instants(timezone: str, week_start: date, step_minutes: int) -> list[datetime]:
    """Request instants (UTC) every ``step_minutes`` over the local week starting ``week_start``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(week_start, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(week_start + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
    n = int((end - start) / timedelta(minutes=step_minutes))
    return [start + timedelta(minutes=step_minutes * k) for k in range(n)]


def sampled_weeks(year_start: date, weeks: int, countries: set[str]) -> list[tuple[date, float]]:
    """(Monday, weight) of the weeks to sample: see the module docstring.

    A week is plain when none of the 14 days from its Monday is a public holiday or an adjusted
    working day in any of ``countries``; the first plain week stands for all of them.
    """
    cals = [Calendar("UTC", c) for c in sorted(countries)]
    out: list[tuple[date, float]] = []
    plain_first: date | None = None
    plain = 0
    for w in range(weeks):
        monday = year_start + timedelta(weeks=w)
        days = [monday + timedelta(days=k) for k in range(14)]
        special = any(c.is_holiday(d) or c.is_adjusted_workday(d) for c in cals for d in days)
        if special:
            out.append((monday, 1.0))
        else:
            plain += 1
            plain_first = plain_first or monday
    if plain_first is not None:
        out.insert(0, (plain_first, float(plain)))
    return out


def sample_year(timezone: str, weeks: list[tuple[date, float]], step_minutes: int
                ) -> tuple[list[datetime], np.ndarray]:
    """Request instants of the sampled weeks and their weights (summing to 1)."""
    instants: list[datetime] = []
    weights: list[float] = []
    for monday, w in weeks:
        week = sample_instants(timezone, monday, step_minutes)
        instants += week
        weights += [w / len(week)] * len(week)
    wa = np.array(weights)
    return instants, wa / wa.sum()


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


SPAN_AFTER_DAYS = 60
"""Local days after the last request instant that the calendar tables cover (picking, van runs
and parcel pick-ups after a long holiday); anything later is computed one instant at a time."""


class _ZoneTables:
    """Depot-side times for the request instants of one site time zone (epoch seconds, int64).

    Picking, departure and parcel pick-up depend on a depot only through its opening hours,
    calendar (zone, country) and handling time, so they are computed once per group of depots
    alike (:attr:`group`), for all instants at once with the calendar tables of
    :mod:`optimizer.calendars`, and are the same instants the scalar rules give.
    """

    def __init__(self, net: TravelNetwork, instants: list[datetime]) -> None:
        self.net = net
        self.instants = instants
        self.t = np.array([_epoch(t) for t in instants], dtype=np.int64)
        self.stamp = hashlib.blake2b(self.t.tobytes(), digest_size=16).digest()
        self.span = (day_number(min(instants).date()) - 3,
                     day_number(max(instants).date()) + SPAN_AFTER_DAYS)
        keys: dict[tuple, int] = {}
        self.group = np.array([keys.setdefault((d.hours, d.timezone, d.country, d.handling_hours),
                                               len(keys)) for d in net.depots], dtype=np.int64)
        """Group of each depot: depots with the same hours, calendar and handling time."""
        self.rep = [int(np.argmax(self.group == g)) for g in range(len(keys))]
        """A depot of each group."""
        t_us = self.t * US
        self.picked = [self._picked(i, t_us) for i in self.rep]
        """Per group: picking instants (epoch µs) at its depots."""
        self._dep: dict[int, np.ndarray] = {}
        self._ship: dict[int, tuple[np.ndarray, list[date]]] = {}
        self._air: dict[tuple[int, int], np.ndarray] = {}
        self._flight: dict[int, np.ndarray] = {}

    def _picked(self, i: int, t_us: np.ndarray) -> np.ndarray:
        """Picking instants at depot ``i`` (:meth:`TravelNetwork.picked_at`), epoch µs."""
        depot = self.net.depots[i]
        if depot.hours.always:  # picked after its handling time
            return t_us + duration_us(depot.handling_hours)
        tab = hours_table(depot.hours, self.net.depot_cal[i], *self.span)
        return tab.add_open(tab.next_open(t_us), depot.handling_hours)

    def road_departure(self, m: int) -> np.ndarray:
        """[depot, instant] departure epoch of a COURIER, VAN_RUN or AIR mode
        (:meth:`TravelNetwork.departure`)."""
        if m not in self._dep:
            mode = self.net.modes[m]
            rows = []
            for i, picked in zip(self.rep, self.picked, strict=True):
                if mode.hours.always:  # a 24x7 mode leaves when the part is picked
                    dep = picked
                else:
                    tab = hours_table(mode.hours, self.net.depot_cal[i], *self.span)
                    dep = (tab.window_start(picked) if mode.kind is TransportKind.VAN_RUN
                           else tab.next_open(picked))
                rows.append(dep // US)
            self._dep[m] = np.stack(rows)[self.group]
        return self._dep[m]

    def parcel_days(self, m: int) -> tuple[np.ndarray, list[date]]:
        """[depot, instant] index into the list of distinct local ship days of a PARCEL mode."""
        if m not in self._ship:
            net, mode = self.net, self.net.modes[m]
            days = []
            for i, picked in zip(self.rep, self.picked, strict=True):
                cal = net.depot_cal[i]
                ship = cutoff_table(net.parcel_ship_days(i, mode), cal, mode.cutoff,  # type: ignore[arg-type]
                                    *self.span).ship_at(picked)
                days.append(local_day(cal.timezone, ship, *self.span))
            distinct, idx = np.unique(np.stack(days), return_inverse=True)
            self._ship[m] = (idx.reshape(len(days), -1)[self.group],
                             [date.fromordinal(int(n) + EPOCH_ORDINAL) for n in distinct])
        return self._ship[m]

    def flights(self, m: int) -> np.ndarray:
        """[depot, instant] epoch of the flight from the depot's hub (AIR mode ``m``), as
        :meth:`TravelNetwork.air_hub_arrival` computes it, vectorised per origin hub."""
        if m not in self._flight:
            net, mode = self.net, self.net.modes[m]
            to_hub = np.array([_ceil_s(float(net.drive_hours(float(net.depot_hub_road_km[i]),
                                                               mode.road_speed_kmh)))
                               for i in range(len(net.depots))], dtype=np.int64)
            x = self.road_departure(m) + to_hub[:, None] + _ceil_s(mode.handling_hours)
            out = np.empty_like(x)
            for h in np.unique(net.depot_hub):
                rows = np.nonzero(net.depot_hub == h)[0]
                out[rows] = _next_flight(net, int(h), x[rows])
            self._flight[m] = out
        return self._flight[m]

    def air_ready(self, m: int, dest_hub: int) -> np.ndarray:
        """[depot, instant] epoch when the part is ready at ``dest_hub`` after handling."""
        key = (m, dest_hub)
        if key not in self._air:
            net, mode = self.net, self.net.modes[m]
            fly = np.array([_ceil_s(float(net.hub_air_km[net.depot_hub[i], dest_hub]) / mode.speed_kmh)
                            for i in range(len(net.depots))], dtype=np.int64)
            self._air[key] = self.flights(m) + fly[:, None] + _ceil_s(mode.handling_hours)
        return self._air[key]


def _ceil_s(hours: float) -> int:
    """Whole seconds of ``hours`` rounded up, as the travel network rounds every leg."""
    return math.ceil(hours * 3600 - 1e-6)


def _next_flight(net: TravelNetwork, h: int, x: np.ndarray) -> np.ndarray:
    """:meth:`TravelNetwork.next_flight` of hub ``h`` for epochs ``x`` (any shape)."""
    hub, zone = net.hubs[h], net.hub_zone[h]
    lo = datetime.fromtimestamp(int(x.min()), UTC).astimezone(zone).date() - timedelta(days=1)
    hi = datetime.fromtimestamp(int(x.max()), UTC).astimezone(zone).date() + timedelta(days=2)
    days = [lo + timedelta(days=k) for k in range((hi - lo).days + 1)]
    midnight = np.array([_epoch(datetime.combine(d, time(0), tzinfo=zone)) for d in days])
    first = np.array([_epoch(datetime.combine(d, hub.first_flight, tzinfo=zone)) for d in days])
    last = np.array([_epoch(datetime.combine(d, hub.last_flight, tzinfo=zone)) for d in days])
    k = np.searchsorted(midnight, x, side="right") - 1
    return np.where(x <= first[k], first[k], np.where(x <= last[k], x, first[k + 1]))


class _Scratch:
    """Reused (rows, instants) work arrays of one zone, by name: on the project's hosts a fresh
    array of a site's size (about 1 MB) costs more in page faults than the arithmetic on it."""

    def __init__(self, rows: int, instants: int) -> None:
        self.shape = (rows, instants)
        self.arrays: dict[object, np.ndarray] = {}

    def get(self, name: object, k: int, dtype: type = np.int64) -> np.ndarray:
        """The first ``k`` rows of the array ``name`` (contents undefined)."""
        a = self.arrays.get(name)
        if a is None:
            a = self.arrays[name] = np.empty(self.shape, dtype=dtype)
        return a[:k]


def _arrivals(net: TravelNetwork, z: _ZoneTables, j: int, m: int, mode: TransportMode,
              parcel_cache: dict, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out`` (rows, instants) filled with the arrival epochs at site ``j`` from the depots
    ``rows`` by mode ``m`` (NEVER if infeasible)."""
    if mode.kind in (TransportKind.COURIER, TransportKind.VAN_RUN):
        drive = net.drive_seconds(net.road_km[rows, j], mode.speed_kmh)
        np.take(z.road_departure(m), rows, axis=0, out=out)
        out += drive[:, None]
        return out
    if mode.kind is TransportKind.PARCEL:
        idx, days = z.parcel_days(m)
        cal = net.site_cal[j]
        key = (m, cal, id(z))
        if key not in parcel_cache:
            by_day = np.array([_epoch(net.parcel_delivery(cal, mode, d)) for d in days],
                              dtype=np.int64)
            parcel_cache[key] = by_day[idx]  # [depot, instant]
        return np.take(parcel_cache[key], rows, axis=0, out=out)
    ok = np.array([net.air_possible(int(i), j, mode) for i in rows], dtype=bool)
    if not ok.any():
        out.fill(NEVER)
        return out
    last = int(net.drive_seconds(np.array(net.site_hub_road_km[j]), mode.road_speed_kmh))
    np.take(z.air_ready(m, int(net.site_hub[j])), rows, axis=0, out=out)
    out += last
    out[~ok] = NEVER
    return out


def build_reach(scenario: Scenario, network: TravelNetwork | None = None, *,
                year_start: date = DEFAULT_YEAR_START, weeks: int = WEEKS_PER_YEAR,
                step_minutes: int = 60, near: int = NEAR_DEPOTS, depots: int = WEIGHED_DEPOTS,
                progress: Callable[[float], None] | None = None, cluster: Cluster | None = None,
                pieces: int | None = None) -> Reach:
    """Depots reaching every (site, severity, size class) inside the contract window.

    Parameters
    ----------
    scenario, network
        The scenario and its travel network (built here if not given).
    year_start, weeks
        The Monday that starts the planning year (local to each site) and its length in weeks.
    step_minutes
        Sampling step of request instants within a sampled week (60 = hourly).
    near, depots
        Forward locations and, apart, other depots weighed per site besides the HQ: the nearest that
        serve the site.
    progress
        Called with the share of sites done.
    cluster, pieces
        Where to build it (:mod:`optimizer.stocking.cluster`; None: in this process) and in how
        many pieces of consecutive sites (default: one per worker). Sites are independent, so
        the pieces' keys, in site order, make the same reach as one build.
    """
    if year_start.weekday() != 0:
        raise ValueError(f"year_start {year_start} is not a Monday")
    if not 0 < step_minutes <= 24 * 60:
        raise ValueError(f"step_minutes must be in (0, 1440], got {step_minutes}")
    if weeks < 1:
        raise ValueError(f"weeks must be >= 1, got {weeks}")
    net = network if network is not None else TravelNetwork(scenario)
    order = _site_order(net)
    n = pieces if pieces is not None else 1 if cluster is None else workers_of(cluster).n_workers
    n = max(1, min(n, len(order)))
    if n == 1:
        built = _reach_sites(scenario, net, order, year_start, weeks, step_minutes, near, depots,
                             progress)
    else:
        chunks = np.array_split(order, n)
        done = [0]

        def piece_done(i: int) -> None:
            done[0] += len(chunks[i])
            if progress is not None:
                progress(done[0] / len(order))

        tasks = [(scenario, [net.sites[j].site_id for j in chunk], year_start, weeks,
                  step_minutes, near, depots) for chunk in chunks]
        parts = workers_of(cluster).run(_reach_piece, tasks, on_done=piece_done)
        built = tuple([x for part in parts for x in part[k]] for k in range(5))
    keys, entries, patterns, none_due, tails = built
    return Reach(keys, entries, patterns, none_due, year_start, weeks, step_minutes, tails)


def _site_order(net: TravelNetwork) -> list[int]:
    """Site indices grouped by time zone (zones in order of first appearance), each zone's in
    site order: the order in which a reach lists its keys."""
    by_zone: dict[str, list[int]] = defaultdict(list)
    for j, s in enumerate(net.sites):
        by_zone[s.timezone].append(j)
    return [j for js in by_zone.values() for j in js]


def _reach_piece(scenario: Scenario, site_ids: Sequence[str], year_start: date, weeks: int,
                 step_minutes: int, near: int, depots: int) -> tuple[list, ...]:
    """:func:`_reach_sites` of the sites ``site_ids`` (one piece of :func:`build_reach`, run
    where the cluster puts it)."""
    net = TravelNetwork(scenario)
    index = {s.site_id: j for j, s in enumerate(net.sites)}
    return _reach_sites(scenario, net, [index[i] for i in site_ids], year_start, weeks,
                        step_minutes, near, depots, None)


def _reach_sites(scenario: Scenario, net: TravelNetwork, site_js: Sequence[int], year_start: date,
                 weeks: int, step_minutes: int, near: int, depots: int,
                 progress: Callable[[float], None] | None) -> tuple[list, ...]:
    """Keys, entries, patterns, keys without a deadline and tails of the sites ``site_js`` (in
    that order, grouped by time zone), as :class:`Reach` holds them."""
    countries = {d.country for d in scenario.depots} | {s.country for s in scenario.sites}
    week_list = sampled_weeks(year_start, weeks, countries)
    due_cache: dict[tuple[str, str, SeverityTerm], np.ndarray | None] = {}
    parcel_cache: dict = {}
    sizes = list(SizeClass)
    mode_sets = {s: [net.mode_index[m.mode_id] for m in net.allowed_modes(s)] for s in sizes}
    keys: list[ReachKey] = []
    entries: list[tuple[tuple[str, float], ...]] = []
    patterns: list[tuple[Pattern, ...]] = []
    tails: list[tuple[TailEntry, ...]] = []
    none_due: list[tuple[str, int]] = []
    hq = net.depot_index[scenario.hq.depot_id]
    forward = np.array([d.kind in FORWARD_KINDS for d in net.depots])
    done = 0
    # site_js comes grouped by time zone (_site_order or a run of it): one pass per zone
    for tz, zone in groupby(site_js, key=lambda j: net.sites[j].timezone):
        zone_js = list(zone)
        instants, weight = sample_year(tz, week_list, step_minutes)
        z = _ZoneTables(net, instants)
        scratch = _Scratch(near + 1 + int((~forward).sum()), len(instants))
        for j in zone_js:
            site = net.sites[j]
            contract = scenario.contract(site.contract_id)
            weighed, tail = _near_depots(net, j, hq, near, depots, forward)
            rows = np.concatenate([weighed, tail])
            arrivals: dict[int, np.ndarray] = {}
            costs: dict[int, np.ndarray] = {}  # per mode: (rows,) cost of a leg to the site
            timed: dict[tuple[int, ...], tuple[np.ndarray, _RowMedians]] = {}  # per mode set
            ranked: dict[tuple[tuple[int, ...], SeverityTerm], tuple] = {}
            for term in sorted(contract.terms, key=lambda t: t.severity):
                due = _due(due_cache, term, site, z)
                if due is None:
                    none_due.append((site.site_id, term.severity))
                    continue
                for size in sizes:
                    ms = tuple(mode_sets[size])
                    if ms not in timed:
                        for m in ms:
                            if m not in arrivals:
                                arrivals[m] = _arrivals(net, z, j, m, net.modes[m],
                                                        parcel_cache, rows,
                                                        scratch.get(("mode", m), len(rows)))
                                costs[m] = leg_cost(net.modes[m],
                                                    net.leg_road_km(rows, j, net.modes[m]))
                        eta = scratch.get(("eta", ms), len(rows))
                        eta.fill(NEVER)
                        for m in ms:
                            np.minimum(eta, arrivals[m], out=eta)
                        timed[ms] = eta, _RowMedians(eta, z.t, scratch.get("median", len(rows)))
                    eta, typical = timed[ms]
                    keys.append((site.site_id, term.severity, str(size)))
                    if (ms, term) not in ranked:  # sizes moved by the same modes agree
                        legs = [(costs[m], arrivals[m]) for m in ms]
                        ranked[ms, term] = _rank(net, site, rows, eta, due, z.t, weight, typical,
                                                 scratch.get("on", len(rows), float), legs,
                                                 weighed=len(weighed))
                    e, pat, tail = ranked[ms, term]
                    entries.append(e)
                    patterns.append(pat)
                    tails.append(tail)
            done += 1
            if progress is not None:
                progress(done / len(site_js))
    return keys, entries, patterns, none_due, tails


FORWARD_KINDS = frozenset({DepotKind.CONSIGNMENT, DepotKind.CUSTOMER_KIT, DepotKind.TRUNK})
"""Forward locations: counted apart, so that many of them near a site do not push the depots
that hold most parts out of its list (dispatch weighs the nearest sources *with stock*)."""


def _near_depots(net: TravelNetwork, j: int, hq: int, near: int, depots: int,
                 forward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the locations that serve site ``j``, ascending: the weighed ones (the HQ, the
    ``depots`` nearest depots and the ``near`` nearest forward locations by road km;
    ``forward`` (depots,) bool) and the tail (the other depots, not forward locations)."""
    site = net.sites[j]
    ok = np.array([d.serves(site) for d in net.depots])
    km = net.road_km[:, j]
    rows: list[int] = []
    for group, k in ((ok & ~forward, depots), (ok & forward, near)):
        order = np.argsort(np.where(group, km, np.inf), kind="stable")
        rows += [int(i) for i in order[:k] if group[i]]
    if hq not in rows and ok[hq]:
        rows.append(hq)
    rest = ok & ~forward
    rest[rows] = False
    return np.array(sorted(rows), dtype=np.int64), np.nonzero(rest)[0]


def _due(cache: dict, term: SeverityTerm, site: Site, z: _ZoneTables) -> np.ndarray | None:
    """Due epochs of ``term`` at the zone's instants, cached per (site zone, country, term) here
    and across reach builds over the same instants (:data:`_DUE_MEMO`); None: no deadline."""
    key = (site.timezone, site.country, term)
    if key not in cache:
        memo = (*key, z.stamp)
        if memo not in _DUE_MEMO:
            if len(_DUE_MEMO) >= _DUE_MEMO_SIZE:
                _DUE_MEMO.pop(next(iter(_DUE_MEMO)))
            dues = due_instants(term, site, z.instants)
            _DUE_MEMO[memo] = None if dues is None else np.array([_epoch(t) for t in dues],
                                                                 dtype=np.int64)
        cache[key] = _DUE_MEMO[memo]
    return cache[key]


_DUE_MEMO: dict[tuple, np.ndarray | None] = {}
_DUE_MEMO_SIZE = 1024
"""Due epochs kept across reach builds (a network design builds the reach of several networks
over the same sites and year); oldest dropped first."""


def _typical(eta: np.ndarray, t: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(R,) median ETA of each row of ``eta`` (R, T) over the instants ``t`` (seconds after the
    request; NEVER where a depot cannot arrive). ``out``: a work array shaped as ``eta``."""
    work = np.subtract(eta, t[None, :], out=out)
    np.minimum(work, NEVER, out=work)
    return np.median(work, axis=1, overwrite_input=True)


class _RowMedians:
    """:func:`_typical` of ``eta`` (R, T), computed for a row when first asked for (most sites
    have rows that are never on time, whose median is not needed); a row's median does not
    depend on the other rows. ``work``: a scratch array shaped as ``eta``."""

    def __init__(self, eta: np.ndarray, t: np.ndarray, work: np.ndarray) -> None:
        self.eta, self.t, self.work = eta, t, work
        self.values = np.zeros(eta.shape[0])
        self.known = np.zeros(eta.shape[0], dtype=bool)

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        todo = rows[~self.known[rows]]
        if todo.size:
            part = np.take(self.eta, todo, axis=0, out=self.work[:todo.size])
            self.values[todo] = _typical(part, self.t, part)
            self.known[todo] = True
        return self.values[rows]


def _rank(net: TravelNetwork, site: Site, rows: np.ndarray, eta: np.ndarray, due: np.ndarray,
          t: np.ndarray, weight: np.ndarray, typical: np.ndarray | _RowMedians | None = None,
          work: np.ndarray | None = None,
          legs: Sequence[tuple[np.ndarray, np.ndarray]] = (), weighed: int | None = None
          ) -> tuple[tuple[tuple[str, float], ...], tuple[Pattern, ...], tuple[TailEntry, ...]]:
    """Entries ((depot_id, p_on_time) of the depots on time at least once, preferred first),
    the patterns of depots on time together, weighted by ``weight`` (per instant), and the
    tail: the rows from ``weighed`` on (None: none) on time at least once, preferred first,
    each with its on-time share within each pattern's instants (the patterns are over the
    first ``weighed`` rows only).

    Preferred first is the dispatch engine's choice among the sources on time at a moment: the
    cheapest leg, then the earliest arrival, then the depot id. A depot's cost is its
    :func:`on_time_cost` over ``legs`` ((cost (R,), arrivals (R, T)) per transport mode; none:
    all legs cost the same), its arrival its median ETA.
    ``typical``: :func:`_typical` of ``eta`` (or its :class:`_RowMedians`) when already known (it
    does not depend on the deadline, so the terms of a site share it). ``work``: a float array
    shaped as ``eta`` to compute in."""
    on = np.less_equal(eta, due[None, :], out=np.empty(eta.shape) if work is None else work,
                       casting="unsafe")  # 1.0 where on time
    p = on @ weight
    reach = np.nonzero(p > 0)[0]
    if reach.size == 0:
        return (), ((1.0, 0),), ()
    typical = (_typical(eta[reach], t) if typical is None else typical[reach])
    cost = on_time_cost(legs, reach, due, weight, p[reach])
    # cheapest, then by median ETA, then by id (two depots at one address tie on both)
    ids = np.array([net.depots[r].depot_id for r in rows[reach]])
    order = np.lexsort((ids, typical, cost))
    ranked = reach[order]
    tail = ranked[ranked >= weighed] if weighed is not None else ranked[:0]
    ranked = ranked[ranked < weighed] if weighed is not None else ranked
    masks, inverse = _masks(on, ranked)
    w = np.bincount(inverse, weights=weight, minlength=masks.size)
    used = w > 0
    pats = tuple((wk, mk) for wk, mk in zip(w[used].tolist(), masks[used].tolist(), strict=True))
    share = p.tolist()
    tails: tuple[TailEntry, ...] = ()
    if tail.size:
        # on-time weight of each tail row within each pattern's instants, over its weight
        bins = inverse[None, :] + masks.size * np.arange(tail.size)[:, None]
        within = np.bincount(bins.ravel(), weights=(on[tail] * weight).ravel(),
                             minlength=tail.size * masks.size).reshape(tail.size, masks.size)
        within = within[:, used] / w[used]
        tails = tuple((net.depots[rows[r]].depot_id, tuple(within[i].tolist()))
                      for i, r in enumerate(tail.tolist()))
    return (tuple((net.depots[rows[k]].depot_id, share[k]) for k in ranked.tolist()), pats,
            tails)


def on_time_cost(legs: Sequence[tuple[np.ndarray, np.ndarray]], reach: np.ndarray,
                 due: np.ndarray, weight: np.ndarray, share: np.ndarray) -> np.ndarray:
    """(len(reach),) mean cost of the cheapest leg on time from each row of ``reach``, over the
    instants at which one is (weights ``weight``; ``share``: their sum per row, > 0): the cost
    the engine weighs when it picks the cheapest source on time. ``legs``: (cost (R,),
    arrivals (R, T) epochs) per transport mode; zeros without legs."""
    if not legs:
        return np.zeros(reach.size)
    cheapest = np.full((reach.size, due.size), np.inf)
    on = np.empty(cheapest.shape, dtype=bool)
    for cost, arrivals in legs:
        np.less_equal(arrivals[reach], due[None, :], out=on)
        np.minimum(cheapest, cost[reach, None], out=cheapest, where=on)
    cheapest[np.isinf(cheapest)] = 0.0
    # rounded, so that equal costs tie whatever the order of the sums (the ETA decides then)
    return np.round(cheapest @ weight / share, 6)


def _masks(on: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The distinct bitmasks (ascending) of the columns of ``on[rows]`` (K, T) 0/1 (bit k = row
    ``rows[k]``; all rows in order if None), and each column's index among them. Runs of equal
    columns (instants next to each other mostly agree) are looked up once."""
    if rows is None:
        rows = np.arange(on.shape[0])
    K = rows.size
    if K <= 52:  # the sum of distinct powers of two below 2**53 is exact in float64
        coef = np.zeros(on.shape[0])
        coef[rows] = np.exp2(np.arange(K))
        bits = (coef @ on).astype(np.int64)
    else:
        bits = (on[rows].astype(np.int64) << np.arange(K, dtype=np.int64)[:, None]).sum(axis=0)
    change = bits[1:] != bits[:-1]
    run = np.empty(bits.size, dtype=np.int64)
    run[0] = 0
    np.cumsum(change, out=run[1:])
    first = np.flatnonzero(np.concatenate(([True], change)))
    masks, run_index = np.unique(bits[first], return_inverse=True)
    return masks, run_index[run]
