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


def next_business_day(cal: Calendar, day: date, hours: WeeklyHours, *, include: bool = False) -> date:
    """The first business day after ``day`` (or ``day`` itself when ``include`` and it is one)."""
    d = day if include else day + timedelta(days=1)
    for _ in range(MAX_SCAN_DAYS):
        if business_day(cal, d, hours):
            return d
        d += timedelta(days=1)
    raise ValueError(f"hours {describe(hours)}: no business day within {MAX_SCAN_DAYS} days after "
                     f"{day} in {cal}")


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
