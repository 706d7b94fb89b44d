"""The dispatch hot path: reads take no SQLite write lock, database work stays off the event
loop, a filled backorder keeps its first decision's deadline and ready time, and backorders are
filled only inside an exclusive write transaction."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.dispatches import flows
from api.limits import Limits
from inventory.db.engine import sqlite_file
from tests.api.conftest import NOW, body


def post(api, payload, key=None):
    return api.client.post("/v1/dispatches", json=payload,
                           headers=api.h(**{"Idempotency-Key": key or uuid.uuid4().hex}))


def _sqlite_only(api) -> str:
    path = sqlite_file(api.ctx.engine.url.render_as_string(hide_password=False))
    if path is None:
        pytest.skip("the SQLite write lock only exists on SQLite")
    return str(path)


def test_reads_and_key_lookups_do_not_wait_for_the_write_lock(api):
    """(The request rate counters, which write, are off here: their storage is not the
    dispatch slice's.)"""
    created = post(api, body()).json()
    path = _sqlite_only(api)
    unlimited = Limits(per_key=None, per_address=None, auth_failures=None)
    client = TestClient(create_app(context=api.ctx, limits=unlimited))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock meanwhile
    try:
        api.ctx.key_cache.clear()  # the key is read from the database again
        t = time.monotonic()
        one = client.get(f"/v1/dispatches/{created['id']}", headers=api.h())
        listed = client.get("/v1/dispatches", headers=api.h())
        stock = client.get("/v1/stock", params={"part_id": "PSU-1200"}, headers=api.h())
        took = time.monotonic() - t
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (one.status_code, listed.status_code, stock.status_code) == (200, 200, 200)
    assert one.json()["id"] == created["id"] and len(listed.json()["items"]) == 1
    assert took < 5.0  # the busy handler would have waited up to 30 s per read


def test_the_event_loop_answers_while_a_create_waits_for_the_writer(api):
    """A create queued behind another writer waits on a worker thread: /healthz, answered on
    the event loop, is not held up by it."""
    _sqlite_only(api)
    app = create_app(context=api.ctx,
                     limits=Limits(per_key=None, per_address=None, auth_failures=None))
    lock = api.ctx._write_lock
    assert lock is not None
    lock.acquire()  # another transaction of this process is writing
    safety = threading.Timer(20.0, lock.release)  # never leave the test hanging
    safety.start()

    async def scenario() -> tuple[float, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            create = asyncio.create_task(client.post(
                "/v1/dispatches", json=body(ticket_id="LOOP"),
                headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex})))
            await asyncio.sleep(0.3)  # the create is now waiting for the writer lock
            t = time.monotonic()
            health = await client.get("/healthz")
            answered = time.monotonic() - t
            assert health.status_code == 200 and not create.done()
            if safety.is_alive():
                safety.cancel()
                lock.release()
            return answered, (await create).status_code

    answered, status = asyncio.run(scenario())
    assert answered < 5.0 and status == 201


def test_a_filled_backorder_keeps_its_first_deadline_and_ready_time(api):
    """An approval still in the future holds the order: the re-decision ships from it, with
    the deadline of the first decision, read from the dispatch row."""
    approved = NOW + timedelta(hours=3)
    bo = post(api, body(ticket_id="BO-R", part_id="LC-10G-B", quantity=5,
                        approved_at=approved.isoformat())).json()
    assert bo["status"] == "backordered" and bo["ready_at"] == "2025-06-04T05:00:00Z"
    r = api.client.post("/v1/stock/receipts", headers=api.h("planner"),
                        json={"depot_id": "GZ", "part_id": "LC-10G-B", "quantity": 4})
    assert r.status_code == 201, r.text
    d = api.client.get(f"/v1/dispatches/{bo['id']}", headers=api.h()).json()
    assert d["status"] == "reserved" and d["redecided_at"] == "2025-06-04T02:00:00Z"
    assert d["ready_at"] == "2025-06-04T05:00:00Z"  # not the fill time (02:00)
    assert d["deadline"] == bo["deadline"]
    assert d["chosen"]["departs_at"] >= "2025-06-04T05:00:00Z"
    if d["deadline"]["due_at"] is not None:
        due = d["deadline"]["due_at"]
        assert d["on_time"] is (d["eta"] <= due)


def test_backorders_are_filled_only_in_an_exclusive_write_transaction(api):
    with api.ctx.sessions(write=True) as s, pytest.raises(RuntimeError, match="exclusive"):
        flows.on_units_landed(api.ctx, s, ["LC-10G-B"])
    with api.ctx.sessions(write=True, exclusive=True) as s:
        assert s.info["exclusive"] is True
        assert flows.on_units_landed(api.ctx, s, ["LC-10G-B"]) == []  # nothing waits


def test_answers_are_slim_unless_expanded(api):
    created = post(api, body(severity=4)).json()
    assert len(created["alternatives"]) <= 3
    full = api.client.get(f"/v1/dispatches/{created['id']}",
                          params={"expand": "alternatives"}, headers=api.h()).json()
    assert len(full["alternatives"]) == full["alternatives_total"] == created["alternatives_total"]
    assert full["alternatives"][:3] == created["alternatives"]


def test_a_key_committed_by_a_concurrent_create_is_answered_as_a_replay(api, monkeypatch) -> None:
    """The race the unique (owner, Idempotency-Key) settles: the snapshot read misses the first
    create (still uncommitted then), the insert hits the key, and the answer is the first
    create's, reserving nothing more (the insert's error is SQLAlchemy's IntegrityError on
    every backend, also from the prepared statements on SQLite)."""
    from api.dispatches import service

    payload = body(ticket_id="RACE-1", allow_duplicate_ticket=True)
    first = post(api, payload, key="race-key")
    assert first.status_code == 201, first.text
    real, calls = service._stored, []

    def missing_once(*args, **kwargs):
        calls.append(args)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(service, "_stored", missing_once)
    again = post(api, payload, key="race-key")
    assert again.status_code == 201, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"] and len(calls) == 2
    listed = api.client.get("/v1/dispatches", params={"ticket_id": "RACE-1"}, headers=api.h())
    assert [d["id"] for d in listed.json()["items"]] == [first.json()["id"]]
