"""Cell codecs: parsers accept the documented forms and invert the formatters exactly."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.domain import SizeClass, WeeklyHours
from scenarios import cells


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_round_trip_is_bit_exact(x: float) -> None:
    assert cells.parse_float(cells.fmt_float(x)).hex() == x.hex()


@given(st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59))
def test_time_round_trip(h: int, m: int) -> None:
    assert cells.parse_time(cells.fmt_time(time(h, m))) == time(h, m)


@given(st.integers(0, 6), st.integers(0, 6), st.integers(0, 1439), st.integers(1, 1440))
def test_weekly_hours_round_trip(d1: int, d2: int, start: int, length: int) -> None:
    lo, hi = min(d1, d2), max(d1, d2)
    end = min(1440, start + length)
    hours = WeeklyHours(always=False, days=frozenset(range(lo, hi + 1)), start_minute=start,
                        end_minute=end)
    assert cells.parse_hours(cells.fmt_hours(hours)) == hours


@given(st.sets(st.sampled_from(list(SizeClass)), min_size=1))
def test_size_classes_round_trip(sizes: set[SizeClass]) -> None:
    text = cells.fmt_sizes(frozenset(sizes))
    assert cells.parse_sizes(text) == frozenset(sizes)
    assert text == "|".join(s.value for s in SizeClass if s in sizes)  # canonical order


@pytest.mark.parametrize(("text", "value"), [("true", True), ("No", False), ("1", True), ("0", False)])
def test_bool_forms(text: str, value: bool) -> None:
    assert cells.parse_bool(text) is value


def test_whole_numbers() -> None:
    assert cells.parse_int("3") == 3 and cells.parse_int("3.0") == 3
    for bad in ("3.5", "three", "inf"):
        with pytest.raises(ValueError, match="whole number"):
            cells.parse_int(bad)


def test_seconds_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        cells.fmt_time(time(8, 0, 30))
