"""The workspace's restock start form with a what-if overlay (issue 12), without a browser: the
select offers the stored overlays, the chosen one is kept on the queued run, an unknown one is
refused on the page (422, nothing queued), and a viewer gets no form (the browser test in
test_whatif_browser.py watches a run on an overlay to the end)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from api.planning import service as planning
from api.restock import service as restock
from inventory.db.restock_models import RestockRun
from tests.api.tenant_keys import org_key
from tests.api.ui.conftest import http_login

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def runs(api, monkeypatch, tmp_path):
    """No runs; a started run is queued and fails at once (nothing is computed here)."""
    api.client.app.state.restock_dir = tmp_path / "runs"
    with api.ctx.sessions(write=True) as s:
        s.execute(delete(RestockRun))
    monkeypatch.setattr(restock, "compute", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError("not computed in this test")))
    return api


def _post(api, **form) -> object:
    page = api.client.get("/restock")
    assert page.status_code == 200
    return api.client.post("/restock", data={"quarter": "2027Q1", "budget": "",
                                             "csrf": CSRF.search(page.text).group(1), **form},
                           follow_redirects=False)


def test_the_form_offers_the_overlays_and_the_run_keeps_the_chosen_one(runs):
    api = runs
    ov = planning.save_overlay(api.ctx, actor="Li Wei", name=f"surge {uuid.uuid4().hex[:6]}",
                               body='[[demand]]\nfactor = 2\nregions = ["GZ"]\n')
    assert http_login(api, api.keys["planner"]).status_code == 303
    form = api.client.get("/restock").text
    assert f'<option value="{ov["id"]}">{ov["name"]}</option>' in form
    r = _post(api, overlay=ov["id"])
    assert r.status_code == 303, r.text
    run_id = r.headers["location"].rsplit("/", 1)[1]
    got = api.client.get(f"/v1/restock-runs/{run_id}", headers=api.h("planner")).json()
    assert got["overlay"] == {"id": ov["id"], "name": ov["name"],
                              "changes": ["demand x2 for regions GZ"]}
    page = api.client.get(f"/restock/{run_id}").text
    assert 'id="run-overlay"' in page and ov["name"] in page
    listed = api.client.get("/restock").text
    assert f'<a href="/what-ifs/{ov["id"]}">{ov["name"]}</a>' in listed


def test_an_unknown_overlay_is_refused_on_the_page(runs):
    api = runs
    assert http_login(api, api.keys["planner"]).status_code == 303
    r = _post(api, overlay="ov_gone", budget="1000")
    assert r.status_code == 422
    assert "What-if overlay: no stored what-if overlay &#39;ov_gone&#39;" in r.text
    assert 'value="1000"' in r.text  # the form keeps what was typed
    with api.ctx.sessions() as s:
        assert s.scalars(select(RestockRun)).all() == []


def test_a_viewer_gets_no_start_form(runs):
    api = runs
    org_key(api, "partner-v", "viewer", as_name="v-viewer")
    assert http_login(api, api.keys["v-viewer"]).status_code == 303
    page = api.client.get("/restock").text
    assert 'id="roverlay"' not in page


def test_the_worklist_reviews_the_last_run_on_the_network_as_it_is(runs):
    """A newer what-if run's buys and excess are for another network: not on the worklist."""
    api = runs
    now = api.ctx.now()
    plain, what_if = f"rr_{uuid.uuid4().hex[:12]}", f"rr_{uuid.uuid4().hex[:12]}"
    with api.ctx.sessions(write=True) as s:
        s.add(RestockRun(id=plain, owner="org_default", quarter="2026Q4", status="succeeded",
                         orders={}, summary={"quarter": "2026Q4"}, created_at=now))
        s.add(RestockRun(id=what_if, owner="org_default", quarter="2027Q1", status="succeeded",
                         orders={}, created_at=now + timedelta(minutes=1),
                         summary={"quarter": "2027Q1", restock.WHAT_IF: {
                             "id": "ov_x", "name": "Surge", "body": "", "changes": []}}))
    assert http_login(api, api.keys["planner"]).status_code == 303
    section = api.client.get("/worklist").text.split('id="wl-restock"', 1)[1]
    section = section.split("</section>", 1)[0]
    assert plain in section and what_if not in section
