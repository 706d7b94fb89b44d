"""People of the workspace over HTTP (no browser): users with Argon2-hashed passwords, the signed
HttpOnly session cookie (no password, no key inside; a forged or altered one refused), sessions
ended by a password change, a disabled user or a revoked key, CSRF on every form, and the audit
trail and approvals naming the person; the ``spares users`` commands."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.auth.service import create_organization, revoke_key
from api.cli.main import app as cli
from api.ui import people
from api.ui.session import COOKIE
from inventory.db.dispatch_models import DEFAULT_ORGANIZATION_ID
from inventory.db.people_models import PlannerUser
from tests.api.ui.conftest import LOGIN_TOKEN
from tests.api.ui.conftest import http_login as key_login

PASSWORD = "a long enough secret 42"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(autouse=True)
def no_users(api):
    """The API tests share a database per module: every test starts without users."""
    from sqlalchemy import delete

    with api.ctx.sessions(write=True) as s:
        s.execute(delete(PlannerUser))
    api.ctx.key_cache.clear()


def _add(api, username: str, scope: str = "planner", name: str = "Li Wei") -> None:
    with api.ctx.sessions(write=True) as s:
        people.create_user(session=s, username=username, display_name=name, password=PASSWORD,
                           scope=scope)


def _login(api, username: str, password: str = PASSWORD):
    c = api.client
    c.cookies.clear()
    token = LOGIN_TOKEN.search(c.get("/login").text).group(1)
    return c.post("/login", data={"username": username, "password": password,
                                  "login_token": token, "next": "/plans"}, follow_redirects=False)


def test_passwords_are_stored_as_argon2_hashes_only(api):
    _add(api, "liwei")
    with api.ctx.sessions() as s:
        row = s.scalar(select(PlannerUser).where(PlannerUser.username == "liwei"))
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    with api.ctx.sessions(write=True) as s:
        assert people.check_login(session=s, username="LiWei", password=PASSWORD) is not None
        assert people.check_login(session=s, username="liwei", password=PASSWORD + "x") is None
        assert people.check_login(session=s, username="nobody", password=PASSWORD) is None


@pytest.mark.parametrize("fields, field", [
    ({"username": "li wei"}, "username"), ({"username": ""}, "username"),
    ({"display_name": " "}, "name"), ({"display_name": "a\nb"}, "name"),
    ({"username": "x" * 41}, "username"), ({"password": "short"}, "password"),
    ({"scope": "admin"}, "scope"), ({"username": "liwei"}, "taken"),
    ({"organization": "no-such-org"}, "organization"), ({"organization": " "}, "organization"),
    ({"organization": "a\x00b"}, "organization"), ({"organization": "o" * 201}, "organization"),
])
def test_bad_users_are_refused_naming_the_field(api, fields, field):
    _add(api, "liwei")
    args = {"username": "new.user", "display_name": "New", "password": PASSWORD,
            "scope": "viewer", **fields}
    with api.ctx.sessions(write=True) as s, pytest.raises(people.UserError, match=field):
        people.create_user(session=s, **args)


def test_a_user_belongs_to_the_organization_named_by_id_or_name(api):
    with api.ctx.sessions(write=True) as s:
        org = create_organization(session=s, name=f"partner-{uuid.uuid4().hex[:6]}")
        org_id, org_name = org.id, org.name
        by_name = people.create_user(session=s, username="bea", display_name="Bea",
                                     password=PASSWORD, scope="viewer", organization=org_name)
        by_id = people.create_user(session=s, username="bob", display_name="Bob",
                                   password=PASSWORD, scope="planner", organization=org_id)
        default = people.create_user(session=s, username="dee", display_name="Dee",
                                     password=PASSWORD, scope="viewer")
        assert (by_name.organization_id, by_id.organization_id, default.organization_id) == (
            org_id, org_id, DEFAULT_ORGANIZATION_ID)


def test_a_password_login_sets_a_signed_httponly_session(api):
    _add(api, "liwei")
    r = _login(api, "liwei")
    assert r.status_code == 303 and r.headers["location"] == "/plans"
    header = r.headers["set-cookie"]
    assert "httponly" in header.lower() and "samesite=strict" in header.lower()
    cookie = api.client.cookies[COOKIE]
    assert PASSWORD not in cookie and "liwei" not in cookie.lower()
    page = api.client.get("/plans")
    assert page.status_code == 200 and "Li Wei (liwei)" in page.text and "Start plan" in page.text
    # altered or forged with another secret: back to the login form
    for bad in (cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"),
                URLSafeTimedSerializer("guess", salt="spares-ui-session").dumps(
                    {"sid": "x", "u": "usr_x", "v": 1})):
        api.client.cookies.set(COOKIE, bad)
        assert api.client.get("/plans", follow_redirects=False).status_code == 303


def test_wrong_passwords_and_disabled_users_are_refused(api):
    _add(api, "liwei")
    assert _login(api, "liwei", "wrong password!").status_code == 401
    assert _login(api, "nobody").status_code == 401
    assert COOKIE not in api.client.cookies
    assert _login(api, "liwei").status_code == 303
    with api.ctx.sessions(write=True) as s:
        people.disable_user(session=s, username="liwei")
    api.ctx.key_cache.clear()
    assert api.client.get("/plans", follow_redirects=False).status_code == 303  # session ended
    assert _login(api, "liwei").status_code == 401


def test_a_new_password_ends_the_old_sessions(api):
    _add(api, "liwei")
    _login(api, "liwei")
    old = api.client.cookies[COOKIE]
    with api.ctx.sessions(write=True) as s:
        people.set_password(session=s, username="liwei", password="another long secret")
    api.ctx.key_cache.clear()
    api.client.cookies.set(COOKIE, old)
    assert api.client.get("/plans", follow_redirects=False).status_code == 303
    assert _login(api, "liwei", "another long secret").status_code == 303


def test_a_key_session_holds_no_key_and_ends_with_the_key(api):
    r = key_login(api, api.keys["planner"])
    assert r.status_code == 303
    cookie = api.client.cookies[COOKIE]
    assert api.keys["planner"] not in cookie and api.keys["planner"].split("_", 2)[2] not in cookie
    assert api.client.get("/plans").status_code == 200
    key_id = api.keys["planner"].split("_")[1]
    with api.ctx.sessions(write=True) as s:
        revoke_key(session=s, key_id=key_id, now=datetime.now(UTC))
    api.ctx.key_cache.clear()
    assert api.client.get("/plans", follow_redirects=False).status_code == 303


def test_a_viewer_user_looks_and_every_form_needs_its_csrf_token(api, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARES_PLANS_DIR", str(tmp_path))
    _add(api, "vera", scope="viewer", name="Vera")
    _login(api, "vera")
    page = api.client.get("/plans")
    assert "(read only)" in page.text and "Start plan" not in page.text
    csrf = CSRF.search(page.text).group(1)
    for path, data in (("/plans", {"method": "greedy"}), ("/designs", {"method": "integrated"}),
                       ("/restock", {"quarter": "2027Q1"})):
        r = api.client.post(path, data={**data, "csrf": csrf})
        assert r.status_code == 403 and "lacks the &#39;planner&#39; scope" in r.text, path
    _add(api, "liwei")
    _login(api, "liwei")
    for path, data in (("/plans", {"method": "greedy"}), ("/designs", {"method": "integrated"}),
                       ("/restock", {"quarter": "2027Q1"}), ("/logout", {})):
        r = api.client.post(path, data=data)
        assert r.status_code == 403 and "CSRF" in r.text, path
        r = api.client.post(path, data={**data, "csrf": csrf})  # another session's token
        assert r.status_code == 403 and "CSRF" in r.text, path
    assert list(tmp_path.iterdir()) == []


def test_the_audit_trail_names_the_person(api):
    _add(api, "liwei")
    _login(api, "liwei")
    csrf = CSRF.search(api.client.get("/overrides").text).group(1)
    part = api.ctx.scenario.parts[0].part_id
    loc = api.ctx.scenario.depots[0].depot_id
    r = api.client.post("/overrides/stock", data={
        "part_id": part, "location_id": loc, "min_stock": "2", "max_stock": "",
        "reason": "customer audit next week", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text[-1500:]
    audit = api.client.get("/overrides/audit.csv").text.splitlines()
    assert "Li Wei (liwei)" in audit[1]


def test_a_long_name_approves_as_its_username():
    from api.ui.restock import APPROVER_MAX, approver_name

    assert approver_name("Li Wei (liwei)") == "Li Wei (liwei)"
    long = "Maximilian Alexander von Hohenberg-Lichtenstein (mvh)"
    assert len(long) > APPROVER_MAX and approver_name(long) == "mvh"
    assert approver_name("k" * 60) == "k" * APPROVER_MAX


def test_users_commands(migrated_url):
    runner = CliRunner()
    r = runner.invoke(cli, ["users", "create", "--username", "chen", "--name", "Chen Jing",
                            "--scope", "planner", "--password-stdin", "--url", migrated_url],
                      input=PASSWORD + "\n")
    assert r.exit_code == 0 and "created user 'chen'" in r.output, r.output
    r = runner.invoke(cli, ["users", "create", "--username", "chen", "--name", "Again",
                            "--scope", "planner", "--password-stdin", "--url", migrated_url],
                      input=PASSWORD + "\n")
    assert r.exit_code == 2 and "taken" in r.output
    r = runner.invoke(cli, ["users", "create", "--username", "wu", "--name", "Wu",
                            "--scope", "planner", "--password-stdin", "--url", migrated_url],
                      input="short\n")
    assert r.exit_code == 2 and "password" in r.output
    r = runner.invoke(cli, ["users", "list", "--url", migrated_url])
    assert "chen" in r.output and "Chen Jing" in r.output and "$argon2" not in r.output
    assert "default" in r.output
    r = runner.invoke(cli, ["users", "disable", "chen", "--url", migrated_url])
    assert r.exit_code == 0
    r = runner.invoke(cli, ["users", "disable", "nobody", "--url", migrated_url])
    assert r.exit_code == 2 and "no user" in r.output


def test_users_create_takes_an_organization(migrated_url):
    """``--organization`` names the organization by id or name; an unknown one is refused
    naming the option and creates nothing; ``users list`` shows each user's organization."""
    runner = CliRunner(env={"COLUMNS": "200"})
    name = f"partner-{uuid.uuid4().hex[:6]}"
    r = runner.invoke(cli, ["orgs", "create", "--name", name, "--url", migrated_url])
    assert r.exit_code == 0, r.output
    made = []
    for username, ref in (("bea", name), ("bob", None)):
        args = ["users", "create", "--username", username, "--name", username.title(),
                "--scope", "viewer", "--password-stdin", "--url", migrated_url]
        r = runner.invoke(cli, args + (["--organization", ref] if ref else []),
                          input=PASSWORD + "\n")
        assert r.exit_code == 0, r.output
        made.append(r.output)
    assert f"of organization {name!r}" in made[0] and "of organization 'default'" in made[1]
    r = runner.invoke(cli, ["users", "create", "--username", "cy", "--name", "Cy", "--scope",
                            "viewer", "--organization", "no-such-org", "--password-stdin",
                            "--url", migrated_url], input=PASSWORD + "\n")
    assert r.exit_code == 2 and "organization" in r.output and "no-such-org" in r.output
    listed = runner.invoke(cli, ["users", "list", "--url", migrated_url]).output
    assert "cy" not in listed.split()
    rows = {line.split()[1]: line for line in listed.splitlines() if line.split()[1:2]
            and line.split()[1] in ("bea", "bob")}
    assert name in rows["bea"] and "org_default" in rows["bob"]
    # by id too
    org_id = re.search(rf"{name} \((org_[0-9a-f]+)\)", rows["bea"]).group(1)
    r = runner.invoke(cli, ["users", "create", "--username", "dan", "--name", "Dan", "--scope",
                            "planner", "--org", org_id, "--password-stdin",
                            "--url", migrated_url], input=PASSWORD + "\n")
    assert r.exit_code == 0 and f"of organization {name!r}" in r.output, r.output


def test_users_move_refuses_an_unknown_user_or_organization_and_changes_nothing(migrated_url):
    """``users move`` names the unknown argument (exit 2, no traceback); the user keeps its
    organization and its session version (its sessions go on)."""
    runner = CliRunner(env={"COLUMNS": "200"})
    name = f"partner-{uuid.uuid4().hex[:6]}"
    assert runner.invoke(cli, ["orgs", "create", "--name", name, "--url", migrated_url]
                         ).exit_code == 0
    r = runner.invoke(cli, ["users", "create", "--username", "mo", "--name", "Mo", "--scope",
                            "viewer", "--password-stdin", "--url", migrated_url],
                      input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output

    def state() -> tuple[str, int]:
        engine = create_engine(migrated_url)
        with Session(engine) as s:
            row = s.scalar(select(PlannerUser).where(PlannerUser.username == "mo"))
            out = (row.organization_id, row.session_version)
        engine.dispose()
        return out

    before = state()
    for args, words in ((["mo", "--organization", "no-such-org"], ("organization", "no-such-org")),
                        (["nobody", "--organization", name], ("username", "no user 'nobody'")),
                        (["mo", "--organization", " "], ("organization",))):
        r = runner.invoke(cli, ["users", "move", *args, "--url", migrated_url])
        assert r.exit_code == 2 and all(w in r.output for w in words), r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)
        assert state() == before
    r = runner.invoke(cli, ["users", "move", "mo", "--org", name, "--url", migrated_url])
    assert r.exit_code == 0 and f"moved 'mo' to organization {name!r}" in r.output, r.output
    after = state()
    assert after[0] != before[0] and after[1] == before[1] + 1  # its sessions end
    listed = runner.invoke(cli, ["users", "list", "--url", migrated_url]).output
    assert name in next(line for line in listed.splitlines() if " mo " in line)
