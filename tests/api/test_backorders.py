"""Backorders are filled when stock comes free (receipt, positive adjustment, cancel) or on an
explicit re-decision: earliest deadline first, reserved atomically, replay unchanged."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from api.dispatches.models import DispatchOut
from inventory import ledger
from inventory.db.dispatch_models import WebhookOutbox
from tests.api.conftest import body


def post(api, payload, key=None):
    return api.client.post("/v1/dispatches", json=payload,
                           headers=api.h(**{"Idempotency-Key": key or uuid.uuid4().hex}))


def receive(api, depot, part, quantity, path="receipts", **extra):
    r = api.client.post(f"/v1/stock/{path}", headers=api.h("planner"),
                        json={"depot_id": depot, "part_id": part, "quantity": quantity, **extra})
    assert r.status_code == 201, r.text
    return {x["depot_id"]: x for x in r.json()}


def get(api, dispatch_id):
    r = api.client.get(f"/v1/dispatches/{dispatch_id}", headers=api.h())
    assert r.status_code == 200, r.text
    return r.json()


def free(api, depot, part):
    with api.ctx.sessions() as s:
        return ledger.available(session=s, depot_id=depot, part_id=part)


def sound(api):
    with api.ctx.sessions() as s:
        assert ledger.verify(session=s) == []


def test_receipt_fills_a_backorder_at_the_depot_that_now_has_the_units(api):
    api.ctx.settings.webhook_allow = ("http://127.0.0.1:9",)  # a loopback receiver, allow-listed
    sub = api.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"},
                          headers=api.h()).json()
    key = uuid.uuid4().hex
    # LC-10G-B: 3 at the HQ, 1 at GZ: five from one depot is a backorder
    bo = post(api, body(ticket_id="BO", part_id="LC-10G-B", quantity=5), key=key).json()
    assert bo["status"] == "backordered" and bo["redecided_at"] is None
    rows = receive(api, "GZ", "LC-10G-B", 4)  # GZ now holds 5
    assert (rows["GZ"]["on_hand"], rows["GZ"]["reserved"]) == (5, 5)
    d = get(api, bo["id"])
    DispatchOut.model_validate(d)
    assert d["status"] == "reserved" and d["source_depot_id"] == "GZ"
    assert d["shipped_part_id"] == "LC-10G-B" and d["substitute_part_id"] is None
    assert d["mode_id"] and d["eta"] and d["redecided_at"] == "2025-06-04T02:00:00Z"
    assert d["deadline"] == bo["deadline"]  # the deadline does not move
    assert d["chosen"]["depot_id"] == "GZ" and d["reason"].startswith("Backorder filled")
    assert d["on_time"] is (d["margin_hours"] >= 0)
    assert [e["kind"] for e in d["events"]] == ["backorder_filled"]
    assert free(api, "HQ-SZ", "LC-10G-B") == 3  # the HQ's units were not touched
    # the Idempotency-Key replay still answers the create as it was
    again = post(api, body(ticket_id="BO", part_id="LC-10G-B", quantity=5), key=key)
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == bo
    listed = api.client.get("/v1/dispatches", params={"status": "reserved"}, headers=api.h())
    assert [x["id"] for x in listed.json()["items"]] == [bo["id"]]
    with api.ctx.sessions() as s:
        types = [m.event_type for m in s.scalars(select(WebhookOutbox).where(
            WebhookOutbox.subscription_id == sub["id"]).order_by(WebhookOutbox.created_at))]
    assert sorted(types) == ["dispatch.backordered", "dispatch.reserved"]
    with api.ctx.sessions() as s:
        moves = ledger.movements(session=s, reference=bo["id"])
    assert [(m.kind, m.depot_id, m.quantity) for m in moves] == [("reserve", "GZ", 5)]
    # the filled dispatch ships from its new source like any reservation
    r = api.client.post(f"/v1/dispatches/{bo['id']}/events", headers=api.h(),
                        json={"kind": "shipped", "at": "2025-06-04T11:00:00+08:00"})
    assert r.status_code == 200 and r.json()["status"] == "shipped"
    assert free(api, "GZ", "LC-10G-B") == 0
    sound(api)


def test_two_backorders_and_units_for_one_the_earlier_deadline_wins(api):
    # silver (9 business hours) asks first, platinum (4 h) second: platinum is due first
    late = post(api, body(ticket_id="SILV", site_id="SH-04", part_id="LC-10G-B", quantity=5)).json()
    early = post(api, body(ticket_id="PLAT", site_id="GZ-01", part_id="LC-10G-B",
                           quantity=5)).json()
    assert late["status"] == early["status"] == "backordered"
    assert early["deadline"]["due_at"] < late["deadline"]["due_at"]
    rows = receive(api, "HQ-SZ", "LC-10G-B", 2)  # the HQ holds 5: enough for one of them
    assert (rows["HQ-SZ"]["on_hand"], rows["HQ-SZ"]["reserved"]) == (5, 5)
    assert get(api, early["id"])["status"] == "reserved"
    assert get(api, early["id"])["source_depot_id"] == "HQ-SZ"
    assert get(api, late["id"])["status"] == "backordered"
    # five more at GZ: the silver one is filled from there
    receive(api, "GZ", "LC-10G-B", 4)
    d = get(api, late["id"])
    assert d["status"] == "reserved" and d["source_depot_id"] == "GZ"
    sound(api)


def test_a_substitute_receipt_fills_a_backorder_of_the_part_it_replaces(api):
    # LC-10G (1 at the HQ, 1 at SH) may be replaced by LC-10G-B (3 at the HQ): four is a backorder
    bo = post(api, body(ticket_id="SUB", part_id="LC-10G", quantity=4)).json()
    assert bo["status"] == "backordered"
    receive(api, "HQ-SZ", "LC-10G-B", 1)
    d = get(api, bo["id"])
    assert d["status"] == "reserved" and d["source_depot_id"] == "HQ-SZ"
    assert d["shipped_part_id"] == d["substitute_part_id"] == "LC-10G-B"
    assert free(api, "HQ-SZ", "LC-10G-B") == 0 and free(api, "HQ-SZ", "LC-10G") == 1
    sound(api)


def test_adjustments_and_cancel(api):
    bo = post(api, body(ticket_id="ADJ", part_id="LC-10G-B", quantity=5)).json()
    receive(api, "HQ-SZ", "LC-10G-B", -1, path="adjustments", reason="count")  # removes: no fill
    assert get(api, bo["id"])["status"] == "backordered"
    receive(api, "HQ-SZ", "LC-10G-B", 3, path="adjustments", reason="found in a cage")  # HQ 5
    assert get(api, bo["id"])["status"] == "reserved"
    # a cancelled reservation gives its units to the next backorder, in the same transaction
    bo2 = post(api, body(ticket_id="NEXT", part_id="LC-10G-B", quantity=5)).json()
    assert bo2["status"] == "backordered"
    r = api.client.post(f"/v1/dispatches/{bo['id']}/events", headers=api.h(),
                        json={"kind": "cancelled", "at": "2025-06-04T10:30:00+08:00"})
    assert r.json()["status"] == "cancelled"
    d = get(api, bo2["id"])
    assert d["status"] == "reserved" and d["source_depot_id"] == "HQ-SZ"
    assert free(api, "HQ-SZ", "LC-10G-B") == 0
    sound(api)


def test_explicit_redecide(api):
    bo = post(api, body(ticket_id="RD", part_id="LC-10G-B", quantity=5)).json()
    url = f"/v1/dispatches/{bo['id']}/redecide"
    r = api.client.post(url, headers=api.h())  # still nothing free: stays backordered
    assert r.status_code == 200 and r.json()["status"] == "backordered"
    with api.ctx.sessions() as s:  # stock arriving by a way that does not fill by itself
        ledger.receive(session=s, depot_id="HQ-SZ", part_id="LC-10G-B", quantity=2)
    assert get(api, bo["id"])["status"] == "backordered"
    r = api.client.post(url, headers=api.h("planner"))  # a planner may ask too
    assert r.status_code == 200 and r.json()["status"] == "reserved"
    assert r.json()["source_depot_id"] == "HQ-SZ"
    again = api.client.post(url, headers=api.h())
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "path.dispatch_id"
    assert api.client.post("/v1/dispatches/dsp_nope/redecide", headers=api.h()).status_code == 404
    assert api.client.post(url).status_code == 401
    sound(api)


def test_receipts_and_cancels_racing_fill_each_backorder_once(api, tiny):
    """Two app contexts (as two server processes) take 8 receipts and 4 cancels concurrently
    while 12 one-unit backorders wait: the 12 freed units fill all 12, each exactly once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from api.app import build_context, create_app
    from api.context import ApiSettings

    held = [post(api, body(ticket_id=f"H{i}", part_id="LC-10G-B")).json() for i in range(4)]
    assert {h["status"] for h in held} == {"reserved"}  # all 4 LC-10G-B units (HQ 3, GZ 1)
    sites = ["GZ-01", "GZ-02", "SH-01", "SH-03", "CD-01", "CD-02"]
    waiting = [post(api, body(ticket_id=f"W{i}", part_id="LC-10G-B", site_id=sites[i % 6],
                              severity=1 + i % 4)).json() for i in range(12)]
    assert {w["status"] for w in waiting} == {"backordered"}
    other = build_context(ApiSettings(database_url=api.ctx.settings.database_url, scenario=tiny,
                                      clock=api.ctx.settings.clock))
    apps = [create_app(context=api.ctx), create_app(context=other)]
    jobs = [("receipt", d) for d in ("HQ-SZ", "GZ", "SH", "CD") * 2] + \
        [("cancel", h["id"]) for h in held]
    start = threading.Barrier(len(jobs))

    def run(i: int) -> int:
        kind, what = jobs[i]
        with TestClient(apps[i % 2]) as c:
            start.wait()
            if kind == "receipt":
                return c.post("/v1/stock/receipts", headers=api.h("planner"), json={
                    "depot_id": what, "part_id": "LC-10G-B", "quantity": 1}).status_code
            return c.post(f"/v1/dispatches/{what}/events", headers=api.h(), json={
                "kind": "cancelled", "at": "2025-06-04T10:30:00+08:00"}).status_code

    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            codes = list(pool.map(run, range(len(jobs))))
    finally:
        other.dispose()
    assert codes == [201] * 8 + [200] * 4
    got = [get(api, w["id"]) for w in waiting]
    assert [g["status"] for g in got] == ["reserved"] * 12
    with api.ctx.sessions() as s:
        for g in got:
            moves = ledger.movements(session=s, reference=g["id"])
            assert [(m.kind, m.depot_id, m.quantity) for m in moves] == \
                [("reserve", g["source_depot_id"], 1)]
        rows = {b.depot_id: b for b in ledger.balances(session=s, part_id="LC-10G-B")}
        assert ledger.verify(session=s) == []
    assert sum(b.reserved for b in rows.values()) == 12
    assert all(b.available == 0 for b in rows.values())
    per_depot = {}
    for g in got:
        per_depot[g["source_depot_id"]] = per_depot.get(g["source_depot_id"], 0) + 1
    assert per_depot == {d: b.reserved for d, b in rows.items() if b.reserved}


def test_redecide_does_not_jump_the_queue(api):
    late = post(api, body(ticket_id="SILV", site_id="SH-04", part_id="LC-10G-B", quantity=5)).json()
    early = post(api, body(ticket_id="PLAT", site_id="GZ-01", part_id="LC-10G-B",
                           quantity=5)).json()
    with api.ctx.sessions() as s:  # the HQ holds 5: enough for one
        ledger.receive(session=s, depot_id="HQ-SZ", part_id="LC-10G-B", quantity=2)
    r = api.client.post(f"/v1/dispatches/{late['id']}/redecide", headers=api.h())
    assert r.status_code == 200 and r.json()["status"] == "backordered"
    assert get(api, early["id"])["status"] == "reserved"  # its deadline comes first
    sound(api)
