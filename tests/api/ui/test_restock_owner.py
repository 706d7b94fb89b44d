"""Restock runs in the workspace belong to organizations as in ``/v1/restock-runs`` (issue 11): a
run started on the page belongs to the signed-in person's organization (a password user's is
``org_default``, a key's its own), and a viewer sees only their organization's runs (list, run
page, status fragment, downloads, the overview's last run, the worklist's run) while planners
see all."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import delete, select

from api.restock import service as restock
from api.ui import people
from inventory.db.dispatch_models import DEFAULT_ORGANIZATION_ID, ApiKey, Dispatch
from inventory.db.people_models import PlannerUser
from inventory.db.restock_models import RestockRun
from tests.api.tenant_keys import org_key
from tests.api.ui.conftest import http_login as key_login
from tests.api.ui.conftest import http_password_login

PASSWORD = "a long enough secret 42"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def runs(api, monkeypatch, tmp_path):
    """No runs, no users; a started run is queued and fails at once (nothing is computed)."""
    api.client.app.state.restock_dir = tmp_path / "runs"
    with api.ctx.sessions(write=True) as s:
        s.execute(delete(RestockRun))
        s.execute(delete(PlannerUser))
    api.ctx.key_cache.clear()
    monkeypatch.setattr(restock, "compute", lambda *a: (_ for _ in ()).throw(
        RuntimeError("not computed in this test")))
    return api


def password_login(api, username: str, scope: str) -> None:
    with api.ctx.sessions(write=True) as s:
        people.create_user(session=s, username=username, display_name=username.title(),
                           password=PASSWORD, scope=scope)
    r = http_password_login(api, username, PASSWORD, next_page="/plans")
    assert r.status_code == 303, r.text


def start(api) -> RestockRun:
    page = api.client.get("/restock")
    assert page.status_code == 200
    r = api.client.post("/restock", data={"quarter": "2027Q1", "budget": "",
                                          "csrf": CSRF.search(page.text).group(1)},
                        follow_redirects=False)
    assert r.status_code == 303, r.text
    run_id = r.headers["location"].rsplit("/", 1)[1]
    with api.ctx.sessions() as s:
        row = s.get(RestockRun, run_id)
        s.expunge(row)
        return row


def add_run(api, owner: str, quarter: str = "2027Q1") -> str:
    run_id = f"rr_{uuid.uuid4().hex[:12]}"
    with api.ctx.sessions() as s:
        s.add(RestockRun(id=run_id, owner=owner, quarter=quarter, status="succeeded",
                         orders={}, summary={"quarter": "2027Q1"}))
    return run_id


def test_a_run_started_on_the_page_belongs_to_the_persons_organization(runs):
    api = runs
    password_login(api, "liwei", "planner")
    row = start(api)
    with api.ctx.sessions() as s:
        user_id = s.scalar(select(PlannerUser.id).where(PlannerUser.username == "liwei"))
    assert (row.owner, row.created_by) == (DEFAULT_ORGANIZATION_ID, user_id)
    # the API's view of it names the organization, as for a run a key of it started
    got = api.client.get(f"/v1/restock-runs/{row.id}", headers=api.h("planner")).json()
    assert (got["organization_id"], got["requested_by"]) == (DEFAULT_ORGANIZATION_ID, user_id)
    # a planner key of another organization signed in: the run is that organization's
    org_b = org_key(api, "partner-b", "planner", as_name="b-planner")
    key_login(api, api.keys["b-planner"])
    row = start(api)
    with api.ctx.sessions() as s:
        b_keys = set(s.scalars(select(ApiKey.id).where(ApiKey.organization_id == org_b)))
    assert row.owner == org_b and row.created_by in b_keys


def test_a_viewer_sees_only_their_organizations_runs(runs):
    api = runs
    org_b = org_key(api, "partner-b", "viewer", as_name="b-viewer")
    mine = add_run(api, org_b, quarter="2026Q3")
    theirs = add_run(api, DEFAULT_ORGANIZATION_ID)  # the newest run
    key_login(api, api.keys["b-viewer"])
    listed = api.client.get("/restock").text
    assert mine in listed and theirs not in listed
    # the overview's last run and the worklist's run are the viewer's organization's too
    overview = api.client.get("/").text
    assert "2026Q3" in overview and "2027Q1" not in overview
    worklist = api.client.get("/worklist").text
    assert mine in worklist and theirs not in worklist
    assert api.client.get(f"/restock/{mine}").status_code == 200
    for path in (f"/restock/{theirs}", f"/restock/{theirs}/status",
                 f"/restock/{theirs}/outputs/xlsx"):
        r = api.client.get(path)
        assert r.status_code == 404 and theirs in r.text, path
    # the API says the same to the same key
    api_runs = api.client.get("/v1/restock-runs", headers=api.h("b-viewer")).json()["items"]
    assert [r["id"] for r in api_runs] == [mine]
    # a viewer person (org_default) sees org_default's run only; a planner person sees both
    password_login(api, "auditor", "viewer")
    listed = api.client.get("/restock").text
    assert theirs in listed and mine not in listed
    assert api.client.get(f"/restock/{mine}").status_code == 404
    password_login(api, "liwei", "planner")
    listed = api.client.get("/restock").text
    assert theirs in listed and mine in listed
    assert theirs in api.client.get("/worklist").text  # the newest of all


def add_backorder(api, owner: str, ticket: str) -> None:
    """An open backordered dispatch of ``owner`` decided late (so also at risk)."""
    now = api.ctx.now()
    with api.ctx.sessions(write=True) as s:
        s.add(Dispatch(id=f"dsp_{uuid.uuid4().hex[:16]}", ticket_id=ticket, owner=owner,
                       idempotency_key=uuid.uuid4().hex, request_hash="0" * 64, site_id="S1",
                       part_id="P1", severity=1, quantity=1, tier="gold", status="backordered",
                       reported_at=now, due_at=now, on_time=False, reserved=False, decision={},
                       created_at=now, updated_at=now))


def test_a_viewer_sees_only_their_organizations_dispatches_at_risk_and_backorders(runs):
    """The overview's and the worklist's dispatch figures follow the same rule as the runs."""
    api = runs
    org_b = org_key(api, "partner-b", "viewer", as_name="b-viewer")
    with api.ctx.sessions(write=True) as s:
        s.execute(delete(Dispatch))
    add_backorder(api, org_b, "TKT-MINE")
    add_backorder(api, DEFAULT_ORGANIZATION_ID, "TKT-THEIRS")
    add_backorder(api, DEFAULT_ORGANIZATION_ID, "TKT-THEIRS-2")
    key_login(api, api.keys["b-viewer"])
    worklist = api.client.get("/worklist").text
    assert "TKT-MINE" in worklist and "TKT-THEIRS" not in worklist
    assert re.search(r'id="wl-backorders">1<', worklist)
    assert re.search(r'id="wl-risk">1<', worklist)
    overview = api.client.get("/").text
    assert re.search(r'id="at-risk-count">1<', overview)
    password_login(api, "liwei", "planner")  # a planner sees every organization's
    worklist = api.client.get("/worklist").text
    assert "TKT-MINE" in worklist and "TKT-THEIRS" in worklist
    assert re.search(r'id="wl-backorders">3<', worklist)
