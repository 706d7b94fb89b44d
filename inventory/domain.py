"""Domain records of the spare-parts network: plain, immutable dataclasses validated at construction.

These records carry no database or web concerns; the optimizer takes them as plain data, the
persistence layer maps them to tables, and the scenario loader builds them from CSV rows.
Every constructor error is a :class:`DomainError` naming the record, its id and the field.

Units are in the field names: ``_hours``, ``_days``, ``_km``, ``_kmh``; money is in the scenario's
currency; rates are per year.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class DomainError(ValueError):
    """A record violates a rule; names the record type, its id and the offending field."""

    def __init__(self, record: str, record_id: str, field_name: str, message: str) -> None:
        self.record = record
        self.record_id = record_id
        self.field = field_name
        self.message = message
        super().__init__(f"{record} {record_id!r}: field {field_name!r}: {message}")


class DepotKind(StrEnum):
    """What a stocking location is. The last three are forward locations (usually candidates):

    CONSIGNMENT: a service partner's warehouse near the customers holding consigned stock;
    CUSTOMER_KIT: a spares kit on a customer's own premises (serves that customer's sites only);
    TRUNK: an engineer's trunk stock (usually business hours, parked near a city's customers).
    """

    HQ = "hq"
    REGIONAL = "regional"
    PARTNER = "partner"
    CONSIGNMENT = "consignment"
    CUSTOMER_KIT = "customer_kit"
    TRUNK = "trunk"


class SizeClass(StrEnum):
    """Physical class of an FRU, deciding which transport modes may carry it."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class Lifecycle(StrEnum):
    ACTIVE = "active"
    PHASE_OUT = "phase_out"
    END_OF_LIFE = "end_of_life"


class SubstitutionKind(StrEnum):
    """ONE_WAY: the substitute (newer) may replace the part, not back. TWO_WAY: interchangeable."""

    ONE_WAY = "one_way"
    TWO_WAY = "two_way"


class Milestone(StrEnum):
    """What a contract window measures."""

    PART_ON_SITE = "part_on_site"
    ENGINEER_ON_SITE = "engineer_on_site"
    RESPONSE = "response"


class ClockStart(StrEnum):
    """The event that starts a contract window's clock."""

    TICKET_OPENED = "ticket_opened"
    FAULT_CONFIRMED = "fault_confirmed"
    DISPATCH_APPROVED = "dispatch_approved"


class WindowKind(StrEnum):
    """HOURS: ``window_value`` hours of covered time (the clock pauses outside coverage).

    BUSINESS_DAYS: by the end of coverage on the ``window_value``-th business day after the
    request day (1 = next business day); a request after the cut-off counts from the next
    business day.
    """

    HOURS = "hours"
    BUSINESS_DAYS = "business_days"


class TransportKind(StrEnum):
    COURIER = "courier"  # dedicated car/courier, door to door by road
    PARCEL = "parcel"  # scheduled carrier: cut-off, delivery next business day
    AIR = "air"  # air between hub airports plus courier at both ends
    VAN_RUN = "van_run"  # the depot's own multi-stop delivery runs


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(
    r"^(?P<d1>mon|tue|wed|thu|fri|sat|sun)(?:-(?P<d2>mon|tue|wed|thu|fri|sat|sun))?"
    r"\s+(?P<h1>\d{2}):(?P<m1>\d{2})-(?P<h2>\d{2}):(?P<m2>\d{2})$"
)


@dataclass(frozen=True)
class WeeklyHours:
    """Recurring weekly hours in local time: the days open and one daily interval.

    ``always`` is around the clock every day, holidays included ("24x7"). Otherwise the interval
    ``[start_minute, end_minute)`` (minutes after local midnight, end up to 1440) applies on
    ``days`` (0 = Monday) and not on the public holidays of the calendar that applies (the
    depot's or the site's country). Text form: ``24x7`` or ``mon-fri 08:00-18:00``.
    """

    always: bool = True
    days: frozenset[int] = frozenset(range(7))
    start_minute: int = 0
    end_minute: int = 1440

    def __post_init__(self) -> None:
        if self.always:
            return
        if not self.days or not all(0 <= d <= 6 for d in self.days):
            raise ValueError("days must be a non-empty set of weekday numbers 0-6")
        if not 0 <= self.start_minute < self.end_minute <= 1440:
            raise ValueError("need 00:00 <= start < end <= 24:00")

    @classmethod
    def parse(cls, text: str) -> WeeklyHours:
        """Parse ``24x7`` / ``7x24`` or ``mon-fri 08:00-18:00``; raise ValueError otherwise."""
        t = text.strip().lower()
        if t in ("24x7", "7x24"):
            return cls()
        m = _HOURS_RE.match(t)
        if not m:
            raise ValueError(f"hours {text!r} are not '24x7' or like 'mon-fri 08:00-18:00'")
        d1 = _DAY_NAMES.index(m["d1"])
        d2 = _DAY_NAMES.index(m["d2"]) if m["d2"] else d1
        if d2 < d1:
            raise ValueError(f"hours {text!r}: day range must run forward within a week")
        start = int(m["h1"]) * 60 + int(m["m1"])
        end = int(m["h2"]) * 60 + int(m["m2"])
        return cls(always=False, days=frozenset(range(d1, d2 + 1)), start_minute=start,
                   end_minute=end)

    def format(self) -> str:
        if self.always:
            return "24x7"
        lo, hi = min(self.days), max(self.days)
        if set(range(lo, hi + 1)) != set(self.days):
            raise ValueError("only contiguous day ranges have a text form")
        days = _DAY_NAMES[lo] if lo == hi else f"{_DAY_NAMES[lo]}-{_DAY_NAMES[hi]}"
        s, e = self.start_minute, self.end_minute
        return f"{days} {s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"

    @property
    def hours_per_week(self) -> float:
        if self.always:
            return 168.0
        return len(self.days) * (self.end_minute - self.start_minute) / 60.0


def parse_clock(text: str) -> time:
    """Parse a local wall-clock time ``HH:MM``."""
    m = re.fullmatch(r"(\d{2}):(\d{2})", text.strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(f"time {text!r} is not HH:MM")
    return time(int(m[1]), int(m[2]))


def _check_tz(record: str, rid: str, tz: str) -> None:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DomainError(record, rid, "timezone", f"unknown IANA time zone {tz!r}") from exc


def _check_latlon(record: str, rid: str, lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise DomainError(record, rid, "lat", f"latitude {lat} outside [-90, 90]")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise DomainError(record, rid, "lon", f"longitude {lon} outside [-180, 180]")


def _check_nonneg(record: str, rid: str, name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise DomainError(record, rid, name, f"must be a finite number >= 0, got {value}")


def _check_id(record: str, rid: str, name: str = "id") -> None:
    if not isinstance(rid, str) or not rid.strip() or rid != rid.strip():
        raise DomainError(record, str(rid), name, "must be a non-empty id without surrounding spaces")


@dataclass(frozen=True)
class Part:
    """A field-replaceable unit (FRU) as the catalog knows it."""

    part_id: str
    name: str
    unit_cost: float
    repairable: bool
    repair_turnaround_days: float
    repair_yield: float
    procurement_lead_time_days: float
    size_class: SizeClass
    annual_failure_rate: float
    lifecycle: Lifecycle = Lifecycle.ACTIVE

    def __post_init__(self) -> None:
        r, pid = "part", self.part_id
        _check_id(r, pid, "part_id")
        if not (math.isfinite(self.unit_cost) and self.unit_cost > 0):
            raise DomainError(r, pid, "unit_cost", f"must be > 0, got {self.unit_cost}")
        _check_nonneg(r, pid, "repair_turnaround_days", self.repair_turnaround_days)
        _check_nonneg(r, pid, "procurement_lead_time_days", self.procurement_lead_time_days)
        _check_nonneg(r, pid, "annual_failure_rate", self.annual_failure_rate)
        if not 0 <= self.repair_yield <= 1:
            raise DomainError(r, pid, "repair_yield", f"must be in [0, 1], got {self.repair_yield}")
        if self.repairable and self.repair_yield == 0:
            raise DomainError(r, pid, "repair_yield", "a repairable part needs a yield > 0")


@dataclass(frozen=True)
class Substitution:
    """``substitute_id`` may be shipped when ``part_id`` is requested (and back if TWO_WAY)."""

    part_id: str
    substitute_id: str
    kind: SubstitutionKind = SubstitutionKind.ONE_WAY

    def __post_init__(self) -> None:
        if self.part_id == self.substitute_id:
            raise DomainError("substitution", self.part_id, "substitute_id",
                              "a part cannot substitute itself")


@dataclass(frozen=True)
class Depot:
    """A stocking location: the HQ spare-parts center, a regional, partner or forward depot.

    ``replenishment_lead_time_days`` is the transit time of a resupply from ``parent_id``;
    ``handling_hours`` is the pick-and-pack time before a part can leave for a customer.
    ``customer`` restricts the location to the sites of that customer (customer kits; None: any
    site) and ``site_ids``, when not empty, to those sites. ``closable`` marks an existing
    location the network design may close, saving its ``annual_fixed_cost`` (currency per year).
    ``capacity_units`` / ``capacity_value`` cap the stock it may hold (units over all parts /
    currency; None: no cap).
    """

    depot_id: str
    name: str
    kind: DepotKind
    lat: float
    lon: float
    timezone: str
    country: str
    hours: WeeklyHours
    parent_id: str | None
    replenishment_lead_time_days: float
    handling_hours: float = 0.5
    customer: str | None = None
    closable: bool = False
    annual_fixed_cost: float = 0.0
    capacity_units: int | None = None
    capacity_value: float | None = None
    site_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        r, did = "depot", self.depot_id
        _check_id(r, did, "depot_id")
        _check_latlon(r, did, self.lat, self.lon)
        _check_tz(r, did, self.timezone)
        _check_nonneg(r, did, "replenishment_lead_time_days", self.replenishment_lead_time_days)
        _check_nonneg(r, did, "handling_hours", self.handling_hours)
        if self.kind is DepotKind.HQ and self.parent_id:
            raise DomainError(r, did, "parent_id", "the HQ has no parent")
        if self.kind is not DepotKind.HQ and not self.parent_id:
            raise DomainError(r, did, "parent_id", "every depot but the HQ needs a parent")
        if self.parent_id == did:
            raise DomainError(r, did, "parent_id", "a depot cannot be its own parent")
        _check_nonneg(r, did, "annual_fixed_cost", self.annual_fixed_cost)
        if self.kind is DepotKind.CUSTOMER_KIT and not self.customer:
            raise DomainError(r, did, "customer", "a customer kit names the customer it serves")
        if self.kind is DepotKind.HQ and self.closable:
            raise DomainError(r, did, "closable", "the HQ cannot be closed")
        if self.capacity_units is not None and (not isinstance(self.capacity_units, int)
                                                or self.capacity_units < 0):
            raise DomainError(r, did, "capacity_units",
                              f"must be a whole number >= 0, got {self.capacity_units}")
        if self.capacity_value is not None:
            _check_nonneg(r, did, "capacity_value", self.capacity_value)

    def serves(self, site: Site) -> bool:
        """Whether this location may ship to ``site`` (a customer kit: only its customer's)."""
        return ((self.customer is None or self.customer == site.customer)
                and (not self.site_ids or site.site_id in self.site_ids))


@dataclass(frozen=True)
class Candidate:
    """A stocking location the network design may open (see docs/scenario-format.md).

    The location fields mean what they mean on :class:`Depot`; ``annual_fixed_cost`` is paid per
    year while open (rent, partner fee, kit service), ``opening_cost`` once when opened (spread
    over ``Settings.design_years`` in the yearly objective). Opened, it becomes a :class:`Depot`
    with the same id (:meth:`as_depot`).
    """

    candidate_id: str
    name: str
    kind: DepotKind
    lat: float
    lon: float
    timezone: str
    country: str
    hours: WeeklyHours
    parent_id: str
    replenishment_lead_time_days: float
    handling_hours: float
    annual_fixed_cost: float
    opening_cost: float = 0.0
    capacity_units: int | None = None
    capacity_value: float | None = None
    customer: str | None = None
    site_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        r, cid = "candidate", self.candidate_id
        _check_id(r, cid, "candidate_id")
        if self.kind is DepotKind.HQ:
            raise DomainError(r, cid, "kind", "a candidate cannot be an HQ")
        _check_nonneg(r, cid, "annual_fixed_cost", self.annual_fixed_cost)
        _check_nonneg(r, cid, "opening_cost", self.opening_cost)
        if not self.parent_id:
            raise DomainError(r, cid, "parent_id", "a candidate needs the depot that refills it")
        if self.kind is DepotKind.CUSTOMER_KIT and not self.customer:
            raise DomainError(r, cid, "customer", "a customer kit names the customer it serves")
        self.as_depot()  # position, zone, lead times, capacities: the Depot's own checks

    def as_depot(self) -> Depot:
        """The open location as a depot (same id); errors are re-labelled as the candidate's."""
        try:
            return Depot(self.candidate_id, self.name, self.kind, self.lat, self.lon,
                         self.timezone, self.country, self.hours, self.parent_id,
                         self.replenishment_lead_time_days, self.handling_hours,
                         customer=self.customer, annual_fixed_cost=self.annual_fixed_cost,
                         capacity_units=self.capacity_units, capacity_value=self.capacity_value,
                         site_ids=self.site_ids)
        except DomainError as exc:
            raise DomainError("candidate", self.candidate_id, exc.field, exc.message) from None


@dataclass(frozen=True)
class Site:
    """A customer site. ``primary_depot_id`` is the depot that normally serves it."""

    site_id: str
    name: str
    customer: str
    lat: float
    lon: float
    timezone: str
    country: str
    contract_id: str
    primary_depot_id: str

    def __post_init__(self) -> None:
        r, sid = "site", self.site_id
        _check_id(r, sid, "site_id")
        _check_latlon(r, sid, self.lat, self.lon)
        _check_tz(r, sid, self.timezone)
        if not self.primary_depot_id:
            raise DomainError(r, sid, "primary_depot_id", "every site needs a primary depot")


@dataclass(frozen=True)
class InstalledBase:
    """``quantity`` units of ``part_id`` installed (in service) at ``site_id``.

    ``demand_factor`` multiplies the part's failure rate at this site: 1 as loaded; a what-if
    overlay's regional demand scaling sets it (:mod:`scenarios.overlay`). The rate of the row is
    :attr:`rate_per_year`.
    """

    site_id: str
    part_id: str
    quantity: int
    demand_factor: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.quantity, int) or self.quantity <= 0:
            raise DomainError("installed_base", f"{self.site_id}/{self.part_id}", "quantity",
                              f"must be a whole number > 0, got {self.quantity}")
        if not (math.isfinite(self.demand_factor) and self.demand_factor > 0):
            raise DomainError("installed_base", f"{self.site_id}/{self.part_id}", "demand_factor",
                              f"must be a finite number > 0, got {self.demand_factor}")

    def rate_per_year(self, part: Part) -> float:
        """Failures per year of these units: quantity x the part's rate x ``demand_factor``."""
        return self.quantity * part.annual_failure_rate * self.demand_factor


@dataclass(frozen=True)
class SeverityTerm:
    """The promise a contract makes for one fault severity, with its full window dialect."""

    severity: int
    window_kind: WindowKind
    window_value: float
    target: float
    milestone: Milestone
    clock_start: ClockStart
    coverage: WeeklyHours
    cutoff: time | None = None

    def check(self, contract_id: str) -> None:
        rid = f"{contract_id}/sev{self.severity}"
        if self.severity not in (1, 2, 3, 4):
            raise DomainError("contract_term", rid, "severity", "must be 1, 2, 3 or 4")
        if not (math.isfinite(self.window_value) and self.window_value > 0):
            raise DomainError("contract_term", rid, "window_value",
                              f"must be > 0, got {self.window_value}")
        if self.window_kind is WindowKind.BUSINESS_DAYS and self.window_value != int(
                self.window_value):
            raise DomainError("contract_term", rid, "window_value",
                              "business-day windows are whole days")
        if not (0 < self.target <= 1):
            raise DomainError("contract_term", rid, "target",
                              f"on-time target must be in (0, 1], got {self.target}")
        if self.window_kind is WindowKind.BUSINESS_DAYS and self.coverage.always:
            raise DomainError("contract_term", rid, "coverage",
                              "a business-day window needs business-hours coverage")

    @property
    def nominal_hours(self) -> float:
        """A rough elapsed-hours size of the window, for sorting and reporting only."""
        if self.window_kind is WindowKind.HOURS:
            return self.window_value * 168.0 / self.coverage.hours_per_week
        return 24.0 * self.window_value


@dataclass(frozen=True)
class Contract:
    """A service product: a tier and one :class:`SeverityTerm` per severity 1-4."""

    contract_id: str
    name: str
    tier: str
    terms: tuple[SeverityTerm, ...]

    def __post_init__(self) -> None:
        _check_id("contract", self.contract_id, "contract_id")
        if not self.tier:
            raise DomainError("contract", self.contract_id, "tier", "must not be empty")
        seen = [t.severity for t in self.terms]
        if sorted(seen) != sorted(set(seen)):
            raise DomainError("contract", self.contract_id, "terms", "duplicate severity")
        if not self.terms:
            raise DomainError("contract", self.contract_id, "terms", "needs at least one severity")
        for term in self.terms:
            term.check(self.contract_id)

    def term(self, severity: int) -> SeverityTerm:
        for t in self.terms:
            if t.severity == severity:
                return t
        raise KeyError(f"contract {self.contract_id!r} has no terms for severity {severity}")


@dataclass(frozen=True)
class TransportMode:
    """A way to move a part from a depot to a site.

    COURIER/VAN_RUN move by road at ``speed_kmh``; PARCEL leaves at the daily ``cutoff`` (local to
    the depot) and delivers at ``delivery_time`` of the next business day at the site; AIR flies
    between the hubs nearest each end at ``speed_kmh`` with courier legs at ``road_speed_kmh`` and
    ``handling_hours`` at each hub, only for distances >= ``min_distance_km``.
    Cost of one trip: ``fixed_cost + cost_per_km * road_km``.
    """

    mode_id: str
    name: str
    kind: TransportKind
    speed_kmh: float
    fixed_cost: float
    cost_per_km: float
    hours: WeeklyHours
    size_classes: frozenset[SizeClass]
    cutoff: time | None = None
    delivery_time: time | None = None
    min_distance_km: float = 0.0
    handling_hours: float = 0.0
    road_speed_kmh: float = 60.0

    def __post_init__(self) -> None:
        r, mid = "transport_mode", self.mode_id
        _check_id(r, mid, "mode_id")
        if not (math.isfinite(self.speed_kmh) and self.speed_kmh > 0):
            raise DomainError(r, mid, "speed_kmh", f"must be > 0, got {self.speed_kmh}")
        _check_nonneg(r, mid, "fixed_cost", self.fixed_cost)
        _check_nonneg(r, mid, "cost_per_km", self.cost_per_km)
        _check_nonneg(r, mid, "min_distance_km", self.min_distance_km)
        _check_nonneg(r, mid, "handling_hours", self.handling_hours)
        if not self.size_classes:
            raise DomainError(r, mid, "size_classes", "must accept at least one size class")
        if self.kind is TransportKind.PARCEL and (self.cutoff is None or self.delivery_time is None):
            raise DomainError(r, mid, "cutoff", "a parcel service needs a cutoff and delivery_time")


@dataclass(frozen=True)
class Hub:
    """An airport usable for air legs; flights leave between ``first_flight`` and ``last_flight``."""

    hub_id: str
    name: str
    lat: float
    lon: float
    timezone: str
    first_flight: time = time(7, 0)
    last_flight: time = time(21, 0)

    def __post_init__(self) -> None:
        _check_id("hub", self.hub_id, "hub_id")
        _check_latlon("hub", self.hub_id, self.lat, self.lon)
        _check_tz("hub", self.hub_id, self.timezone)


@dataclass(frozen=True)
class StockRecord:
    """Opening stock: ``on_hand`` serviceable and ``defective`` units of a part at a depot."""

    depot_id: str
    part_id: str
    on_hand: int
    defective: int = 0

    def __post_init__(self) -> None:
        rid = f"{self.depot_id}/{self.part_id}"
        for name in ("on_hand", "defective"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 0:
                raise DomainError("stock", rid, name, f"must be a whole number >= 0, got {v}")


@dataclass(frozen=True)
class DemandRecord:
    """Observed replacements: ``quantity`` units of a part dispatched to a site in a month."""

    month: str  # YYYY-MM
    site_id: str
    part_id: str
    quantity: int

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", self.month):
            raise DomainError("demand", f"{self.site_id}/{self.part_id}", "month",
                              f"must be YYYY-MM, got {self.month!r}")
        if not isinstance(self.quantity, int) or self.quantity < 0:
            raise DomainError("demand", f"{self.site_id}/{self.part_id}", "quantity",
                              f"must be a whole number >= 0, got {self.quantity}")


@dataclass(frozen=True)
class Settings:
    """Scenario-wide defaults (the ``[defaults]`` table of scenario.toml).

    ``severity_mix`` is the share of failures raised at severity 1, 2, 3, 4 (sums to 1): the
    demand of a part at a site splits over the contract's severity terms by these shares.
    ``holding_rate_per_year`` is the carrying-cost rate (share of the stock's value per year)
    that makes stock investment comparable with the yearly fixed costs of locations;
    ``design_years`` spreads a candidate's one-off opening cost over that many years.
    """

    circuity_factor: float = 1.3
    holding_rate_per_year: float = 0.2
    design_years: float = 5.0
    max_service_radius_km: float = 1500.0
    urban_radius_km: float = 30.0
    urban_speed_kmh: float = 30.0
    severity_mix: tuple[float, float, float, float] = (0.10, 0.25, 0.40, 0.25)

    def __post_init__(self) -> None:
        if not self.circuity_factor >= 1:
            raise DomainError("settings", "defaults", "circuity_factor", "must be >= 1")
        mix = self.severity_mix
        if len(mix) != 4 or any(not (x >= 0) for x in mix) or abs(sum(mix) - 1) > 1e-9:
            raise DomainError("settings", "defaults", "severity_mix",
                              f"needs four shares >= 0 summing to 1, got {mix}")
        if not (math.isfinite(self.design_years) and self.design_years > 0):
            raise DomainError("settings", "defaults", "design_years", "must be > 0")
        for name in ("holding_rate_per_year", "max_service_radius_km", "urban_radius_km",
                     "urban_speed_kmh"):
            _check_nonneg("settings", "defaults", name, getattr(self, name))


@dataclass(frozen=True)
class Scenario:
    """A whole network and its demand drivers, validated as one consistent set.

    Construction checks referential integrity: unknown parents, parent cycles, exactly one HQ,
    unknown contracts/depots/parts in sites, installed base, substitutions and stock, duplicate ids,
    and that every site's primary depot lies within ``settings.max_service_radius_km``.
    """

    name: str
    currency: str
    horizon_days: int
    settings: Settings
    parts: tuple[Part, ...]
    depots: tuple[Depot, ...]
    sites: tuple[Site, ...]
    contracts: tuple[Contract, ...]
    installed_base: tuple[InstalledBase, ...]
    transport_modes: tuple[TransportMode, ...]
    substitutions: tuple[Substitution, ...] = ()
    hubs: tuple[Hub, ...] = ()
    stock: tuple[StockRecord, ...] = ()
    demand_history: tuple[DemandRecord, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    _index: dict[str, Mapping[str, object]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.horizon_days <= 0:
            raise DomainError("scenario", self.name, "horizon_days", "must be > 0")
        idx = self._index
        idx["parts"] = _unique("part", "part_id", self.parts, lambda p: p.part_id)
        idx["depots"] = _unique("depot", "depot_id", self.depots, lambda d: d.depot_id)
        idx["sites"] = _unique("site", "site_id", self.sites, lambda s: s.site_id)
        idx["contracts"] = _unique("contract", "contract_id", self.contracts,
                                   lambda c: c.contract_id)
        idx["modes"] = _unique("transport_mode", "mode_id", self.transport_modes,
                               lambda m: m.mode_id)
        idx["hubs"] = _unique("hub", "hub_id", self.hubs, lambda h: h.hub_id)
        idx["candidates"] = _unique("candidate", "candidate_id", self.candidates,
                                    lambda c: c.candidate_id)
        self._check_network()
        self._check_references()
        self._check_candidates()

    # --- lookups -------------------------------------------------------------------------------
    def part(self, part_id: str) -> Part:
        return self._index["parts"][part_id]  # type: ignore[return-value]

    def depot(self, depot_id: str) -> Depot:
        return self._index["depots"][depot_id]  # type: ignore[return-value]

    def site(self, site_id: str) -> Site:
        return self._index["sites"][site_id]  # type: ignore[return-value]

    def contract(self, contract_id: str) -> Contract:
        return self._index["contracts"][contract_id]  # type: ignore[return-value]

    def mode(self, mode_id: str) -> TransportMode:
        return self._index["modes"][mode_id]  # type: ignore[return-value]

    def candidate(self, candidate_id: str) -> Candidate:
        return self._index["candidates"][candidate_id]  # type: ignore[return-value]

    @property
    def customers(self) -> frozenset[str]:
        return frozenset(s.customer for s in self.sites)

    def with_design(self, open_ids: Iterable[str] = (), closed_ids: Iterable[str] = ()) -> Scenario:
        """The network with candidates ``open_ids`` opened as depots and depots ``closed_ids`` closed.

        Opened candidates leave ``candidates``; the others stay. A closed depot's children (and
        the remaining candidates it would refill) are refilled from its parent (lead times added)
        and its sites move to the nearest remaining depot that serves them, preferring depots
        open to every customer; its stock records are dropped. Raises KeyError for unknown ids and
        DomainError for a depot that is not closable.
        """
        open_ids = list(dict.fromkeys(open_ids))
        closed = set(closed_ids)
        for cid in open_ids:
            if cid not in self._index["candidates"]:
                raise KeyError(f"unknown candidate {cid!r}")
        for did in closed:
            if not self.depot(did).closable:
                raise DomainError("depot", did, "closable", "this depot may not be closed")
        depots = {d.depot_id: d for d in self.depots}
        new = [d for d in self.depots if d.depot_id not in closed]
        new += [self.candidate(c).as_depot() for c in open_ids]

        def live_parent(d: Any) -> Any:  # a Depot or a Candidate
            lead, pid = d.replenishment_lead_time_days, d.parent_id
            while pid in closed:
                lead += depots[pid].replenishment_lead_time_days
                pid = depots[pid].parent_id
            if pid == d.parent_id:
                return d
            return replace(d, parent_id=pid, replenishment_lead_time_days=lead)

        new = [live_parent(d) for d in new]
        sites = list(self.sites)
        if closed:
            for k, s in enumerate(sites):
                if s.primary_depot_id in closed:
                    serving = ([d for d in new if d.customer is None and not d.site_ids]
                               or [d for d in new if d.serves(s)])
                    best = min(serving, key=lambda d: (great_circle_km(s.lat, s.lon, d.lat, d.lon),
                                                       d.depot_id))
                    sites[k] = replace(s, primary_depot_id=best.depot_id)
        opened = set(open_ids)
        return replace(self, depots=tuple(new), sites=tuple(sites),
                       stock=tuple(st for st in self.stock if st.depot_id not in closed),
                       candidates=tuple(live_parent(c) for c in self.candidates
                                        if c.candidate_id not in opened))

    @property
    def hq(self) -> Depot:
        return next(d for d in self.depots if d.kind is DepotKind.HQ)

    def substitutes_for(self, part_id: str) -> tuple[str, ...]:
        """Part ids that may be shipped instead of ``part_id``: its direct substitutes in file
        order, then theirs (a supersession chain A -> B -> C lets C ship for A), nearest first."""
        out: dict[str, None] = {}
        frontier = [part_id]
        while frontier:
            nxt: list[str] = []
            for p in frontier:
                for q in self._direct_substitutes(p):
                    if q != part_id and q not in out:
                        out[q] = None
                        nxt.append(q)
            frontier = nxt
        return tuple(out)

    def _direct_substitutes(self, part_id: str) -> list[str]:
        out: list[str] = []
        for s in self.substitutions:
            if s.part_id == part_id:
                out.append(s.substitute_id)
            elif s.kind is SubstitutionKind.TWO_WAY and s.substitute_id == part_id:
                out.append(s.part_id)
        return out

    # --- checks --------------------------------------------------------------------------------
    def _check_network(self) -> None:
        depots = self._index["depots"]
        hqs = [d for d in self.depots if d.kind is DepotKind.HQ]
        if len(hqs) != 1:
            raise DomainError("scenario", self.name, "depots",
                              f"needs exactly one HQ depot, found {len(hqs)}")
        for d in self.depots:
            if d.parent_id is not None and d.parent_id not in depots:
                raise DomainError("depot", d.depot_id, "parent_id",
                                  f"unknown parent depot {d.parent_id!r}")
        for d in self.depots:
            seen = [d.depot_id]
            cur = d
            while cur.parent_id is not None:
                if cur.parent_id in seen:
                    cycle = " -> ".join([*seen, cur.parent_id])
                    raise DomainError("depot", d.depot_id, "parent_id", f"cycle in parents: {cycle}")
                seen.append(cur.parent_id)
                cur = depots[cur.parent_id]  # type: ignore[assignment]

    def _check_references(self) -> None:
        ix = self._index
        for s in self.sites:
            if s.contract_id not in ix["contracts"]:
                raise DomainError("site", s.site_id, "contract_id",
                                  f"unknown contract {s.contract_id!r}")
            if s.primary_depot_id not in ix["depots"]:
                raise DomainError("site", s.site_id, "primary_depot_id",
                                  f"unknown depot {s.primary_depot_id!r}")
            d = ix["depots"][s.primary_depot_id]
            km = great_circle_km(s.lat, s.lon, d.lat, d.lon)  # type: ignore[attr-defined]
            if km > self.settings.max_service_radius_km:
                raise DomainError("site", s.site_id, "primary_depot_id",
                                  f"no reachable depot: primary depot {d.depot_id!r} is "  # type: ignore[attr-defined]
                                  f"{km:.0f} km away, beyond max_service_radius_km "
                                  f"{self.settings.max_service_radius_km:.0f}")
        for b in self.installed_base:
            rid = f"{b.site_id}/{b.part_id}"
            if b.site_id not in ix["sites"]:
                raise DomainError("installed_base", rid, "site_id", f"unknown site {b.site_id!r}")
            if b.part_id not in ix["parts"]:
                raise DomainError("installed_base", rid, "part_id", f"unknown part {b.part_id!r}")
        for sub in self.substitutions:
            for name in ("part_id", "substitute_id"):
                pid = getattr(sub, name)
                if pid not in ix["parts"]:
                    raise DomainError("substitution", sub.part_id, name, f"unknown part {pid!r}")
        for st in self.stock:
            rid = f"{st.depot_id}/{st.part_id}"
            if st.depot_id not in ix["depots"]:
                raise DomainError("stock", rid, "depot_id", f"unknown depot {st.depot_id!r}")
            if st.part_id not in ix["parts"]:
                raise DomainError("stock", rid, "part_id", f"unknown part {st.part_id!r}")
        for h in self.demand_history:
            rid = f"{h.site_id}/{h.part_id}"
            if h.site_id not in ix["sites"]:
                raise DomainError("demand", rid, "site_id", f"unknown site {h.site_id!r}")
            if h.part_id not in ix["parts"]:
                raise DomainError("demand", rid, "part_id", f"unknown part {h.part_id!r}")

    def _check_candidates(self) -> None:
        ix = self._index
        customers = self.customers
        for c in self.candidates:
            if c.candidate_id in ix["depots"]:
                raise DomainError("candidate", c.candidate_id, "candidate_id",
                                  "already the id of a depot")
            if c.parent_id not in ix["depots"]:
                raise DomainError("candidate", c.candidate_id, "parent_id",
                                  f"unknown parent depot {c.parent_id!r}")
        for record, rid, loc in ([("candidate", c.candidate_id, c) for c in self.candidates]
                                 + [("depot", d.depot_id, d) for d in self.depots]):
            if loc.customer is not None and loc.customer not in customers:
                raise DomainError(record, rid, "customer",
                                  f"no site belongs to customer {loc.customer!r}")
            for sid in loc.site_ids:
                site = ix["sites"].get(sid)
                if site is None:
                    raise DomainError(record, rid, "site_ids", f"unknown site {sid!r}")
                if loc.customer is not None and site.customer != loc.customer:  # type: ignore[attr-defined]
                    raise DomainError(record, rid, "site_ids",
                                      f"site {sid!r} belongs to customer "
                                      f"{site.customer!r}, not {loc.customer!r}")  # type: ignore[attr-defined]


def _unique(record: str, id_field: str, items: Iterable[object], key) -> dict[str, object]:
    out: dict[str, object] = {}
    for it in items:
        k = key(it)
        if k in out:
            raise DomainError(record, k, id_field, "duplicate id")
        out[k] = it
    return out


EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km on the mean Earth radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
