"""Travel-time network and earliest arrival of a part from a depot at a site, by transport mode.

:class:`TravelNetwork` is built once from a :class:`~inventory.domain.Scenario`. Distances come
from vectorised haversine (numpy) times ``settings.circuity_factor`` for road; the networkx graph
(depots, sites, hub airports; road and air edges with km and hours) is kept for inspection and
plotting. :meth:`TravelNetwork.earliest_arrival` answers every ETA question so that dispatch,
reach and the API agree. Rules (see ``docs/windows-and-eta.md``):

- picking starts when the depot is open and takes ``depot.handling_hours`` of open time;
- COURIER leaves as soon as the part is picked and the mode is available (``mode.hours``, depot
  local time) and drives door to door;
- VAN_RUN leaves at the start of the mode's next hours window at/after the part is picked;
- PARCEL ships at ``mode.cutoff`` (depot local) on the depot's next business day at/after picking
  and arrives at ``mode.delivery_time`` on the next business day in the site's calendar;
- AIR (only for depot-site distances >= ``min_distance_km``): courier to the depot's nearest hub,
  ``handling_hours`` there, a flight leaving between the hub's first and last flight (local),
  flight time = air km / ``speed_kmh``, ``handling_hours`` at the arrival hub, courier to the site.

Road time: the first and last ``settings.urban_radius_km`` of a trip run at the urban speed, the
rest at the mode's speed. Travel durations are rounded up to whole seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import networkx as nx
import numpy as np

from inventory.domain import (
    EARTH_RADIUS_KM,
    Depot,
    Part,
    Scenario,
    Site,
    SizeClass,
    TransportKind,
    TransportMode,
    WeeklyHours,
)
from optimizer.calendars import (
    Calendar,
    add_open_hours,
    business_day,
    day_interval,
    describe,
    next_business_day,
    next_open,
    require_aware,
)

WEEKDAYS = WeeklyHours(always=False, days=frozenset(range(5)), start_minute=0, end_minute=1440)
"""Business days of a parcel carrier in the site's calendar: Mon-Fri without public holidays."""


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle km between every row point (``lat1[:, None]``) and column point (broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def leg_cost(mode: TransportMode, road_km: float | np.ndarray) -> float | np.ndarray:
    """Cost of one leg of ``mode`` over ``road_km`` driven (a number or an array): the mode's
    fixed cost plus its cost per km, in the scenario currency."""
    return mode.fixed_cost + mode.cost_per_km * road_km


@dataclass(frozen=True)
class Leg:
    """One feasible delivery: when it leaves the depot and arrives on site, distance and cost.

    ``road_km`` is the distance driven (for AIR, the two courier legs), ``air_km`` the flight
    distance, ``cost = fixed_cost + cost_per_km * road_km`` in the scenario currency. The
    explanation text is formatted only when read (:attr:`legs`, :attr:`explanation`): most legs
    a decision or a reach computation weighs are never shown.
    """

    mode_id: str
    depot_id: str
    site_id: str
    departs_at: datetime
    arrives_at: datetime
    road_km: float
    air_km: float
    cost: float
    render: Callable[[], tuple[str, ...]] = field(repr=False, compare=False)
    """Formats :attr:`legs` (kept as a closure over the instants and distances above)."""

    @property
    def hours(self) -> float:
        """Hours from departure to arrival."""
        return (self.arrives_at - self.departs_at) / timedelta(hours=1)

    @property
    def legs(self) -> tuple[str, ...]:
        """The steps in words: picking at the depot, then the transport."""
        return self.render()

    @property
    def explanation(self) -> str:
        return "; ".join(self.render())


def _ceil_seconds(hours: float) -> timedelta:
    return timedelta(seconds=math.ceil(hours * 3600 - 1e-6))


def _once(make: Callable[[], str]) -> Callable[[], str]:
    """``make`` called on the first use only, its text kept for the next."""
    memo: list[str] = []

    def get() -> str:
        if not memo:
            memo.append(make())
        return memo[0]

    return get


def _at_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """Local wall time ``clock`` on ``day`` in ``zone`` as a UTC instant."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


class TravelNetwork:
    """Distances, hubs and the ETA rules of a scenario's depot-to-site deliveries."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        st = scenario.settings
        self.depots: tuple[Depot, ...] = scenario.depots
        self.sites: tuple[Site, ...] = scenario.sites
        self.hubs = scenario.hubs
        self.modes: tuple[TransportMode, ...] = scenario.transport_modes
        self.depot_index = {d.depot_id: i for i, d in enumerate(self.depots)}
        self.site_index = {s.site_id: i for i, s in enumerate(self.sites)}
        self.mode_index = {m.mode_id: i for i, m in enumerate(self.modes)}
        self._serving: dict[str, tuple[Depot, ...]] = {}
        self.depot_cal = [Calendar(d.timezone, d.country) for d in self.depots]
        self.site_cal = [Calendar(s.timezone, s.country) for s in self.sites]
        dlat = np.array([d.lat for d in self.depots])
        dlon = np.array([d.lon for d in self.depots])
        slat = np.array([s.lat for s in self.sites])
        slon = np.array([s.lon for s in self.sites])
        self.gc_km = haversine_km(dlat[:, None], dlon[:, None], slat[None, :], slon[None, :])
        """Great-circle km, depots x sites."""
        self.road_km = self.gc_km * st.circuity_factor
        """Road km, depots x sites."""
        if self.hubs:
            hlat = np.array([h.lat for h in self.hubs])
            hlon = np.array([h.lon for h in self.hubs])
            d_h = haversine_km(dlat[:, None], dlon[:, None], hlat[None, :], hlon[None, :])
            s_h = haversine_km(slat[:, None], slon[:, None], hlat[None, :], hlon[None, :])
            self.depot_hub = d_h.argmin(axis=1)
            self.site_hub = s_h.argmin(axis=1)
            self.depot_hub_road_km = d_h.min(axis=1) * st.circuity_factor
            self.site_hub_road_km = s_h.min(axis=1) * st.circuity_factor
            self.hub_air_km = haversine_km(hlat[:, None], hlon[:, None], hlat[None, :], hlon[None, :])
        else:
            self.depot_hub = self.site_hub = np.zeros(0, dtype=int)
        self.hub_zone = [ZoneInfo(h.timezone) for h in self.hubs]
        self.graph = self._build_graph()

    # --- construction -------------------------------------------------------------------------
    def _build_graph(self) -> nx.Graph:
        """Nodes: depots, sites, hubs; edges: depot-site road, depot/site-nearest-hub road, hub-hub air."""
        g = nx.Graph()
        g.add_nodes_from((("depot", d.depot_id) for d in self.depots), kind="depot")
        g.add_nodes_from((("site", s.site_id) for s in self.sites), kind="site")
        g.add_nodes_from((("hub", h.hub_id) for h in self.hubs), kind="hub")
        di, si = np.nonzero(self.road_km <= self.scenario.settings.max_service_radius_km * 1.5)
        g.add_edges_from(
            (("depot", self.depots[i].depot_id), ("site", self.sites[j].site_id),
             {"kind": "road", "km": float(self.road_km[i, j])}) for i, j in zip(di, si, strict=True))
        for i, h in enumerate(self.depot_hub):
            g.add_edge(("depot", self.depots[i].depot_id), ("hub", self.hubs[h].hub_id), kind="road",
                       km=float(self.depot_hub_road_km[i]))
        for j, h in enumerate(self.site_hub):
            g.add_edge(("site", self.sites[j].site_id), ("hub", self.hubs[h].hub_id), kind="road",
                       km=float(self.site_hub_road_km[j]))
        for a in range(len(self.hubs)):
            for b in range(a + 1, len(self.hubs)):
                g.add_edge(("hub", self.hubs[a].hub_id), ("hub", self.hubs[b].hub_id), kind="air",
                           km=float(self.hub_air_km[a, b]))
        return g

    # --- building blocks (also used by optimizer.reach) ----------------------------------------
    def drive_hours(self, km: float | np.ndarray, speed_kmh: float) -> float | np.ndarray:
        """Driving hours for road ``km``: up to ``urban_radius_km`` at each end at urban speed."""
        st = self.scenario.settings
        urban_speed = min(st.urban_speed_kmh, speed_kmh) if st.urban_speed_kmh > 0 else speed_kmh
        urban = np.minimum(km, 2 * st.urban_radius_km)
        return urban / urban_speed + (km - urban) / speed_kmh

    def stop_matrices(self, depot_id: str, site_ids: list[str] | tuple[str, ...],
                      speed_kmh: float) -> tuple[np.ndarray, np.ndarray]:
        """(road km, driving hours) between the depot (row/column 0) and ``site_ids`` (rows and
        columns 1..n, in order) for a multi-stop run at ``speed_kmh``: great-circle km times
        the circuity factor, driving time by :meth:`drive_hours`; zero diagonal."""
        depot = self.depots[self.depot_index[depot_id]]
        sites = [self.sites[self.site_index[s]] for s in site_ids]
        lat = np.array([depot.lat, *(s.lat for s in sites)])
        lon = np.array([depot.lon, *(s.lon for s in sites)])
        km = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        km = km * self.scenario.settings.circuity_factor
        np.fill_diagonal(km, 0.0)
        return km, np.asarray(self.drive_hours(km, speed_kmh), dtype=float)

    def drive_seconds_one(self, km: float, speed_kmh: float) -> int:
        """:meth:`drive_seconds` of one distance in plain floats (the same IEEE arithmetic,
        without numpy's per-call cost on a scalar)."""
        st = self.scenario.settings
        urban_speed = min(st.urban_speed_kmh, speed_kmh) if st.urban_speed_kmh > 0 else speed_kmh
        urban = min(km, 2 * st.urban_radius_km)
        return math.ceil((urban / urban_speed + (km - urban) / speed_kmh) * 3600 - 1e-6)

    def serving_depots(self, site_id: str) -> tuple[Depot, ...]:
        """The depots that may ship to ``site_id`` (:meth:`Depot.serves`), in scenario order;
        computed once per site (the scenario does not change under a network)."""
        found = self._serving.get(site_id)
        if found is None:
            site = self.sites[self.site_index[site_id]]
            found = self._serving[site_id] = tuple(d for d in self.depots if d.serves(site))
        return found

    def drive_seconds(self, km: np.ndarray, speed_kmh: float) -> np.ndarray:
        """Driving time rounded up to whole seconds (int64), as :meth:`earliest_arrival` uses it."""
        return np.ceil(np.asarray(self.drive_hours(km, speed_kmh)) * 3600 - 1e-6).astype(np.int64)

    def picked_at(self, depot_i: int, ready_at: datetime) -> datetime:
        """When the part is picked and packed: handling runs only while the depot is open."""
        d, cal = self.depots[depot_i], self.depot_cal[depot_i]
        return add_open_hours(d.hours, cal, next_open(d.hours, cal, ready_at), d.handling_hours)

    def departure(self, depot_i: int, mode: TransportMode, picked: datetime) -> datetime:
        """When ``mode`` leaves the depot with a part picked at ``picked`` (COURIER, VAN_RUN, AIR)."""
        cal = self.depot_cal[depot_i]
        if mode.kind is TransportKind.VAN_RUN and not mode.hours.always:
            t = picked
            for _ in range(400):
                start = next_open(mode.hours, cal, t)
                local = start.astimezone(cal.zone)
                iv = day_interval(mode.hours, cal, local.date())
                if iv is not None and start == iv[0]:
                    return start
                t = _at_local(local.date() + timedelta(days=1), time(0), cal.zone)
            raise ValueError(f"mode {mode.mode_id}: no van window within 400 days of {picked}")
        return next_open(mode.hours, cal, picked)

    def parcel_ship(self, depot_i: int, mode: TransportMode, picked: datetime) -> datetime:
        """The parcel pick-up: ``mode.cutoff`` local on the first shipping day with cut-off >= picked.

        Shipping days are the mode's hours if not 24x7, else the depot's, else Mon-Fri; public
        holidays of the depot's country excluded.
        """
        cal = self.depot_cal[depot_i]
        ship_days = self.parcel_ship_days(depot_i, mode)
        day = picked.astimezone(cal.zone).date()
        for _ in range(400):
            if business_day(cal, day, ship_days):
                ship = _at_local(day, mode.cutoff, cal.zone)  # type: ignore[arg-type]
                if ship >= picked:
                    return ship
            day += timedelta(days=1)
        raise ValueError(f"depot {self.depots[depot_i].depot_id}: no parcel pick-up within 400 days")

    def parcel_ship_days(self, depot_i: int, mode: TransportMode) -> WeeklyHours:
        """The days a PARCEL ``mode`` picks up at depot ``depot_i``: the mode's hours if not 24x7,
        else the depot's, else Mon-Fri (:meth:`parcel_ship`)."""
        return next((h for h in (mode.hours, self.depots[depot_i].hours) if not h.always), WEEKDAYS)

    def parcel_delivery(self, site_cal: Calendar, mode: TransportMode, ship_local_day: date) -> datetime:
        """Delivery at ``mode.delivery_time`` on the next business day after the ship day at the site."""
        day = next_business_day(site_cal, ship_local_day, WEEKDAYS)
        return _at_local(day, mode.delivery_time, site_cal.zone)  # type: ignore[arg-type]

    def next_flight(self, hub_i: int, at: datetime) -> datetime:
        """First departure instant at/after ``at`` within the hub's local flight hours."""
        hub, zone = self.hubs[hub_i], self.hub_zone[hub_i]
        local = at.astimezone(zone)
        first = datetime.combine(local.date(), hub.first_flight, tzinfo=zone).astimezone(UTC)
        last = datetime.combine(local.date(), hub.last_flight, tzinfo=zone).astimezone(UTC)
        if at <= first:
            return first
        if at <= last:
            return at
        nxt = datetime.combine(local.date() + timedelta(days=1), hub.first_flight, tzinfo=zone)
        return nxt.astimezone(UTC)

    def air_possible(self, depot_i: int, site_j: int, mode: TransportMode) -> bool:
        """Air needs hubs, a distance >= ``min_distance_km`` and two different hubs."""
        return (len(self.hubs) > 0 and self.gc_km[depot_i, site_j] >= mode.min_distance_km
                and self.depot_hub[depot_i] != self.site_hub[site_j])

    def air_hub_arrival(self, depot_i: int, dest_hub: int, mode: TransportMode,
                        departs: datetime) -> tuple[datetime, datetime]:
        """(flight departure, part ready at ``dest_hub`` after handling) for a courier leaving at ``departs``.

        The courier drives to the depot's nearest hub; the flight leaves after ``handling_hours``.
        """
        oh = int(self.depot_hub[depot_i])
        at_hub = departs + _ceil_seconds(self.drive_hours(float(self.depot_hub_road_km[depot_i]),
                                                          mode.road_speed_kmh))
        flight = self.next_flight(oh, at_hub + _ceil_seconds(mode.handling_hours))
        landed = flight + _ceil_seconds(float(self.hub_air_km[oh, dest_hub]) / mode.speed_kmh)
        return flight, landed + _ceil_seconds(mode.handling_hours)

    # --- the ETA question ---------------------------------------------------------------------
    def earliest_arrival(self, depot_id: str, site_id: str, mode_id: str,
                         ready_at: datetime) -> Leg | None:
        """Earliest delivery from ``depot_id`` to ``site_id`` by ``mode_id``, or None if infeasible.

        ``ready_at`` (aware) is when the request reaches the depot. Size classes are not checked
        here (see :meth:`options`).
        """
        ready = require_aware(ready_at, "ready_at")
        try:
            i, j = self.depot_index[depot_id], self.site_index[site_id]
            mode = self.modes[self.mode_index[mode_id]]
        except KeyError as exc:
            raise KeyError(f"unknown depot, site or transport mode: {exc.args[0]!r}") from None
        return self._arrival(i, j, mode, self.picked_at(i, ready))

    def _picked_note(self, i: int, picked: datetime) -> str:
        depot = self.depots[i]
        return (f"picked at {depot.depot_id} by "
                f"{picked.astimezone(self.depot_cal[i].zone):%a %Y-%m-%d %H:%M} {depot.timezone} "
                f"({depot.handling_hours:g} h handling in opening hours {describe(depot.hours)})")

    def _arrival(self, i: int, j: int, mode: TransportMode, picked: datetime,
                 picked_note: Callable[[], str] | None = None) -> Leg | None:
        """:meth:`earliest_arrival` from depot ``i`` to site ``j`` for a part picked at
        ``picked``; the explanation is a closure, formatted only when read (``picked_note``: the
        picking sentence, shared by the legs of one depot)."""
        if picked_note is None:
            picked_note = _once(lambda: self._picked_note(i, picked))
        depot, site = self.depots[i], self.sites[j]
        zone = self.depot_cal[i].zone
        road = float(self.road_km[i, j])
        if mode.kind in (TransportKind.COURIER, TransportKind.VAN_RUN):
            dep = self.departure(i, mode, picked)
            arr = dep + timedelta(seconds=self.drive_seconds_one(road, mode.speed_kmh))

            def drive() -> tuple[str, ...]:
                return (picked_note(),
                        f"{mode.name} ({mode.kind.value}) leaves {dep.astimezone(zone):%a %H:%M} "
                        f"and drives {road:.0f} km at up to {mode.speed_kmh:g} km/h")

            return Leg(mode.mode_id, depot.depot_id, site.site_id, dep, arr, road, 0.0,
                       leg_cost(mode, road), drive)
        if mode.kind is TransportKind.PARCEL:
            ship = self.parcel_ship(i, mode, picked)
            arr = self.parcel_delivery(self.site_cal[j], mode, ship.astimezone(zone).date())

            def parcel() -> tuple[str, ...]:
                return (picked_note(),
                        f"{mode.name} (parcel) picked up at the {mode.cutoff:%H:%M} cut-off "
                        f"{ship.astimezone(zone):%a %Y-%m-%d}, delivered "
                        f"{arr.astimezone(self.site_cal[j].zone):%a %Y-%m-%d %H:%M} "
                        f"{site.timezone}")

            return Leg(mode.mode_id, depot.depot_id, site.site_id, ship, arr, road, 0.0,
                       leg_cost(mode, road), parcel)
        if not self.air_possible(i, j, mode):
            return None
        dep = self.departure(i, mode, picked)
        dh = int(self.site_hub[j])
        flight, ready_dest = self.air_hub_arrival(i, dh, mode, dep)
        last_km = float(self.site_hub_road_km[j])
        arr = ready_dest + _ceil_seconds(self.drive_hours(last_km, mode.road_speed_kmh))
        oh = int(self.depot_hub[i])
        road_legs = float(self.depot_hub_road_km[i]) + last_km
        air_km = float(self.hub_air_km[oh, dh])

        def air() -> tuple[str, ...]:
            return (picked_note(),
                    f"courier {self.depot_hub_road_km[i]:.0f} km to {self.hubs[oh].hub_id}, "
                    f"flight {flight.astimezone(self.hub_zone[oh]):%a %H:%M} {air_km:.0f} km to "
                    f"{self.hubs[dh].hub_id}, {mode.handling_hours:g} h handling at each hub, "
                    f"courier {last_km:.0f} km to site")

        return Leg(mode.mode_id, depot.depot_id, site.site_id, dep, arr, road_legs, air_km,
                   leg_cost(mode, road_legs), air)

    def leg_road_km(self, rows: np.ndarray, j: int, mode: TransportMode) -> np.ndarray:
        """(len(rows),) km driven on a leg of ``mode`` from the depots ``rows`` to site ``j``:
        to the site, or for AIR to the depot's hub and from the site's hub (as :meth:`options`
        counts them)."""
        if mode.kind is TransportKind.AIR:
            return self.depot_hub_road_km[rows] + float(self.site_hub_road_km[j])
        return np.asarray(self.road_km[rows, j], dtype=float)

    def allowed_modes(self, size_class: SizeClass) -> list[TransportMode]:
        """Transport modes that accept parts of ``size_class``."""
        return [m for m in self.modes if size_class in m.size_classes]

    def options(self, depot_id: str, site_id: str, part: Part, ready_at: datetime) -> list[Leg]:
        """All feasible legs for ``part`` (modes accepting its size class), earliest arrival first
        (each as :meth:`earliest_arrival` answers it; the picking time is computed once)."""
        ready = require_aware(ready_at, "ready_at")
        try:
            i, j = self.depot_index[depot_id], self.site_index[site_id]
        except KeyError as exc:
            raise KeyError(f"unknown depot or site: {exc.args[0]!r}") from None
        modes = self.allowed_modes(part.size_class)
        if not modes:
            return []
        picked = self.picked_at(i, ready)
        note = _once(lambda: self._picked_note(i, picked))
        legs = [self._arrival(i, j, m, picked, note) for m in modes]
        return sorted((leg for leg in legs if leg is not None), key=lambda g: (g.arrives_at, g.cost))
