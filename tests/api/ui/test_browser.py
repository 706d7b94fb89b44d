"""The workspace in a real Chromium: log in, each page, a plan started and watched to the end,
its table sorted, filtered, paged and downloaded, two plans compared, /docs offline, a viewer
and a ticketing key refused what they may not do, a form without its CSRF token refused."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import expect

from api.ui.netmap import NO_REACH, SEVERITY_COLOURS, UNKNOWN
from tests.api.ui.conftest import Tab, login


def _start_plan(tab: Tab, live, *, budget: str = "", frontier: bool = False) -> str:
    page = tab.page
    page.goto(live.url + "/plans")
    if budget:
        page.fill("#budget", budget)
    if frontier:
        page.check("input[name=frontier]")
    page.click("button:has-text(\"Start plan\")")
    page.wait_for_url(re.compile(r"/plans/\d{8}-\d{6}-[0-9a-f]{6}$"))
    return page.url.rsplit("/", 1)[1]


def _wait_done(tab: Tab) -> None:
    """The page polls the job and reloads itself when it ends."""
    expect(tab.page.locator("#job-status")).to_have_text("succeeded", timeout=60_000)


def test_login_overview_map_and_keyboard(tab: Tab, live, shots):
    page = tab.page
    page.goto(live.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.screenshot(path=str(shots / "login.png"))
    login(tab, live, "planner")
    expect(page.locator("h1")).to_have_text("Overview")
    rows = page.locator("#classes tbody tr")
    expect(rows).to_have_count(len({(c.tier, t.severity) for c in live.ctx.scenario.contracts
                                    for t in c.terms}))
    expect(page.locator("#network-map circle.site")).to_have_count(len(live.ctx.scenario.sites))
    expect(page.locator("#network-map rect.hq")).to_have_count(1)
    # keyboard: the first Tab reaches the skip link, Enter moves focus to the content
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.screenshot(path=str(shots / "overview.png"), full_page=True)
    assert tab.offsite == []


def test_start_plan_watch_it_finish_and_work_the_table(tab: Tab, live, shots):
    page = tab.page
    login(tab, live, "planner", "/plans")
    plan_id = _start_plan(tab, live, frontier=True)
    expect(page.locator("#job-status")).to_have_text(re.compile("queued|running|succeeded"))
    _wait_done(tab)
    expect(page.locator("#service tbody tr")).not_to_have_count(0)
    expect(page.locator("#frontier-chart")).to_be_visible()
    page.screenshot(path=str(shots / "plan.png"), full_page=True)

    levels = page.locator("#levels-table tbody tr")
    total = int(page.locator("#levels-count").inner_text().split(" of ")[1].split()[0].replace(",", ""))
    assert total > 0
    # sort by base stock, ascending then descending, through the header link (keyboard: focus + Enter)
    header = page.locator("#levels-table th a", has_text="Base stock")
    header.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#levels-table th[aria-sort=ascending]")).to_contain_text("Base stock")
    first_asc = [int(v) for v in page.locator("#levels-table tbody tr td:nth-child(6)").all_inner_texts()]
    assert first_asc == sorted(first_asc)
    page.locator("#levels-table th a", has_text="Base stock").click()
    expect(page.locator("#levels-table th[aria-sort=descending]")).to_contain_text("Base stock")
    desc = [int(v) for v in page.locator("#levels-table tbody tr td:nth-child(6)").all_inner_texts()]
    assert desc == sorted(desc, reverse=True)
    assert "sort=base_stock" in page.url  # the address keeps the view (back, reload, share)

    # filter by one location: every row is there, and the count says so
    location = page.locator("#location option").nth(1).get_attribute("value")
    page.select_option("#location", location)
    expect(page.locator("#levels-table tbody tr td:nth-child(3)").first).to_have_text(location)
    assert set(page.locator("#levels-table tbody tr td:nth-child(3)").all_inner_texts()) == {location}
    shown = levels.count()

    # the CSV download holds the same filtered rows with human column names
    with page.expect_download() as dl:
        page.click("#download-csv")
    with open(dl.value.path(), newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["Location"] for r in rows} == {location}
    assert len(rows) == int(page.locator("#levels-count").inner_text().split(" of ")[0].replace(",", ""))
    assert len(rows) >= shown
    with page.expect_download() as dl:
        page.click("#download-xlsx")
    assert dl.value.suggested_filename == f"stock-levels-{plan_id}.xlsx"
    assert tab.offsite == []


def test_compare_two_plans(tab: Tab, live, shots):
    page = tab.page
    login(tab, live, "planner", "/plans")
    base = _start_plan(tab, live)
    _wait_done(tab)
    base_investment = float(page.locator("#investment").inner_text().split()[0].replace(",", ""))
    lean = _start_plan(tab, live, budget=f"{base_investment * 0.6:.0f}")
    _wait_done(tab)
    page.goto(live.url + "/compare")
    page.select_option("#a", base)
    page.select_option("#b", lean)
    page.click("main form button[type=submit]")
    expect(page.locator("#compare-classes tbody tr")).not_to_have_count(0)
    delta = float(page.locator("#investment-delta").inner_text().replace(",", ""))
    assert delta < 0  # the budget plan holds less stock
    expect(page.locator("#compare-levels tbody tr").first).not_to_contain_text("same stock")
    page.screenshot(path=str(shots / "compare.png"), full_page=True)
    page.goto(live.url + "/plans")
    expect(page.locator("#plans tbody tr")).not_to_have_count(0)
    page.screenshot(path=str(shots / "plans.png"), full_page=True)
    page.goto(live.url + "/worklist")
    missed = page.locator("#wl-classes tbody tr")
    expect(missed).not_to_have_count(0)  # tiny's platinum and gold severity 1 are unreachable
    expect(page.locator("#wl-classes")).to_contain_text("platinum")
    page.screenshot(path=str(shots / "worklist.png"), full_page=True)
    page.goto(live.url + "/")  # with a plan: planned shares and sites coloured by their reach
    expect(page.locator("#classes tbody tr").first.locator("td").nth(3)).to_contain_text("%")
    colours = {c.get_attribute("fill") for c in page.locator("#network-map circle.site").all()}
    assert UNKNOWN not in colours and colours <= {*SEVERITY_COLOURS.values(), NO_REACH}
    page.screenshot(path=str(shots / "overview-planned.png"), full_page=True)


def test_docs_work_offline(tab: Tab, live, shots):
    page = tab.page
    page.goto(live.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("spares", timeout=20_000)
    expect(page.locator(".opblock").first).to_be_visible()
    page.screenshot(path=str(shots / "docs.png"))
    page.goto(live.url + "/redoc")  # ReDoc on its vendored bundle
    expect(page).to_have_url(live.url + "/redoc")
    expect(page.locator("h1").first).to_contain_text("spares", timeout=20_000)
    expect(page.get_by_role("menuitem").first).to_be_visible()
    assert page.evaluate("[...document.scripts].every(s => !s.src || s.src.startsWith(location.origin))")
    page.screenshot(path=str(shots / "redoc.png"))
    assert tab.offsite == [], tab.offsite


def test_viewer_looks_but_cannot_change(tab: Tab, live):
    page = tab.page
    login(tab, live, "viewer", "/plans")
    expect(page.locator("header .who")).to_contain_text("read only")
    expect(page.locator("button:has-text(\"Start plan\")")).to_have_count(0)
    csrf = page.locator("header .who input[name=csrf]").get_attribute("value")
    r = page.request.post(live.url + "/plans", form={"method": "greedy", "csrf": csrf})
    assert r.status == 403 and "lacks the &#39;planner&#39; scope" in r.text()


def test_form_without_csrf_token_refused(tab: Tab, live):
    page = tab.page
    login(tab, live, "planner", "/plans")
    before = len(list(live.plans_dir.glob("*"))) if live.plans_dir.exists() else 0
    r = page.request.post(live.url + "/plans", form={"method": "greedy"})
    assert r.status == 403 and "CSRF" in r.text()
    r = page.request.post(live.url + "/plans", form={"method": "greedy", "csrf": "0" * 64})
    assert r.status == 403
    after = len(list(live.plans_dir.glob("*"))) if live.plans_dir.exists() else 0
    assert after == before


@pytest.mark.parametrize("scope, status, message", [
    ("ticketing", 403, "neither the 'planner' nor the 'viewer' scope"),
    (None, 401, "Unknown or revoked API key"),
])
def test_login_refused(tab: Tab, live, scope, status, message):
    page = tab.page
    page.goto(live.url + "/login")
    page.click("summary:has-text('API key')")
    page.fill("#key", live.keys[scope] if scope else "spk_nope_nope")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as resp:
        page.keyboard.press("Enter")
    assert resp.value.status == status
    expect(page.locator("[role=alert]")).to_contain_text(message)
    page.goto(live.url + "/")
    expect(page).to_have_url(re.compile("/login"))


def test_restock_run_reviewed_and_approved_by_a_named_person(tab: Tab, live, shots):
    page = tab.page
    login(tab, live, "planner", "/restock")
    page.fill("#quarter", "2027Q1")
    page.click("button:has-text(\"Start run\")")
    page.wait_for_url(re.compile(r"/restock/rr_[0-9a-f]+$"))
    expect(page.locator("#restock-status")).to_have_text("succeeded", timeout=90_000)
    page.screenshot(path=str(shots / "restock.png"), full_page=True)
    page.click("#approve")
    expect(page.locator("#approval")).to_contain_text("Approved by planner-user")
    expect(page.locator("#approve")).to_have_count(0)  # once
    with page.expect_download() as dl:
        page.locator("a[download]", has_text="xlsx").first.click()
    assert dl.value.suggested_filename.endswith(".xlsx")
    page.goto(live.url + "/restock")
    expect(page.locator("#runs tbody tr").first).to_contain_text("planner-user")


def test_dispatch_board_and_its_filters(tab: Tab, live, shots):
    import uuid
    from datetime import UTC, datetime

    page = tab.page
    for sev in (1, 4):
        r = page.request.post(live.url + "/v1/dispatches", data={
            "ticket_id": f"BOARD-{sev}", "site_id": "GZ-01", "part_id": "PSU-1200", "severity": sev,
            "reported_at": datetime.now(UTC).isoformat()},
            headers={"Authorization": f"Bearer {live.keys['ticketing']}",
                     "Idempotency-Key": uuid.uuid4().hex})
        assert r.status == 201, r.text()
    login(tab, live, "viewer", "/dispatches")
    expect(page.locator("#board")).to_contain_text("BOARD-1")
    expect(page.locator("#board")).to_contain_text("due in")
    page.screenshot(path=str(shots / "dispatches.png"), full_page=True)
    page.select_option("#severity", "4")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"severity=4"))
    expect(page.locator("#board")).to_contain_text("BOARD-4")
    expect(page.locator("#board")).not_to_contain_text("BOARD-1")
