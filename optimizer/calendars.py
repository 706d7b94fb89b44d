"""Working calendars: time zone + public holidays, and covered-time arithmetic on WeeklyHours.

A :class:`Calendar` pairs an IANA time zone with an ISO country whose public holidays come from
the ``holidays`` package (cached per country and year). For countries that move working days onto
weekends (China: "调休" adjusted working days) the package's ``weekend_workdays`` are honoured: such
a Saturday/Sunday counts as a working day for any business-hours schedule that is open on weekdays.

All instants in and out are timezone-aware; the arithmetic runs on UTC instants, and every local
day's covered interval ``[open, close)`` is converted from local wall time with ``zoneinfo``, so
durations are exact elapsed seconds across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

import holidays
import numpy as np

from inventory.domain import WeeklyHours

MAX_SCAN_DAYS = 800
"""Longest run of closed days searched for an open interval before giving up (guards bad input)."""


def require_aware(instant: datetime, name: str = "instant") -> datetime:
    """Return ``instant`` in UTC; raise ValueError if it has no UTC offset."""
    if not isinstance(instant, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} {instant.isoformat()} has no UTC offset; pass an aware datetime")
    return instant.astimezone(UTC)


@lru_cache(maxsize=512)
def _country_year(country: str, year: int) -> tuple[dict[date, str], frozenset[date]]:
    """Public holidays (date -> name) and weekend working days of one country and year."""
    try:
        cal = holidays.country_holidays(country, years=year)
    except NotImplementedError as exc:
        raise ValueError(f"no public-holiday calendar for country {country!r}") from exc
    names = {d: str(n) for d, n in cal.items() if d.year == year}
    workdays = frozenset(d for d in getattr(cal, "weekend_workdays", ()) if d.year == year)
    return names, workdays


@dataclass(frozen=True)
class Calendar:
    """A local time zone (IANA name) and the public holidays of an ISO country code."""

    timezone: str
    country: str

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # raises for unknown zones
        _country_year(self.country, 2024)  # raises ValueError for unknown countries

    @cached_property
    def zone(self) -> ZoneInfo:
        """The time zone (looked up once per calendar: ETAs ask for it dozens of times)."""
        return ZoneInfo(self.timezone)

    def holiday_name(self, day: date) -> str | None:
        """Name of the public holiday on ``day`` or None."""
        return _country_year(self.country, day.year)[0].get(day)

    def is_holiday(self, day: date) -> bool:
        return day in _country_year(self.country, day.year)[0]

    def is_adjusted_workday(self, day: date) -> bool:
        """True for an officially designated weekend working day (e.g. CN 调休)."""
        return day in _country_year(self.country, day.year)[1]

    def local(self, instant: datetime) -> datetime:
        """``instant`` as local wall time in this calendar's zone."""
        return require_aware(instant).astimezone(self.zone)


def business_day(cal: Calendar, day: date, hours: WeeklyHours) -> bool:
    """Whether ``hours`` are open on local ``day``.

    24x7 hours are open every day, holidays included. Otherwise the day must be one of
    ``hours.days`` and not a public holiday; an adjusted weekend working day also counts when the
    schedule is open on at least one weekday (Mon-Fri).
    """
    if hours.always:
        return True
    if cal.is_holiday(day):
        return False
    if day.weekday() in hours.days:
        return True
    return cal.is_adjusted_workday(day) and any(d < 5 for d in hours.days)


@lru_cache(maxsize=200_000)
def day_interval(hours: WeeklyHours, cal: Calendar, day: date) -> tuple[datetime, datetime] | None:
    """The covered UTC interval ``[open, close)`` on local ``day``, or None if closed that day."""
    if not business_day(cal, day, hours):
        return None
    zone = cal.zone
    midnight = datetime.combine(day, time(0), tzinfo=zone)

    def at(minute: int) -> datetime:
        if minute >= 1440:
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        wall = midnight.replace(hour=minute // 60, minute=minute % 60)
        return wall.astimezone(UTC)

    lo, hi = at(hours.start_minute), at(hours.end_minute)
    return (lo, hi) if hi > lo else None


def _intervals_from(hours: WeeklyHours, cal: Calendar, start_utc: datetime):
    """Yield the covered UTC intervals whose close is after ``start_utc``, in time order."""
    day = start_utc.astimezone(cal.zone).date() - timedelta(days=1)
    idle = 0
    while idle < MAX_SCAN_DAYS:
        iv = day_interval(hours, cal, day)
        if iv is not None and iv[1] > start_utc:
            idle = 0
            yield iv
        else:
            idle += 1
        day += timedelta(days=1)
    raise ValueError(f"hours {describe(hours)} never open for {MAX_SCAN_DAYS} days after "
                     f"{start_utc.isoformat()} in {cal}")


def describe(hours: WeeklyHours) -> str:
    """Text form of any WeeklyHours (also non-contiguous days, e.g. ``mon,wed 08:00-12:00``)."""
    try:
        return hours.format()
    except ValueError:
        names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        days = ",".join(names[d] for d in sorted(hours.days))
        s, e = hours.start_minute, hours.end_minute
        return f"{days} {s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"


def is_open(hours: WeeklyHours, cal: Calendar, instant: datetime) -> bool:
    """Whether ``instant`` lies inside the covered hours."""
    t = require_aware(instant)
    if hours.always:
        return True
    day = t.astimezone(cal.zone).date()
    iv = day_interval(hours, cal, day)
    return iv is not None and iv[0] <= t < iv[1]


def next_open(hours: WeeklyHours, cal: Calendar, instant: datetime) -> datetime:
    """The first covered instant at or after ``instant`` (the instant itself if open), in UTC."""
    t = require_aware(instant)
    if hours.always:
        return t
    lo, _ = next(_intervals_from(hours, cal, t))
    return max(lo, t)


def add_open_hours(hours: WeeklyHours, cal: Calendar, start: datetime, hours_float: float) -> datetime:
    """The instant when ``hours_float`` hours of covered time have run from ``start`` (UTC).

    The clock pauses outside coverage. Adding zero returns ``start`` unchanged; a positive amount
    that is exhausted exactly at a closing time returns that closing time.
    """
    t = require_aware(start, "start")
    if not hours_float >= 0:
        raise ValueError(f"hours to add must be >= 0, got {hours_float}")
    remaining = timedelta(hours=hours_float)
    if hours.always or remaining == timedelta(0):
        return t + remaining
    for lo, hi in _intervals_from(hours, cal, t):
        t0 = max(lo, t)
        avail = hi - t0
        if remaining <= avail:
            return t0 + remaining
        remaining -= avail
    raise AssertionError("unreachable")  # _intervals_from raises first


def open_hours_between(hours: WeeklyHours, cal: Calendar, start: datetime, end: datetime) -> float:
    """Covered hours in ``[start, end)``; the inverse of :func:`add_open_hours`."""
    a, b = require_aware(start, "start"), require_aware(end, "end")
    if b < a:
        raise ValueError(f"end {b.isoformat()} is before start {a.isoformat()}")
    if hours.always:
        return (b - a) / timedelta(hours=1)
    total = timedelta(0)
    for lo, hi in _intervals_from(hours, cal, a):
        if lo >= b:
            break
        total += min(hi, b) - max(lo, a)
    return total / timedelta(hours=1)


@lru_cache(maxsize=100_000)
def next_business_day(cal: Calendar, day: date, hours: WeeklyHours, *, include: bool = False) -> date:
    """The first business day after ``day`` (or ``day`` itself when ``include`` and it is one)."""
    d = day if include else day + timedelta(days=1)
    for _ in range(MAX_SCAN_DAYS):
        if business_day(cal, d, hours):
            return d
        d += timedelta(days=1)
    raise ValueError(f"hours {describe(hours)}: no business day within {MAX_SCAN_DAYS} days after "
                     f"{day} in {cal}")


@lru_cache(maxsize=100_000)
def nth_business_day_end(hours: WeeklyHours, cal: Calendar, day: date, n: int) -> datetime:
    """End of coverage (UTC) on the ``n``-th business day after local ``day``.

    ``n = 0`` means ``day`` itself if it is a business day, else the next one; ``n = 1`` is the
    next business day after ``day``. 24x7 hours end at the following local midnight.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    d = next_business_day(cal, day, hours, include=True) if n == 0 else day
    for _ in range(n):
        d = next_business_day(cal, d, hours)
    if hours.always:
        return datetime.combine(d + timedelta(days=1), time(0), tzinfo=cal.zone).astimezone(UTC)
    iv = day_interval(hours, cal, d)
    assert iv is not None
    return iv[1]


def holidays_between(cal: Calendar, first: date, last: date, hours: WeeklyHours) -> list[date]:
    """Public holidays in ``[first, last]`` that fall on days the hours would otherwise be open."""
    if hours.always:
        return []
    out = []
    d = first
    while d <= last:
        if cal.is_holiday(d) and (d.weekday() in hours.days):
            out.append(d)
        d += timedelta(days=1)
    return out


# --- vectorised calendar arithmetic (many instants at once, exactly as the functions above) ----

US = 1_000_000
"""Microseconds per second: the vectorised functions take and return int64 epoch microseconds,
the resolution of :class:`~datetime.datetime`, so their results equal the scalar ones exactly."""

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SAMPLE_S = 3600
"""Step (s) at which a zone's UTC offset is sampled to find its transitions (no zone changes its
offset twice within an hour)."""


def day_number(day: date) -> int:
    """Days from 1970-01-01 to ``day``."""
    return day.toordinal() - EPOCH_ORDINAL


def to_us(instant: datetime) -> int:
    """Epoch microseconds of an aware instant (exact)."""
    return (require_aware(instant) - _EPOCH_UTC) // _ONE_US


def from_us(us: int) -> datetime:
    """The UTC instant of epoch microseconds ``us`` (exact)."""
    return _EPOCH_UTC + timedelta(microseconds=int(us))


def duration_us(hours: float) -> int:
    """``timedelta(hours=hours)`` in microseconds (the scalar functions' rounding)."""
    return timedelta(hours=hours) // _ONE_US


_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


class LocalDays:
    """Local dates of many instants of one zone at once, over the days ``[first, last]``.

    The zone's UTC offsets are sampled hourly over the span (plus a day either side) and every
    change is bisected to the second, so ``instant.astimezone(zone).date()`` is reproduced
    exactly; instants outside the span are reported (``inside`` False).
    """

    def __init__(self, zone: ZoneInfo, first: int, last: int) -> None:
        self.lo_s = (first - 1) * 86400
        self.hi_s = (last + 2) * 86400
        grid = range(self.lo_s, self.hi_s + _SAMPLE_S, _SAMPLE_S)
        offs = [self._offset(zone, s) for s in grid]
        trans: list[int] = []
        values = [offs[0]]
        for k in range(1, len(offs)):
            if offs[k] != offs[k - 1]:
                a, b = grid[k - 1], grid[k]  # offset(a) is the old one, offset(b) the new one
                while b - a > 1:
                    mid = (a + b) // 2
                    if self._offset(zone, mid) == offs[k - 1]:
                        a = mid
                    else:
                        b = mid
                trans.append(b * US)
                values.append(offs[k])
        self.transitions = np.array(trans, dtype=np.int64)
        self.offsets_us = np.array(values, dtype=np.int64) * US

    @staticmethod
    def _offset(zone: ZoneInfo, s: int) -> int:
        off = datetime.fromtimestamp(s, zone).utcoffset()
        assert off is not None
        return int(off.total_seconds())

    def inside(self, t: np.ndarray) -> np.ndarray:
        """Whether each epoch-µs instant lies inside the sampled span."""
        return (t >= self.lo_s * US) & (t < self.hi_s * US)

    def day(self, t: np.ndarray) -> np.ndarray:
        """Local day numbers (:func:`day_number`) of epoch-µs instants ``t``."""
        off = self.offsets_us[np.searchsorted(self.transitions, t, side="right")]
        return (t + off) // (86400 * US)


@lru_cache(maxsize=256)
def local_days(timezone: str, first: int, last: int) -> LocalDays:
    """:class:`LocalDays` of a zone over days ``[first, last]`` (cached)."""
    return LocalDays(ZoneInfo(timezone), first, last)


def local_day(timezone: str, t: np.ndarray, first: int, last: int) -> np.ndarray:
    """Local day numbers of epoch-µs instants ``t`` in ``timezone`` (:class:`LocalDays` over
    ``[first, last]``; instants outside it converted one by one)."""
    local = local_days(timezone, first, last)
    inside = local.inside(t)
    out = local.day(np.where(inside, t, local.lo_s * US))
    zone = ZoneInfo(timezone)
    for idx in zip(*np.nonzero(~inside), strict=True):
        out[idx] = day_number(from_us(int(t[idx])).astimezone(zone).date())
    return out


def _us_of(t: datetime) -> int:
    return (t - _EPOCH_UTC) // _ONE_US


class HoursTable:
    """:func:`next_open`, :func:`add_open_hours` and van-window starts of one (hours, calendar)
    for arrays of epoch-µs instants, over the local days ``[first, last]``.

    The covered intervals of the span are listed once; a lookup is two ``searchsorted`` calls.
    Where the table cannot answer exactly as the scalar functions (an instant or a result
    outside the span, intervals that overlap or do not close in order, which odd daylight-saving
    rules can produce), the scalar function answers, so results are always identical.
    """

    def __init__(self, hours: WeeklyHours, cal: Calendar, first: int, last: int) -> None:
        self.hours, self.cal, self.first, self.last = hours, cal, first, last
        self.local = local_days(cal.timezone, first, last)
        zone = cal.zone
        days, lo, hi = [], [], []
        by_day = np.full(last - first + 1, np.iinfo(np.int64).min, dtype=np.int64)
        for n in range(first, last + 1):
            iv = day_interval(hours, cal, date.fromordinal(n + EPOCH_ORDINAL))
            if iv is not None:
                days.append(n)
                lo.append(_us_of(iv[0]))
                hi.append(_us_of(iv[1]))
                by_day[n - first] = lo[-1]
        self.day = np.array(days, dtype=np.int64)
        self.lo = np.array(lo, dtype=np.int64)
        self.hi = np.array(hi, dtype=np.int64)
        self.lo_by_day = by_day
        """Opening (epoch µs) of each day's interval; int64 min where closed."""
        self.midnight = np.array([_us_of(datetime.combine(date.fromordinal(n + EPOCH_ORDINAL),
                                                          time(0), tzinfo=zone).astimezone(UTC))
                                  for n in range(first, last + 2)], dtype=np.int64)
        self.cum = np.concatenate(([0], np.cumsum(self.hi - self.lo)))
        """Covered µs before each interval (from the first of the span)."""
        self.sane = bool(np.all(self.hi[1:] > self.hi[:-1]) and np.all(self.lo[1:] >= self.hi[:-1])
                         and np.all(np.diff(self.day) < MAX_SCAN_DAYS))

    def _first(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index of the first interval :func:`_intervals_from` yields for each instant, whether
        the table answers it)."""
        n = self.day.size
        ok = np.full(t.shape, self.sane and n > 0) & self.local.inside(t)
        start_day = self.local.day(np.where(ok, t, self.local.lo_s * US)) - 1
        k = np.maximum(np.searchsorted(self.day, start_day, side="left"),
                       np.searchsorted(self.hi, t, side="right"))
        ok &= (start_day >= self.first) & (k < n)
        k = np.minimum(k, max(n - 1, 0))
        if n:
            ok &= self.day[k] - start_day < MAX_SCAN_DAYS
        return k, ok

    def next_open(self, t: np.ndarray) -> np.ndarray:
        """:func:`next_open` of epoch-µs instants ``t`` (any shape)."""
        if self.hours.always:
            return t.copy()
        k, ok = self._first(t)
        out = np.where(ok, np.maximum(self.lo[k] if self.day.size else t, t), 0)
        return self._fallback(out, ok, t, lambda x: next_open(self.hours, self.cal, x))

    def add_open(self, t: np.ndarray, hours: float) -> np.ndarray:
        """:func:`add_open_hours` of ``hours`` from epoch-µs instants ``t``."""
        if not hours >= 0:
            raise ValueError(f"hours to add must be >= 0, got {hours}")
        r = duration_us(hours)
        if self.hours.always or r == 0:
            return t + r
        k, ok = self._first(t)
        if not self.day.size:
            return self._fallback(t.copy(), ok, t,
                                  lambda x: add_open_hours(self.hours, self.cal, x, hours))
        t0 = np.maximum(self.lo[k], t)
        avail = self.hi[k] - t0
        rest = r - avail  # still to run after the first interval
        j = np.searchsorted(self.cum, rest + self.cum[k + 1], side="left") - 1
        ok &= (rest <= 0) | (j < self.day.size)
        j = np.minimum(j, self.day.size - 1)
        later = self.lo[j] + rest - (self.cum[j] - self.cum[k + 1])
        out = np.where(rest <= 0, t0 + r, later)
        return self._fallback(out, ok, t, lambda x: add_open_hours(self.hours, self.cal, x, hours))

    def window_start(self, t: np.ndarray) -> np.ndarray:
        """:meth:`TravelNetwork.departure` of a VAN_RUN with these hours: the start of the
        first whole window at/after each epoch-µs instant (the scalar loop, run on arrays)."""
        if self.hours.always:
            return t.copy()
        flat = t.ravel()
        out = np.zeros_like(flat)
        ok = np.zeros(flat.shape, dtype=bool)
        cur = flat.copy()
        todo = np.arange(flat.size)
        span = self.lo_by_day.size
        for _ in range(400):
            if not todo.size:
                break
            start = self.next_open(cur[todo])
            d = self.local.day(start) - self.first
            inside = (d >= 0) & (d < span) & self.local.inside(start)
            d = np.clip(d, 0, span - 1)
            hit = inside & (self.lo_by_day[d] == start)
            out[todo[hit]] = start[hit]
            ok[todo[hit]] = True
            more = inside & ~hit
            cur[todo[more]] = self.midnight[d[more] + 1]
            todo = todo[more]
        return self._fallback(out, ok, flat, self._window_scalar).reshape(t.shape)

    def _window_scalar(self, x: datetime) -> datetime:
        t = x
        zone = self.cal.zone
        for _ in range(400):
            start = next_open(self.hours, self.cal, t)
            local = start.astimezone(zone)
            iv = day_interval(self.hours, self.cal, local.date())
            if iv is not None and start == iv[0]:
                return start
            t = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        raise ValueError(f"no window of {describe(self.hours)} within 400 days of {x}")

    @staticmethod
    def _fallback(out: np.ndarray, ok: np.ndarray, t: np.ndarray, scalar) -> np.ndarray:
        """``out`` with the entries the table could not answer computed by ``scalar``."""
        for idx in zip(*np.nonzero(~ok), strict=True):
            out[idx] = _us_of(scalar(from_us(int(t[idx]))))
        return out


class CutoffTable:
    """:meth:`TravelNetwork.parcel_ship` of one (shipping days, calendar, cut-off) for arrays of
    epoch-µs instants over the local days ``[first, last]``: the cut-off on the first shipping day,
    from the instant's local day on, that is not before the instant. As :class:`HoursTable`, the
    scalar loop answers what the table cannot."""

    def __init__(self, days: WeeklyHours, cal: Calendar, cutoff: time, first: int, last: int) -> None:
        self.days, self.cal, self.cutoff, self.first = days, cal, cutoff, first
        self.local = local_days(cal.timezone, first, last)
        ship_days, ship = [], []
        for n in range(first, last + 1):
            d = date.fromordinal(n + EPOCH_ORDINAL)
            if business_day(cal, d, days):
                ship_days.append(n)
                ship.append(_us_of(datetime.combine(d, cutoff, tzinfo=cal.zone).astimezone(UTC)))
        self.day = np.array(ship_days, dtype=np.int64)
        self.ship = np.array(ship, dtype=np.int64)
        self.sane = bool(np.all(self.ship[1:] > self.ship[:-1]))

    def ship_at(self, t: np.ndarray) -> np.ndarray:
        """Parcel pick-up instants (epoch µs) for parts picked at ``t``."""
        n = self.day.size
        ok = np.full(t.shape, self.sane and n > 0) & self.local.inside(t)
        day = self.local.day(np.where(ok, t, self.local.lo_s * US))
        k = np.maximum(np.searchsorted(self.day, day, side="left"),
                       np.searchsorted(self.ship, t, side="left"))
        ok &= (day >= self.first) & (k < n)
        k = np.minimum(k, max(n - 1, 0))
        if n:
            ok &= self.day[k] - day < 400
        out = np.where(ok, self.ship[k] if n else t, 0)
        return HoursTable._fallback(out, ok, t, self._scalar)

    def _scalar(self, picked: datetime) -> datetime:
        day = picked.astimezone(self.cal.zone).date()
        for _ in range(400):
            if business_day(self.cal, day, self.days):
                ship = datetime.combine(day, self.cutoff, tzinfo=self.cal.zone).astimezone(UTC)
                if ship >= picked:
                    return ship
            day += timedelta(days=1)
        raise ValueError(f"no parcel pick-up within 400 days of {picked} in {self.cal}")


@lru_cache(maxsize=512)
def hours_table(hours: WeeklyHours, cal: Calendar, first: int, last: int) -> HoursTable:
    """:class:`HoursTable` (cached: reach builds over the same year reuse them)."""
    return HoursTable(hours, cal, first, last)


@lru_cache(maxsize=512)
def cutoff_table(days: WeeklyHours, cal: Calendar, cutoff: time, first: int, last: int
                 ) -> CutoffTable:
    """:class:`CutoffTable` (cached)."""
    return CutoffTable(days, cal, cutoff, first, last)
