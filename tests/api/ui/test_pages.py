"""The workspace's pages over HTTP (no browser): login and its cookie, CSRF and scopes, the
levels table's filter, sort and pages against the plan files, downloads, bad input, offline docs."""

from __future__ import annotations

import csv
import io
import re
import time

import openpyxl
import pandas as pd
import pytest

from api.auth.service import create_key
from api.ui import plans, views
from tests.api.ui.conftest import http_login as _login

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def test_login_sets_an_httponly_strict_cookie_and_follows_only_local_paths(ui):
    r = _login(ui, ui.keys["planner"])
    assert r.status_code == 303 and r.headers["location"] == "/plans"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        assert views._safe_next(evil) == "/"
    assert views._safe_next("/plans?x=1") == "/plans?x=1"


def test_login_without_its_form_token_is_refused(ui):
    ui.client.cookies.clear()
    r = ui.client.post("/login", data={"key": ui.keys["planner"], "login_token": "x"},
                       follow_redirects=False)
    assert r.status_code == 401 and "expired" in r.text
    assert "spares_ui=" not in r.headers.get("set-cookie", "")


def test_pages_need_a_login(ui):
    ui.client.cookies.clear()
    for path in ("/", "/plans", f"/plans/{plan_dir_id(ui)}", "/compare"):
        r = ui.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = ui.client.get("/plans", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/login"


def plan_dir_id(ui) -> str:
    return plans.list_plans()[0].id


def test_a_viewer_looks_and_a_ticketing_key_is_refused(ui):
    with ui.ctx.sessions() as s:
        viewer = create_key(session=s, name="vera", scopes="viewer")[1]
    assert _login(ui, viewer).status_code == 303
    page = ui.client.get("/plans")
    assert page.status_code == 200 and "Start plan" not in page.text and "(read only)" in page.text
    csrf = CSRF.search(page.text).group(1)
    r = ui.client.post("/plans", data={"method": "greedy", "csrf": csrf})
    assert r.status_code == 403 and "planner" in r.text
    r = _login(ui, ui.keys["ticketing"])
    assert r.status_code == 403 and "viewer" in r.text


def test_start_refuses_a_bad_budget_and_a_missing_csrf(ui):
    _login(ui, ui.keys["planner"])
    csrf = CSRF.search(ui.client.get("/plans").text).group(1)
    n = len(plans.list_plans())
    for budget, why in (("lots", "not a number"), ("-5", "positive"), ("nan", "positive")):
        r = ui.client.post("/plans", data={"method": "greedy", "budget": budget, "csrf": csrf})
        assert r.status_code == 422 and why in r.text
    r = ui.client.post("/plans", data={"method": "simplex", "csrf": csrf})
    assert r.status_code == 422 and "Method" in r.text
    r = ui.client.post("/plans", data={"method": "greedy"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = ui.client.post("/plans", data={"method": "greedy"}, headers={"X-CSRF-Token": csrf},
                       follow_redirects=False)
    assert r.status_code == 303  # htmx sends the token as a header
    assert len(plans.list_plans()) == n + 1
    started = r.headers["location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 120
    while plans.get_plan(started).status in ("queued", "running"):  # leave nothing running
        assert time.monotonic() < deadline
        time.sleep(0.2)


def _rows(html: str) -> list[list[str]]:
    body = html.split('<table id="levels-table">')[1].split("</tbody>")[0].split("<tbody>")[1]
    return [re.findall(r"<td[^>]*>([^<]*)</td>", tr) for tr in body.split("</tr>") if "<td" in tr]


def test_levels_table_filters_sorts_and_pages_like_the_plan_file(ui, plan_dir, tiny, monkeypatch):
    folder, plan_id = plan_dir
    _login(ui, ui.keys["planner"])
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    truth = pd.read_csv(folder / plan_id / "stock_levels.csv")
    truth = truth.sort_values(["base_stock", "part_id", "depot_id"], ascending=[False, True, True])
    seen = []
    pages = -(-len(truth) // 4)
    for n in range(1, pages + 1):
        r = ui.client.get(f"/plans/{plan_id}/levels?sort=base_stock&order=desc&page={n}",
                          headers={"HX-Request": "true"})
        assert r.status_code == 200 and f"Page {n} of {pages}" in r.text
        seen += [(row[0], row[2], int(row[5])) for row in _rows(r.text)]
    assert seen == list(zip(truth.part_id, truth.depot_id, truth.base_stock, strict=True))
    depot = truth.depot_id.iloc[0]
    r = ui.client.get(f"/plans/{plan_id}/levels?location={depot}&q=psu", headers={"HX-Request": "1"})
    want = truth[(truth.depot_id == depot) & truth.part_id.str.lower().str.contains("psu")]
    assert sorted(row[0] for row in _rows(r.text)) == sorted(want.part_id)


def test_downloads_hold_the_filtered_rows(ui, plan_dir):
    folder, plan_id = plan_dir
    _login(ui, ui.keys["planner"])
    truth = pd.read_csv(folder / plan_id / "stock_levels.csv")
    r = ui.client.get(f"/plans/{plan_id}/levels.csv?location=HQ-SZ")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.headers["content-disposition"].endswith(f'stock-levels-{plan_id}.csv"')
    assert len(rows) == int((truth.depot_id == "HQ-SZ").sum()) > 0
    assert all(float(x["Value"]) == int(x["Base stock"]) * float(x["Unit cost"]) for x in rows)
    r = ui.client.get(f"/plans/{plan_id}/levels.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["Stock levels"]
    assert [c.value for c in sheet[1]] == list(views.COLUMN_NAMES.values())
    assert sheet.max_row == len(truth) + 1


@pytest.mark.parametrize("query", ["sort=drop_table", "order=up", "page=0", "page=x",
                                   "q=" + "a" * 101, "colour=red"])
def test_bad_table_queries_are_refused_by_name(ui, plan_dir, query):
    _login(ui, ui.keys["planner"])
    r = ui.client.get(f"/plans/{plan_dir[1]}/levels?{query}")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("plan_id", ["../../etc", "20991231-000000-abcdef", "x" * 40])
def test_unknown_plans_are_404(ui, plan_id):
    _login(ui, ui.keys["planner"])
    for path in (f"/plans/{plan_id}", f"/plans/{plan_id}/levels.csv", f"/compare?a={plan_id}&b={plan_id}"):
        assert ui.client.get(path).status_code == 404


def test_overview_counts_every_class_and_site(ui, tiny):
    _login(ui, ui.keys["planner"])
    r = ui.client.get("/")
    assert r.status_code == 200
    assert r.text.count('class="site"') == len(tiny.sites)
    classes = {(c.tier, t.severity) for c in tiny.contracts for t in c.terms}
    body = r.text.split('<table id="classes">')[1].split("</table>")[0]
    assert body.count("<tr>") == len(classes) + 1  # with the header row
    latest = plans.latest_plan()
    summary = plans.summary(latest.id)
    first = summary["classes"][0]
    row = body.split("</tr>")[1]  # the first class after the header
    assert f"{100 * first['predicted_on_time']:.2f} %" in row
    assert f"{summary['investment']:,.0f} {summary['currency']}" in r.text


def test_docs_load_nothing_from_another_host(ui):
    for path, bundle in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        r = ui.client.get(path, follow_redirects=False)
        assert r.status_code == 200 and bundle in r.text
        assert not re.search(r'(src|href)="https?://', r.text)
        assert ui.client.get(f"/ui/static/vendor/{bundle}").status_code == 200
    # ReDoc's footer logo comes from a CDN: the page's policy lets images come from here only
    csp = ui.client.get("/redoc").headers["content-security-policy"]
    assert "img-src 'self' data:" in csp
    assert "fonts.googleapis" not in ui.client.get("/redoc").text


def test_restock_pages_refuse_bad_input_and_unknown_runs(ui, tmp_path):
    ui.client.app.state.restock_dir = tmp_path
    _login(ui, ui.keys["planner"])
    page = ui.client.get("/restock")
    assert page.status_code == 200 and "Start run" in page.text
    csrf = CSRF.search(page.text).group(1)
    for quarter, budget, why in (("2027-1", "", "Quarter"), ("2027Q1", "-1", "Budget"),
                                 ("2027Q1", "many", "not a number")):
        r = ui.client.post("/restock", data={"quarter": quarter, "budget": budget, "csrf": csrf})
        assert r.status_code == 422 and why in r.text
    assert ui.client.post("/restock", data={"quarter": "2027Q1"}).status_code == 403  # no CSRF
    r = ui.client.get("/restock/rr_nope")
    assert r.status_code == 404 and "rr_nope" in r.text and r.headers["content-type"].startswith("text/html")
    r = ui.client.post("/restock/rr_nope/approve", data={"csrf": csrf})
    assert r.status_code == 404
    assert ui.client.get("/restock/rr_nope/outputs/xlsx").status_code == 404


def test_a_viewer_cannot_approve_a_restock_run(ui):
    from inventory.db.restock_models import RestockRun

    with ui.ctx.sessions() as s:
        s.add(RestockRun(id="rr_done", owner="org_default", quarter="2027Q1", status="succeeded",
                         orders={}, summary={"quarter": "2027Q1"}))
        viewer = create_key(session=s, name="vera", scopes="viewer")[1]
    _login(ui, viewer)
    page = ui.client.get("/restock/rr_done")
    assert page.status_code == 200 and "Approve as" not in page.text
    csrf = CSRF.search(page.text).group(1)
    r = ui.client.post("/restock/rr_done/approve", data={"csrf": csrf})
    assert r.status_code == 403
    with ui.ctx.sessions() as s:
        assert s.get(RestockRun, "rr_done").approved_at is None


def test_dispatch_board_lists_open_dispatches_with_time_left_and_filters(ui):
    import uuid

    from tests.api.conftest import body

    for sev, ticket in ((1, "INC-1"), (3, "INC-3")):
        r = ui.client.post("/v1/dispatches", json=body(ticket_id=ticket, severity=sev),
                           headers=ui.h("ticketing", **{"Idempotency-Key": uuid.uuid4().hex}))
        assert r.status_code == 201, r.text
    _login(ui, ui.keys["planner"])
    r = ui.client.get("/dispatches")
    assert r.status_code == 200
    table = r.text.split('<table id="board">')[1].split("</table>")[0]
    assert "INC-1" in table and "INC-3" in table and "due in" in table
    assert table.index("INC-1") < table.index("INC-3")  # the 4 h deadline comes first
    r = ui.client.get("/dispatches?severity=3&tier=&depot=")
    table = r.text.split('<table id="board">')[1].split("</table>")[0]
    assert "INC-3" in table and "INC-1" not in table
    assert ui.client.get("/dispatches?severity=x").status_code == 422


def test_time_left_reads_as_a_countdown():
    from datetime import UTC, datetime, timedelta

    from api.ui.board import time_left

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert time_left(now + timedelta(hours=3, minutes=5), now) == ("due in 3 h 05 min", False)
    assert time_left(now - timedelta(minutes=20), now) == ("overdue by 20 min", True)
    assert time_left(now + timedelta(days=2, hours=1), now) == ("due in 2 d 1 h", False)
    assert time_left(None, now) == ("–", False)
