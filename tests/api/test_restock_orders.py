"""Approved restock runs in /v1/orders (issue 11): one order per booked line, once, with run
id, line, kind, part, location, quantity and value; filters and pagination; received through
/v1/orders or closed by a /v1/pipeline booking, never both; restock runs owned by the
organization (a rotated key sees them, another organization's viewer does not)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import delete, func, select

from api.restock import service as restock
from inventory import ledger
from inventory.db.dispatch_models import DispatchOrder
from inventory.db.restock_models import RestockRun
from tests.api.tenant_keys import org_key

TRANSFER = {"part_id": "PSU-1200", "from_depot": "HQ-SZ", "to_depot": "GZ", "quantity": 2,
            "unit_transport_cost": 20.0, "transport_cost": 40.0, "lead_time_days": 1.0}
REPAIR = {"part_id": "PSU-1200", "from_depot": "HQ-SZ", "to_depot": "HQ-SZ", "quantity": 1,
          "expected_serviceable": 0.9, "repair_cost": 350.0, "lead_time_days": 21.0}
BUY = {"part_id": "LC-10G-B", "to_depot": "HQ-SZ", "quantity": 1, "unit_cost": 26500.0,
       "amount": 26500.0, "lead_time_days": 90.0}


@pytest.fixture
def runs(api):
    with api.ctx.sessions() as s:
        s.execute(delete(DispatchOrder))
        s.execute(delete(RestockRun))
    return api


def succeeded_run(api, *, plan_ref: str | None = None, owner: str = "org_default",
                  transfers=(TRANSFER,), repairs=(REPAIR,), buys=(BUY,)) -> str:
    run_id = f"rr_{uuid.uuid4().hex[:12]}"
    with api.ctx.sessions() as s:
        s.add(RestockRun(id=run_id, owner=owner, quarter="2027Q1", status="succeeded",
                         plan_ref=plan_ref or f"2027Q1-tiny-{uuid.uuid4().hex[:8]}",
                         orders={"transfers": list(transfers), "repairs": list(repairs),
                                 "buys": list(buys), "excess": [], "cut": []}))
    return run_id


def approve(api, run_id: str, who: str = "planner"):
    r = api.client.post(f"/v1/restock-runs/{run_id}/approve", headers=api.h(who))
    assert r.status_code == 200, r.text
    return r.json()


def orders(api, **params) -> dict:
    r = api.client.get("/v1/orders", params=params, headers=api.h("planner"))
    assert r.status_code == 200, r.text
    return r.json()


def bal(api, depot: str, part: str) -> tuple[int, int, int, int]:
    with api.ctx.sessions() as s:
        b = ledger.balance(session=s, depot_id=depot, part_id=part)
        return b.on_hand, b.in_transit, b.defective, b.in_repair


def test_approval_opens_one_order_per_line_once(runs):
    api = runs
    run_id = succeeded_run(api)
    assert orders(api, origin="restock")["items"] == []
    a = approve(api, run_id)
    assert a["approval"]["posted"] == 4 and not a["already_approved"]
    got = orders(api, restock_run_id=run_id)["items"]
    assert [(o["restock_line"], o["kind"], o["part_id"], o["from_id"], o["depot_id"],
             o["quantity"], o["value"], o["status"], o["origin"], o["dispatch_id"])
            for o in got] == [
        ("T0", "transfer", "PSU-1200", "HQ-SZ", "GZ", 2, 40.0, "sent", "restock", None),
        ("R0", "repair", "PSU-1200", "HQ-SZ", "HQ-SZ", 1, 350.0, "sent", "restock", None),
        ("B0", "buy", "LC-10G-B", "supplier", "HQ-SZ", 1, 26500.0, "sent", "restock", None)]
    assert all(o["restock_run_id"] == run_id for o in got)
    # each order shows the approval's movements, in the ledger's order
    assert [(m["kind"], m["depot_id"], m["quantity"]) for m in got[0]["movements"]] == [
        ("transfer_out", "HQ-SZ", 2), ("transfer_expected", "GZ", 2)]
    assert [m["kind"] for m in got[1]["movements"]] == ["send_to_repair"]
    assert [m["kind"] for m in got[2]["movements"]] == ["order_placed"]
    # expected: approval + lead time
    days = [(o["expected_at"], o["created_at"]) for o in got]
    assert all(e > c for e, c in days)
    # approving again (any planner or admin) opens nothing more
    assert approve(api, run_id, "admin")["already_approved"] is True
    assert orders(api, restock_run_id=run_id)["count"] == 3
    # an equal plan approved in another run books nothing and opens no order twice
    ref = api.client.get(f"/v1/restock-runs/{run_id}", headers=api.h("planner")).json()["plan_ref"]
    twin = succeeded_run(api, plan_ref=ref)
    again = approve(api, twin)["approval"]
    assert (again["posted"], again["skipped"]) == (0, 4)
    assert orders(api, restock_run_id=twin)["items"] == []
    assert orders(api, origin="restock")["count"] == 3


def test_filters_and_pages(runs):
    api = runs
    first, second = succeeded_run(api), succeeded_run(api, repairs=(), buys=(
        {**BUY, "quantity": 2, "amount": 53000.0}, {**BUY, "part_id": "FAN-T1", "amount": 320.0}))
    approve(api, first)
    approve(api, second)
    assert [o["restock_line"] for o in orders(api, restock_run_id=second)["items"]] == [
        "T0", "B0", "B1"]
    assert [o["quantity"] for o in orders(api, kind="buy", part_id="LC-10G-B")["items"]] == [1, 2]
    assert orders(api, kind="repair", origin="restock")["count"] == 1
    assert orders(api, depot_id="GZ", origin="restock")["count"] == 2
    assert orders(api, origin="dispatch")["items"] == []
    assert orders(api, from_id="supplier", part_id="FAN-T1")["items"][0]["value"] == 320.0
    seen, cursor = [], None
    while True:
        page = orders(api, origin="restock", limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [o["id"] for o in page["items"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 6
    r = api.client.get("/v1/orders", params={"origin": "elsewhere"}, headers=api.h("planner"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.origin"
    r = api.client.get("/v1/orders", params={"restock_run_id": "x" * 41}, headers=api.h("planner"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.restock_run_id"


def test_concurrent_approvals_open_the_orders_once(runs):
    api = runs
    run_id = succeeded_run(api)
    answers = []

    def go():
        answers.append(api.client.post(f"/v1/restock-runs/{run_id}/approve",
                                       headers=api.h("planner")))

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [200] * 4
    assert sorted(r.json()["already_approved"] for r in answers) == [False, True, True, True]
    with api.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DispatchOrder)) == 3


def test_orders_are_received_through_orders_or_pipeline_never_both(runs):
    api = runs
    run_id = succeeded_run(api)
    approve(api, run_id)
    ref = api.client.get(f"/v1/restock-runs/{run_id}", headers=api.h("planner")).json()["plan_ref"]
    t, r_, b = orders(api, restock_run_id=run_id)["items"]
    assert bal(api, "GZ", "PSU-1200")[1] == 2
    gz_before = bal(api, "GZ", "PSU-1200")
    # the transfer received through /v1/orders: on hand at GZ
    r = api.client.post(f"/v1/orders/{t['id']}/events", json={"kind": "received"},
                        headers=api.h("planner"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "received"
    assert bal(api, "GZ", "PSU-1200") == (gz_before[0] + 2, gz_before[1] - 2, *gz_before[2:])
    # ... so a pipeline arrival under the line's reference is refused, nothing booked
    r = api.client.post("/v1/pipeline/transfer-arrivals", json={
        "depot_id": "GZ", "part_id": "PSU-1200", "quantity": 2, "reference": f"restock:{ref}:T0"},
        headers=api.h("planner"))
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "body.reference"
    # the buy received through the pipeline under its line's reference closes the order ...
    r = api.client.post("/v1/pipeline/order-receipts", json={
        "depot_id": "HQ-SZ", "part_id": "LC-10G-B", "quantity": 1,
        "reference": f"restock:{ref}:B0"}, headers=api.h("planner"))
    assert r.status_code == 201, r.text
    assert api.client.get(f"/v1/orders/{b['id']}", headers=api.h("planner")).json()[
        "status"] == "received"
    # a sent order is not cancelled (its units are on their way)
    r = api.client.post(f"/v1/orders/{r_['id']}/events", json={"kind": "cancelled"},
                        headers=api.h("planner"))
    assert r.status_code == 409


def test_a_pipeline_booking_of_part_of_an_order_leaves_the_rest_to_the_pipeline(runs):
    api = runs
    run_id = succeeded_run(api, repairs=(), buys=())
    approve(api, run_id)
    ref = api.client.get(f"/v1/restock-runs/{run_id}", headers=api.h("planner")).json()["plan_ref"]
    (t,) = orders(api, restock_run_id=run_id)["items"]
    r = api.client.post("/v1/pipeline/transfer-arrivals", json={
        "depot_id": "GZ", "part_id": "PSU-1200", "quantity": 1, "reference": f"restock:{ref}:T0"},
        headers=api.h("planner"))
    assert r.status_code == 201, r.text
    assert api.client.get(f"/v1/orders/{t['id']}", headers=api.h("planner")).json()[
        "status"] == "sent"
    before = bal(api, "GZ", "PSU-1200")
    r = api.client.post(f"/v1/orders/{t['id']}/events", json={"kind": "received"},
                        headers=api.h("planner"))
    assert r.status_code == 409 and "pipeline" in r.json()["detail"]
    assert bal(api, "GZ", "PSU-1200") == before


# --- runs belong to the organization ------------------------------------------------------------

def test_runs_belong_to_the_organization_of_the_key(runs, monkeypatch, tmp_path):
    api = runs
    api.client.app.state.restock_dir = tmp_path / "runs"
    monkeypatch.setattr(restock, "compute", lambda *a: (_ for _ in ()).throw(
        RuntimeError("not computed in this test")))
    org_a = org_key(api, "partner-a", "planner", as_name="a-planner")
    org_key(api, "partner-a", "planner", as_name="a-rotated")
    org_key(api, "partner-a", "viewer", as_name="a-viewer")
    org_key(api, "partner-b", "viewer", as_name="b-viewer")
    org_b_planner = org_key(api, "partner-b", "planner", as_name="b-planner")
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q2"}, headers=api.h("a-planner"))
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["organization_id"] == org_a and run["requested_by"]
    mine = api.client.post("/v1/restock-runs", json={"quarter": "2027Q3"},
                           headers=api.h("b-planner")).json()
    assert mine["organization_id"] == org_b_planner

    def listed(who, **params):
        r = api.client.get("/v1/restock-runs", params=params, headers=api.h(who))
        assert r.status_code == 200, r.text
        return {x["id"] for x in r.json()["items"]}

    # the rotated key and the viewer of the same organization see its run
    assert listed("a-viewer") == {run["id"]}
    for who in ("a-rotated", "a-viewer"):
        assert api.client.get(f"/v1/restock-runs/{run['id']}",
                              headers=api.h(who)).status_code == 200
    # another organization's viewer does not (404 like an unknown run, not listed)
    assert listed("b-viewer") == {mine["id"]}
    assert listed("b-viewer", organization_id=org_a) == set()
    r = api.client.get(f"/v1/restock-runs/{run['id']}", headers=api.h("b-viewer"))
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "path.run_id"
    r = api.client.get(f"/v1/restock-runs/{run['id']}/outputs/summary", headers=api.h("b-viewer"))
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "path.run_id"
    # planner and admin keys see every organization's runs, and filter by organization
    for who in ("planner", "admin", "b-planner"):
        assert listed(who) == {run["id"], mine["id"]}
    assert listed("planner", organization_id=org_a) == {run["id"]}
    # viewers read but never start or approve; ticketing keys do neither
    assert api.client.post("/v1/restock-runs", json={"quarter": "2027Q2"},
                           headers=api.h("a-viewer")).status_code == 403
    assert api.client.post(f"/v1/restock-runs/{run['id']}/approve",
                           headers=api.h("a-viewer")).status_code == 403
    assert api.client.get("/v1/restock-runs", headers=api.h("ticketing")).status_code == 403


def test_contractual_buys_are_booked_and_ordered_like_buys(runs):
    api = runs
    contract = {"part_id": "FAN-T1", "to_depot": "GZ", "quantity": 3, "unit_cost": 160.0,
                "amount": 480.0, "minimum_units": 5, "lead_time_days": 30.0,
                "reason": "contract CT-9"}
    run_id = succeeded_run(api, transfers=(), repairs=())
    with api.ctx.sessions() as s:
        row = s.get(RestockRun, run_id)
        row.orders = {**row.orders, "contractual": [contract]}
    before = bal(api, "GZ", "FAN-T1")
    a = approve(api, run_id)
    assert a["approval"]["posted"] == 2 and a["orders"]["contractual"] == [contract]
    got = orders(api, restock_run_id=run_id)["items"]
    assert [(o["restock_line"], o["kind"], o["part_id"], o["from_id"], o["depot_id"],
             o["quantity"], o["value"]) for o in got] == [
        ("B0", "buy", "LC-10G-B", "supplier", "HQ-SZ", 1, 26500.0),
        ("M0", "buy", "FAN-T1", "supplier", "GZ", 3, 480.0)]
    assert bal(api, "GZ", "FAN-T1")[1] == before[1] + 3  # in transit
    # received through /v1/orders like any buy
    r = api.client.post(f"/v1/orders/{got[1]['id']}/events", json={"kind": "received"},
                        headers=api.h("planner"))
    assert r.status_code == 200, r.text
    assert bal(api, "GZ", "FAN-T1")[:2] == (before[0] + 3, before[1])
