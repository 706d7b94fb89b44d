"""Covered-time arithmetic: hand-checked cases, hypothesis invariants and a minute-stepping reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.domain import WeeklyHours
from optimizer.calendars import (
    Calendar,
    CutoffTable,
    HoursTable,
    add_open_hours,
    business_day,
    day_interval,
    day_number,
    from_us,
    is_open,
    local_day,
    next_open,
    nth_business_day_end,
    open_hours_between,
    to_us,
)

CN = Calendar("Asia/Shanghai", "CN")
DE = Calendar("Europe/Berlin", "DE")
BH = WeeklyHours.parse("mon-fri 08:00-18:00")
SHZ, BER = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin")


def test_cn_holidays_and_adjusted_working_days() -> None:
    assert CN.is_holiday(date(2024, 10, 1)) and CN.is_holiday(date(2024, 2, 12))
    assert not business_day(CN, date(2024, 10, 1), BH)
    assert business_day(CN, date(2024, 10, 12), BH)  # Saturday working day (调休)
    assert business_day(CN, date(2024, 10, 1), WeeklyHours())  # 24x7 never closes


def test_hand_cases() -> None:
    fri = datetime(2025, 3, 14, 17, 0, tzinfo=SHZ)
    assert add_open_hours(BH, CN, fri, 3) == datetime(2025, 3, 17, 10, 0, tzinfo=SHZ)
    assert next_open(BH, CN, fri) == fri
    assert not is_open(BH, CN, datetime(2025, 3, 15, 10, tzinfo=SHZ))
    assert next_open(BH, CN, datetime(2025, 3, 14, 19, tzinfo=SHZ)) == datetime(2025, 3, 17, 8, tzinfo=SHZ)
    # National Day week 2024: Mon 30 Sep 17:00 + 2 h -> Tue 8 Oct 09:00
    assert add_open_hours(BH, CN, datetime(2024, 9, 30, 17, tzinfo=SHZ), 2) == datetime(
        2024, 10, 8, 9, tzinfo=SHZ)
    assert open_hours_between(BH, CN, datetime(2024, 9, 30, 17, tzinfo=SHZ),
                              datetime(2024, 10, 8, 9, tzinfo=SHZ)) == pytest.approx(2)
    assert nth_business_day_end(BH, CN, date(2025, 3, 14), 1) == datetime(2025, 3, 17, 18, tzinfo=SHZ)


def test_dst_day_is_exact() -> None:
    """Berlin springs forward on 30 Mar 2025 (02:00 -> 03:00): 24x7-in-local-days stays elapsed time."""
    allday = WeeklyHours(always=False, days=frozenset(range(7)), start_minute=0, end_minute=1440)
    sat = datetime(2025, 3, 29, 12, tzinfo=BER)
    assert open_hours_between(allday, DE, sat, sat + timedelta(days=2)) == pytest.approx(47)
    night = WeeklyHours(always=False, days=frozenset(range(7)), start_minute=60, end_minute=240)
    assert open_hours_between(night, DE, datetime(2025, 3, 30, 0, tzinfo=BER),
                              datetime(2025, 3, 31, 0, tzinfo=BER)) == pytest.approx(2)


def test_naive_input_rejected() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        next_open(BH, CN, datetime(2025, 3, 14, 17))


hours_st = st.one_of(
    st.just(WeeklyHours()),
    st.builds(lambda days, a, length: WeeklyHours(False, frozenset(days), a, min(1440, a + length)),
              st.sets(st.integers(0, 6), min_size=1), st.integers(0, 1380), st.integers(15, 900)),
)
cal_st = st.sampled_from([CN, DE, Calendar("Asia/Urumqi", "CN")])
instant_st = st.integers(0, 60 * 24 * 365 * 2).map(
    lambda m: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=m))
minutes_st = st.integers(0, 60 * 80)


@settings(max_examples=150, deadline=None)
@given(hours_st, cal_st, instant_st, minutes_st, minutes_st)
def test_add_is_associative_and_inverted(h: WeeklyHours, cal: Calendar, a: datetime, m1: int,
                                         m2: int) -> None:
    x = add_open_hours(h, cal, a, (m1 + m2) / 60)
    y = add_open_hours(h, cal, add_open_hours(h, cal, a, m1 / 60), m2 / 60)
    assert x == y
    assert open_hours_between(h, cal, a, x) * 60 == pytest.approx(m1 + m2, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(hours_st, cal_st, instant_st, st.integers(0, 60 * 48), minutes_st)
def test_monotone_in_start(h: WeeklyHours, cal: Calendar, a: datetime, shift: int, m: int) -> None:
    b = a + timedelta(minutes=shift)
    assert add_open_hours(h, cal, a, m / 60) <= add_open_hours(h, cal, b, m / 60)
    assert next_open(h, cal, a) <= next_open(h, cal, b)


def _brute_add(h: WeeklyHours, cal: Calendar, a: datetime, minutes: int) -> datetime:
    """Reference: step minute by minute, counting minutes whose start is open (local wall clock)."""
    t, left = a, minutes
    zone = cal.zone
    while left > 0:
        loc = t.astimezone(zone)
        m = loc.hour * 60 + loc.minute
        d = loc.date()
        open_ = h.always or (business_day(cal, d, h) and h.start_minute <= m < h.end_minute)
        t += timedelta(minutes=1)
        left -= int(open_)
    return t


@settings(max_examples=40, deadline=None)
@given(hours_st, cal_st, instant_st, st.integers(1, 60 * 30))
def test_minute_stepping_reference_agrees(h: WeeklyHours, cal: Calendar, a: datetime, m: int) -> None:
    got = add_open_hours(h, cal, a, m / 60)
    ref = _brute_add(h, cal, a, m)
    assert got == ref
    assert is_open(h, cal, got - timedelta(seconds=1))


# --- the vectorised tables answer exactly as the scalar functions ---------------------------------

ODD_CALENDARS = [
    Calendar("Asia/Shanghai", "CN"), Calendar("Europe/Berlin", "DE"),
    Calendar("America/Santiago", "CL"),  # daylight saving changes at midnight
    Calendar("Australia/Lord_Howe", "AU"),  # 30-minute daylight saving
    Calendar("Asia/Kathmandu", "NP"),  # UTC+05:45
    Calendar("America/St_Johns", "CA"),  # UTC-03:30 with daylight saving
    Calendar("Pacific/Chatham", "NZ"),  # UTC+12:45/+13:45
    Calendar("Asia/Beirut", "LB"),  # daylight saving changes at midnight
]
FIRST, LAST = day_number(date(2025, 12, 1)), day_number(date(2027, 2, 1))
odd_cal_st = st.sampled_from(ODD_CALENDARS)
window_st = st.builds(
    lambda days, a, length: WeeklyHours(False, frozenset(days), a, min(1440, a + length)),
    st.sets(st.integers(0, 6), min_size=1), st.sampled_from([0, 30, 60, 90, 120, 420, 480, 1380, 1410]),
    st.sampled_from([30, 60, 150, 600, 1440]))
year_instants_st = st.lists(st.integers(0, 60 * 24 * 425), min_size=1, max_size=40).map(
    lambda ms: [datetime(2025, 12, 20, tzinfo=UTC) + timedelta(minutes=m) for m in ms])
# the daylight-saving days of 2026 in the zones above, where odd answers hide
dst_instants = [datetime(2026, mo, d, h, mi, tzinfo=UTC) for mo, d in
                ((3, 8), (3, 28), (3, 29), (4, 4), (4, 5), (9, 5), (9, 6), (9, 26), (9, 27),
                 (10, 24), (10, 25), (11, 1)) for h in range(24) for mi in (0, 45)]


def _us(instants: list[datetime]) -> np.ndarray:
    return np.array([to_us(t) for t in instants], dtype=np.int64)


def _window_scalar(h: WeeklyHours, cal: Calendar, t: datetime) -> datetime:
    """The van-run rule of :meth:`TravelNetwork.departure`, written out: the next window that
    starts at/after ``t``."""
    while True:
        start = next_open(h, cal, t)
        local = start.astimezone(cal.zone)
        iv = day_interval(h, cal, local.date())
        if iv is not None and start == iv[0]:
            return start
        t = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=cal.zone)


@settings(max_examples=60, deadline=None)
@given(window_st, odd_cal_st, year_instants_st, st.sampled_from([0.0, 0.25, 0.5, 1 / 3, 7.3, 30.0]))
def test_hours_table_equals_scalar(h: WeeklyHours, cal: Calendar, instants: list[datetime],
                                   handling: float) -> None:
    tab = HoursTable(h, cal, FIRST, LAST)
    instants = instants + dst_instants[::5]
    t = _us(instants)
    assert list(tab.next_open(t)) == [to_us(next_open(h, cal, x)) for x in instants]
    assert list(tab.add_open(t, handling)) == [to_us(add_open_hours(h, cal, x, handling))
                                               for x in instants]
    assert list(tab.window_start(t)) == [to_us(_window_scalar(h, cal, x)) for x in instants]


@settings(max_examples=40, deadline=None)
@given(window_st, odd_cal_st, year_instants_st,
       st.sampled_from([time(0), time(0, 30), time(17), time(23, 59)]))
def test_cutoff_table_equals_the_parcel_rule(days: WeeklyHours, cal: Calendar,
                                             instants: list[datetime], cutoff: time) -> None:
    """The cut-off on the first shipping day (from the instant's local day) not before it."""
    instants = instants + dst_instants[::7]
    got = CutoffTable(days, cal, cutoff, FIRST, LAST).ship_at(_us(instants))
    for x, g in zip(instants, got, strict=True):
        day = x.astimezone(cal.zone).date()
        # in UTC: a wall time in a daylight-saving gap never compares equal across zones
        while not (business_day(cal, day, days)
                   and datetime.combine(day, cutoff, tzinfo=cal.zone).astimezone(UTC) >= x):
            day += timedelta(days=1)
        assert from_us(int(g)) == datetime.combine(day, cutoff, tzinfo=cal.zone).astimezone(UTC)


def test_tables_fall_back_outside_their_span() -> None:
    """Instants before the span, or answers after it, come from the scalar functions."""
    h = WeeklyHours.parse("mon-fri 09:00-18:00")
    tab = HoursTable(h, CN, day_number(date(2026, 1, 5)), day_number(date(2026, 1, 9)))
    instants = [datetime(2025, 6, 1, tzinfo=UTC), datetime(2026, 1, 9, 12, tzinfo=UTC),
                datetime(2026, 3, 1, tzinfo=UTC)]
    t = _us(instants)
    assert list(tab.next_open(t)) == [to_us(next_open(h, CN, x)) for x in instants]
    assert list(tab.add_open(t, 20)) == [to_us(add_open_hours(h, CN, x, 20)) for x in instants]
    assert list(tab.window_start(t)) == [to_us(_window_scalar(h, CN, x)) for x in instants]


@settings(max_examples=40, deadline=None)
@given(odd_cal_st, year_instants_st)
def test_local_day_is_the_local_date(cal: Calendar, instants: list[datetime]) -> None:
    instants = instants + dst_instants + [datetime(2030, 1, 1, 23, 59, tzinfo=UTC)]  # outside
    got = local_day(cal.timezone, _us(instants), FIRST, LAST)
    assert list(got) == [day_number(x.astimezone(cal.zone).date()) for x in instants]
