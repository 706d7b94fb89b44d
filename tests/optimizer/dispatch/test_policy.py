"""Rules around the decision: ready time, the returned unit's order, and a re-decision that
keeps the first deadline."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

import scenarios
from optimizer.dispatch import DispatchRequest, critical_levels, decide, redecide
from optimizer.dispatch.decide import request_deadline
from optimizer.dispatch.policy import (
    ready_time,
    redecision_ready,
    return_lead_days,
    returned_unit_order,
)
from optimizer.travel import TravelNetwork

CST = timezone(timedelta(hours=8))
NOW = datetime(2025, 6, 4, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tiny():
    return scenarios.load("tiny")


def test_ready_time_is_the_latest_instant_in_utc() -> None:
    reported = datetime(2025, 6, 4, 8, 0, tzinfo=CST)  # 00:00 UTC, before now
    assert ready_time(NOW, reported) == NOW
    approved = datetime(2025, 6, 4, 12, 0, tzinfo=CST)  # 04:00 UTC, after now
    out = ready_time(NOW, reported, None, approved)
    assert out == approved and out.tzinfo is UTC
    assert redecision_ready(NOW, reported, None) == NOW
    assert redecision_ready(NOW, reported, approved) == approved


instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                        timezones=st.sampled_from([UTC, CST, timezone(timedelta(hours=-5))]))


@given(instants, st.lists(st.one_of(st.none(), instants), max_size=3))
def test_ready_time_is_never_before_any_given_instant(now, given_instants) -> None:
    out = ready_time(now, *given_instants)
    assert out >= now and all(out >= t for t in given_instants if t is not None)
    assert out in [now, *(t for t in given_instants if t is not None)]


def test_returned_units_repair_when_repairable_else_scrap(tiny) -> None:
    hq = tiny.hq.depot_id
    at = NOW + timedelta(days=2)
    for part in tiny.parts:
        ret = returned_unit_order(part, hq_depot_id=hq, from_depot_id="GZ", returned_at=at)
        assert (ret.depot_id, ret.from_id) == (hq, "GZ")
        if part.repairable:
            assert ret.kind == "repair"
            assert ret.lead_time_days == part.repair_turnaround_days
            assert ret.expected_at == at + timedelta(days=part.repair_turnaround_days)
        else:
            assert (ret.kind, ret.lead_time_days, ret.expected_at) == ("scrap", 0.0, at)
        assert return_lead_days(part, ret.kind) == ret.lead_time_days
    part = tiny.parts[0]
    assert returned_unit_order(replace(part, repairable=False), hq_depot_id=hq,
                               from_depot_id="GZ", returned_at=at).kind == "scrap"


def test_redecide_with_the_first_due_instant_matches_decide(tiny) -> None:
    """A re-decision given the first decision's due instant chooses exactly what ``decide``
    chooses with the full deadline, on the same stock and ready time."""
    net, levels = TravelNetwork(tiny), critical_levels(tiny)
    free = {(s.depot_id, s.part_id): s.on_hand for s in tiny.stock}
    pairs = sorted({(b.site_id, b.part_id) for b in tiny.installed_base})
    for i, (site, part) in enumerate(pairs[:40]):
        req = DispatchRequest(site, part, 1 + i % 4, NOW - timedelta(hours=i % 7))
        deadline = request_deadline(tiny, req)
        ready = NOW + timedelta(hours=i % 5)
        first = decide(req, scenario=tiny, network=net, free_stock=free, levels=levels,
                       deadline=deadline, ready_at=ready)
        again = redecide(req, due_at=deadline.due_at, ready_at=ready, scenario=tiny,
                         network=net, free_stock=free, levels=levels)
        assert again.deadline is None
        assert (again.outcome, again.chosen, again.alternatives, again.reason) == (
            first.outcome, first.chosen, first.alternatives, first.reason)
