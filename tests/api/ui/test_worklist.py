"""The worklist: missed classes with the sites that hold them back, low-gain buys, the page."""

from __future__ import annotations

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
    assert section.count("<tr>") == len(missed) + 1
    assert f'id="wl-missed">{len(missed)}<' in r.text
    assert "No finished restock run" in r.text
