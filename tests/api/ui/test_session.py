"""A password user's session acts as the user's organization (issue 11), exactly as an API key
of it: a viewer of organization B sees B's dispatches (board, worklist, overview), failed
webhooks, overlays, overrides and audit rows only, the same dispatches ``GET /v1/dispatches``
lists to a key of B; a planner sees every organization's; a change is the user's
organization's (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner

from api.cli.main import app as cli
from api.ui import people
from api.ui.session import COOKIE
from inventory.db.dispatch_models import DEFAULT_ORGANIZATION_ID, Organization, WebhookOutbox
from inventory.db.people_models import PlannerUser
from inventory.db.planning_models import PlanningAudit, StockOverride, WhatIfOverlay
from tests.api.conftest import body
from tests.api.tenant_keys import org_key
from tests.api.ui.conftest import http_login as key_login
from tests.api.ui.conftest import http_password_login

PASSWORD = "a long enough secret 42"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SURGE = '[[demand]]\nfactor = 1.5\nregions = ["GZ"]\n'


@pytest.fixture
def two_orgs(api):
    """No users, overlays or overrides; organization ``partner-b`` with a ticketing key ``b``
    and a planner key ``b-planner``; returns B's id."""
    with api.ctx.sessions(write=True) as s:
        for table in (PlannerUser, PlanningAudit, StockOverride, WhatIfOverlay):
            s.execute(delete(table))
    api.ctx.key_cache.clear()
    org_b = org_key(api, "partner-b", "ticketing", as_name="b")
    org_key(api, "partner-b", "planner", as_name="b-planner")
    return org_b


def login(api, username: str, scope: str, organization: str = DEFAULT_ORGANIZATION_ID) -> None:
    with api.ctx.sessions(write=True) as s:
        people.create_user(session=s, username=username, display_name=username.title(),
                           password=PASSWORD, scope=scope, organization=organization)
    relogin(api, username)


def dispatch(api, who: str, ticket: str) -> dict:
    r = api.client.post("/v1/dispatches", json=body(ticket_id=ticket),
                        headers=api.h(who, **{"Idempotency-Key": uuid.uuid4().hex}))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_viewer_user_of_b_sees_only_bs_dispatches_and_webhooks(api, two_orgs):
    api.ctx.settings.webhook_allow = ("http://127.0.0.1:9",)  # a loopback receiver, allow-listed
    r = api.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=api.h())
    assert r.status_code == 201, r.text
    dispatch(api, "ticketing", "TKT-ORG-A")
    dispatch(api, "b", "TKT-ORG-B")
    with api.ctx.sessions(write=True) as s:  # A's subscriber failed to take A's message
        assert s.execute(update(WebhookOutbox).values(failed_at=api.ctx.now())).rowcount == 1

    login(api, "bea", "viewer", organization="partner-b")  # by name
    board = api.client.get("/dispatches").text
    assert "TKT-ORG-B" in board and "TKT-ORG-A" not in board
    worklist = api.client.get("/worklist").text
    assert re.search(r'id="wl-webhooks">0<', worklist)
    # what the API lists to a key of B is what the board shows B's viewer
    listed = api.client.get("/v1/dispatches", headers=api.h("b")).json()["items"]
    assert [d["ticket_id"] for d in listed] == ["TKT-ORG-B"]
    # the default organization's viewer person sees A's, with A's failed webhook
    login(api, "ann", "viewer")
    board = api.client.get("/dispatches").text
    assert "TKT-ORG-A" in board and "TKT-ORG-B" not in board
    assert re.search(r'id="wl-webhooks">1<', api.client.get("/worklist").text)
    # a planner person of B sees every organization's (planners see all, as in the API)
    login(api, "bob", "planner", organization=two_orgs)  # by id
    board = api.client.get("/dispatches").text
    assert "TKT-ORG-A" in board and "TKT-ORG-B" in board
    assert re.search(r'id="wl-webhooks">1<', api.client.get("/worklist").text)


def test_a_users_changes_belong_to_its_organization_and_viewers_see_their_own(api, two_orgs):
    login(api, "bob", "planner", organization="partner-b")
    page = api.client.get("/what-ifs")
    r = api.client.post("/what-ifs", data={"name": "B surge", "body": SURGE,
                                           "csrf": CSRF.search(page.text).group(1)},
                        follow_redirects=False)
    assert r.status_code == 303, r.text
    b_overlay = r.headers["location"].rsplit("/", 1)[1]
    made = api.client.post("/v1/overlays", json={"name": "A surge", "body": SURGE},
                           headers=api.h("planner")).json()
    # the API names B as the owner of the person's overlay, like one a key of B made
    got = api.client.get(f"/v1/overlays/{b_overlay}", headers=api.h("planner")).json()
    assert got["organization_id"] == two_orgs and got["created_by"] == "Bob (bob)"

    login(api, "vera", "viewer", organization="partner-b")
    listed = api.client.get("/what-ifs").text
    assert "B surge" in listed and "A surge" not in listed
    assert api.client.get(f"/what-ifs/{b_overlay}").status_code == 200
    assert api.client.get(f"/what-ifs/{made['id']}").status_code == 404
    audit = api.client.get("/overrides/audit.csv").text
    assert "B surge" in audit and "A surge" not in audit
    assert "A surge" not in api.client.get("/overrides").text
    # the default organization's viewer person: A's only
    login(api, "ann", "viewer")
    listed = api.client.get("/what-ifs").text
    assert "A surge" in listed and "B surge" not in listed
    assert api.client.get(f"/what-ifs/{b_overlay}").status_code == 404


ORG_IN_HEADER = re.compile(r'id="user-org"[^>]*>of ([^<]+)<')


def header_org(api, path: str = "/") -> str:
    page = api.client.get(path)
    assert page.status_code == 200, page.text[-500:]
    return ORG_IN_HEADER.search(page.text).group(1)


def test_the_header_names_the_signed_in_persons_organization(api, two_orgs):
    login(api, "bea", "viewer", organization="partner-b")
    assert {header_org(api, p) for p in ("/", "/plans", "/what-ifs", "/overrides", "/restock",
                                         "/dispatches", "/worklist")} == {"partner-b"}
    login(api, "ann", "viewer")  # another person, of another organization
    assert {header_org(api, p) for p in ("/", "/what-ifs")} == {"default"}
    key_login(api, api.keys["b-planner"])  # a key's session: the key's organization
    assert header_org(api, "/plans") == "partner-b"
    named = update(Organization).where(Organization.id == two_orgs)
    with api.ctx.sessions(write=True) as s:  # an organization without a name: its id
        s.execute(named.values(name=""))
    try:
        api.ctx.key_cache.clear()
        assert header_org(api, "/plans") == two_orgs
    finally:
        with api.ctx.sessions(write=True) as s:
            s.execute(named.values(name="partner-b"))


def relogin(api, username: str) -> None:
    r = http_password_login(api, username, PASSWORD)
    assert r.status_code == 303, r.text


def test_a_moved_user_loses_its_sessions_and_then_sees_the_new_organizations_data(
        api, two_orgs, migrated_url):
    for who, name in (("planner", "A surge"), ("b-planner", "B surge")):
        r = api.client.post("/v1/overlays", json={"name": name, "body": SURGE}, headers=api.h(who))
        assert r.status_code == 201, r.text
    login(api, "bea", "viewer", organization="partner-b")
    listed = api.client.get("/what-ifs").text
    assert "B surge" in listed and "A surge" not in listed
    old = api.client.cookies[COOKIE]
    runner = CliRunner()
    r = runner.invoke(cli, ["users", "move", "bea", "--organization", "default",
                            "--url", migrated_url])
    assert r.exit_code == 0 and "moved 'bea' to organization 'default'" in r.output, r.output
    api.ctx.key_cache.clear()  # the server checks a session again within key_cache_seconds
    api.client.cookies.set(COOKIE, old)
    r = api.client.get("/what-ifs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    relogin(api, "bea")
    listed = api.client.get("/what-ifs").text
    assert "A surge" in listed and "B surge" not in listed
    assert header_org(api, "/what-ifs") == "default"
    # moving to the organization the user is of already changes nothing: the session stays
    r = runner.invoke(cli, ["users", "move", "bea", "--org", DEFAULT_ORGANIZATION_ID,
                            "--url", migrated_url])
    assert r.exit_code == 0 and "nothing changed" in r.output, r.output
    api.ctx.key_cache.clear()
    assert api.client.get("/what-ifs", follow_redirects=False).status_code == 200
