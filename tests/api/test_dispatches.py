"""Dispatch create/read/list, idempotency, lifecycle events and problem details over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from api.stock import service as stock
from tests.api.conftest import body
from tests.api.tenant_keys import org_key


def post(api, payload, key=None, who="ticketing"):
    return api.client.post("/v1/dispatches", json=payload,
                           headers=api.h(who, **{"Idempotency-Key": key or uuid.uuid4().hex}))


def free(api, depot, part):
    with api.ctx.sessions() as s:
        rows = stock.stock_rows(session=s, depot_id=depot, part_id=part)
    return rows[0]["available"], rows[0]["reserved"]


def test_create_returns_decision_and_reserves(api):
    r = post(api, body())
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"] == "reserved" and d["on_time"] is True and d["at_risk"] is False
    assert (d["source_depot_id"], d["mode_id"]) == ("GZ", "COURIER")
    assert d["deadline"]["due_at"].startswith("2025-06-04T06:00:00")
    assert "Contract" in d["deadline"]["explanation"] and d["deadline"]["timezone"] == "Asia/Shanghai"
    assert d["margin_hours"] > 0 and d["cost"] > 150
    assert d["alternatives"] and all(a["lost_because"] for a in d["alternatives"])
    assert d["replenishment_order"]["kind"] == "transfer"
    assert r.headers["location"] == f"/v1/dispatches/{d['id']}"
    assert free(api, "GZ", "PSU-1200") == (1, 1)
    got = api.client.get(f"/v1/dispatches/{d['id']}", headers=api.h())
    assert got.status_code == 200 and got.json()["id"] == d["id"]


def test_idempotent_replay_and_conflicting_body(api):
    key = "ticket-42-attempt"
    first = post(api, body(ticket_id="T42"), key)
    again = post(api, body(ticket_id="T42"), key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert free(api, "GZ", "PSU-1200") == (1, 1)  # reserved once
    clash = post(api, body(ticket_id="T42", severity=2), key)
    assert clash.status_code == 422
    p = clash.json()
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert p["errors"][0]["field"] == "header.Idempotency-Key"
    missing = api.client.post("/v1/dispatches", json=body(), headers=api.h())
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "header.Idempotency-Key"


def test_validation_problems_name_the_field(api):
    r = post(api, body(severity=7))
    assert r.status_code == 422
    p = r.json()
    assert p["status"] == 422 and p["type"].endswith("validation-error")
    assert p["errors"][0]["field"] == "body.severity"
    r = post(api, body(reported_at="2025-06-04T10:00:00"))  # no offset
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.reported_at"
    r = post(api, body(site_id="NOPE"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.site_id"
    r = api.client.get("/v1/dispatches/dsp_missing", headers=api.h())
    assert r.status_code == 404 and r.json()["title"] == "Dispatch not found"


def test_lifecycle_sla_and_illegal_transitions(api):
    d = post(api, body(ticket_id="LC")).json()
    url = f"/v1/dispatches/{d['id']}/events"

    def ev(kind, at):
        return api.client.post(url, json={"kind": kind, "at": at}, headers=api.h())

    assert ev("delivered", "2025-06-04T11:00:00+08:00").status_code == 409
    assert ev("picked", "2025-06-04T10:20:00+08:00").json()["status"] == "picked"
    assert ev("shipped", "2025-06-04T10:30:00+08:00").json()["status"] == "shipped"
    assert free(api, "GZ", "PSU-1200") == (1, 0)  # issued: left on hand and reservation
    r = ev("delivered", "2025-06-04T14:30:00+08:00")  # due 14:00 local -> missed by 0.5 h
    sla = r.json()["sla"]
    assert (sla["outcome"], sla["delta_hours"]) == ("missed", -0.5)
    assert datetime.fromisoformat(sla["delivered_at"]) == datetime(2025, 6, 4, 6, 30, tzinfo=UTC)
    conflict = ev("cancelled", "2025-06-04T15:00:00+08:00")
    assert conflict.status_code == 409 and conflict.json()["errors"][0]["field"] == "body.kind"
    closed = ev("defective_received", "2025-06-05T09:00:00+08:00").json()
    assert closed["status"] == "closed"
    assert [e["kind"] for e in closed["events"]] == ["picked", "shipped", "delivered",
                                                     "defective_received"]
    with api.ctx.sessions() as s:
        row = stock.stock_rows(session=s, depot_id="GZ", part_id="PSU-1200")[0]
    assert row["defective"] == 1


def test_cancel_releases_and_list_filters(api):
    a = post(api, body(ticket_id="A")).json()
    b = post(api, body(ticket_id="B", site_id="CD-01")).json()
    assert free(api, "GZ", "PSU-1200") == (1, 1)
    r = api.client.post(f"/v1/dispatches/{a['id']}/events",
                        json={"kind": "cancelled", "at": "2025-06-04T10:05:00+08:00"},
                        headers=api.h())
    assert r.json()["status"] == "cancelled"
    assert free(api, "GZ", "PSU-1200") == (2, 0)
    lst = api.client.get("/v1/dispatches", params={"ticket_id": "B"}, headers=api.h()).json()
    assert [x["id"] for x in lst["items"]] == [b["id"]]
    lst = api.client.get("/v1/dispatches", params={"status": "cancelled"}, headers=api.h()).json()
    assert [x["id"] for x in lst["items"]] == [a["id"]]
    window = {"from": "2025-06-04T00:00:00+08:00", "to": "2025-06-05T00:00:00+08:00"}
    assert api.client.get("/v1/dispatches", params=window, headers=api.h()).json()["count"] == 2
    late = {"from": "2025-06-05T00:00:00+08:00"}
    assert api.client.get("/v1/dispatches", params=late, headers=api.h()).json()["count"] == 0
    bad = api.client.get("/v1/dispatches", params={"to": "yesterday"}, headers=api.h())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.to"


def test_at_risk_and_backordered(api):
    # CD's only PSU goes first; the next platinum Chengdu request can only fly in: at risk
    post(api, body(ticket_id="R1", site_id="CD-01"))
    r = post(api, body(ticket_id="R2", site_id="CD-01")).json()
    assert r["status"] == "reserved" and r["on_time"] is False and r["at_risk"] is True
    assert r["mode_id"] == "AIR" and r["margin_hours"] < 0 and "late" in r["reason"]
    risky = api.client.get("/v1/dispatches", params={"at_risk": "true"}, headers=api.h()).json()
    assert [x["id"] for x in risky["items"]] == [r["id"]]
    # LC-10G-B: 3 at the HQ, 1 at GZ; a request for 5 cannot ship from one depot
    r = post(api, body(ticket_id="BO", part_id="LC-10G-B", quantity=5)).json()
    assert r["status"] == "backordered" and r["expected_at"] and r["source_depot_id"] is None


def test_answer_matches_the_schema_and_get_shows_the_same_decision(api):
    from api.dispatches.models import DispatchOut

    d = post(api, body(ticket_id="SCHEMA")).json()
    DispatchOut.model_validate(d)  # the hand-built answer has the documented shape
    assert d["ready_at"] == "2025-06-04T02:00:00Z" and d["repair_order"] is None
    got = api.client.get(f"/v1/dispatches/{d['id']}", headers=api.h()).json()
    DispatchOut.model_validate(got)
    assert got == d  # nothing happened since: GET shows the create answer exactly
    listed = api.client.get("/v1/dispatches", params={"ticket_id": "SCHEMA"}, headers=api.h())
    assert listed.json()["items"] == [d]


def test_replay_after_a_status_change_answers_the_original_and_reserves_nothing(api):
    first = post(api, body(ticket_id="RP"), "rp-key").json()
    api.client.post(f"/v1/dispatches/{first['id']}/events",
                    json={"kind": "cancelled", "at": "2025-06-04T10:05:00+08:00"}, headers=api.h())
    assert free(api, "GZ", "PSU-1200") == (2, 0)
    again = post(api, body(ticket_id="RP"), "rp-key")
    assert again.status_code == 201 and again.json() == first
    assert free(api, "GZ", "PSU-1200") == (2, 0)  # the replay did not reserve again
    # the key belongs to the organization: its other keys replay it too ...
    assert post(api, body(ticket_id="RP"), "rp-key", who="admin").json() == first
    # ... while under another organization's key it is another caller's request
    org_key(api, "partner-b")
    other = post(api, body(ticket_id="RP"), "rp-key", who="partner-b").json()
    assert other["id"] != first["id"]


def test_server_clock_late_request_ships_from_now_and_is_flagged(api):
    # the ticket was opened 3 h 50 min before the call: the 4 h platinum window cannot be met
    api.ctx.settings.clock = lambda: datetime(2025, 6, 4, 5, 50, tzinfo=UTC)
    d = post(api, body(ticket_id="LATE")).json()
    assert d["ready_at"] == "2025-06-04T05:50:00Z"
    assert d["on_time"] is False and d["at_risk"] is True and d["status"] == "reserved"
    assert d["margin_hours"] < 0 and "late" in d["reason"]
    assert all(a["eta"] is None or a["eta"] > d["ready_at"] for a in d["alternatives"])


def test_events_out_of_order_are_422_and_a_retried_event_is_harmless(api):
    d = post(api, body(ticket_id="EV")).json()
    url = f"/v1/dispatches/{d['id']}/events"

    def ev(kind, at):
        return api.client.post(url, json={"kind": kind, "at": at}, headers=api.h())

    early = ev("picked", "2025-06-04T09:00:00+08:00")  # before the ticket was reported
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "body.at"
    assert ev("shipped", "2025-06-04T10:30:00+08:00").status_code == 200
    again = ev("shipped", "2025-06-04T10:30:00+08:00")  # the ticket system retries
    assert again.status_code == 200 and [e["kind"] for e in again.json()["events"]] == ["shipped"]
    assert free(api, "GZ", "PSU-1200") == (1, 0)  # issued once
    back = ev("delivered", "2025-06-04T10:20:00+08:00")  # before the shipment
    assert back.status_code == 422 and "previous event" in back.json()["detail"]
    missing = api.client.post("/v1/dispatches/dsp_nope/events", headers=api.h(),
                              json={"kind": "picked", "at": "2025-06-04T10:30:00+08:00"})
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "path.dispatch_id"
    bad = ev("teleported", "2025-06-04T10:40:00+08:00")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.kind"


def test_delivered_on_time_then_defective_opens_a_repair_order(api):
    d = post(api, body(ticket_id="RO")).json()
    url = f"/v1/dispatches/{d['id']}/events"
    for kind, at in (("shipped", "2025-06-04T10:30:00+08:00"),
                     ("delivered", "2025-06-04T12:45:00+08:00")):
        r = api.client.post(url, json={"kind": kind, "at": at}, headers=api.h())
    assert r.json()["sla"]["outcome"] == "met" and r.json()["sla"]["delta_hours"] == 1.25
    r = api.client.post(url, json={"kind": "defective_received", "at": "2025-06-05T09:00:00+08:00"},
                        headers=api.h())
    ro = r.json()["repair_order"]
    # PSU-1200 is repairable with a 21-day turnaround: to the HQ repair loop from GZ
    assert (ro["kind"], ro["depot_id"], ro["from_id"], ro["quantity"]) == ("repair", "HQ-SZ", "GZ", 1)
    assert ro["expected_at"] == "2025-06-26T01:00:00Z" and ro["lead_time_days"] == 21.0
    assert api.client.get(f"/v1/dispatches/{d['id']}", headers=api.h()).json()["repair_order"] == ro


def test_substitute_and_rationing_through_the_api(api):
    # a basic customer (GZ-05, NBD) does not get GZ's last PSUs, which guard platinum sites
    d = post(api, body(ticket_id="BASIC", site_id="GZ-05", severity=2)).json()
    assert (d["source_depot_id"], d["mode_id"], d["on_time"]) == ("HQ-SZ", "PARCEL", True)
    every = api.client.get(f"/v1/dispatches/{d['id']}", params={"expand": "alternatives"},
                           headers=api.h()).json()["alternatives"]
    gz = [a for a in every if a["depot_id"] == "GZ" and a["mode_id"] == "PARCEL"]
    assert gz and "critical level" in gz[0]["lost_because"]
    assert d["replenishment_order"]["kind"] == "buy"
    # with the HQ's only rev A line card counted away, rev B ships in its place
    r = api.client.post("/v1/stock/adjustments", headers=api.h("planner"),
                        json={"depot_id": "HQ-SZ", "part_id": "LC-10G", "quantity": -1,
                              "reason": "cycle count: missing"})
    assert r.status_code == 201
    d = post(api, body(ticket_id="SUB", site_id="GZ-02", part_id="LC-10G")).json()
    assert d["substitute_part_id"] == "LC-10G-B" and d["shipped_part_id"] == "LC-10G-B"
    assert d["part_id"] == "LC-10G" and d["source_depot_id"] == "HQ-SZ"
    assert d["chosen"]["substitute_cost"] == 2500.0


def test_query_and_path_problems_name_the_field(api):
    r = api.client.get("/v1/dispatches", params={"limit": 0}, headers=api.h())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.limit"
    r = api.client.get("/v1/dispatches", params={"status": "lost"}, headers=api.h())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.status"
    r = api.client.get("/v1/dispatches/" + "x" * 41, headers=api.h())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.dispatch_id"
    r = api.client.post("/v1/dispatches", content=b"{not json",
                        headers=api.h(**{"Idempotency-Key": "j", "content-type": "application/json"}))
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("body")
    r = post(api, {**body(), "colour": "red"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.colour"
    r = post(api, body(part_id="NOPE"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.part_id"
    r = post(api, body(quantity=0))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.quantity"


def test_cancel_after_pick_releases_and_a_cancelled_backorder_moves_no_stock(api):
    d = post(api, body(ticket_id="PK")).json()
    url = f"/v1/dispatches/{d['id']}/events"
    api.client.post(url, json={"kind": "picked", "at": "2025-06-04T10:10:00+08:00"}, headers=api.h())
    assert free(api, "GZ", "PSU-1200") == (1, 1)
    r = api.client.post(url, json={"kind": "cancelled", "at": "2025-06-04T10:12:00+08:00"},
                        headers=api.h())
    assert r.json()["status"] == "cancelled" and free(api, "GZ", "PSU-1200") == (2, 0)
    assert api.client.post(url, json={"kind": "shipped", "at": "2025-06-04T10:20:00+08:00"},
                           headers=api.h()).status_code == 409
    bo = post(api, body(ticket_id="BO2", part_id="LC-10G-B", quantity=5)).json()
    assert bo["status"] == "backordered"
    with api.ctx.sessions() as s:
        before = [(r["depot_id"], r["on_hand"], r["reserved"])
                  for r in stock.stock_rows(session=s, part_id="LC-10G-B")]
    for kind in ("picked", "shipped"):  # nothing to pick or ship until stock is reserved
        assert api.client.post(f"/v1/dispatches/{bo['id']}/events", headers=api.h(),
                               json={"kind": kind, "at": "2025-06-04T11:00:00+08:00"}
                               ).status_code == 409
    r = api.client.post(f"/v1/dispatches/{bo['id']}/events", headers=api.h(),
                        json={"kind": "cancelled", "at": "2025-06-04T11:00:00+08:00"})
    assert r.json()["status"] == "cancelled"
    with api.ctx.sessions() as s:
        after = [(r["depot_id"], r["on_hand"], r["reserved"])
                 for r in stock.stock_rows(session=s, part_id="LC-10G-B")]
    assert after == before
