"""What-ifs and overrides in a real Chromium: create an overlay, plan it and compare it with the
base plan; set an override and see it in the next plan and in the audit list (and its CSV)."""

from __future__ import annotations

import csv
import re

from playwright.sync_api import expect

from tests.api.ui.conftest import Tab, login

PLAN_URL = re.compile(r"/plans/\d{8}-\d{6}-[0-9a-f]{6}$")


def _wait_done(tab: Tab) -> None:
    expect(tab.page.locator("#job-status")).to_have_text("succeeded", timeout=90_000)


def _base_plan(tab: Tab, live) -> str:
    page = tab.page
    page.goto(live.url + "/plans")
    page.click("button:has-text(\"Start plan\")")
    page.wait_for_url(PLAN_URL)
    _wait_done(tab)
    return page.url.rsplit("/", 1)[1]


def test_create_an_overlay_plan_it_and_compare_with_the_base(tab: Tab, live, shots):
    page = tab.page
    login(tab, live, "planner", "/what-ifs")
    base = _base_plan(tab, live)
    page.goto(live.url + "/what-ifs")
    page.fill("#name", "Shanghai demand surge")
    page.fill("#body", '[[demand]]\nfactor = 0\nregions = ["SH"]\n')
    page.click("button:has-text(\"Save overlay\")")
    expect(page.locator("#overlay-error")).to_contain_text("overlay.demand[0].factor")
    page.fill("#body", '[[demand]]\nfactor = 2.5\nregions = ["SH"]\n\n'
                       '[[terms]]\ntier = "silver"\ntarget = 0.9\n')
    page.click("button:has-text(\"Save overlay\")")
    page.wait_for_url(re.compile(r"/what-ifs/ov_[0-9a-f]+$"))
    overlay_url = page.url
    expect(page.locator("#overlay-changes")).to_contain_text("demand x2.5 for regions SH")
    expect(page.locator("#overlay-changes")).to_contain_text("tier silver: target 0.9")
    page.screenshot(path=str(shots / "what-if.png"), full_page=True)
    page.click("button:has-text(\"Plan it\")")
    page.wait_for_url(PLAN_URL)
    expect(page.locator("#plan-overlay")).to_have_text("Shanghai demand surge")
    _wait_done(tab)
    what_if = page.url.rsplit("/", 1)[1]
    expect(page.locator("#plan-applied")).to_contain_text(  # the plan names what it applied
        "overlay Shanghai demand surge: demand x2.5 for regions SH")
    page.goto(overlay_url)
    link = page.locator("#overlay-plans a.compare-base").first
    expect(link).to_contain_text(base)
    link.click()
    page.wait_for_url(re.compile(rf"/compare\?a={base}&b={what_if}$"))
    expect(page.locator("#compare-classes tbody tr")).not_to_have_count(0)
    delta = float(page.locator("#investment-delta").inner_text().replace(",", ""))
    assert delta > 0  # 2.5 times Shanghai's failures need more stock
    expect(page.locator("#compare-locations tbody tr").first).not_to_contain_text(
        "No location changed")
    page.screenshot(path=str(shots / "what-if-compare.png"), full_page=True)
    assert tab.offsite == []


def test_set_an_override_and_see_it_in_the_next_plan_and_the_audit(tab: Tab, live, shots):
    page = tab.page
    login(tab, live, "planner", "/overrides")
    page.fill("#part_id", "LC-10G-B")
    page.fill("#location_id", "CD")
    page.fill("#min_stock", "5")
    page.fill("#max_stock", "3")
    page.fill("#reason", "Chengdu data-centre launch")
    page.click("button:has-text(\"Set min / max\")")
    expect(page.locator("#override-error")).to_contain_text("max_stock")
    page.fill("#max_stock", "")
    page.click("button:has-text(\"Set min / max\")")
    row = page.locator("#stock-overrides tbody tr", has_text="LC-10G-B")
    expect(row).to_contain_text("Chengdu data-centre launch")
    expect(row).to_contain_text("active")
    audit = page.locator("#audit tbody tr").first
    expect(audit).to_contain_text("planner-user")
    expect(audit).to_contain_text("LC-10G-B@CD")
    expect(audit).to_contain_text("min_stock 5")
    page.screenshot(path=str(shots / "overrides.png"), full_page=True)
    with page.expect_download() as dl:
        page.click("#audit-csv")
    rows = list(csv.DictReader(open(dl.value.path(), newline="")))  # noqa: SIM115
    mine = [r for r in rows if r["subject"] == "LC-10G-B@CD"]
    assert mine and mine[0]["actor"] == "planner-user" and mine[0]["action"] == "create"
    assert mine[0]["reason"] == "Chengdu data-centre launch"

    plan = _base_plan(tab, live)  # the next plan applies it and says so
    expect(page.locator("#plan-applied")).to_contain_text("LC-10G-B@CD: min 5")
    page.goto(f"{live.url}/plans/{plan}/levels?q=LC-10G-B&location=CD")
    held = int(page.locator("#levels-table tbody tr").first.locator("td").nth(5).inner_text())
    assert held >= 5
    page.screenshot(path=str(shots / "plan-with-override.png"), full_page=True)
    assert tab.offsite == []


def test_restock_run_started_on_a_what_if_from_the_form(tab: Tab, live, shots):
    """The start form's What-if select: the run plans on the overlay, names it on its page and
    in the run list, and offers no approval."""
    from api.planning import service

    ov = service.save_overlay(live.ctx, actor="fixture", name="Restock surge",
                              body='[[demand]]\nfactor = 3\n')
    page = tab.page
    login(tab, live, "planner", "/restock")
    page.fill("#quarter", "2027Q1")
    page.select_option("#roverlay", label="Restock surge")
    page.click("button:has-text(\"Start run\")")
    page.wait_for_url(re.compile(r"/restock/rr_[0-9a-f]+$"))
    expect(page.locator("#run-overlay")).to_contain_text("Restock surge: demand x3 everywhere")
    expect(page.locator("#restock-status")).to_have_text("succeeded", timeout=90_000)
    expect(page.locator("#run-overlay")).to_contain_text("cannot be approved")
    expect(page.locator("#approve")).to_have_count(0)
    page.screenshot(path=str(shots / "restock-what-if.png"), full_page=True)
    run_id = page.url.rsplit("/", 1)[1]
    page.goto(live.url + "/restock")
    row = page.locator("#runs tbody tr", has_text=run_id)
    expect(row.locator("a[href^='/what-ifs/']")).to_have_attribute("href", f"/what-ifs/{ov['id']}")
    assert tab.offsite == []
