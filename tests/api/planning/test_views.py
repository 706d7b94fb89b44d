"""/v1/overlays, /v1/overrides and /v1/planning-audit: the workspace's what-ifs and overrides
through the API (SQLite and PostgreSQL): the same checks naming the same fields, planner scope
to change, viewer keys reading their own organization's, every change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from api.auth.service import create_key
from inventory.db.planning_models import (
    ForecastOverride,
    PlanningAudit,
    StockOverride,
    WhatIfOverlay,
)
from tests.api.tenant_keys import org_key

PROBLEM = "application/problem+json"
SURGE = '[[demand]]\nfactor = 1.5\nregions = ["GZ"]\n'


@pytest.fixture
def api(api):
    with api.ctx.sessions() as session:
        for table in (PlanningAudit, StockOverride, ForecastOverride, WhatIfOverlay):
            session.execute(delete(table))
        api.keys["viewer"] = create_key(session=session, name="test-viewer", scopes="viewer")[1]
    return api


def _field(r) -> str:
    assert r.headers["content-type"] == PROBLEM, r.text
    return r.json()["errors"][0]["field"]


def test_overlay_create_read_replace_delete(api):
    r = api.client.post("/v1/overlays", json={"name": "GZ surge", "body": SURGE},
                        headers=api.h("planner"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["location"] == f"/v1/overlays/{made['id']}"
    assert made["changes"] == ["demand x1.5 for regions GZ"]
    assert made["created_by"] == "test-planner" and made["organization_id"] == "org_default"
    got = api.client.get(made["id"].join(("/v1/overlays/", "")), headers=api.h("viewer"))
    assert got.status_code == 200 and got.json()["body"] == SURGE
    r = api.client.put(f"/v1/overlays/{made['id']}", headers=api.h("admin"),
                       json={"name": "GZ surge x2", "body": SURGE.replace("1.5", "2")})
    assert r.status_code == 200 and r.json()["changes"] == ["demand x2 for regions GZ"]
    assert r.json()["updated_by"] == "test-admin"
    listed = api.client.get("/v1/overlays", headers=api.h("planner")).json()
    assert [o["name"] for o in listed["items"]] == ["GZ surge x2"] and not listed["has_more"]
    assert api.client.delete(f"/v1/overlays/{made['id']}",
                             headers=api.h("planner")).status_code == 204
    r = api.client.get(f"/v1/overlays/{made['id']}", headers=api.h("planner"))
    assert r.status_code == 404 and _field(r) == "path.overlay_id"
    audit = api.client.get("/v1/planning-audit", headers=api.h("planner")).json()["items"]
    assert [(a["actor"], a["action"], a["subject"]) for a in audit] == [
        ("test-planner", "delete", "GZ surge x2"), ("test-admin", "update", "GZ surge x2"),
        ("test-planner", "create", "GZ surge")]
    assert audit[1]["old"]["body"] == SURGE


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"name": "bad", "body": '[[terms]]\ncontract = "GOLD"\ntarget = 1.2\n'},
     "body.overlay.terms[0].target", 422),
    ({"name": "bad", "body": "[[demand]]\nfactor = 2\nregions = [\"XX\"]\n"},
     "body.overlay.demand[0].regions[0]", 422),
    ({"name": "bad", "body": "not toml ["}, "body.overlay.(toml)", 422),
    ({"name": "", "body": SURGE}, "body.name", 422),
    ({"name": " padded", "body": SURGE}, "body.name", 422),
    ({"body": SURGE}, "body.name", 422),
    ({"name": "x", "body": SURGE, "extra": 1}, "body.extra", 422),
    ({"name": "taken", "body": SURGE}, "body.name", 409),
])
def test_overlay_refusals_name_the_field(api, body, field, status):
    api.client.post("/v1/overlays", json={"name": "taken", "body": SURGE},
                    headers=api.h("planner"))
    r = api.client.post("/v1/overlays", json=body, headers=api.h("planner"))
    assert r.status_code == status and _field(r) == field, r.text


def test_stock_override_set_replace_read_delete(api):
    body = {"part_id": "PSU-1200", "location_id": "GZ", "min_stock": 3,
            "reason": "launch at Tianhe", "expires_at": "2027-03-31"}
    r = api.client.post("/v1/overrides/stock", json=body, headers=api.h("planner"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["min_stock"] == 3 and made["max_stock"] is None and made["active"]
    assert made["expires_at"].startswith("2027-03-31T23:59:59")
    r = api.client.post("/v1/overrides/stock", json={**body, "max_stock": 5},
                        headers=api.h("planner"))
    assert r.status_code == 200 and r.json()["id"] == made["id"] and r.json()["max_stock"] == 5
    assert r.headers["location"] == f"/v1/overrides/stock/{made['id']}"
    got = api.client.get(f"/v1/overrides/stock/{made['id']}", headers=api.h("viewer")).json()
    assert got["max_stock"] == 5 and got["updated_by"] == "test-planner"
    assert [o["id"] for o in api.client.get("/v1/overrides/stock",
                                            headers=api.h("viewer")).json()["items"]] == [made["id"]]
    r = api.client.delete(f"/v1/overrides/stock/{made['id']}", headers=api.h("planner"))
    assert r.status_code == 422 and _field(r) == "query.reason"
    r = api.client.delete(f"/v1/overrides/stock/{made['id']}?reason=%20",
                          headers=api.h("planner"))
    assert r.status_code == 422 and _field(r) == "query.reason"
    r = api.client.delete(f"/v1/overrides/stock/{made['id']}?reason=launch%20cancelled",
                          headers=api.h("planner"))
    assert r.status_code == 204
    r = api.client.get(f"/v1/overrides/stock/{made['id']}", headers=api.h("planner"))
    assert r.status_code == 404 and _field(r) == "path.override_id"
    audit = api.client.get("/v1/planning-audit", headers=api.h("planner")).json()["items"]
    assert [(a["action"], a["reason"]) for a in audit] == [
        ("delete", "launch cancelled"), ("update", "launch at Tianhe"),
        ("create", "launch at Tianhe")]


STOCK = {"part_id": "PSU-1200", "location_id": "GZ", "min_stock": 1, "reason": "r"}


@pytest.mark.parametrize(("change", "field"), [
    ({"part_id": "NOPE"}, "body.part_id"),
    ({"location_id": "NOPE"}, "body.location_id"),
    ({"min_stock": 4, "max_stock": 2}, "body.max_stock"),
    ({"min_stock": None}, "body.min_stock"),
    ({"min_stock": -1}, "body.min_stock"),
    ({"min_stock": "3"}, "body.min_stock"),
    ({"reason": "  "}, "body.reason"),
    ({"expires_at": "2020-01-01"}, "body.expires_at"),
    ({"expires_at": "soon"}, "body.expires_at"),
])
def test_stock_override_refusals_name_the_field(api, change, field):
    r = api.client.post("/v1/overrides/stock", json={**STOCK, **change}, headers=api.h("planner"))
    assert r.status_code == 422 and _field(r) == field, r.text
    assert api.client.get("/v1/overrides/stock", headers=api.h("planner")).json()["items"] == []


def test_forecast_override_and_its_refusals(api):
    body = {"part_id": "FAN-T1", "units_per_month": 4.5, "reason": "rollout",
            "expires_at": "2026-06-30T00:00:00+08:00"}
    for change, field in (({"expires_at": None}, "body.expires_at"),
                          ({"units_per_month": -1}, "body.units_per_month"),
                          ({"units_per_month": "4"}, "body.units_per_month"),
                          ({"part_id": "NOPE"}, "body.part_id")):
        r = api.client.post("/v1/overrides/forecast", json={**body, **change},
                            headers=api.h("planner"))
        assert r.status_code == 422 and _field(r) == field, (change, r.text)
    r = api.client.post("/v1/overrides/forecast", json=body, headers=api.h("planner"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["units_per_month"] == 4.5 and made["expires_at"] == "2026-06-29T16:00:00Z"
    r = api.client.get(f"/v1/overrides/forecast/{made['id']}", headers=api.h("planner"))
    assert r.status_code == 200 and r.json()["reason"] == "rollout"
    # the same id is no stock override
    assert api.client.get(f"/v1/overrides/stock/{made['id']}",
                          headers=api.h("planner")).status_code == 404
    assert api.client.get("/v1/overrides/other/1", headers=api.h("planner")).status_code == 422


def test_scopes(api):
    ov = {"name": "n", "body": SURGE}
    for who in ("viewer", "ticketing"):
        for method, path, kw in (("post", "/v1/overlays", {"json": ov}),
                                 ("post", "/v1/overrides/stock", {"json": STOCK}),
                                 ("delete", "/v1/overrides/stock/1?reason=x", {})):
            r = getattr(api.client, method)(path, headers=api.h(who), **kw)
            assert r.status_code == 403 and r.headers["content-type"] == PROBLEM, (who, path)
    for path in ("/v1/overlays", "/v1/overrides/stock", "/v1/overrides/forecast",
                 "/v1/planning-audit"):
        assert api.client.get(path, headers=api.h("ticketing")).status_code == 403
        assert api.client.get(path).status_code == 401


def test_viewer_keys_read_their_own_organization_only(api):
    org_key(api, "acme", "viewer", as_name="acme-viewer")
    org_key(api, "acme", "planner", as_name="acme-planner")
    mine = api.client.post("/v1/overlays", json={"name": "default's", "body": SURGE},
                           headers=api.h("planner")).json()
    theirs = api.client.post("/v1/overlays", json={"name": "acme's", "body": SURGE},
                             headers=api.h("acme-planner")).json()
    api.client.post("/v1/overrides/stock", json=STOCK, headers=api.h("acme-planner"))
    api.client.post("/v1/overrides/stock", json={**STOCK, "location_id": "SH"},
                    headers=api.h("planner"))
    seen = api.client.get("/v1/overlays", headers=api.h("acme-viewer")).json()["items"]
    assert [o["id"] for o in seen] == [theirs["id"]]
    assert api.client.get(f"/v1/overlays/{mine['id']}",
                          headers=api.h("acme-viewer")).status_code == 404
    stock = api.client.get("/v1/overrides/stock", headers=api.h("acme-viewer")).json()["items"]
    assert [(o["location_id"], o["organization_id"]) for o in stock] == [("GZ", stock[0][
        "organization_id"])] and stock[0]["organization_id"] != "org_default"
    sh = api.client.get("/v1/overrides/stock", headers=api.h("viewer")).json()["items"]
    assert [o["location_id"] for o in sh] == ["SH"]
    hidden = next(o for o in api.client.get("/v1/overrides/stock", headers=api.h(
        "planner")).json()["items"] if o["location_id"] == "SH")
    assert api.client.get(f"/v1/overrides/stock/{hidden['id']}",
                          headers=api.h("acme-viewer")).status_code == 404
    audit = api.client.get("/v1/planning-audit", headers=api.h("acme-viewer")).json()["items"]
    assert {a["subject"] for a in audit} == {"acme's", "PSU-1200@GZ"}
    # planner keys see every organization's
    assert len(api.client.get("/v1/overlays", headers=api.h("planner")).json()["items"]) == 2
    assert len(api.client.get("/v1/planning-audit", headers=api.h("planner")).json()["items"]) == 4


def test_pages_and_cursors(api):
    for name in ("a", "b", "c"):
        api.client.post("/v1/overlays", json={"name": name, "body": SURGE},
                        headers=api.h("planner"))
    first = api.client.get("/v1/overlays?limit=2", headers=api.h("planner")).json()
    assert [o["name"] for o in first["items"]] == ["a", "b"] and first["has_more"]
    rest = api.client.get(f"/v1/overlays?limit=2&cursor={first['next_cursor']}",
                          headers=api.h("planner")).json()
    assert [o["name"] for o in rest["items"]] == ["c"] and not rest["has_more"]
    audit = api.client.get("/v1/planning-audit?limit=2", headers=api.h("planner")).json()
    more = api.client.get(f"/v1/planning-audit?limit=2&cursor={audit['next_cursor']}",
                          headers=api.h("planner")).json()
    assert [a["subject"] for a in audit["items"] + more["items"]] == ["c", "b", "a"]
    r = api.client.get(f"/v1/planning-audit?cursor={first['next_cursor']}",
                       headers=api.h("planner"))
    assert r.status_code == 422 and _field(r) == "query.cursor"


def test_the_workspace_shows_what_the_api_set(api):
    from tests.api.ui.conftest import http_login

    api.client.post("/v1/overrides/stock", json={**STOCK, "reason": "set through the API"},
                    headers=api.h("planner"))
    made = api.client.post("/v1/overlays", json={"name": "from the API", "body": SURGE},
                           headers=api.h("planner")).json()
    http_login(api, api.keys["viewer"])
    assert "set through the API" in api.client.get("/overrides").text
    page = api.client.get(f"/what-ifs/{made['id']}")
    assert page.status_code == 200 and "from the API" in page.text
