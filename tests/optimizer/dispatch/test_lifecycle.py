"""The dispatch lifecycle rules: the state machine and the SLA outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer.dispatch.lifecycle import (
    TRANSITIONS,
    EventKind,
    Status,
    next_status,
    sla_outcome,
)

DUE = datetime(2025, 6, 4, 6, 0, tzinfo=UTC)


def test_the_happy_path_reaches_closed() -> None:
    s = Status.RESERVED
    for event in (EventKind.PICKED, EventKind.SHIPPED, EventKind.DELIVERED,
                  EventKind.DEFECTIVE_RECEIVED):
        nxt = next_status(s, event)
        assert nxt is not None
        s = nxt
    assert s is Status.CLOSED


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("event", list(EventKind))
def test_only_listed_transitions_are_legal(status: Status, event: EventKind) -> None:
    allowed, target = TRANSITIONS[event]
    assert next_status(status, event) == (target if status in allowed else None)


def test_a_shipped_or_finished_dispatch_cannot_be_cancelled() -> None:
    for s in (Status.SHIPPED, Status.DELIVERED, Status.CLOSED, Status.CANCELLED):
        assert next_status(s, EventKind.CANCELLED) is None
    assert next_status(Status.BACKORDERED, EventKind.CANCELLED) is Status.CANCELLED
    assert next_status(Status.BACKORDERED, EventKind.PICKED) is None  # nothing reserved yet


def test_sla_outcome_by_hand() -> None:
    assert sla_outcome(DUE, DUE - timedelta(minutes=1)).delta_hours == 0.017
    assert sla_outcome(DUE, DUE).outcome == "met"
    assert sla_outcome(DUE, DUE).delta_hours == 0.0
    late = sla_outcome(DUE, DUE + timedelta(hours=1, minutes=30))
    assert (late.outcome, late.delta_hours) == ("missed", -1.5)
    early = sla_outcome(DUE, datetime(2025, 6, 4, 10, 0, tzinfo=UTC) - timedelta(hours=8))
    assert (early.outcome, early.delta_hours) == ("met", 4.0)  # 02:00 UTC, 4 h before due
    assert sla_outcome(None, DUE).outcome == "met"
    assert sla_outcome(None, DUE).delta_hours is None


@given(st.integers(min_value=-10**7, max_value=10**7))
def test_sla_outcome_sign_and_margin_from_seconds(seconds: int) -> None:
    """Checked against integer seconds: met exactly when not after the due instant, and the
    margin is (due - delivered) in hours, to 3 decimals."""
    out = sla_outcome(DUE, DUE - timedelta(seconds=seconds))
    assert out.outcome == ("met" if seconds >= 0 else "missed")
    assert out.delta_hours == pytest.approx(seconds / 3600, abs=5.001e-4)
