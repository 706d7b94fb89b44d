"""Covered-time arithmetic: hand-checked cases, hypothesis invariants and a minute-stepping reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.domain import WeeklyHours
from optimizer.calendars import (
    Calendar,
    add_open_hours,
    business_day,
    is_open,
    next_open,
    nth_business_day_end,
    open_hours_between,
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
