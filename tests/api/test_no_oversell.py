"""No oversell: concurrent clients (of one or two organizations) race over HTTP for the last
units of a part; concurrent replays and duplicate tickets book once."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.stock import service as stock
from inventory import ledger
from inventory.db.dispatch_models import DEFAULT_ORGANIZATION_ID, Dispatch
from tests.api.conftest import body
from tests.api.tenant_keys import org_key

CLIENTS = 32


def test_32_clients_reserve_exactly_the_free_units(api):
    # LC-10G-B: 3 free at the HQ, 1 at GZ, no substitute -> exactly 4 can be reserved
    app = create_app(context=api.ctx)
    start = threading.Barrier(CLIENTS)

    def client(i: int) -> dict:
        with TestClient(app) as c:
            start.wait()
            r = c.post("/v1/dispatches",
                       json=body(ticket_id=f"RACE-{i}", site_id="GZ-02", part_id="LC-10G-B"),
                       headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))
            assert r.status_code == 201, r.text
            return r.json()

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))
    reserved = [r for r in results if r["status"] == "reserved"]
    assert len(reserved) == 4
    assert sum(r["status"] == "backordered" for r in results) == CLIENTS - 4
    with api.ctx.sessions() as s:
        rows = stock.stock_rows(session=s, part_id="LC-10G-B")
    assert sum(r["reserved"] for r in rows) == 4
    assert all(r["available"] == 0 for r in rows)
    per_depot = {}
    for r in reserved:
        per_depot[r["source_depot_id"]] = per_depot.get(r["source_depot_id"], 0) + 1
    assert per_depot == {"HQ-SZ": 3, "GZ": 1}


def test_concurrent_replays_of_one_key_reserve_once(api):
    app = create_app(context=api.ctx)
    start = threading.Barrier(8)

    def client(_: int) -> dict:
        with TestClient(app) as c:
            start.wait()
            r = c.post("/v1/dispatches", json=body(ticket_id="SAME"),
                       headers=api.h(**{"Idempotency-Key": "one-key"}))
            assert r.status_code == 201, r.text
            return r.json()

    with ThreadPoolExecutor(8) as pool:
        ids = {r["id"] for r in pool.map(client, range(8))}
    assert len(ids) == 1
    with api.ctx.sessions() as s:
        assert stock.stock_rows(session=s, depot_id="GZ", part_id="PSU-1200")[0]["reserved"] == 1


def test_two_servers_on_one_database_never_oversell(api, tiny):
    """Two app contexts (separate engines and connection pools, as two server processes would
    have: no shared in-process lock) race 16 + 16 clients for the 4 free LC-10G-B units; only the
    database's guarded update stands between them and an oversell."""
    from api.app import build_context
    from api.context import ApiSettings

    other = build_context(ApiSettings(database_url=api.ctx.settings.database_url, scenario=tiny,
                                      clock=api.ctx.settings.clock))
    apps = [create_app(context=api.ctx), create_app(context=other)]
    start = threading.Barrier(CLIENTS)

    def client(i: int) -> dict:
        with TestClient(apps[i % 2]) as c:
            start.wait()
            r = c.post("/v1/dispatches",
                       json=body(ticket_id=f"TWO-{i}", site_id="GZ-02", part_id="LC-10G-B"),
                       headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))
            assert r.status_code == 201, r.text
            return r.json()

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(client, range(CLIENTS)))
    finally:
        other.dispose()
    assert sum(r["status"] == "reserved" for r in results) == 4
    assert sum(r["status"] == "backordered" for r in results) == CLIENTS - 4
    with api.ctx.sessions() as s:
        rows = stock.stock_rows(session=s, part_id="LC-10G-B")
        assert ledger.verify(session=s) == []  # balances still fold from the movements
    assert sum(r["reserved"] for r in rows) == 4 and all(r["available"] == 0 for r in rows)


def test_two_organizations_racing_never_oversell_and_keep_their_keys_apart(api, tiny):
    """16 clients of each of two organizations, spread over two app contexts (as two server
    processes), race for the 4 free LC-10G-B, and each organization's clients replay one shared
    Idempotency-Key ("shared") at the same time."""
    from api.app import build_context
    from api.context import ApiSettings

    b_org = org_key(api, "partner-b")
    other = build_context(ApiSettings(database_url=api.ctx.settings.database_url, scenario=tiny,
                                      clock=api.ctx.settings.clock))
    apps = [create_app(context=api.ctx), create_app(context=other)]
    n = 16
    start = threading.Barrier(2 * n)

    def client(i: int) -> tuple[str, dict]:
        who = "ticketing" if i % 2 else "partner-b"
        key = "shared" if i < 8 else uuid.uuid4().hex
        ticket = f"SHARED-{who}" if i < 8 else f"RACE2-{i}"
        with TestClient(apps[i // 2 % 2]) as c:
            start.wait()
            r = c.post("/v1/dispatches",
                       json=body(ticket_id=ticket, site_id="GZ-02", part_id="LC-10G-B"),
                       headers=api.h(who, **{"Idempotency-Key": key}))
            assert r.status_code == 201, r.text
            return who, r.json()

    try:
        with ThreadPoolExecutor(2 * n) as pool:
            results = list(pool.map(client, range(2 * n)))
    finally:
        other.dispose()
    shared = {(who, d["id"]) for i, (who, d) in enumerate(results) if i < 8}
    assert len(shared) == 2 and {w for w, _ in shared} == {"ticketing", "partner-b"}
    distinct = {d["id"]: d for _, d in results}
    assert sum(d["status"] == "reserved" for d in distinct.values()) == 4
    with api.ctx.sessions() as s:
        rows = stock.stock_rows(session=s, part_id="LC-10G-B")
    assert sum(r["reserved"] for r in rows) == 4 and all(r["available"] == 0 for r in rows)
    # each organization lists exactly its own dispatches
    for who in ("ticketing", "partner-b"):
        listed = api.client.get("/v1/dispatches", params={"limit": 200}, headers=api.h(who))
        mine = {d["id"] for w, d in results if w == who}
        assert {d["id"] for d in listed.json()["items"]} == mine
    with api.ctx.sessions() as s:
        owners = {d.owner for d in s.scalars(select(Dispatch))}
    assert owners == {DEFAULT_ORGANIZATION_ID, b_org}


def test_concurrent_creates_for_one_ticket_book_one_dispatch_per_organization(api):
    """8 clients per organization send the same ticket and part with new keys at once: each
    organization gets one dispatch, every other request a 409 naming it."""
    org_key(api, "partner-b")
    app = create_app(context=api.ctx)
    start = threading.Barrier(16)

    def client(i: int) -> tuple[str, int, dict]:
        who = "ticketing" if i % 2 else "partner-b"
        with TestClient(app) as c:
            start.wait()
            r = c.post("/v1/dispatches", json=body(ticket_id="ONE-TICKET"),
                       headers=api.h(who, **{"Idempotency-Key": uuid.uuid4().hex}))
            return who, r.status_code, r.json()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(client, range(16)))
    for who in ("ticketing", "partner-b"):
        mine = [(code, d) for w, code, d in results if w == who]
        created = [d for code, d in mine if code == 201]
        assert len(created) == 1, mine
        refused = [d for code, d in mine if code == 409]
        assert len(refused) == 7
        assert {d["existing_dispatch_id"] for d in refused} == {created[0]["id"]}
