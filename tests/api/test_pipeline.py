"""Pipeline bookings (/v1/pipeline) and dispatch orders (/v1/orders): the repair loop closed,
restock orders received, backorders filled, over-bookings refused with nothing written,
references booked once; SQLite always, PostgreSQL when reachable.

"Units" below is the physical stock, on_hand + in_transit + defective + in_repair over every
balance (reserved units are a part of on_hand, so they are not counted twice): pipeline bookings
leave it unchanged except buys placed (+) and scraps (-).
"""

from __future__ import annotations

import uuid

import pytest

from inventory import ledger
from inventory.db.restock_models import RestockRun
from tests.api.conftest import body

PIPELINE = "/v1/pipeline"


@pytest.fixture(autouse=True)
def ledger_stays_sound(api):
    """Every test leaves a ledger whose balances are the fold of its movements."""
    yield
    with api.ctx.sessions() as s:
        assert ledger.verify(session=s) == []


def bal(api, depot: str, part: str) -> tuple[int, int, int, int, int]:
    """(on_hand, reserved, in_transit, defective, in_repair) of a part at a depot."""
    with api.ctx.sessions() as s:
        return ledger.balance(session=s, depot_id=depot, part_id=part).buckets()


def units(api) -> int:
    with api.ctx.sessions() as s:
        return sum(b.on_hand + b.in_transit + b.defective + b.in_repair
                   for b in ledger.balances(session=s))


def moves_count(api) -> int:
    with api.ctx.sessions() as s:
        return len(ledger.movements(session=s))


def book(api, path: str, who: str = "planner", **payload):
    return api.client.post(f"{PIPELINE}/{path}", json=payload, headers=api.h(who))


def dispatch(api, **over) -> dict:
    r = api.client.post("/v1/dispatches", json=body(ticket_id=uuid.uuid4().hex, **over),
                        headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))
    assert r.status_code == 201, r.text
    return r.json()


def event(api, dispatch_id: str, kind: str, at: str) -> dict:
    r = api.client.post(f"/v1/dispatches/{dispatch_id}/events", json={"kind": kind, "at": at},
                        headers=api.h())
    assert r.status_code == 200, r.text
    return r.json()


def deliver_and_return(api, d: dict) -> dict:
    event(api, d["id"], "shipped", "2025-06-04T10:30:00+08:00")
    event(api, d["id"], "delivered", "2025-06-04T12:45:00+08:00")
    return event(api, d["id"], "defective_received", "2025-06-05T09:00:00+08:00")


def orders(api, **params) -> list[dict]:
    r = api.client.get("/v1/orders", params=params, headers=api.h("planner"))
    assert r.status_code == 200, r.text
    assert r.json()["count"] == len(r.json()["items"])
    return r.json()["items"]


def order_event(api, order_id: int, kind: str, **extra):
    return api.client.post(f"/v1/orders/{order_id}/events", json={"kind": kind, **extra},
                           headers=api.h("planner"))


def approve_restock(api, *, transfers=(), repairs=(), buys=()) -> str:
    """A succeeded restock run with these orders, approved through the API; its plan ref."""
    run_id, ref = f"rr_{uuid.uuid4().hex[:12]}", f"test-{uuid.uuid4().hex[:8]}"
    with api.ctx.sessions() as s:
        s.add(RestockRun(id=run_id, owner="test", quarter="2027Q1", status="succeeded",
                         plan_ref=ref, orders={"transfers": list(transfers),
                                               "repairs": list(repairs), "buys": list(buys),
                                               "excess": [], "cut": []}))
    r = api.client.post(f"/v1/restock-runs/{run_id}/approve", headers=api.h("planner"))
    assert r.status_code == 200 and r.json()["approval"]["skipped"] == 0, r.text
    return ref


def test_repair_loop_from_defective_return_to_the_shelf(api):
    start = units(api)
    d = dispatch(api)  # platinum GZ-01, one PSU-1200 from GZ (2 on hand)
    assert d["source_depot_id"] == "GZ" and bal(api, "GZ", "PSU-1200") == (2, 1, 0, 0, 0)
    closed = deliver_and_return(api, d)
    assert closed["status"] == "closed"
    assert bal(api, "GZ", "PSU-1200") == (1, 0, 0, 1, 0)  # shipped one, its failed unit is back
    assert units(api) == start  # one left for the site, one came back defective

    mine = orders(api, dispatch_id=d["id"])
    assert [(o["kind"], o["status"], o["depot_id"], o["from_id"]) for o in mine] == [
        ("transfer", "open", "GZ", "HQ-SZ"), ("repair", "open", "HQ-SZ", "GZ")]
    assert all(o["movements"] == [] for o in mine)  # opening an order books nothing more
    repair = orders(api, kind="repair", status="open", from_id="GZ")
    assert [o["id"] for o in repair] == [mine[1]["id"]]
    rid = repair[0]["id"]

    r = order_event(api, rid, "sent", at="2025-06-05T10:00:00+08:00")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "sent" and bal(api, "GZ", "PSU-1200") == (1, 0, 0, 0, 1)
    sent = r.json()["movements"]
    assert [(m["kind"], m["depot_id"], m["quantity"], m["reference"]) for m in sent] == [
        ("send_to_repair", "GZ", 1, f"order:{rid}")]
    assert sent[0]["actor"].startswith("test-planner") and sent[0]["at"] == "2025-06-05T02:00:00Z"
    again = order_event(api, rid, "sent")
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "body.kind"
    assert [o["id"] for o in orders(api, status="sent")] == [rid]

    hq = bal(api, "HQ-SZ", "PSU-1200")
    r = order_event(api, rid, "received", at="2025-06-26T09:00:00+08:00")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "received"
    assert [(m["kind"], m["depot_id"]) for m in r.json()["movements"]] == [
        ("send_to_repair", "GZ"), ("repair_out", "GZ"), ("repair_in", "HQ-SZ")]
    assert bal(api, "GZ", "PSU-1200") == (1, 0, 0, 0, 0)
    assert bal(api, "HQ-SZ", "PSU-1200") == (hq[0] + 1, *hq[1:])  # on the HQ's shelf again
    assert {(x["depot_id"], x["on_hand"]) for x in r.json()["stock"]} == {
        ("GZ", 1), ("HQ-SZ", hq[0] + 1)}
    assert units(api) == start
    before = moves_count(api)
    twice = order_event(api, rid, "received")
    assert twice.status_code == 409 and "'received'" in twice.json()["detail"]
    assert moves_count(api) == before

    # the dispatch's refill of GZ, received in one step: shipped from the HQ, then arrived
    tid = mine[0]["id"]
    r = order_event(api, tid, "received")
    assert r.status_code == 200, r.text
    assert [(m["kind"], m["depot_id"]) for m in r.json()["movements"]] == [
        ("transfer_out", "HQ-SZ"), ("transfer_expected", "GZ"), ("transfer_in", "GZ")]
    assert bal(api, "GZ", "PSU-1200") == (2, 0, 0, 0, 0)
    assert bal(api, "HQ-SZ", "PSU-1200") == hq
    assert units(api) == start
    got = api.client.get(f"/v1/orders/{tid}", headers=api.h("planner")).json()
    assert got["status"] == "received" and len(got["movements"]) == 3
    assert orders(api, dispatch_id=d["id"], status="open") == []


def test_order_listing_filters(api):
    d = dispatch(api)
    deliver_and_return(api, d)
    other = dispatch(api, site_id="GZ-05", severity=2)  # basic: from the HQ, refilled by a buy
    assert other["replenishment_order"]["kind"] == "buy"
    everything = orders(api)
    assert len(everything) == 3 and [o["id"] for o in everything] == sorted(
        o["id"] for o in everything)
    assert [o["kind"] for o in orders(api, depot_id="HQ-SZ")] == ["repair", "buy"]
    assert [o["kind"] for o in orders(api, from_id="supplier")] == ["buy"]
    assert [o["kind"] for o in orders(api, kind="transfer", part_id="PSU-1200")] == ["transfer"]
    assert orders(api, part_id="FAN-T1") == []
    assert orders(api, dispatch_id="dsp_none") == []
    first = api.client.get("/v1/orders", params={"limit": 2}, headers=api.h("planner")).json()
    assert len(first["items"]) == 2 and first["has_more"]
    rest = orders(api, limit=2, cursor=first["next_cursor"])
    assert [o["id"] for o in first["items"] + rest] == [o["id"] for o in everything]


def test_repair_send_and_return_fill_a_backorder(api):
    # the HQ holds 6 PSU-1200 on hand and 2 defective; no depot can ship 7
    bo = dispatch(api, quantity=7)
    assert bo["status"] == "backordered"
    start = units(api)
    r = book(api, "repair-sends", depot_id="HQ-SZ", part_id="PSU-1200", quantity=2,
             reference="RMA-1")
    assert r.status_code == 201, r.text
    assert [(m["kind"], m["quantity"]) for m in r.json()["movements"]] == [("send_to_repair", 2)]
    assert bal(api, "HQ-SZ", "PSU-1200") == (6, 0, 0, 0, 2)
    r = book(api, "repair-returns", depot_id="HQ-SZ", part_id="PSU-1200", quantity=1,
             reference="RMA-1", at="2025-06-20T09:00:00+08:00")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["booking"] == "repair_return" and out["replayed"] is False
    assert [(m["kind"], m["depot_id"]) for m in out["movements"]] == [("repair_return", "HQ-SZ")]
    assert out["filled_dispatch_ids"] == [bo["id"]]  # 7 on hand now: the backorder takes them
    assert out["stock"] == [{"depot_id": "HQ-SZ", "part_id": "PSU-1200", "on_hand": 7,
                             "reserved": 7, "in_transit": 0, "defective": 0, "in_repair": 1,
                             "available": 0}]
    filled = api.client.get(f"/v1/dispatches/{bo['id']}", headers=api.h()).json()
    assert filled["status"] == "reserved" and filled["source_depot_id"] == "HQ-SZ"
    # the other repaired unit goes to GZ instead: out of the HQ's repair count, onto GZ's shelf
    r = book(api, "repair-returns", depot_id="HQ-SZ", part_id="PSU-1200", quantity=1,
             reference="RMA-1b", to_depot_id="GZ")
    assert r.status_code == 201, r.text
    assert [(m["kind"], m["depot_id"]) for m in r.json()["movements"]] == [
        ("repair_out", "HQ-SZ"), ("repair_in", "GZ")]
    assert [(x["depot_id"], x["on_hand"], x["in_repair"]) for x in r.json()["stock"]] == [
        ("GZ", 3, 0), ("HQ-SZ", 7, 0)]
    assert r.json()["filled_dispatch_ids"] == []
    assert units(api) == start


def test_restock_transfer_arrives_and_fills_a_backorder(api):
    # LC-10G-B: 3 at the HQ, 1 at GZ; the run moves the HQ's 3 to GZ and buys 2 for the HQ
    ref = approve_restock(api, transfers=[{"from_depot": "HQ-SZ", "to_depot": "GZ",
                                           "part_id": "LC-10G-B", "quantity": 3}],
                          buys=[{"to_depot": "HQ-SZ", "part_id": "LC-10G-B", "quantity": 2}])
    assert bal(api, "HQ-SZ", "LC-10G-B") == (0, 0, 2, 0, 0)
    assert bal(api, "GZ", "LC-10G-B") == (1, 0, 3, 0, 0)
    bo = dispatch(api, part_id="LC-10G-B", quantity=4)
    assert bo["status"] == "backordered"
    start = units(api)
    # the buy's units are not the transfer's: an arrival at the HQ is refused
    r = book(api, "transfer-arrivals", depot_id="HQ-SZ", part_id="LC-10G-B", quantity=1,
             reference=f"restock:{ref}:B0")
    assert r.status_code == 409 and "transfer" in r.json()["detail"]
    r = book(api, "transfer-arrivals", depot_id="GZ", part_id="LC-10G-B", quantity=3,
             reference=f"restock:{ref}:T0", at="2026-01-12T09:30:00+08:00")
    assert r.status_code == 201, r.text
    assert [(m["kind"], m["quantity"]) for m in r.json()["movements"]] == [("transfer_in", 3)]
    assert r.json()["filled_dispatch_ids"] == [bo["id"]]
    assert bal(api, "GZ", "LC-10G-B") == (4, 4, 0, 0, 0)
    d = api.client.get(f"/v1/dispatches/{bo['id']}", headers=api.h()).json()
    assert d["status"] == "reserved" and d["source_depot_id"] == "GZ"
    r = book(api, "order-receipts", depot_id="HQ-SZ", part_id="LC-10G-B", quantity=2,
             reference="PO-4711")
    assert r.status_code == 201, r.text
    assert bal(api, "HQ-SZ", "LC-10G-B") == (2, 0, 0, 0, 0)
    assert units(api) == start


def test_overbooking_is_refused_and_writes_nothing(api):
    approve_restock(api, buys=[{"to_depot": "SH", "part_id": "FAN-T1", "quantity": 2}])
    assert bal(api, "SH", "FAN-T1") == (2, 0, 2, 0, 0)
    cases = [
        ("transfer-arrivals", {"depot_id": "GZ", "part_id": "PSU-1200", "quantity": 1}),
        ("transfer-arrivals", {"depot_id": "SH", "part_id": "FAN-T1", "quantity": 1}),  # a buy's
        ("order-receipts", {"depot_id": "SH", "part_id": "FAN-T1", "quantity": 3}),
        ("repair-sends", {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 3}),
        ("repair-returns", {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 1}),
        ("repair-returns", {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 1,
                            "to_depot_id": "GZ"}),
        ("scraps", {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 1,
                    "reason": "burnt"}),
        ("scraps", {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 3,
                    "reason": "burnt", "bucket": "defective"}),
    ]
    with api.ctx.sessions() as s:
        before = ledger.balances(session=s)
    count = moves_count(api)
    for path, payload in cases:
        r = book(api, path, reference=f"X-{path}", **payload)
        assert r.status_code == 409, (path, payload, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"].endswith("/ledger-refused")
        assert r.json()["errors"][0]["field"] == "body.quantity"
        assert payload["part_id"] in r.json()["detail"]
    assert moves_count(api) == count
    with api.ctx.sessions() as s:
        assert ledger.balances(session=s) == before
    # an order step the stock does not allow: the HQ has no LC-10G for GZ's refill
    d = dispatch(api, part_id="LC-10G", site_id="SH-01")  # SH's only LC-10G
    assert d["source_depot_id"] == "SH" and d["replenishment_order"]["kind"] == "transfer"
    oid = orders(api, dispatch_id=d["id"])[0]["id"]
    api.client.post("/v1/stock/adjustments", headers=api.h("planner"), json={
        "depot_id": "HQ-SZ", "part_id": "LC-10G", "quantity": -1, "reason": "count"})
    count = moves_count(api)
    r = order_event(api, oid, "received")
    assert r.status_code == 409 and "transfer_out" in r.json()["detail"]
    assert moves_count(api) == count
    assert orders(api, dispatch_id=d["id"])[0]["status"] == "open"  # the status did not move


def test_unknown_ids_and_bad_input_are_422_or_404(api):
    ok = {"depot_id": "GZ", "part_id": "PSU-1200", "quantity": 1, "reference": "R-1"}
    cases = [
        ("transfer-arrivals", {**ok, "depot_id": "XX"}, "body.depot_id"),
        ("order-receipts", {**ok, "part_id": "NOPE"}, "body.part_id"),
        ("repair-sends", {**ok, "quantity": 0}, "body.quantity"),
        ("repair-sends", {**ok, "quantity": 1.5}, "body.quantity"),
        ("repair-returns", {**ok, "to_depot_id": "XX"}, "body.to_depot_id"),
        ("repair-returns", {k: v for k, v in ok.items() if k != "reference"}, "body.reference"),
        ("scraps", ok, "body.reason"),
        ("scraps", {**ok, "reason": "x", "bucket": "on_hand"}, "body.bucket"),
        ("transfer-arrivals", {**ok, "at": "2025-06-04T10:00:00"}, "body.at"),
        ("transfer-arrivals", {**ok, "surprise": 1}, "body.surprise"),
    ]
    count = moves_count(api)
    for path, payload, field in cases:
        r = api.client.post(f"{PIPELINE}/{path}", json=payload, headers=api.h("planner"))
        assert r.status_code == 422, (path, r.text)
        assert r.json()["errors"][0]["field"] == field, (path, r.json())
    for params, field in (({"depot_id": "XX"}, "query.depot_id"),
                          ({"part_id": "NOPE"}, "query.part_id"),
                          ({"from_id": "XX"}, "query.from_id"),
                          ({"kind": "teleport"}, "query.kind"),
                          ({"status": "lost"}, "query.status")):
        r = api.client.get("/v1/orders", params=params, headers=api.h("planner"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, params
    r = order_event(api, 999_999, "received")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "path.order_id"
    assert api.client.get("/v1/orders/999999", headers=api.h("planner")).status_code == 404
    d = dispatch(api)
    deliver_and_return(api, d)
    transfer, repair = orders(api, dispatch_id=d["id"])
    for oid, payload, field in (
            (repair["id"], {"kind": "teleported"}, "body.kind"),
            (repair["id"], {"kind": "scrapped"}, "body.reason"),
            (repair["id"], {"kind": "sent", "depot_id": "GZ"}, "body.depot_id"),
            (repair["id"], {"kind": "received", "depot_id": "XX"}, "body.depot_id"),
            (transfer["id"], {"kind": "received", "depot_id": "SH"}, "body.depot_id"),
            (repair["id"], {"kind": "sent", "at": "2025-06-01T00:00:00Z"}, "body.at")):
        r = api.client.post(f"/v1/orders/{oid}/events", json=payload, headers=api.h("planner"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, (payload, r.text)
    assert moves_count(api) == count + 3  # the dispatch's reserve, issue and defective_in only
    assert {o["status"] for o in orders(api)} == {"open"}


def test_planner_scope_is_required(api):
    ok = {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 1, "reference": "R-1",
          "reason": "x"}
    for path in ("transfer-arrivals", "order-receipts", "repair-sends", "repair-returns",
                 "scraps"):
        r = book(api, path, who="ticketing", **ok)
        assert r.status_code == 403 and r.json()["type"].endswith("/forbidden"), path
        assert api.client.post(f"{PIPELINE}/{path}", json=ok).status_code == 401
    d = dispatch(api)
    oid = orders(api, dispatch_id=d["id"])[0]["id"]
    assert api.client.get("/v1/orders", headers=api.h()).status_code == 403
    assert api.client.get(f"/v1/orders/{oid}", headers=api.h()).status_code == 403
    r = api.client.post(f"/v1/orders/{oid}/events", json={"kind": "sent"}, headers=api.h())
    assert r.status_code == 403
    assert api.client.get("/v1/orders").status_code == 401
    assert orders(api)[0]["movements"] == []  # nothing was booked
    admin = api.client.post(f"{PIPELINE}/repair-sends", json=ok, headers=api.h("admin"))
    assert admin.status_code == 201  # admin holds every scope


def test_a_reference_is_booked_once(api):
    payload = {"depot_id": "HQ-SZ", "part_id": "PSU-1200", "quantity": 1, "reference": "RMA-9"}
    first = book(api, "repair-sends", **payload)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    count = moves_count(api)
    again = book(api, "repair-sends", **payload, at="2025-06-04T12:00:00+08:00")  # at: not compared
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["replayed"] is True
    assert again.json()["movements"] == first.json()["movements"]
    assert moves_count(api) == count and bal(api, "HQ-SZ", "PSU-1200") == (6, 0, 0, 1, 1)
    other = book(api, "repair-sends", **{**payload, "quantity": 2})
    assert other.status_code == 409 and other.json()["type"].endswith("/reference-reused")
    assert other.json()["errors"][0]["field"] == "body.reference"
    assert "send_to_repair 1 x PSU-1200 at HQ-SZ" in other.json()["detail"]
    assert moves_count(api) == count
    # the same document number for another booking kind is its own booking
    ret = book(api, "repair-returns", **payload, to_depot_id="GZ")
    assert ret.status_code == 201 and bal(api, "GZ", "PSU-1200")[0] == 3
    count = moves_count(api)
    assert book(api, "repair-returns", **payload, to_depot_id="GZ").status_code == 200
    assert book(api, "repair-returns", **payload).status_code == 409  # to the sender: differs
    # a scrap from defective: one movement, replayed; from in_repair it differs
    scrap = {**payload, "reference": "SCRAP-1", "reason": "burnt", "bucket": "defective"}
    assert book(api, "scraps", **scrap).status_code == 201
    assert moves_count(api) == count + 1
    replay = book(api, "scraps", **scrap)
    assert replay.status_code == 200, replay.text
    assert [(m["kind"], m["reference"], m["reason"]) for m in replay.json()["movements"]] == [
        ("scrapped", "SCRAP-1", "burnt")]
    assert book(api, "scraps", **{**scrap, "bucket": "in_repair"}).status_code == 409
    assert book(api, "scraps", **{**scrap, "reason": "dropped"}).status_code == 409
    assert moves_count(api) == count + 1
    assert bal(api, "HQ-SZ", "PSU-1200") == (6, 0, 0, 0, 0)


def test_scrap_order_of_a_consumable_and_a_buy_order(api):
    d = dispatch(api, part_id="FAN-T1")
    assert d["source_depot_id"] == "GZ"
    deliver_and_return(api, d)
    transfer, scrap = orders(api, dispatch_id=d["id"])
    assert scrap["kind"] == "scrap" and bal(api, "GZ", "FAN-T1") == (2, 0, 0, 1, 0)
    assert order_event(api, scrap["id"], "sent").status_code == 409  # nothing to send
    assert order_event(api, scrap["id"], "received").status_code == 409
    start = units(api)
    r = order_event(api, scrap["id"], "scrapped", reason="consumable fan tray")
    assert r.status_code == 200, r.text
    assert [(m["kind"], m["depot_id"], m["reason"]) for m in r.json()["movements"]] == [
        ("scrapped", "GZ", "consumable fan tray")]
    assert r.json()["status"] == "scrapped" and bal(api, "GZ", "FAN-T1") == (2, 0, 0, 0, 0)
    assert units(api) == start - 1  # a scrap is the one booking that removes units
    assert order_event(api, scrap["id"], "cancelled").status_code == 409
    # the refill is not needed after all: cancelled, nothing booked
    r = order_event(api, transfer["id"], "cancelled", reason="stock level lowered")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["movements"] == [] and units(api) == start - 1

    # a basic customer's PSU ships from the HQ: its refill is a buy, placed then received
    b = dispatch(api, site_id="GZ-05", severity=2)
    buy = orders(api, dispatch_id=b["id"])[0]
    assert (buy["kind"], buy["depot_id"], buy["from_id"]) == ("buy", "HQ-SZ", "supplier")
    hq = bal(api, "HQ-SZ", "PSU-1200")
    r = order_event(api, buy["id"], "sent")
    assert r.status_code == 200 and bal(api, "HQ-SZ", "PSU-1200")[2] == hq[2] + 1
    assert units(api) == start  # the buy placed adds the unit in transit
    assert order_event(api, buy["id"], "cancelled").status_code == 409  # already on its way
    r = order_event(api, buy["id"], "received")
    assert [m["kind"] for m in r.json()["movements"]] == ["order_placed", "order_received"]
    assert bal(api, "HQ-SZ", "PSU-1200") == (hq[0] + 1, hq[1], hq[2], hq[3], hq[4])
    assert units(api) == start


def test_repair_order_received_elsewhere_or_condemned(api):
    a, b = dispatch(api), dispatch(api)  # GZ's two PSU-1200
    deliver_and_return(api, a)
    deliver_and_return(api, b)
    ra = orders(api, dispatch_id=a["id"], kind="repair")[0]
    rb = orders(api, dispatch_id=b["id"], kind="repair")[0]
    assert bal(api, "GZ", "PSU-1200") == (0, 0, 0, 2, 0)
    start = units(api)
    r = order_event(api, ra["id"], "received", depot_id="GZ")  # repaired, back to GZ's shelf
    assert r.status_code == 200, r.text
    assert [(m["kind"], m["depot_id"]) for m in r.json()["movements"]] == [
        ("send_to_repair", "GZ"), ("repair_return", "GZ")]
    assert bal(api, "GZ", "PSU-1200") == (1, 0, 0, 1, 0)
    assert r.json()["filled_dispatch_ids"] == []
    r = order_event(api, rb["id"], "sent")
    r = order_event(api, rb["id"], "scrapped", reason="beyond economic repair")
    assert r.status_code == 200 and r.json()["status"] == "scrapped"
    assert [m["kind"] for m in r.json()["movements"]] == ["send_to_repair", "condemned"]
    assert bal(api, "GZ", "PSU-1200") == (1, 0, 0, 0, 0)
    assert units(api) == start - 1


def test_concurrent_replays_and_completions_book_once(api, tiny):
    """Two app contexts (as two server processes) send the same arrival 6 times and the same
    order completion 4 times at once: one booking each, the others replay or are refused."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from api.app import build_context, create_app
    from api.context import ApiSettings

    approve_restock(api, transfers=[{"from_depot": "HQ-SZ", "to_depot": "CD",
                                     "part_id": "FAN-T1", "quantity": 4}])
    d = dispatch(api)
    oid = orders(api, dispatch_id=d["id"])[0]["id"]
    other = build_context(ApiSettings(database_url=api.ctx.settings.database_url, scenario=tiny,
                                      clock=api.ctx.settings.clock))
    apps = [create_app(context=api.ctx), create_app(context=other)]
    for app in apps:  # FastAPI builds a route's state on its first request: not in the race
        with TestClient(app) as c:
            assert c.post(f"{PIPELINE}/transfer-arrivals", json={},
                          headers=api.h("planner")).status_code == 422
            assert c.post(f"/v1/orders/{oid}/events", json={},
                          headers=api.h("planner")).status_code == 422
    jobs = ["arrival"] * 6 + ["order"] * 4
    start = threading.Barrier(len(jobs))

    def run(i: int) -> int:
        with TestClient(apps[i % 2]) as c:
            start.wait()
            if jobs[i] == "arrival":
                return c.post(f"{PIPELINE}/transfer-arrivals", headers=api.h("planner"), json={
                    "depot_id": "CD", "part_id": "FAN-T1", "quantity": 2,
                    "reference": "DN-1"}).status_code
            return c.post(f"/v1/orders/{oid}/events", json={"kind": "received"},
                          headers=api.h("planner")).status_code

    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            codes = list(pool.map(run, range(len(jobs))))
    finally:
        other.dispose()
    assert sorted(codes[:6]) == [200] * 5 + [201]
    assert sorted(codes[6:]) == [200] + [409] * 3
    assert bal(api, "CD", "FAN-T1") == (4, 0, 2, 0, 0)
    with api.ctx.sessions() as s:
        assert [m.kind for m in ledger.movements(session=s, reference="DN-1")] == ["transfer_in"]
        assert len(ledger.movements(session=s, reference=f"order:{oid}")) == 3


def test_openapi_shows_the_new_endpoints_with_examples(api):
    from api.orders.models import DispatchOrderOut, OrderEventCreate, OrderEventOut
    from api.pipeline.models import OrderReceipt, RepairReturn, RepairSend, Scrap, TransferArrival

    spec = api.client.get("/openapi.json").json()
    for path in ("transfer-arrivals", "order-receipts", "repair-sends", "repair-returns",
                 "scraps"):
        assert set(spec["paths"][f"{PIPELINE}/{path}"]["post"]["responses"]) >= {
            "200", "201", "409", "422"}, path
    assert "/v1/orders/{order_id}/events" in spec["paths"] and "/v1/orders" in spec["paths"]
    for model in (TransferArrival, OrderReceipt, RepairSend, RepairReturn, Scrap, OrderEventCreate,
                  DispatchOrderOut, OrderEventOut):
        examples = spec["components"]["schemas"][model.__name__]["examples"]
        assert examples, model.__name__
        for example in model.model_json_schema()["examples"]:
            model.model_validate(example)


def test_cancelling_a_dispatch_closes_its_open_refill_but_not_a_sent_one(api):
    a, b = dispatch(api), dispatch(api)  # GZ's two PSU-1200, each opens a transfer from the HQ
    refill_a = orders(api, dispatch_id=a["id"], kind="transfer")[0]
    refill_b = orders(api, dispatch_id=b["id"], kind="transfer")[0]
    assert order_event(api, refill_b["id"], "sent").status_code == 200  # b's refill is on its way
    start = units(api)
    for d in (a, b):
        cancelled = event(api, d["id"], "cancelled", "2025-06-04T10:30:00+08:00")
        assert cancelled["status"] == "cancelled"
    assert orders(api, dispatch_id=a["id"], kind="transfer")[0]["status"] == "cancelled"
    assert orders(api, dispatch_id=b["id"], kind="transfer")[0]["status"] == "sent"
    assert order_event(api, refill_a["id"], "sent").status_code == 409  # closed, nothing books
    assert bal(api, "GZ", "PSU-1200") == (2, 0, 1, 0, 0) and units(api) == start
