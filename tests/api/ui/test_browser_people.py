"""The workspace's designs, charts and people in a real Chromium: a password login by keyboard,
a network design started and watched to the end and its result read, the frontier per class and
the SLA charts drawn, a viewer refused the design form, a design form without its CSRF token
refused, a logout that ends the session."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from api.ui import designs
from tests.api.ui.conftest import Tab, login, password_login


def test_password_login_design_started_and_watched_to_the_end(tab: Tab, live, shots):
    page = tab.page
    password_login(tab, live, "planner", "/designs")
    expect(page.locator("header .who")).to_contain_text("Li Wei (liwei)")
    page.screenshot(path=str(shots / "designs.png"), full_page=True)
    page.fill("#max_new", "1")
    page.click("button:has-text(\"Start design\")")
    page.wait_for_url(re.compile(r"/designs/d\d{8}-\d{6}-[0-9a-f]{6}$"))
    design_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#job-status")).to_have_text(re.compile("queued|running|succeeded"))
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=120_000)
    job = designs.get_design(design_id)
    assert job.started_by == "Li Wei (liwei)" and job.max_new == 1
    expect(page.locator("#opened-count")).to_have_text(str(len(job.opened)))
    rows = page.locator("#design-locations tbody tr")
    expect(rows).to_have_count(len(live.ctx.scenario.depots) + len(live.ctx.scenario.candidates))
    for opened in job.opened:
        expect(page.locator("#design-locations tbody tr", has_text=opened)).to_contain_text("open")
    expect(page.locator("#design-classes tbody tr")).not_to_have_count(0)
    page.screenshot(path=str(shots / "design.png"), full_page=True)
    with page.expect_download() as dl:
        page.click("#dl-design-csv")
    assert dl.value.suggested_filename == f"{design_id}-design.csv"
    page.goto(live.url + "/designs")
    expect(page.locator("#designs tbody tr").first).to_contain_text("Li Wei (liwei)")
    # log out: the session is gone, the pages ask for a login again
    page.click("header button:has-text('Log out')")
    page.goto(live.url + "/designs")
    expect(page).to_have_url(re.compile("/login"))
    assert tab.offsite == []


def test_frontier_per_class_and_sla_charts_are_drawn(tab: Tab, live, shots):
    page = tab.page
    # an overdue dispatch and an open one, so the board has compliance to chart
    for n, hours in ((1, 72), (4, 0)):
        r = page.request.post(live.url + "/v1/dispatches", data={
            "ticket_id": f"CHART-{n}", "site_id": "GZ-01", "part_id": "PSU-1200", "severity": n,
            "reported_at": (datetime.now(UTC) - timedelta(hours=hours)).isoformat()},
            headers={"Authorization": f"Bearer {live.keys['ticketing']}",
                     "Idempotency-Key": uuid.uuid4().hex})
        assert r.status == 201, r.text()
    password_login(tab, live, "viewer", "/dispatches")
    expect(page.locator("#sla-classes tbody tr")).not_to_have_count(0)
    for chart in ("#sla-classes-chart", "#sla-depots-chart"):
        expect(page.locator(chart)).to_be_visible()
        assert page.evaluate(f"!!Chart.getChart(document.querySelector('{chart}'))")
    page.screenshot(path=str(shots / "dispatches-sla.png"), full_page=True)
    # a plan with its frontier: one chart per tier, a line per severity
    done = [p for p in _plans(live) if p.status == "succeeded" and p.frontier]
    if not done:
        page.context.clear_cookies()
        login(tab, live, "planner", "/plans")
        page.check("input[name=frontier]")
        page.click("button:has-text(\"Start plan\")")
        page.wait_for_url(re.compile(r"/plans/\d{8}-\d{6}-[0-9a-f]{6}$"))
        expect(page.locator("#job-status")).to_have_text("succeeded", timeout=90_000)
    else:
        page.goto(live.url + f"/plans/{done[0].id}")
    tiers = list(dict.fromkeys(c.tier for c in live.ctx.scenario.contracts))
    charts = page.locator("canvas.class-frontier-chart")
    expect(charts).to_have_count(len(tiers))
    lines = page.evaluate("""[...document.querySelectorAll('canvas.class-frontier-chart')].map(c =>
        Chart.getChart(c).data.datasets.filter(d => d.label.startsWith('severity')).length)""")
    assert all(n >= 1 for n in lines)
    page.locator("#class-frontier summary").click()
    expect(page.locator("#class-frontier-table tbody tr")).not_to_have_count(0)
    page.locator("#class-frontier").screenshot(path=str(shots / "plan-frontier-per-class.png"))
    assert tab.offsite == []


def _plans(live):
    from api.ui import plans

    return plans.list_plans()


def test_viewer_refused_the_design_form_and_a_form_without_csrf_refused(tab: Tab, live):
    page = tab.page
    password_login(tab, live, "viewer", "/designs")
    expect(page.locator("header .who")).to_contain_text("read only")
    expect(page.locator("#design-form")).to_have_count(0)
    csrf = page.locator("header .who input[name=csrf]").get_attribute("value")
    before = len(designs.list_designs())
    r = page.request.post(live.url + "/designs", form={"method": "integrated", "csrf": csrf})
    assert r.status == 403 and "lacks the &#39;planner&#39; scope" in r.text()
    page.context.clear_cookies()
    password_login(tab, live, "planner", "/designs")
    r = page.request.post(live.url + "/designs", form={"method": "integrated"})
    assert r.status == 403 and "CSRF" in r.text()
    r = page.request.post(live.url + "/designs", form={"method": "integrated", "csrf": csrf})
    assert r.status == 403 and "CSRF" in r.text()  # the viewer's session token is not this one
    assert len(designs.list_designs()) == before


def test_wrong_password_refused(tab: Tab, live):
    page = tab.page
    page.goto(live.url + "/login")
    page.fill("#username", live.users["planner"])
    page.fill("#password", "not the password")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as resp:
        page.keyboard.press("Enter")
    assert resp.value.status == 401
    expect(page.locator("[role=alert]")).to_contain_text("wrong password")
    expect(page.locator("#username")).to_have_value(live.users["planner"])
