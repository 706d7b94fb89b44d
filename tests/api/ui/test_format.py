"""How the workspace writes numbers."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from api.ui.format import DASH, form_amount, num, pct, pp, signed, when


def test_examples():
    assert pct(0.9512) == "95.1 %" and pct(0.5, 0) == "50 %"
    assert num(1234567.8) == "1,234,568" and num(12.345, 2) == "12.35"
    assert pp(0.012) == "+1.2 pp" and pp(-0.5) == "-50.0 pp" and pp(-0.0001) == "0.0 pp"
    assert signed(-12345.6) == "-12,346" and signed(3) == "+3"
    assert when(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02 03:04 UTC"
    assert when("2026-01-02T03:04:00+00:00") == "2026-01-02 03:04 UTC"
    for f in (pct, num, pp, signed, when):
        assert f(None) == DASH
    assert pct(float("nan")) == DASH


@given(st.floats(-1e15, 1e15, allow_nan=False))
def test_no_scientific_notation_and_the_value_reads_back(x):
    text = num(x, 2)
    assert "e" not in text.lower()
    assert abs(float(text.replace(",", "")) - x) <= 0.005 + abs(x) * 1e-15


def test_form_amount_reads_planner_typed_money() -> None:
    assert form_amount("", positive=True) == (None, None)
    assert form_amount(" 1,200,000 ", positive=True) == (1_200_000.0, None)
    assert form_amount("0", positive=False) == (0.0, None)
    assert "positive amount" in form_amount("0", positive=True)[1]
    assert "zero or more" in form_amount("-5", positive=False)[1]
    assert "not a number" in form_amount("lots", positive=False)[1]
    assert form_amount("inf", positive=False)[0] is None
