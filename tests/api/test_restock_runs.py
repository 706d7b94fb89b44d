"""Planner API /v1/restock-runs on tiny: 202 + polling, outputs, approval exactly once, 404/409,
auth; SQLite always, PostgreSQL when reachable (``db_url``)."""

from __future__ import annotations

import time

from api.restock import service
from inventory import ledger
from inventory.db.restock_models import RestockRun
from optimizer.restock.quarter import Quarter

POLL_LIMIT_S = 300.0  # a hang guard for the background thread, not a speed target


def _wait(api, run_id: str) -> dict:
    deadline = time.monotonic() + POLL_LIMIT_S
    while True:
        r = api.client.get(f"/v1/restock-runs/{run_id}", headers=api.h("planner"))
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("succeeded", "failed"):
            return r.json()
        assert time.monotonic() < deadline, f"run still {r.json()['status']}"
        time.sleep(0.1)


def _restock_moves(api) -> list:
    with api.ctx.sessions() as s:
        return [m for m in ledger.movements(session=s)
                if (m.reference or "").startswith("restock:")]


def test_run_polls_to_succeeded_and_approves_once(planner_api) -> None:
    api = planner_api
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1"}, headers=api.h("planner"))
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["status"] == "queued" and started["quarter"] == "2027Q1"
    assert r.headers["location"] == f"/v1/restock-runs/{started['id']}"
    done = _wait(api, started["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["started_at"] and done["finished_at"] and done["approval"] is None
    s, orders = done["summary"], done["orders"]
    assert s["positions_from"] == "database" and s["quarter"] == "2027Q1"
    assert s["run_id"] == done["plan_ref"]
    assert sum(o["quantity"] for o in orders["buys"]) == s["buy_units"]
    assert sum(o["quantity"] for o in orders["transfers"]) == s["transfer_units"]
    assert sum(o["quantity"] for o in orders["repairs"]) == s["repair_units"]
    for name in ("transfers", "repairs", "buys", "excess", "summary", "xlsx", "html"):
        link = done["outputs"][name]  # an API path, never a server file path
        assert link == f"/v1/restock-runs/{done['id']}/outputs/{name}", name
        assert api.client.get(link, headers=api.h("planner")).status_code == 200, name
    units = s["buy_units"] + s["transfer_units"] + s["repair_units"]
    assert units > 0, "the tiny run should order something"

    with api.ctx.sessions() as sess:
        before = {(b.depot_id, b.part_id): b for b in ledger.balances(session=sess)}
    assert _restock_moves(api) == []
    first = api.client.post(f"/v1/restock-runs/{done['id']}/approve", headers=api.h("planner"))
    assert first.status_code == 200, first.text
    a = first.json()
    assert not a["already_approved"] and a["approval"]["skipped"] == 0
    booked = _restock_moves(api)
    expected_moves = 2 * len(orders["transfers"]) + len(orders["repairs"]) + len(orders["buys"])
    assert a["approval"]["posted"] == len(booked) == expected_moves
    # the ledger moved by exactly the orders: buys and transfers in transit, repairs in repair
    with api.ctx.sessions() as sess:
        after = {(b.depot_id, b.part_id): b for b in ledger.balances(session=sess)}
        assert ledger.verify(session=sess) == []
    in_transit = sum(b.in_transit for b in after.values()) - sum(b.in_transit for b in before.values())
    in_repair = sum(b.in_repair for b in after.values()) - sum(b.in_repair for b in before.values())
    on_hand = sum(b.on_hand for b in after.values()) - sum(b.on_hand for b in before.values())
    assert in_transit == s["buy_units"] + s["transfer_units"]
    assert in_repair == s["repair_units"]
    assert on_hand == -s["transfer_units"]

    # each booked line is an order in /v1/orders, sent, with its value
    opened = api.client.get("/v1/orders", params={"restock_run_id": done["id"], "limit": 200},
                            headers=api.h("planner")).json()["items"]
    assert sorted((o["kind"], o["part_id"], o["quantity"]) for o in opened) == sorted(
        [("transfer", o["part_id"], o["quantity"]) for o in orders["transfers"]]
        + [("repair", o["part_id"], o["quantity"]) for o in orders["repairs"]]
        + [("buy", o["part_id"], o["quantity"]) for o in orders["buys"]])
    assert all(o["status"] == "sent" and o["value"] is not None for o in opened)
    second = api.client.post(f"/v1/restock-runs/{done['id']}/approve", headers=api.h("admin"))
    assert second.status_code == 200 and second.json()["already_approved"] is True
    assert second.json()["approval"] == a["approval"]
    assert len(_restock_moves(api)) == len(booked)
    assert api.client.get("/v1/orders", params={"restock_run_id": done["id"], "limit": 200},
                          headers=api.h("planner")).json()["count"] == len(opened)
    with api.ctx.sessions() as sess:
        again = {(b.depot_id, b.part_id): (b.on_hand, b.in_transit, b.in_repair)
                 for b in ledger.balances(session=sess)}
    assert again == {k: (b.on_hand, b.in_transit, b.in_repair) for k, b in after.items()}
    got = api.client.get(f"/v1/restock-runs/{done['id']}", headers=api.h("planner")).json()
    assert got["approval"] == a["approval"]


def test_unfinished_and_failed_runs_cannot_be_approved(planner_api, monkeypatch) -> None:
    api = planner_api
    with api.ctx.sessions() as s:
        s.add(RestockRun(id="rr_queued", owner="x", quarter="2027Q1", status="queued"))
    r = api.client.post("/v1/restock-runs/rr_queued/approve", headers=api.h("planner"))
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert "queued" in r.json()["detail"]

    def broken(ctx, quarter: Quarter, budget):
        raise RuntimeError("forecast exploded")

    monkeypatch.setattr(service, "compute", broken)
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q2", "budget": 1000},
                        headers=api.h("planner"))
    assert r.status_code == 202
    done = _wait(api, r.json()["id"])
    assert done["status"] == "failed" and "forecast exploded" in done["error"]
    assert done["budget"] == 1000 and done["orders"] is None
    r = api.client.post(f"/v1/restock-runs/{done['id']}/approve", headers=api.h("planner"))
    assert r.status_code == 409 and "failed" in r.json()["detail"]
    assert _restock_moves(api) == []


def test_not_found_bad_input_and_auth(planner_api) -> None:
    api = planner_api
    for method, path in (("get", "/v1/restock-runs/rr_nope"),
                         ("post", "/v1/restock-runs/rr_nope/approve")):
        r = getattr(api.client, method)(path, headers=api.h("planner"))
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "path.run_id"
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027-1"}, headers=api.h("planner"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.quarter"
    assert "YYYYQn" in r.json()["detail"]
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1", "budget": -5},
                        headers=api.h("planner"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.budget"
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1"})
    assert r.status_code == 401
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1"}, headers=api.h("ticketing"))
    assert r.status_code == 403
    r = api.client.get("/v1/restock-runs/rr_nope", headers=api.h("ticketing"))
    assert r.status_code == 403
    with api.ctx.sessions() as s:
        assert s.query(RestockRun).count() == 0


def test_equal_plans_book_once_across_runs(planner_api) -> None:
    """Two runs on the same ledger state make the same plan (same plan_ref): approving both books
    the orders once; the second approval only counts them as already booked."""
    api = planner_api
    runs = []
    for _ in range(2):
        r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q3"}, headers=api.h("planner"))
        assert r.status_code == 202
        runs.append(_wait(api, r.json()["id"]))
    a, b = runs
    assert a["id"] != b["id"] and a["status"] == b["status"] == "succeeded"
    assert a["plan_ref"] == b["plan_ref"] and a["orders"] == b["orders"]
    first = api.client.post(f"/v1/restock-runs/{a['id']}/approve", headers=api.h("planner")).json()
    second = api.client.post(f"/v1/restock-runs/{b['id']}/approve", headers=api.h("planner")).json()
    n = first["approval"]["posted"]
    assert n > 0 and first["approval"]["skipped"] == 0
    assert second["approval"]["posted"] == 0 and second["approval"]["skipped"] == n
    assert not second["already_approved"]
    assert len(_restock_moves(api)) == n


def test_restart_requeues_queued_runs_and_fails_orphaned_ones(planner_api, tmp_path,
                                                              monkeypatch) -> None:
    """A server start picks up what a stopped process left: queued runs execute, a run that was
    executing when the process died is failed with a reason (never stuck, never lost)."""
    from datetime import timedelta

    api = planner_api
    now = api.ctx.now()  # the app's clock (pinned in the tests), which the staleness check reads
    with api.ctx.sessions() as s:
        s.add(RestockRun(id="rr_left_queued", owner="k", quarter="2027Q1", status="queued",
                         created_at=now))
        s.add(RestockRun(id="rr_orphan", owner="k", quarter="2027Q1", status="running",
                         created_at=now - timedelta(hours=2), started_at=now - timedelta(hours=2)))
        s.add(RestockRun(id="rr_live", owner="k", quarter="2027Q1", status="running",
                         created_at=now, started_at=now))
        s.commit()
    requeued, failed = service.recover_runs(api.ctx, tmp_path / "runs")
    assert requeued == ["rr_left_queued"] and failed == ["rr_orphan"]
    assert _wait(api, "rr_left_queued")["status"] == "succeeded"
    orphan = api.client.get("/v1/restock-runs/rr_orphan", headers=api.h("planner")).json()
    assert orphan["status"] == "failed" and "interrupted" in orphan["error"]
    live = api.client.get("/v1/restock-runs/rr_live", headers=api.h("planner")).json()
    assert live["status"] == "running"  # recent: may belong to another live worker process
    # a second recovery claims nothing twice: the queued run is no longer queued
    assert service.recover_runs(api.ctx, tmp_path / "runs") == ([], [])
    # reading a run that outlived the staleness bound (its process is gone) fails it
    monkeypatch.setattr(api.ctx.settings, "clock", lambda: now + service.STALE_AFTER
                        + timedelta(seconds=1))
    live = api.client.get("/v1/restock-runs/rr_live", headers=api.h("planner")).json()
    assert live["status"] == "failed" and "interrupted" in live["error"]
