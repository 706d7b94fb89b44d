"""Deadline table: each row a hand-computed due instant."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.domain import (
    ClockStart,
    Contract,
    Milestone,
    SeverityTerm,
    Site,
    WeeklyHours,
    WindowKind,
)
from optimizer.deadlines import compute_deadline, due_instants

SHZ, URZ, BER, UTC = (ZoneInfo(z) for z in ("Asia/Shanghai", "Asia/Urumqi", "Europe/Berlin", "UTC"))
BH = WeeklyHours.parse("mon-fri 08:00-18:00")
NBD_COV = WeeklyHours.parse("mon-fri 09:00-17:00")


def term(sev: int, kind: WindowKind, value: float, cov: WeeklyHours, *, milestone=Milestone.PART_ON_SITE,
         start=ClockStart.TICKET_OPENED, cutoff: time | None = None) -> SeverityTerm:
    return SeverityTerm(sev, kind, value, 0.95, milestone, start, cov, cutoff)


H4_7X24 = term(1, WindowKind.HOURS, 4, WeeklyHours())
H8_BH = term(2, WindowKind.HOURS, 8, BH)
H4_BH_CUTOFF = term(2, WindowKind.HOURS, 4, BH, cutoff=time(16, 0))
NBD = term(3, WindowKind.BUSINESS_DAYS, 1, NBD_COV, cutoff=time(16, 0))
APPROVAL = term(1, WindowKind.HOURS, 4, WeeklyHours(), start=ClockStart.DISPATCH_APPROVED)
RESPONSE = term(4, WindowKind.HOURS, 1, WeeklyHours(), milestone=Milestone.RESPONSE)
ENGINEER = term(2, WindowKind.HOURS, 8, BH, milestone=Milestone.ENGINEER_ON_SITE)
CONTRACT = Contract("gold", "Gold", "gold", (H4_7X24, H8_BH, NBD, RESPONSE))


def site(tz: str = "Asia/Shanghai", country: str = "CN") -> Site:
    return Site("S1", "Site", "Acme", 31.3, 121.5, tz, country, "gold", "D1")


CASES = [
    # id, term, site, reported (local), expected due (local), cutoff_applied
    ("7x24 Friday evening", H4_7X24, site(), datetime(2025, 3, 14, 17, tzinfo=SHZ),
     datetime(2025, 3, 14, 21, tzinfo=SHZ), False),
    ("business hours Friday evening -> Monday", H8_BH, site(), datetime(2025, 3, 14, 17, tzinfo=SHZ),
     datetime(2025, 3, 17, 15, tzinfo=SHZ), False),
    ("business hours from a Saturday", H8_BH, site(), datetime(2025, 3, 15, 11, tzinfo=SHZ),
     datetime(2025, 3, 17, 16, tzinfo=SHZ), False),
    ("National Day pauses the clock", H8_BH, site(), datetime(2024, 9, 30, 14, tzinfo=SHZ),
     datetime(2024, 10, 8, 12, tzinfo=SHZ), False),
    ("hours window after its cut-off starts next morning", H4_BH_CUTOFF, site(),
     datetime(2025, 3, 11, 16, 30, tzinfo=SHZ), datetime(2025, 3, 12, 12, tzinfo=SHZ), True),
    ("hours window before its cut-off", H4_BH_CUTOFF, site(),
     datetime(2025, 3, 11, 15, 0, tzinfo=SHZ), datetime(2025, 3, 12, 9, tzinfo=SHZ), False),
    ("NBD before cut-off", NBD, site(), datetime(2025, 3, 11, 15, tzinfo=SHZ),
     datetime(2025, 3, 12, 17, tzinfo=SHZ), False),
    ("NBD after cut-off", NBD, site(), datetime(2025, 3, 11, 16, 30, tzinfo=SHZ),
     datetime(2025, 3, 13, 17, tzinfo=SHZ), True),
    ("NBD Friday after cut-off -> Tuesday", NBD, site(), datetime(2025, 3, 14, 16, 30, tzinfo=SHZ),
     datetime(2025, 3, 18, 17, tzinfo=SHZ), True),
    ("NBD on Saturday counts from Monday", NBD, site(), datetime(2025, 3, 15, 10, tzinfo=SHZ),
     datetime(2025, 3, 18, 17, tzinfo=SHZ), False),
    ("NBD over Spring Festival to the Sunday working day", NBD, site(),
     datetime(2024, 2, 9, 15, tzinfo=SHZ), datetime(2024, 2, 18, 17, tzinfo=SHZ), False),
    # one UTC instant, 09:30 UTC = 17:30 Shanghai, 15:30 Urumqi, 10:30 Berlin
    ("NBD Shanghai", NBD, site(), datetime(2025, 3, 11, 9, 30, tzinfo=UTC),
     datetime(2025, 3, 13, 17, tzinfo=SHZ), True),
    ("NBD Urumqi", NBD, site("Asia/Urumqi"), datetime(2025, 3, 11, 9, 30, tzinfo=UTC),
     datetime(2025, 3, 12, 17, tzinfo=URZ), False),
    ("NBD Berlin", NBD, site("Europe/Berlin", "DE"), datetime(2025, 3, 11, 9, 30, tzinfo=UTC),
     datetime(2025, 3, 12, 17, tzinfo=BER), False),
    ("8 business hours Berlin on German Unity Day", H8_BH, site("Europe/Berlin", "DE"),
     datetime(2024, 10, 2, 16, tzinfo=BER), datetime(2024, 10, 4, 14, tzinfo=BER), False),
    # daylight saving: the night of 2025-03-30 has 23 hours in Berlin
    ("7x24 over the spring-forward night counts real hours", H4_7X24, site("Europe/Berlin", "DE"),
     datetime(2025, 3, 30, 0, 30, tzinfo=BER), datetime(2025, 3, 30, 5, 30, tzinfo=BER), False),
    ("business hours across the DST weekend stay local", H8_BH, site("Europe/Berlin", "DE"),
     datetime(2025, 3, 28, 16, tzinfo=BER), datetime(2025, 3, 31, 14, tzinfo=BER), False),
]


@pytest.mark.parametrize(("t", "s", "reported", "due", "cut"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_deadline_table(t: SeverityTerm, s: Site, reported: datetime, due: datetime, cut: bool) -> None:
    d = compute_deadline(t, s, CONTRACT, reported_at=reported)
    assert d.due_at == due
    assert d.due_at.tzinfo is not None and d.due_at.utcoffset().total_seconds() == 0
    assert d.cutoff_applied is cut
    assert d.timezone == s.timezone
    assert ("cut-off" in d.text) is cut


def test_holidays_are_listed_in_the_explanation() -> None:
    d = compute_deadline(H8_BH, site(), CONTRACT, reported_at=datetime(2024, 9, 30, 14, tzinfo=SHZ))
    assert d.holidays_skipped == tuple(date(2024, 10, k) for k in (1, 2, 3, 4, 7))
    assert "National Day" in d.text
    d = compute_deadline(NBD, site(), CONTRACT, reported_at=datetime(2024, 2, 9, 15, tzinfo=SHZ))
    assert d.holidays_skipped == tuple(date(2024, 2, k) for k in (12, 13, 14, 15, 16))


def test_clock_start_at_dispatch_approval() -> None:
    rep = datetime(2025, 3, 11, 10, tzinfo=SHZ)
    d = compute_deadline(APPROVAL, site(), CONTRACT, reported_at=rep,
                         approved_at=datetime(2025, 3, 11, 11, 30, tzinfo=SHZ))
    assert d.due_at == datetime(2025, 3, 11, 15, 30, tzinfo=SHZ)
    assert "approved_at" in d.text
    d = compute_deadline(APPROVAL, site(), CONTRACT, reported_at=rep)
    assert d.due_at == datetime(2025, 3, 11, 14, tzinfo=SHZ)
    assert d.clock_started_at == rep
    assert "no approval time was given" in d.text and "reported_at" in d.text


def test_clock_start_at_report_confirmation_or_approval() -> None:
    """One request, three dialects of the same 4 h 7x24 window: the clock starts at the ticket,
    at the fault confirmation or at the dispatch approval."""
    rep = datetime(2025, 3, 11, 10, tzinfo=SHZ)
    conf, appr = rep + timedelta(minutes=45), rep + timedelta(hours=2)
    due = {}
    for start in (ClockStart.TICKET_OPENED, ClockStart.FAULT_CONFIRMED, ClockStart.DISPATCH_APPROVED):
        t = term(1, WindowKind.HOURS, 4, WeeklyHours(), start=start)
        d = compute_deadline(t, site(), CONTRACT, reported_at=rep, confirmed_at=conf, approved_at=appr)
        due[start] = (d.clock_started_at, d.due_at)
    assert due[ClockStart.TICKET_OPENED] == (rep, rep + timedelta(hours=4))
    assert due[ClockStart.FAULT_CONFIRMED] == (conf, conf + timedelta(hours=4))
    assert due[ClockStart.DISPATCH_APPROVED] == (appr, appr + timedelta(hours=4))


def test_response_and_on_site_milestones_of_one_contract() -> None:
    """At the same instant the on-site term has an exact part deadline and the response term
    none (a response is not a part delivery)."""
    rep = datetime(2025, 3, 14, 17, tzinfo=SHZ)
    on_site = compute_deadline(H4_7X24, site(), CONTRACT, reported_at=rep)
    response = compute_deadline(RESPONSE, site(), CONTRACT, reported_at=rep)
    assert on_site.milestone == "part_on_site" and on_site.due_at == rep + timedelta(hours=4)
    assert response.milestone == "response" and response.due_at is None


def test_fault_confirmed_fallback_is_explained() -> None:
    t = term(1, WindowKind.HOURS, 4, WeeklyHours(), start=ClockStart.FAULT_CONFIRMED)
    d = compute_deadline(t, site(), CONTRACT, reported_at=datetime(2025, 3, 11, 10, tzinfo=SHZ))
    assert "no confirmation time was given" in d.text


def test_response_milestone_has_no_part_deadline() -> None:
    d = compute_deadline(RESPONSE, site(), CONTRACT, reported_at=datetime(2025, 3, 11, 10, tzinfo=SHZ))
    assert d.due_at is None and d.milestone == "response"
    assert "no contractual deadline" in d.text


def test_engineer_on_site_means_part_on_site() -> None:
    rep = datetime(2025, 3, 14, 17, tzinfo=SHZ)
    d = compute_deadline(ENGINEER, site(), CONTRACT, reported_at=rep)
    assert d.due_at == compute_deadline(H8_BH, site(), CONTRACT, reported_at=rep).due_at
    assert "part must be on site" in d.text


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValueError, match="reported_at"):
        compute_deadline(H4_7X24, site(), CONTRACT, reported_at=datetime(2025, 3, 11, 10))


instant_st = st.integers(0, 60 * 24 * 400).map(
    lambda m: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=m))


@settings(max_examples=120, deadline=None)
@given(st.sampled_from([H4_7X24, H8_BH, NBD, ENGINEER]),
       st.sampled_from([site(), site("Asia/Urumqi"), site("Europe/Berlin", "DE")]),
       instant_st, st.integers(0, 60 * 72))
def test_due_is_monotone_and_after_clock_start(t: SeverityTerm, s: Site, a: datetime, shift: int) -> None:
    da = compute_deadline(t, s, CONTRACT, reported_at=a)
    db = compute_deadline(t, s, CONTRACT, reported_at=a + timedelta(minutes=shift))
    assert da.clock_started_at < da.due_at <= db.due_at


@pytest.mark.parametrize(("t", "s", "reported", "due", "cut"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bulk_due_instants_match_the_table(t: SeverityTerm, s: Site, reported: datetime,
                                           due: datetime, cut: bool) -> None:
    """The sampling path (no explanations) gives the table's due instants too."""
    assert due_instants(t, s, [reported, reported]) == [due, due]


def test_bulk_due_instants_of_a_response_term_are_none() -> None:
    assert due_instants(RESPONSE, site(), [datetime(2025, 3, 11, 9, tzinfo=SHZ)]) is None
