"""Stock reads, planner receipts/adjustments (ledger movements), SLA compliance, health."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.api.conftest import body


def test_stock_read_receipt_adjustment(api):
    r = api.client.get("/v1/stock", params={"depot_id": "GZ"}, headers=api.h())
    rows = {x["part_id"]: x for x in r.json()["items"]}
    assert rows["PSU-1200"]["on_hand"] == 2 and rows["FAN-T1"]["available"] == 3
    r = api.client.post("/v1/stock/receipts", headers=api.h("planner"),
                        json={"depot_id": "GZ", "part_id": "PSU-1200", "quantity": 3,
                              "reference": "PO-1"})
    assert r.status_code == 201 and r.json()[0]["on_hand"] == 5
    r = api.client.post("/v1/stock/adjustments", headers=api.h("planner"),
                        json={"depot_id": "GZ", "part_id": "PSU-1200", "quantity": -1,
                              "reason": "damaged in count"})
    assert r.status_code == 201 and r.json()[0]["on_hand"] == 4
    r = api.client.post("/v1/stock/adjustments", headers=api.h("planner"),
                        json={"depot_id": "GZ", "part_id": "PSU-1200", "quantity": -99,
                              "reason": "typo"})
    assert r.status_code == 409  # the ledger refuses negative stock
    r = api.client.post("/v1/stock/adjustments", headers=api.h("planner"),
                        json={"depot_id": "GZ", "part_id": "PSU-1200", "quantity": -1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.reason"
    from inventory import ledger

    with api.ctx.sessions() as s:
        moves = ledger.movements(session=s, depot_id="GZ", part_id="PSU-1200")
        assert ledger.verify(session=s) == []
    receipt, adjustment = moves[-2:]
    assert (receipt.kind, receipt.quantity, receipt.reference) == ("receipt", 3, "PO-1")
    assert (adjustment.kind, adjustment.quantity, adjustment.reason) == ("adjustment", -1,
                                                                         "damaged in count")
    assert adjustment.actor.startswith("test-planner")
    r = api.client.get("/v1/stock", params={"depot_id": "XX"}, headers=api.h())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.depot_id"


def test_sla_compliance(api):
    def dispatch_and_deliver(site, at):
        d = api.client.post("/v1/dispatches", json=body(ticket_id=uuid.uuid4().hex, site_id=site),
                            headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex})).json()
        for kind, when in (("shipped", "2025-06-04T10:30:00+08:00"), ("delivered", at)):
            api.client.post(f"/v1/dispatches/{d['id']}/events", json={"kind": kind, "at": when},
                            headers=api.h())

    dispatch_and_deliver("GZ-01", "2025-06-04T11:00:00+08:00")  # met
    dispatch_and_deliver("GZ-03", "2025-06-04T15:00:00+08:00")  # platinum 4 h: missed
    dispatch_and_deliver("GZ-02", "2025-06-04T12:00:00+08:00")  # gold 8 h: met
    r = api.client.get("/v1/sla/compliance", headers=api.h()).json()
    assert (r["delivered"], r["met"], r["on_time_share"]) == (3, 2, 0.6667)
    plat = next(x for x in r["by_tier_severity"] if x["tier"] == "platinum")
    assert (plat["delivered"], plat["met"], plat["on_time_share"], plat["target"]) == (2, 1, 0.5, 0.95)
    # GZ's two PSUs went to GZ-01 (met) and GZ-03 (missed); GZ-02's came from the HQ (met)
    assert [(x["depot_id"], x["delivered"], x["met"]) for x in r["by_depot"]] == [
        ("GZ", 2, 1), ("HQ-SZ", 1, 1)]
    assert [(x["depot_kind"], x["on_time_share"]) for x in r["by_depot_kind"]] == [
        ("hq", 1.0), ("regional", 0.5)]
    window = {"from": "2025-06-05T00:00:00+08:00", "to": "2025-06-06T00:00:00+08:00"}
    assert api.client.get("/v1/sla/compliance", params=window, headers=api.h()).json()["delivered"] == 0
    # a dispatch past its due time and never delivered counts as missed (overdue)
    post_one = api.client.post("/v1/dispatches", json=body(ticket_id="OVERDUE", site_id="SH-01"),
                               headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex})).json()
    assert api.client.get("/v1/sla/compliance", headers=api.h()).json()["overdue"] == 0
    api.ctx.settings.clock = lambda: datetime(2025, 6, 5, 0, 0, tzinfo=UTC)  # past its due time
    r = api.client.get("/v1/sla/compliance", headers=api.h()).json()
    assert (r["delivered"], r["met"], r["overdue"], r["on_time_share"]) == (3, 2, 1, 0.5)
    sh = next(x for x in r["by_depot"] if x["depot_id"] == post_one["source_depot_id"])
    assert sh["overdue"] == 1
    api.client.post(f"/v1/dispatches/{post_one['id']}/events", headers=api.h(),
                    json={"kind": "cancelled", "at": "2025-06-04T10:10:00+08:00"})
    assert api.client.get("/v1/sla/compliance", headers=api.h()).json()["overdue"] == 0
    only_gold = api.client.get("/v1/sla/compliance", params={"tier": "gold"}, headers=api.h()).json()
    assert only_gold["delivered"] == 1
    bad = api.client.get("/v1/sla/compliance", params={"tier": "diamond"}, headers=api.h())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.tier"


def test_health_and_docs(api):
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["scenario"] == "tiny"
    spec = api.client.get("/openapi.json").json()
    assert "/v1/dispatches/{dispatch_id}/events" in spec["paths"]
    schema = spec["components"]["schemas"]["DispatchCreate"]
    assert schema["examples"][0]["site_id"] == "GZ-01"
    for name in ("EventCreate", "Receipt", "Adjustment", "SubscriptionCreate", "DispatchOut"):
        assert spec["components"]["schemas"][name]["examples"], name
    from api.dispatches.examples import DISPATCH_EXAMPLE
    from api.dispatches.models import DispatchOut

    DispatchOut.model_validate(DISPATCH_EXAMPLE)  # (the spec itself drops the example's nulls)
    docs = api.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_unknown_routes_and_methods_are_problems(api):
    r = api.client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404
    r = api.client.delete("/v1/dispatches", headers=api.h())
    assert r.status_code == 405 and r.json()["title"] == "Method not allowed"
