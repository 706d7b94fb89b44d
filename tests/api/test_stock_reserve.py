"""The hot-path reserve (api.stock.service.reserve) writes exactly what inventory.ledger.reserve
writes: the same balance change, the same movement rows, the same refusals."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.stock import service as stock
from inventory import ledger

AT = datetime(2025, 6, 4, 2, 0, tzinfo=UTC)
FIELDS = ("kind", "quantity", "deltas", "reference", "reason", "actor", "at")


def _reset(session, depot: str) -> tuple[int, int]:
    """FAN-T1 at ``depot``: 5 on hand, none reserved; returns (version, last movement id)."""
    b = ledger.balance(session=session, depot_id=depot, part_id="FAN-T1")
    if b.reserved:
        ledger.release(session=session, depot_id=depot, part_id="FAN-T1", quantity=b.reserved)
    if b.on_hand != 5:
        ledger.adjust(session=session, depot_id=depot, part_id="FAN-T1", quantity=5 - b.on_hand,
                      reason="test setup")
    moves = ledger.movements(session=session)
    return (ledger.balance(session=session, depot_id=depot, part_id="FAN-T1").version,
            moves[-1].id if moves else 0)


def _after(session, depot: str, version: int, last_id: int):
    b = ledger.balance(session=session, depot_id=depot, part_id="FAN-T1")
    moves = [tuple(getattr(m, f) for f in FIELDS)
             for m in ledger.movements(session=session, depot_id=depot, part_id="FAN-T1")
             if m.id > last_id]
    return b.on_hand, b.reserved, b.version - version, moves


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 4), min_size=1, max_size=6))
def test_fast_reserve_equals_the_ledger(api, quantities):
    with api.ctx.sessions() as s:
        (v_gz, _), (v_sh, last) = _reset(s, "GZ"), _reset(s, "SH")
    with api.ctx.transaction() as conn:
        fast = [stock.reserve(session=conn, depot_id="GZ", part_id="FAN-T1", quantity=q,
                              reference=f"r{i}", at=AT) for i, q in enumerate(quantities)]
    with api.ctx.sessions() as s:
        slow = [ledger.reserve(session=s, depot_id="SH", part_id="FAN-T1", quantity=q,
                               reference=f"r{i}", at=AT) for i, q in enumerate(quantities)]
    assert fast == slow  # same refusals once fewer than q units are free
    with api.ctx.sessions() as s:
        assert _after(s, "GZ", v_gz, last) == _after(s, "SH", v_sh, last)
        assert ledger.verify(session=s) == []  # balances still fold from the movements
