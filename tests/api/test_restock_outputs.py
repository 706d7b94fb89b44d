"""Restock runs listed (keyset pages, newest first), their outputs downloaded through the API
(no server path shown), and a graceful stop that leaves no run marked running."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.restock import service
from inventory.db.restock_models import RestockRun

POLL_LIMIT_S = 300.0  # a hang guard for the background thread, not a speed target


def _wait(api, run_id: str, until: tuple[str, ...] = ("succeeded", "failed")) -> dict:
    deadline = time.monotonic() + POLL_LIMIT_S
    while True:
        r = api.client.get(f"/v1/restock-runs/{run_id}", headers=api.h("planner"))
        assert r.status_code == 200, r.text
        if r.json()["status"] in until:
            return r.json()
        assert time.monotonic() < deadline, f"run still {r.json()['status']}"
        time.sleep(0.05)


def _seed(api, n: int) -> list[str]:
    """``n`` finished runs, one minute apart (ids in creation order)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [f"rr_seed{i:03d}" for i in range(n)]
    with api.ctx.sessions() as s:
        for i, run_id in enumerate(ids):
            s.add(RestockRun(id=run_id, owner="k", quarter="2027Q1" if i % 2 else "2027Q2",
                             status="failed", error="seeded", created_at=start + timedelta(minutes=i)))
    return ids


def test_runs_list_in_pages_newest_first(planner_api) -> None:
    api = planner_api
    ids = _seed(api, 7)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = api.client.get("/v1/restock-runs", params=params, headers=api.h("planner"))
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["count"] == len(page["items"]) <= 3
        assert all("orders" not in item and "summary" not in item for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == ids[::-1]
    q1 = api.client.get("/v1/restock-runs", params={"quarter": "2027q1"},
                        headers=api.h("planner")).json()
    assert [i["id"] for i in q1["items"]] == [r for k, r in enumerate(ids) if k % 2][::-1]
    assert api.client.get("/v1/restock-runs", params={"status": "queued"},
                          headers=api.h("planner")).json()["items"] == []


@pytest.mark.parametrize("query, field", [
    ({"cursor": "bm90LWEtY3Vyc29y"}, "query.cursor"),
    ({"limit": 1000}, "query.limit"),
    ({"status": "done"}, "query.status"),
    ({"owner": "k"}, "query.owner"),
])
def test_runs_list_refuses_bad_queries(planner_api, query, field) -> None:
    api = planner_api
    r = api.client.get("/v1/restock-runs", params=query, headers=api.h("planner"))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]]


def test_a_forged_cursor_with_a_naive_time_is_a_422(planner_api) -> None:
    from api.pagination import encode

    api = planner_api
    for key in (["2026-01-01T00:00:00", "rr_x"], ["yesterday", "rr_x"]):
        r = api.client.get("/v1/restock-runs", params={"cursor": encode("restock-runs", key)},
                           headers=api.h("planner"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.cursor"


def test_outputs_download_through_the_api(planner_api, tmp_path) -> None:
    api = planner_api
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1"}, headers=api.h("planner"))
    done = _wait(api, r.json()["id"])
    assert done["status"] == "succeeded", done["error"]
    assert str(tmp_path) not in json.dumps(done)  # no server path in the answer
    listed = api.client.get("/v1/restock-runs", headers=api.h("planner")).json()["items"]
    assert listed[0]["id"] == done["id"] and listed[0]["outputs"] == done["outputs"]

    buys = api.client.get(done["outputs"]["buys"], headers=api.h("planner"))
    assert buys.status_code == 200 and buys.headers["content-type"].startswith("text/csv")
    assert f'{done["id"]}-buys.csv' in buys.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(buys.text)))
    assert sum(int(float(row["quantity"])) for row in rows) == done["summary"]["buy_units"]
    summary = api.client.get(done["outputs"]["summary"], headers=api.h("planner"))
    assert summary.headers["content-type"] == "application/json"
    assert summary.json()["run_id"] == done["plan_ref"]
    xlsx = api.client.get(done["outputs"]["xlsx"], headers=api.h("planner"))
    assert xlsx.content[:2] == b"PK"  # a zip container

    r = api.client.get(f"/v1/restock-runs/{done['id']}/outputs/passwd", headers=api.h("planner"))
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "path.name"
    r = api.client.get(f"/v1/restock-runs/{done['id']}/outputs/..%2F..%2Fetc",
                       headers=api.h("planner"))
    assert r.status_code in (404, 422)
    assert api.client.get(done["outputs"]["buys"], headers=api.h("ticketing")).status_code == 403
    (tmp_path / "runs" / done["id"] / "buys.csv").unlink()
    r = api.client.get(done["outputs"]["buys"], headers=api.h("planner"))
    assert r.status_code == 404 and "no longer" in r.json()["detail"]


def test_graceful_stop_leaves_no_run_running(planner_api, monkeypatch, tmp_path) -> None:
    """Stopping the app while a run computes marks it failed (interrupted) at once; the
    computation ending later does not overwrite that verdict."""
    api = planner_api
    entered, release = threading.Event(), threading.Event()
    real = service.compute

    def slow(ctx, quarter, budget):
        entered.set()
        release.wait(POLL_LIMIT_S)
        return real(ctx, quarter, budget)

    monkeypatch.setattr(service, "compute", slow)
    app = create_app(context=api.ctx)
    app.state.restock_dir = tmp_path / "runs"
    with TestClient(app) as client:
        r = client.post("/v1/restock-runs", json={"quarter": "2027Q1"}, headers=api.h("planner"))
        assert r.status_code == 202
        assert entered.wait(POLL_LIMIT_S)
        run_id = r.json()["id"]
        assert _wait(api, run_id, ("running",))["status"] == "running"
    got = _wait(api, run_id)  # the lifespan's shutdown already failed it
    assert got["status"] == "failed" and "interrupted" in got["error"]
    release.set()
    deadline = time.monotonic() + POLL_LIMIT_S
    while run_id in service._executing and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _wait(api, run_id)["status"] == "failed"
