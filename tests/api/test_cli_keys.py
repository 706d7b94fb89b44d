"""`spares orgs` and `spares keys` with organizations and expiry through the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

from typer.testing import CliRunner

from api.auth.service import authenticate
from api.cli.main import app


def test_orgs_and_keys_with_expiry(tmp_path):
    from inventory.db.engine import make_engine, session_factory
    from inventory.db.migrate import upgrade

    url = f"sqlite:///{tmp_path}/keys.db"
    upgrade(url)
    runner = CliRunner()
    r = runner.invoke(app, ["orgs", "create", "--name", "zammad", "--url", url])
    assert r.exit_code == 0, r.output
    org_id = r.output.strip().splitlines()[-1]
    assert org_id.startswith("org_")
    again = runner.invoke(app, ["orgs", "create", "--name", "zammad", "--url", url])
    assert again.exit_code != 0 and "exists" in again.output
    r = runner.invoke(app, ["keys", "create", "--name", "zammad-prod", "--scope", "ticketing",
                            "--org", "zammad", "--expires", "2099-01-01", "--url", url])
    assert r.exit_code == 0, r.output
    plain = r.output.strip().splitlines()[-1]
    with session_factory(make_engine(url))() as s:
        who = authenticate(session=s, key=plain)
        assert who.organization_id == org_id
        assert who.expires_at == datetime(2099, 1, 1, tzinfo=UTC)
        assert authenticate(session=s, key=plain, now=datetime(2099, 1, 1, tzinfo=UTC)) is None
    listed = runner.invoke(app, ["keys", "list", "--org", org_id, "--url", url], env={"COLUMNS": "200"})
    assert who.key_id in listed.output and "2099-01-01 00:00" in listed.output
    orgs = runner.invoke(app, ["orgs", "list", "--url", url], env={"COLUMNS": "200"})
    assert "zammad" in orgs.output and "default" in orgs.output
    for args, says in ((["--org", "nope"], "no organization 'nope'"),
                       (["--expires", "tomorrow"], "not an ISO date"),
                       (["--expires", "2001-01-01"], "must lie in the future")):
        bad = runner.invoke(app, ["keys", "create", "--name", "x", "--scope", "ticketing",
                                  *args, "--url", url], env={"COLUMNS": "200"})
        assert bad.exit_code == 2 and says in bad.output, bad.output
    # a key without --org belongs to the default organization
    r = runner.invoke(app, ["keys", "create", "--name", "n", "--scope", "planner", "--url", url])
    with session_factory(make_engine(url))() as s:
        who = authenticate(session=s, key=r.output.strip().splitlines()[-1])
    assert who.organization_id == "org_default"
