"""/v1/restock-runs with a what-if overlay (issue 12): the run plans and orders for the changed
network the way ``spares restock --overlay`` does, records the overlay (list, detail, summary,
report) and cannot be approved; an unknown overlay is a 422 naming ``body.overlay``. On tiny;
SQLite always, PostgreSQL when reachable (``db_url``)."""

from __future__ import annotations

import uuid

import pytest

from tests.api.test_restock_runs import _wait

SURGE = '[[demand]]\nfactor = 3\n'


def _overlay(api, body: str = SURGE) -> dict:
    name = f"surge {uuid.uuid4().hex[:8]}"
    r = api.client.post("/v1/overlays", json={"name": name, "body": body},
                        headers=api.h("planner"))
    assert r.status_code == 201, r.text
    return r.json()


def _ordered(summary: dict) -> int:
    return summary["buy_units"] + summary["transfer_units"] + summary["repair_units"]


def _start(api, **body) -> dict:
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1", **body},
                        headers=api.h("planner"))
    assert r.status_code == 202, r.text
    return r.json()


def test_a_run_on_an_overlay_orders_for_the_changed_network(planner_api) -> None:
    api = planner_api
    ov = _overlay(api)
    base_id = _start(api)["id"]
    queued = _start(api, overlay=ov["name"])  # by name
    assert queued["overlay"] == {"id": ov["id"], "name": ov["name"],
                                 "changes": ["demand x3 everywhere"]}
    assert queued["summary"] is None  # the overlay is not a headline figure
    base, surge = _wait(api, base_id), _wait(api, queued["id"])
    assert base["status"] == surge["status"] == "succeeded", (base["error"], surge["error"])
    b, s = base["summary"], surge["summary"]
    assert base["overlay"] is None and b["overlay"] is None
    assert s["overlay"] == ov["name"] and "what_if" not in s
    # three times the failures: three times the history-calibrated forecast, a higher target,
    # a larger shortfall and more units ordered, less stock in excess
    assert s["forecast_units_per_month"] == pytest.approx(3 * b["forecast_units_per_month"],
                                                          rel=1e-3)
    assert s["investment_target"] > b["investment_target"]
    assert s["shortfall_units"] > b["shortfall_units"]
    assert _ordered(s) > _ordered(b)
    assert s["excess_units"] <= b["excess_units"]
    assert any(n.startswith(f"what-if overlay {ov['name']} (stored overlay {ov['id']}")
               and n.endswith("demand x3 everywhere") for n in s["notes"])
    assert not any("what-if" in n for n in b["notes"])

    listed = api.client.get("/v1/restock-runs", headers=api.h("planner")).json()["items"]
    assert {r["id"]: r["overlay"] and r["overlay"]["name"] for r in listed} == {
        base["id"]: None, surge["id"]: ov["name"]}
    report = api.client.get(surge["outputs"]["html"], headers=api.h("planner"))
    assert report.status_code == 200 and "What-if overlay" in report.text
    assert ov["name"] in report.text
    assert "What-if overlay" not in api.client.get(base["outputs"]["html"],
                                                   headers=api.h("planner")).text

    # a what-if run's orders are for another network: never booked
    r = api.client.post(f"/v1/restock-runs/{surge['id']}/approve", headers=api.h("planner"))
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "path.run_id"
    assert api.client.get(f"/v1/restock-runs/{surge['id']}",
                          headers=api.h("planner")).json()["approval"] is None


def test_overlay_by_id_and_replayed_with_its_key(planner_api) -> None:
    api = planner_api
    ov = _overlay(api)
    h = {**api.h("planner"), "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    first = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1", "overlay": ov["id"]},
                            headers=h)
    assert first.status_code == 202 and first.json()["overlay"]["name"] == ov["name"]
    again = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1", "overlay": ov["id"]},
                            headers=h)
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    # the same key for a run without the overlay is another request: refused
    other = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1"}, headers=h)
    assert other.status_code == 422, other.text
    assert _wait(api, first.json()["id"])["status"] == "succeeded"


@pytest.mark.parametrize("ref", ["no such overlay", "ov_000000000000"])
def test_an_unknown_overlay_is_refused_naming_the_field(planner_api, ref) -> None:
    api = planner_api
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1", "overlay": ref},
                        headers=api.h("planner"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["body.overlay"]
    assert api.client.get("/v1/restock-runs", headers=api.h("planner")).json()["items"] == []


def test_an_overlay_that_no_longer_applies_is_refused(planner_api) -> None:
    """Stored overlays are checked when saved; one whose depot left the served network since
    (written straight to the table here) is refused when a run asks for it."""
    from inventory.db.planning_models import WhatIfOverlay

    api = planner_api
    ov = _overlay(api)
    with api.ctx.sessions(write=True) as s:
        s.get(WhatIfOverlay, ov["id"]).body = '[depots]\nremove = ["NOWHERE"]\n'
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1", "overlay": ov["name"]},
                        headers=api.h("planner"))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "body.overlay"
    assert "does not apply" in r.json()["detail"]


def test_ticketing_key_cannot_start_an_overlay_run(planner_api) -> None:
    api = planner_api
    ov = _overlay(api)
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1", "overlay": ov["id"]},
                        headers=api.h("ticketing"))
    assert r.status_code == 403
