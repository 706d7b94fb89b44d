"""What-if and override pages over HTTP (no browser): scopes and CSRF, refusals naming the
field, an overlay planned as a job with the active overrides named and kept, the audit CSV."""

from __future__ import annotations

import csv
import io
import re
import time

import pandas as pd
import pytest
from sqlalchemy import delete

from api.auth.service import create_key
from api.ui import plans
from inventory.db.planning_models import (
    ForecastOverride,
    PlanningAudit,
    StockOverride,
    WhatIfOverlay,
)
from tests.api.ui.conftest import http_login as _login

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def wi(ui):
    with ui.ctx.sessions() as session:
        for table in (PlanningAudit, StockOverride, ForecastOverride, WhatIfOverlay):
            session.execute(delete(table))
    _login(ui, ui.keys["planner"])
    return ui


def _csrf(api, path: str = "/what-ifs") -> str:
    return CSRF.search(api.client.get(path).text).group(1)


def _wait(plan_id: str) -> plans.PlanJob:
    deadline = time.monotonic() + 120
    while (job := plans.get_plan(plan_id)).status in ("queued", "running"):
        assert time.monotonic() < deadline, "the plan did not finish"
        time.sleep(0.2)
    return job


def test_pages_need_a_login_and_viewers_only_look(wi):
    wi.client.cookies.clear()
    for path in ("/what-ifs", "/overrides", "/overrides/audit.csv"):
        r = wi.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    with wi.ctx.sessions() as s:
        viewer = create_key(session=s, name="vera", scopes="viewer")[1]
    _login(wi, viewer)
    page = wi.client.get("/overrides")
    assert page.status_code == 200 and "Set min / max" not in page.text
    csrf = _csrf(wi, "/overrides")
    r = wi.client.post("/overrides/stock", data={"part_id": "PSU-1200", "location_id": "GZ",
                                                 "min_stock": "1", "reason": "x", "csrf": csrf})
    assert r.status_code == 403 and "planner" in r.text
    r = wi.client.post("/what-ifs", data={"name": "x", "body": "", "csrf": csrf})
    assert r.status_code == 403
    assert wi.client.get("/what-ifs").status_code == 200


def test_changes_without_the_csrf_token_are_refused(wi):
    for path, data in (("/what-ifs", {"name": "x", "body": ""}),
                       ("/overrides/stock", {"part_id": "PSU-1200", "location_id": "GZ",
                                             "min_stock": "1", "reason": "x"}),
                       ("/overrides/forecast", {"part_id": "FAN-T1", "units_per_month": "1",
                                                "reason": "x", "expires_at": "2026-01-01"})):
        r = wi.client.post(path, data=data)
        assert r.status_code == 403 and "CSRF" in r.text
    assert wi.client.get("/overrides/audit.csv").text.count("\n") == 1  # header only


def test_bad_overlays_and_overrides_are_refused_by_field(wi):
    csrf = _csrf(wi)
    r = wi.client.post("/what-ifs", data={"name": "surge", "body": "[[demand]]\nfactor = 0\n",
                                          "csrf": csrf})
    assert r.status_code == 422 and "overlay.demand[0].factor" in r.text
    assert "factor = 0" in r.text  # the planner's text is kept to fix it
    r = wi.client.post("/what-ifs", data={"name": "", "body": "", "csrf": csrf})
    assert r.status_code == 422 and "name" in r.text
    r = wi.client.post("/overrides/stock", data={"part_id": "PSU-1200", "location_id": "GZ",
                                                 "min_stock": "5", "max_stock": "2",
                                                 "reason": "x", "csrf": csrf})
    assert r.status_code == 422 and "max_stock" in r.text
    r = wi.client.post("/overrides/forecast", data={"part_id": "FAN-T1", "units_per_month": "2",
                                                    "reason": "x", "expires_at": "",
                                                    "csrf": csrf})
    assert r.status_code == 422 and "expires_at" in r.text
    r = wi.client.post("/overrides/stock/999/delete", data={"reason": "x", "csrf": csrf})
    assert r.status_code == 404
    assert wi.client.get("/what-ifs/ov_nope").status_code == 404


def test_an_overlay_planned_with_an_override_names_both_and_keeps_the_minimum(wi):
    csrf = _csrf(wi)
    r = wi.client.post("/what-ifs", data={"name": "Chengdu surge", "csrf": csrf,
                                          "body": '[[demand]]\nfactor = 2\nregions = ["CD"]\n'},
                       follow_redirects=False)
    assert r.status_code == 303
    overlay_page = r.headers["location"]
    assert "demand x2 for regions CD" in wi.client.get(overlay_page).text
    r = wi.client.post("/overrides/stock", data={"part_id": "FAN-T1", "location_id": "CD",
                                                 "min_stock": "9", "reason": "site audit",
                                                 "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    r = wi.client.post(f"{overlay_page}/plan", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    plan_id = r.headers["location"].rsplit("/", 1)[1]
    job = _wait(plan_id)
    assert job.status == "succeeded", job.error
    assert job.overlay == "Chengdu surge"
    notes = plans.summary(plan_id)["notes"]
    assert "overlay Chengdu surge: demand x2 for regions CD" in notes
    assert any(n.startswith("override: stock FAN-T1@CD: min 9") and "test-planner" in n
               for n in notes)
    levels = pd.read_csv(plans._finished(plan_id) / "stock_levels.csv")
    held = levels[(levels.part_id == "FAN-T1") & (levels.depot_id == "CD")].base_stock.sum()
    assert held >= 9
    page = wi.client.get(overlay_page).text
    assert plan_id in page
    assert wi.client.get(f"/plans/{plan_id}").text.count("what-if") >= 1


def test_the_audit_csv_lists_who_changed_what_and_why(wi):
    csrf = _csrf(wi)
    for lo in ("2", "4"):
        wi.client.post("/overrides/stock", data={"part_id": "PSU-1200", "location_id": "SH",
                                                 "min_stock": lo, "reason": f"to {lo}",
                                                 "csrf": csrf})
    listed = wi.client.get("/overrides").text
    assert "PSU-1200@SH" in listed and "to 4" in listed
    r = wi.client.get("/overrides/audit.csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["action"], x["actor"], x["reason"]) for x in rows] == [
        ("update", "test-planner", "to 4"), ("create", "test-planner", "to 2")]
    assert "min_stock=2" in rows[0]["old"] and "min_stock=4" in rows[0]["new"]


def test_an_overlay_is_edited_and_deleted_from_its_page(wi):
    csrf = _csrf(wi)
    r = wi.client.post("/what-ifs", data={"name": "draft", "csrf": csrf,
                                          "body": "[[demand]]\nfactor = 1.1\n"},
                       follow_redirects=False)
    page = r.headers["location"]
    r = wi.client.post(page, data={"name": "draft", "csrf": csrf,
                                   "body": '[depots]\nremove = ["NOPE"]\n'})
    assert r.status_code == 422 and "depots.remove[0]" in r.text and "NOPE" in r.text
    r = wi.client.post(page, data={"name": "final", "csrf": csrf,
                                   "body": '[candidates]\nremove = ["TRK-GZ"]\n'},
                       follow_redirects=False)
    assert r.status_code == 303
    assert "candidates removed: TRK-GZ" in wi.client.get(page).text
    r = wi.client.post(f"{page}/delete", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/what-ifs"
    assert wi.client.get(page).status_code == 404
    audit = wi.client.get("/overrides").text
    assert "final" in audit and "delete" in audit
