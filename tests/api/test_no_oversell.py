"""No oversell: 32 concurrent clients race over HTTP for the last units of a part."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from api.app import create_app
from api.stock import service as stock
from inventory import ledger
from tests.api.conftest import body

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
