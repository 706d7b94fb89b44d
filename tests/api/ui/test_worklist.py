"""The worklist: missed classes with the sites that hold them back, low-gain buys, the page."""

from __future__ import annotations

import csv
import shutil

from api.ui import plans
from api.ui.worklist import LOW_GAIN, low_gain_buys, missed_classes
from tests.api.ui.conftest import http_login as _login


def test_missed_classes_name_the_sites_out_of_reach(tiny):
    tier_of = {c.contract_id: c.tier for c in tiny.contracts}
    site = tiny.sites[0]
    tier = tier_of[site.contract_id]
    others = [s for s in tiny.sites if tier_of[s.contract_id] == tier and s is not site]
    reached = {s.site_id: 1 for s in tiny.sites}
    reached[site.site_id] = 2  # reaches severity 2 in time, not 1
    summary = {"classes": [{"tier": tier, "severity": 1, "met": False, "target": 0.95},
                           {"tier": tier, "severity": 2, "met": True, "target": 0.95}]}
    out = missed_classes(tiny, summary, reached)
    assert len(out) == 1 and out[0]["sites"] == [site.site_id] and out[0]["site_count"] == 1
    assert not set(out[0]["sites"]) & {s.site_id for s in others}
    assert missed_classes(tiny, summary, {})[0]["sites"] == []  # no reach known: none named


def test_low_gain_buys():
    buys = [{"part_id": "A", "gain_per_year": LOW_GAIN / 2}, {"part_id": "B", "gain_per_year": 3.0},
            {"part_id": "C", "gain_per_year": None}]
    assert [b["part_id"] for b in low_gain_buys({"buys": buys})] == ["A", "C"]
    assert low_gain_buys(None) == []


def test_worklist_page_lists_the_plans_misses(ui, tiny):
    _login(ui, ui.keys["planner"])
    r = ui.client.get("/worklist")
    assert r.status_code == 200
    summary = plans.summary(plans.latest_plan().id)
    missed = [c for c in summary["classes"] if not c["met"]]
    section = r.text.split('id="wl-classes"')[1].split("</section>")[0]
    assert section.split("</table>")[0].count("<tr>") == len(missed) + 1
    assert f'id="wl-missed">{len(missed)}<' in r.text
    assert "No finished restock run" in r.text


def _section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"')[1].split("</section>")[0]


def test_worklist_names_the_parts_driving_each_missed_class(ui):
    """Each class below target lists the parts the plan job found short of the target, with
    their numbers, each linked to the plan's levels of that part."""
    _login(ui, ui.keys["planner"])
    latest = plans.latest_plan()
    missed = [c for c in plans.summary(latest.id)["classes"] if not c["met"]]
    drivers = plans.class_drivers(latest.id)
    assert missed and drivers  # tiny's plan misses platinum and gold severity 1
    assert {(d["tier"], d["severity"]) for d in drivers} == {(c["tier"], c["severity"])
                                                           for c in missed}
    section = _section(ui.client.get("/worklist").text, "wl-classes")
    for c in missed:
        block = section.split(f'id="wl-parts-{c["tier"]}-{c["severity"]}"')[1].split("</table>")[0]
        mine = [d for d in drivers if (d["tier"], d["severity"]) == (c["tier"], c["severity"])]
        assert block.count("<tr>") == len(mine) + 1
        for d in mine:
            assert f'href="/plans/{latest.id}/levels?q={d["part_id"]}">{d["part_id"]}</a>' in block
            assert f'{d["shortfall_per_year"]:,.2f}' in block
            assert f'{d["requests_per_year"]:,.2f}' in block
        shortfalls = [d["shortfall_per_year"] for d in mine]
        assert shortfalls == sorted(shortfalls, reverse=True)
    r = ui.client.get(f"/plans/{latest.id}/levels?q={drivers[0]['part_id']}")
    assert r.status_code == 200 and drivers[0]["part_id"] in r.text


def test_worklist_lists_platinum_and_gold_parts_with_no_stock_in_reach(ui, tmp_path,
                                                                       monkeypatch):
    _login(ui, ui.keys["planner"])
    latest = plans.latest_plan()
    assert plans.no_stock_in_reach(latest.id) == []  # tiny's plan stocks every pair in reach
    section = _section(ui.client.get("/worklist").text, "wl-uncovered")
    assert "None: every platinum and gold part has stock in reach" in section
    # the same plan with two uncovered pairs, as the plan job writes them
    copy = tmp_path / latest.id
    shutil.copytree(plans.plans_dir() / latest.id, copy)
    with (copy / plans.UNCOVERED_FILE).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(plans.UNCOVERED_COLUMNS)
        w.writerow(["platinum", "PLAT", "GZ-01", "PSU-1200", "1 2", "0.224"])
        w.writerow(["gold", "GOLD", "GZ-02", "LC-10G", "1", "0.004"])
    monkeypatch.setenv("SPARES_PLANS_DIR", str(tmp_path))
    html = ui.client.get("/worklist").text
    assert 'id="wl-uncovered-count">2<' in html
    section = _section(html, "wl-uncovered")
    assert section.count("<tr>") == 3
    assert (f'<td>GZ-01</td><td><a href="/plans/{latest.id}/levels?q=PSU-1200">PSU-1200</a>'
            "</td><td>1, 2</td><td class=\"n\">0.224</td>") in section
    # a plan made before these lists existed says so instead of showing nothing
    (copy / plans.UNCOVERED_FILE).unlink()
    (copy / plans.DRIVERS_FILE).unlink()
    html = ui.client.get("/worklist").text
    assert "made before these were listed" in _section(html, "wl-uncovered")
    assert "made before parts were listed" in _section(html, "wl-classes")


def test_worklist_reads_the_newest_plan_of_the_base_network(ui, tmp_path, monkeypatch):
    """A what-if's plan, however new, is not today's work: the worklist keeps to the base."""
    import json

    _login(ui, ui.keys["planner"])
    base = plans.latest_plan()
    shutil.copytree(plans.plans_dir() / base.id, tmp_path / base.id)
    what_if = "29990101-000000-abcdef"
    shutil.copytree(plans.plans_dir() / base.id, tmp_path / what_if)
    job = json.loads((tmp_path / what_if / "job.json").read_text())
    job.update(id=what_if, created_at="2999-01-01T00:00:00+00:00", overlay="surge")
    (tmp_path / what_if / "job.json").write_text(json.dumps(job))
    monkeypatch.setenv("SPARES_PLANS_DIR", str(tmp_path))
    assert plans.latest_plan().id == what_if and plans.latest_plan(base_only=True).id == base.id
    html = ui.client.get("/worklist").text
    assert f"/plans/{base.id}/levels?q=" in html and what_if not in html
