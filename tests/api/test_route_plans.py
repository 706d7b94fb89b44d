"""Van runs over pending run-mode dispatches: POST /v1/route-plans and `spares routes plan`.

Dispatches are created through the dispatch API on tiny (the decision picks the VAN mode for
severity-3 requests around Guangzhou); every plan returned is re-checked with the independent
checker (optimizer/routing/checker.py) on the problem the service builds.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from api.cli.main import app as cli
from api.routes import service
from optimizer.routing.checker import check

WED, THU, FRI = "2025-10-15", "2025-10-16", "2025-10-17"  # VAN runs mon-sat 08:00-20:00
# (after the API tests' pinned clock, so the requests ship when reported; before the real
# clock, which refuses future-dated tickets)
GZ_SITES = ("GZ-01", "GZ-02", "GZ-03", "GZ-04", "GZ-05", "GZ-06", "GZ-07")
PARTS = ("PSU-1200", "FAN-T1", "LC-10G-B")


def _dispatch(api, n: int, site: str, part: str, day: str, severity: int = 2) -> dict:
    body = {"ticket_id": f"INC-{n}", "site_id": site, "part_id": part, "severity": severity,
            "reported_at": f"{day}T06:00:00+08:00"}
    r = api.client.post("/v1/dispatches", json=body, headers=api.h(**{"Idempotency-Key": f"k{n}"}))
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def van_day(api):
    """Severity-2 dispatches reported at 06:00 on Wednesday and on Thursday (due 24 h later);
    returns (api, depot, wed, thu): the VAN dispatches of the busiest van depot per day."""
    for depot in ("GZ", "HQ-SZ"):
        for part in PARTS:
            r = api.client.post("/v1/stock/receipts", headers=api.h("planner"),
                                json={"depot_id": depot, "part_id": part, "quantity": 30})
            assert r.status_code in (200, 201), r.text
    made = []
    n = 0
    for day in (WED, THU):
        for site in GZ_SITES:
            for part in PARTS:
                n += 1
                made.append((day, _dispatch(api, n, site, part, day)))
    vans = [(day, d) for day, d in made if d["mode_id"] == "VAN" and d["status"] == "reserved"]
    assert vans, "the decision should send some severity-2 parts on morning van runs"
    depot = Counter(d["source_depot_id"] for _, d in vans).most_common(1)[0][0]
    wed = [d for day, d in vans if day == WED and d["source_depot_id"] == depot]
    thu = [d for day, d in vans if day == THU and d["source_depot_id"] == depot]
    assert wed and thu
    return api, depot, wed, thu


def _plan(api, **body) -> dict:
    r = api.client.post("/v1/route-plans", json=body, headers=api.h("planner"))
    assert r.status_code == 200, r.text
    return r.json()


def verify(api, view: dict) -> set[str]:
    """Check the returned runs on the service's own routing problem; return the ids on runs."""
    with api.ctx.sessions() as s:
        dp = service.plan_day(session=s, network=api.ctx.network, depot_id=view["depot_id"],
                              day=date.fromisoformat(view["date"]), vans=view["vans"],
                              capacity=view["capacity"], seconds=0.05)
    problem = dp.plan.problem
    index = {name: i for i, name in enumerate(problem.names)}
    routes = [[index[s["dispatch_id"]] for s in r["stops"]] for r in view["runs"]]
    report = check(problem, routes)
    assert report.feasible, report.summary()
    assert report.num_routes == view["check"]["runs"] == len(view["runs"])
    assert report.cost_units / 1000 == pytest.approx(view["total_km"], abs=1e-3 * (1 + len(routes)))
    on_runs = [s["dispatch_id"] for r in view["runs"] for s in r["stops"]]
    left = [u["dispatch_id"] for u in view["direct"] + view["deferred"]]
    assert len(on_runs) == len(set(on_runs))
    assert sorted(on_runs + left) == sorted(p.dispatch_id for p in dp.pending)
    assert view["pending"] == len(dp.pending)
    shift = (datetime.fromisoformat(view["shift_start"]), datetime.fromisoformat(view["shift_end"]))
    for r in view["runs"]:
        assert shift[0] <= datetime.fromisoformat(r["depart"]) and \
            datetime.fromisoformat(r["back"]) <= shift[1]
        assert r["load"] <= view["capacity"]
        for s in r["stops"]:
            assert datetime.fromisoformat(s["arrival"]) <= datetime.fromisoformat(s["start"]) \
                <= datetime.fromisoformat(s["deadline"])
            assert s["slack_minutes"] >= 0
    return set(on_runs)


def test_day_runs_carry_every_ready_van_dispatch(van_day) -> None:
    api, depot, wed, thu = van_day
    view = _plan(api, depot_id=depot, date=WED, vans=3)
    assert view["mode_id"] == "VAN" and view["timezone"] == "Asia/Shanghai"
    assert view["shift_start"].startswith(f"{WED}T08:00") and view["shift_end"].startswith(
        f"{WED}T20:00")
    assert verify(api, view) == {d["id"] for d in wed}
    # Thursday's requests are picked after Wednesday's vans left and are due Friday: later run
    deferred = {u["dispatch_id"]: u["reason"] for u in view["deferred"]}
    assert set(deferred) == {d["id"] for d in thu}
    assert all("after the vans leave" in why for why in deferred.values())
    assert view["direct"] == []


def test_deliveries_no_run_can_make_are_flagged(van_day) -> None:
    api, depot, wed, thu = van_day
    # Thursday: Wednesday's requests are due at 06:00, before the vans start -> direct trips
    view = _plan(api, depot_id=depot, date=THU, vans=3)
    assert verify(api, view) == {d["id"] for d in thu}
    direct = {u["dispatch_id"]: u["reason"] for u in view["direct"]}
    assert set(direct) == {d["id"] for d in wed}
    assert all("before the vans' shift starts" in why for why in direct.values())
    # one van with room for a single small part: the rest are left out with a reason
    tight = _plan(api, depot_id=depot, date=WED, vans=1, capacity=1)
    on = verify(api, tight)
    assert len(on) <= 1 and len(tight["runs"]) <= 1
    direct = {u["dispatch_id"] for u in tight["direct"]}
    deferred = {u["dispatch_id"] for u in tight["deferred"]}
    # due Thursday 06:00: cannot wait a day; Thursday's need a later run unless they never fit
    bulky = {d["id"] for d in thu if d["shipped_part_id"] == "LC-10G-B"}  # medium: 3 load units
    assert bulky and len(bulky) < len(thu)
    assert direct == ({d["id"] for d in wed} - on) | bulky
    assert deferred == {d["id"] for d in thu} - bulky
    # Friday: nothing due any more is pending from Wednesday; Thursday's are due 06:00 -> direct
    fri = _plan(api, depot_id=depot, date=FRI)
    verify(api, fri)
    assert {u["dispatch_id"] for u in fri["direct"]} == {d["id"] for d in thu}


def test_only_pending_dispatches_are_planned(van_day) -> None:
    api, depot, early, _ = van_day
    gone = early[0]["id"]
    r = api.client.post(f"/v1/dispatches/{gone}/events",
                        json={"kind": "cancelled", "at": f"{WED}T07:00:00+08:00"},
                        headers=api.h())
    assert r.status_code == 200, r.text
    view = _plan(api, depot_id=depot, date=WED)
    ids = verify(api, view) | {u["dispatch_id"] for u in view["direct"] + view["deferred"]}
    assert gone not in ids and {d["id"] for d in early[1:]} <= ids
    # another depot with no van dispatches plans nothing
    other = next(d for d in ("GZ", "SH", "CD", "HQ-SZ") if d != depot)
    empty = _plan(api, depot_id=other, date=WED)
    assert empty["pending"] == 0 and empty["runs"] == [] and verify(api, empty) == set()


def test_bad_input_and_auth(api) -> None:
    def post(body, who="planner"):
        return api.client.post("/v1/route-plans", json=body, headers=api.h(who))

    cases = [({"depot_id": "NOPE", "date": WED}, "body.depot_id", "unknown depot"),
             ({"depot_id": "GZ", "date": "2025-13-01"}, "body.date", ""),
             ({"depot_id": "GZ", "date": "2025-10-19"}, "body.date", "no van runs"),  # Sunday
             ({"depot_id": "GZ", "date": "2025-10-01"}, "body.date", "holidays"),  # National Day
             ({"depot_id": "GZ", "date": WED, "vans": 0}, "body.vans", ""),
             ({"depot_id": "GZ", "date": WED, "seconds": 0}, "body.seconds", ""),
             ({"depot_id": "GZ", "date": WED, "colour": "red"}, "body.colour", "")]
    for body, field, words in cases:
        r = post(body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == field and words in r.json()["detail"]
    assert post({"depot_id": "GZ", "date": WED}, who="ticketing").status_code == 403
    assert api.client.post("/v1/route-plans", json={"depot_id": "GZ", "date": WED}).status_code \
        == 401


def test_cli_routes_plan(van_day, migrated_url, tmp_path) -> None:
    api, depot, early, _ = van_day
    runner = CliRunner()
    out = tmp_path / "plan.json"
    r = runner.invoke(cli, ["routes", "plan", "--depot", depot, "--date", WED, "--vans", "3",
                            "--seconds", "1", "--out", str(out), "--url", migrated_url])
    assert r.exit_code == 0, r.output
    view = json.loads(out.read_text())
    assert verify(api, view) == {d["id"] for d in early}
    for run in view["runs"]:
        assert f"van {run['van']}: leaves" in r.output
        for s in run["stops"]:
            assert f" {s['ticket_id']} " in r.output
    assert "checker: feasible" in r.output and "deferred to a later day" in r.output
    bad = runner.invoke(cli, ["routes", "plan", "--depot", depot, "--date", "5 June",
                              "--url", migrated_url])
    assert bad.exit_code == 2 and "--date" in bad.output
    bad = runner.invoke(cli, ["routes", "plan", "--depot", "NOPE", "--date", WED,
                              "--url", migrated_url])
    assert bad.exit_code == 2 and "--depot" in bad.output and "unknown depot" in bad.output
    bad = runner.invoke(cli, ["routes", "plan", "--depot", depot, "--date", "2025-10-19",
                              "--url", migrated_url])
    assert bad.exit_code == 2 and "--date" in bad.output and "no van runs" in bad.output
